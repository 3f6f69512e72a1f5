/*
 * Tags and project_tags in SQL; see tag.h. Never builds SQL from values: names
 * travel as one text[] parameter and are resolved set-based with unnest().
 */
#include "models/tag.h"

#include <stdlib.h>
#include <string.h>

#include "core/util.h"

/*
 * Names deduplicated case-insensitively (first spelling wins) and inserted in
 * lower(name) order: of two transactions creating the same names, the second
 * waits for the first on the first name they share, never in a cycle. An
 * existing tag, committed or being committed by another transaction, is a
 * conflict that is skipped; the next statement sees it.
 */
static const char SQL_ENSURE[] =
	"INSERT INTO tags (name) "
	"SELECT w.name FROM (SELECT DISTINCT ON (lower(u.name)) u.name "
	"FROM unnest($1::text[]) WITH ORDINALITY AS u(name, n) ORDER BY lower(u.name), u.n) w "
	"ORDER BY lower(w.name) "
	"ON CONFLICT ((lower(name))) DO NOTHING";

/* A statement of its own, so that it sees tags committed by others during SQL_ENSURE. */
static const char SQL_SET[] =
	"WITH wanted AS ("
	" SELECT t.id FROM tags t"
	" WHERE lower(t.name) = ANY (SELECT lower(u.name) FROM unnest($2::text[]) AS u(name))),"
	" dropped AS ("
	" DELETE FROM project_tags pt WHERE pt.project_id = $1::uuid"
	" AND pt.tag_id NOT IN (SELECT id FROM wanted)) "
	"INSERT INTO project_tags (project_id, tag_id) SELECT $1::uuid, id FROM wanted "
	"ON CONFLICT DO NOTHING";

static const char SQL_ADD[] =
	"WITH tag AS (SELECT id, name FROM tags WHERE lower(name) = lower($2)),"
	" linked AS (INSERT INTO project_tags (project_id, tag_id)"
	" SELECT $1::uuid, id FROM tag ON CONFLICT DO NOTHING) "
	"SELECT id, name FROM tag";

static const char SQL_REMOVE[] =
	"DELETE FROM project_tags WHERE project_id = $1 AND tag_id = $2 RETURNING tag_id";

/* Project counts are computed for the page only, after LIMIT. */
static const char SQL_LIST_ALL[] =
	"SELECT pg.id, pg.name, pg.total_count, "
	"(SELECT count(*) FROM project_tags pt WHERE pt.tag_id = pg.id) AS project_count "
	"FROM (SELECT t.id, t.name, count(*) OVER () AS total_count FROM tags t"
	" ORDER BY t.name, t.id LIMIT $1 OFFSET $2) pg ORDER BY pg.name, pg.id";
static const char SQL_LIST_SEARCH[] =
	"SELECT pg.id, pg.name, pg.total_count, "
	"(SELECT count(*) FROM project_tags pt WHERE pt.tag_id = pg.id) AS project_count "
	"FROM (SELECT t.id, t.name, count(*) OVER () AS total_count FROM tags t"
	" WHERE t.name ILIKE $1 ORDER BY t.name, t.id LIMIT $2 OFFSET $3) pg "
	"ORDER BY pg.name, pg.id";

enum app_err tag_set_for_project(struct db_conn *conn, const char *project_id,
				 const char *const *names, size_t n)
{
	struct strbuf array = STRBUF_INIT;
	enum app_err err = APP_OK;

	db_text_array_literal(&array, names, n);
	const char *params[] = {project_id, strbuf_str(&array)};
	if (n > 0)
		err = db_exec(conn, SQL_ENSURE, 1, params + 1, NULL);
	if (err == APP_OK)
		err = db_exec(conn, SQL_SET, 2, params, NULL);
	strbuf_release(&array);
	return err;
}

enum app_err tag_add_to_project(struct db_conn *conn, const char *project_id, const char *name,
				PGresult **res)
{
	struct strbuf array = STRBUF_INIT;
	const char *names[] = {name};
	enum app_err err;

	*res = NULL;
	db_text_array_literal(&array, names, 1);
	const char *ensure[] = {strbuf_str(&array)};
	const char *params[] = {project_id, name};
	err = db_exec(conn, SQL_ENSURE, 1, ensure, NULL);
	if (err == APP_OK)
		err = db_exec(conn, SQL_ADD, 2, params, res);
	if (err == APP_OK && PQntuples(*res) != 1) {
		/* Only if the tag was deleted between the two statements. */
		PQclear(*res);
		*res = NULL;
		err = APP_ERR_RETRY;
	}
	strbuf_release(&array);
	return err;
}

enum app_err tag_remove_from_project(struct db_conn *conn, const char *project_id,
				     const char *tag_id)
{
	PGresult *res = NULL;
	const char *params[] = {project_id, tag_id};
	enum app_err err = db_exec(conn, SQL_REMOVE, 2, params, &res);
	if (err == APP_OK && PQntuples(res) == 0)
		err = APP_ERR_NOT_FOUND;
	PQclear(res);
	return err;
}

enum app_err tag_list(struct db_conn *conn, const char *search, const char *limit,
		      const char *offset, PGresult **res)
{
	struct strbuf pattern = STRBUF_INIT;
	enum app_err err;

	if (search && *search) {
		db_like_pattern(&pattern, search);
		const char *params[] = {strbuf_str(&pattern), limit, offset};
		err = db_exec(conn, SQL_LIST_SEARCH, 3, params, res);
	} else {
		const char *params[] = {limit, offset};
		err = db_exec(conn, SQL_LIST_ALL, 2, params, res);
	}
	strbuf_release(&pattern);
	return err;
}
