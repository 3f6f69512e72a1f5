/*
 * GET /metrics (see metrics.h). Reads counters only: it never touches the
 * database, so a scrape works while PostgreSQL is down and costs no connection.
 */
#include "api/metrics.h"

#include <stdlib.h>

#include "core/config.h"
#include "core/metrics.h"
#include "models/db.h"

static const char PROMETHEUS_TYPE[] = "text/plain; version=0.0.4; charset=utf-8";

/* Label values of the database error kinds, by enum app_err. */
static const char *error_kind(int err)
{
	switch ((enum app_err)err) {
	case APP_ERR_INVALID: return "invalid";
	case APP_ERR_CONFLICT: return "conflict";
	case APP_ERR_UNAVAILABLE: return "unavailable";
	case APP_ERR_RETRY: return "retry";
	case APP_ERR_INTERNAL: return "internal";
	default: return NULL; /* never produced by the database layer */
	}
}

static void render_pool(struct db_pool *pool, struct strbuf *out)
{
	struct db_pool_stats stats;

	db_pool_stats(pool, &stats);
	strbuf_addf(out,
		    "# HELP devsearch_db_pool_connections Pooled database connections by state.\n"
		    "# TYPE devsearch_db_pool_connections gauge\n"
		    "devsearch_db_pool_connections{state=\"in_use\"} %d\n"
		    "devsearch_db_pool_connections{state=\"idle\"} %d\n"
		    "# HELP devsearch_db_pool_size DB_POOL_SIZE.\n"
		    "# TYPE devsearch_db_pool_size gauge\n"
		    "devsearch_db_pool_size %d\n"
		    "# HELP devsearch_db_pool_waiting Requests waiting for a pooled connection.\n"
		    "# TYPE devsearch_db_pool_waiting gauge\n"
		    "devsearch_db_pool_waiting %d\n"
		    "# HELP devsearch_db_pool_timeouts_total Waits for a pooled connection that "
		    "gave up (503).\n"
		    "# TYPE devsearch_db_pool_timeouts_total counter\n"
		    "devsearch_db_pool_timeouts_total %lu\n"
		    "# HELP devsearch_db_errors_total Failed database statements and connection "
		    "attempts, by kind.\n"
		    "# TYPE devsearch_db_errors_total counter\n",
		    stats.in_use, stats.idle, stats.size, stats.waiting, stats.timeouts);
	for (int i = 0; i < DB_ERROR_KINDS; i++)
		if (error_kind(i))
			strbuf_addf(out, "devsearch_db_errors_total{kind=\"%s\"} %lu\n",
				    error_kind(i), stats.errors[i]);
}

static void get_metrics(struct http_ctx *ctx)
{
	const struct app *app = ctx->app;
	const struct router *router = app->router;
	size_t n = router_count(router);
	struct metrics_route_label *labels = NULL;
	struct strbuf text = STRBUF_INIT;

	if (!config_metrics_allowed(app->cfg, ctx->req->client_address)) {
		http_reply_app_error(ctx, APP_ERR_FORBIDDEN);
		return;
	}
	if (!app->metrics) { /* registered without a registry: a wiring mistake */
		http_reply_app_error(ctx, APP_ERR_NOT_FOUND);
		return;
	}
	labels = xcalloc(n ? n : 1, sizeof(*labels));
	for (size_t i = 0; i < n; i++) {
		labels[i].method = router_at(router, i)->method;
		labels[i].pattern = router_at(router, i)->pattern;
	}
	metrics_render(app->metrics, labels, &text);
	render_pool(app->pool, &text);
	ulfius_set_binary_body_response(ctx->resp, 200, strbuf_str(&text), text.len);
	http_set_header(ctx, "Content-Type", PROMETHEUS_TYPE);
	ctx->replied = 1;
	strbuf_release(&text);
	free(labels);
}

static const struct route metrics_table[] = {
	{"GET", "/metrics", get_metrics, ROUTE_NO_AUTH | ROUTE_UNLISTED},
};

void metrics_routes(struct router *router)
{
	router_add(router, metrics_table, sizeof(metrics_table) / sizeof(metrics_table[0]));
}
