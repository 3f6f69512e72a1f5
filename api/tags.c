/*
 * GET /api/tags: tags ordered by name with their project counts, paginated,
 * filtered by ?search=. Parses the query, runs one statement through
 * models/tag.c and answers; a project's own tags live in api/projects.c.
 */
#include "api/tags.h"

#include <stdlib.h>
#include <string.h>

#include "api/pagination.h"
#include "models/tag.h"
#include "serializers/tag.h"

static void get_tags(struct http_ctx *ctx)
{
	struct page_request page;
	struct db_conn *conn = NULL;
	PGresult *res = NULL;
	char *search = http_query_trimmed(ctx, "search");
	enum app_err err;

	if (page_request_or_reply(ctx, &page) || http_db_or_reply(ctx, &conn))
		goto out;
	err = tag_list(conn, search, page.limit, page.offset, &res);
	if (err != APP_OK) {
		http_reply_app_error(ctx, err);
		goto out;
	}
	int rows = PQntuples(res);
	long count = rows ? atol(PQgetvalue(res, 0, PQfnumber(res, "total_count"))) : 0;
	if (page_check_or_reply(ctx, &page, rows, count))
		goto out;
	json_t *j_results = json_array();
	for (int i = 0; i < rows; i++)
		json_array_append_new(j_results, tag_count_to_json(res, i));
	http_reply_json(ctx, 200, page_envelope(ctx, &page, count, j_results));
out:
	PQclear(res);
	http_db_release(ctx, conn);
	free(search);
}

static const struct route tags_table[] = {
	{"GET", "/api/tags", get_tags, ROUTE_PUBLIC | ROUTE_CACHED},
};

void tags_routes(struct router *router)
{
	router_add(router, tags_table, sizeof(tags_table) / sizeof(tags_table[0]));
}
