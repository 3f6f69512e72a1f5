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

/* One family over the pools: HELP and TYPE once, then a line per pool. */
static void render_pool_family(struct strbuf *out, const char *name, const char *type,
			       const char *help, const char *const *pools,
			       const unsigned long *values, size_t n)
{
	strbuf_addf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
	for (size_t i = 0; i < n; i++)
		strbuf_addf(out, "%s{pool=\"%s\"} %lu\n", name, pools[i], values[i]);
}

/* The primary's pool, and the replica's when there is one, labelled pool="...". */
static void render_pools(const struct app *app, struct strbuf *out)
{
	const char *names[] = {"primary", "replica"};
	struct db_pool_stats stats[2];
	size_t n = app->replica ? 2 : 1;

	db_pool_stats(app->pool, &stats[0]);
	if (app->replica)
		db_pool_stats(app->replica, &stats[1]);
	strbuf_addstr(out, "# HELP devsearch_db_pool_connections Pooled database connections by "
			   "state.\n# TYPE devsearch_db_pool_connections gauge\n");
	for (size_t i = 0; i < n; i++)
		strbuf_addf(out,
			    "devsearch_db_pool_connections{pool=\"%s\",state=\"in_use\"} %d\n"
			    "devsearch_db_pool_connections{pool=\"%s\",state=\"idle\"} %d\n",
			    names[i], stats[i].in_use, names[i], stats[i].idle);
	unsigned long sizes[2], waiting[2], timeouts[2];
	for (size_t i = 0; i < n; i++) {
		sizes[i] = (unsigned long)stats[i].size;
		waiting[i] = (unsigned long)stats[i].waiting;
		timeouts[i] = stats[i].timeouts;
	}
	render_pool_family(out, "devsearch_db_pool_size", "gauge", "Connections of the pool.",
			   names, sizes, n);
	render_pool_family(out, "devsearch_db_pool_waiting", "gauge",
			   "Requests waiting for a pooled connection.", names, waiting, n);
	render_pool_family(out, "devsearch_db_pool_timeouts_total", "counter",
			   "Waits for a pooled connection that gave up (503).", names, timeouts, n);
	strbuf_addstr(out,
		      "# HELP devsearch_db_errors_total Failed database statements and "
		      "connection attempts, by kind.\n# TYPE devsearch_db_errors_total counter\n");
	for (size_t i = 0; i < n; i++)
		for (int k = 0; k < DB_ERROR_KINDS; k++)
			if (error_kind(k))
				strbuf_addf(
					out,
					"devsearch_db_errors_total{pool=\"%s\",kind=\"%s\"} %lu\n",
					names[i], error_kind(k), stats[i].errors[k]);
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
	render_pools(app, &text);
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
