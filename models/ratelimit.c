/* rate_limit_counts in SQL; see ratelimit.h. */
#include "models/ratelimit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

/* Rows come back by key, not in order: RETURNING does not promise the input's order. */
static const char SQL_ADD[] =
	"INSERT INTO rate_limit_counts AS c (scope, key, window_start, window_end, hits) "
	"SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[]) "
	"ON CONFLICT (scope, key, window_start) DO UPDATE SET hits = c.hits + EXCLUDED.hits "
	"RETURNING scope, key, window_start, hits";
static const char SQL_PRUNE[] = "DELETE FROM rate_limit_counts WHERE window_end <= $1::bigint";

int rate_count_compare(const void *a, const void *b)
{
	const struct rate_count *x = a, *y = b;
	int c = strcmp(x->scope, y->scope);
	if (!c)
		c = strcmp(x->key, y->key);
	if (!c)
		c = (x->window_start > y->window_start) - (x->window_start < y->window_start);
	return c;
}

/* Put a returned total on its row (rows sorted, so a binary search finds it). */
static void set_total(struct rate_count *rows, size_t n, PGresult *res, int i)
{
	struct rate_count probe = {.scope = PQgetvalue(res, i, 0),
				   .key = PQgetvalue(res, i, 1),
				   .window_start = atol(PQgetvalue(res, i, 2))};
	struct rate_count *row = bsearch(&probe, rows, n, sizeof(*rows), rate_count_compare);
	if (row)
		row->total = atol(PQgetvalue(res, i, 3));
}

enum app_err rate_count_add(struct db_conn *conn, struct rate_count *rows, size_t n)
{
	struct strbuf scopes = STRBUF_INIT, keys = STRBUF_INIT, starts = STRBUF_INIT,
		      ends = STRBUF_INIT, hits = STRBUF_INIT;
	const char **texts = xmalloc((n ? n : 1) * sizeof(*texts));
	PGresult *res = NULL;
	enum app_err err;

	for (size_t i = 0; i < n; i++) {
		rows[i].total = -1;
		texts[i] = rows[i].scope;
	}
	db_text_array_literal(&scopes, texts, n);
	for (size_t i = 0; i < n; i++)
		texts[i] = rows[i].key;
	db_text_array_literal(&keys, texts, n);
	/* bigint[] literals: {1,2,3} */
	strbuf_addch(&starts, '{');
	strbuf_addch(&ends, '{');
	strbuf_addch(&hits, '{');
	for (size_t i = 0; i < n; i++) {
		const char *sep = i ? "," : "";
		strbuf_addf(&starts, "%s%ld", sep, rows[i].window_start);
		strbuf_addf(&ends, "%s%ld", sep, rows[i].window_end);
		strbuf_addf(&hits, "%s%ld", sep, rows[i].hits);
	}
	strbuf_addch(&starts, '}');
	strbuf_addch(&ends, '}');
	strbuf_addch(&hits, '}');
	const char *params[] = {strbuf_str(&scopes), strbuf_str(&keys), strbuf_str(&starts),
				strbuf_str(&ends), strbuf_str(&hits)};
	err = db_exec(conn, SQL_ADD, 5, params, &res);
	for (int i = 0; err == APP_OK && i < PQntuples(res); i++)
		set_total(rows, n, res, i);
	PQclear(res);
	free(texts);
	strbuf_release(&scopes);
	strbuf_release(&keys);
	strbuf_release(&starts);
	strbuf_release(&ends);
	strbuf_release(&hits);
	return err;
}

enum app_err rate_count_prune(struct db_conn *conn, long now)
{
	char text[24];
	snprintf(text, sizeof(text), "%ld", now);
	const char *params[] = {text};
	return db_exec(conn, SQL_PRUNE, 1, params, NULL);
}
