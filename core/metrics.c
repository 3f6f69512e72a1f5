/*
 * The metrics registry (see metrics.h): relaxed atomics, since every value is
 * an independent count and a scrape needs no consistent snapshot. Memory is
 * fixed at start: one status table and one histogram per route.
 */
#include "core/metrics.h"

#include <stdatomic.h>
#include <stdlib.h>

/* Statuses 100..599 are counted each on its own (1..500); index 0 collects anything else. */
#define STATUS_FIRST 100
#define STATUS_SLOTS 501

static const double BUCKET_SECONDS[METRICS_BUCKETS - 1] = {
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
};

static const struct {
	const char *name;
	const char *help;
} COUNTERS[METRIC_COUNTERS] = {
	[METRIC_EMAILS_QUEUED] = {"devsearch_emails_queued_total", "Emails written to the outbox."},
	[METRIC_EMAILS_SENT] = {"devsearch_emails_sent_total", "Emails delivered by the mailer."},
	[METRIC_EMAILS_FAILED] = {"devsearch_emails_failed_total",
				  "Email delivery attempts that failed (retried later)."},
	[METRIC_TOKEN_ROTATIONS] = {"devsearch_token_rotations_total",
				    "Refresh tokens exchanged for a new pair."},
	[METRIC_TOKEN_REUSE] = {"devsearch_token_reuse_detections_total",
				"Rotated refresh tokens presented again (their login revoked)."},
	[METRIC_CACHE_HITS] = {"devsearch_response_cache_hits_total",
			       "Requests answered from the response cache."},
	[METRIC_CACHE_MISSES] = {"devsearch_response_cache_misses_total",
				 "Cacheable requests the handler had to answer."},
	[METRIC_REPLICA_READ_RETRIES] = {"devsearch_replica_read_retries_total",
					 "Reads answered again by the primary after the replica "
					 "failed under them."},
};

/* Per route: the status table and a histogram of non-cumulative bucket counts. */
struct route_metrics {
	atomic_ulong status[STATUS_SLOTS];
	atomic_ulong bucket[METRICS_BUCKETS];
	atomic_ulong micros; /* sum of the durations, microseconds */
	atomic_ulong count;
};

struct metrics {
	size_t n_routes; /* plus one slot for "no route matched" */
	struct route_metrics *routes;
	atomic_ulong counters[METRIC_COUNTERS];
};

struct metrics *metrics_new(size_t n_routes)
{
	struct metrics *m = xcalloc(1, sizeof(*m));
	m->n_routes = n_routes;
	/* Zeroed memory is a valid atomic_ulong of 0 on every platform we build on. */
	m->routes = xcalloc(n_routes + 1, sizeof(*m->routes));
	for (size_t i = 0; i < METRIC_COUNTERS; i++)
		atomic_init(&m->counters[i], 0);
	return m;
}

void metrics_free(struct metrics *m)
{
	if (!m)
		return;
	free(m->routes);
	free(m);
}

void metrics_count(struct metrics *m, enum metrics_counter c)
{
	if (m && c < METRIC_COUNTERS)
		atomic_fetch_add_explicit(&m->counters[c], 1, memory_order_relaxed);
}

unsigned long metrics_counter_value(const struct metrics *m, enum metrics_counter c)
{
	if (!m || c >= METRIC_COUNTERS)
		return 0;
	return atomic_load_explicit(&m->counters[c], memory_order_relaxed);
}

static size_t bucket_of(double seconds)
{
	size_t i = 0;
	while (i < METRICS_BUCKETS - 1 && seconds > BUCKET_SECONDS[i])
		i++;
	return i;
}

void metrics_observe_request(struct metrics *m, size_t route, unsigned status, double elapsed_ms)
{
	if (!m)
		return;
	struct route_metrics *r = &m->routes[route < m->n_routes ? route : m->n_routes];
	size_t slot = status >= STATUS_FIRST && status < STATUS_FIRST + STATUS_SLOTS - 1
			      ? status - STATUS_FIRST + 1
			      : 0;
	if (elapsed_ms < 0)
		elapsed_ms = 0;
	atomic_fetch_add_explicit(&r->status[slot], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&r->bucket[bucket_of(elapsed_ms / 1000.0)], 1,
				  memory_order_relaxed);
	atomic_fetch_add_explicit(&r->micros, (unsigned long)(elapsed_ms * 1000.0),
				  memory_order_relaxed);
	atomic_fetch_add_explicit(&r->count, 1, memory_order_relaxed);
}

static unsigned long load(const atomic_ulong *v)
{
	return atomic_load_explicit(v, memory_order_relaxed);
}

/* Label values are our own route patterns; escape \ and " anyway, as the format asks. */
static void add_label_value(struct strbuf *out, const char *value)
{
	for (const char *p = value; *p; p++) {
		if (*p == '\\' || *p == '"')
			strbuf_addstr(out, "\\");
		strbuf_add(out, p, 1);
	}
}

static void add_route_labels(struct strbuf *out, const struct metrics *m,
			     const struct metrics_route_label *labels, size_t route)
{
	const char *method = route < m->n_routes ? labels[route].method : "";
	const char *pattern = route < m->n_routes ? labels[route].pattern : "(unmatched)";
	strbuf_addstr(out, "method=\"");
	add_label_value(out, method);
	strbuf_addstr(out, "\",route=\"");
	add_label_value(out, pattern);
	strbuf_addstr(out, "\"");
}

static void render_requests(const struct metrics *m, const struct metrics_route_label *labels,
			    struct strbuf *out)
{
	strbuf_addstr(out, "# HELP devsearch_http_requests_total HTTP requests answered, by route "
			   "pattern and status.\n"
			   "# TYPE devsearch_http_requests_total counter\n");
	for (size_t r = 0; r <= m->n_routes; r++) {
		for (size_t s = 0; s < STATUS_SLOTS; s++) {
			unsigned long n = load(&m->routes[r].status[s]);
			if (!n)
				continue;
			strbuf_addstr(out, "devsearch_http_requests_total{");
			add_route_labels(out, m, labels, r);
			if (s)
				strbuf_addf(out, ",status=\"%zu\"} %lu\n", s - 1 + STATUS_FIRST, n);
			else
				strbuf_addf(out, ",status=\"other\"} %lu\n", n);
		}
	}
}

static void render_histogram(const struct metrics *m, const struct metrics_route_label *labels,
			     struct strbuf *out)
{
	static const char NAME[] = "devsearch_http_request_duration_seconds";
	strbuf_addf(out,
		    "# HELP %s Time from a request's arrival to its answer, by route pattern.\n"
		    "# TYPE %s histogram\n",
		    NAME, NAME);
	for (size_t r = 0; r <= m->n_routes; r++) {
		const struct route_metrics *rm = &m->routes[r];
		unsigned long count = load(&rm->count), cumulative = 0;
		if (!count)
			continue;
		for (size_t b = 0; b < METRICS_BUCKETS; b++) {
			cumulative += load(&rm->bucket[b]);
			strbuf_addf(out, "%s_bucket{", NAME);
			add_route_labels(out, m, labels, r);
			if (b < METRICS_BUCKETS - 1)
				strbuf_addf(out, ",le=\"%g\"} %lu\n", BUCKET_SECONDS[b],
					    cumulative);
			else
				strbuf_addf(out, ",le=\"+Inf\"} %lu\n", cumulative);
		}
		strbuf_addf(out, "%s_sum{", NAME);
		add_route_labels(out, m, labels, r);
		strbuf_addf(out, "} %.6f\n", (double)load(&rm->micros) / 1e6);
		strbuf_addf(out, "%s_count{", NAME);
		add_route_labels(out, m, labels, r);
		/* The buckets were read one by one: +Inf is the count that matches them. */
		strbuf_addf(out, "} %lu\n", cumulative);
	}
}

void metrics_render(const struct metrics *m, const struct metrics_route_label *labels,
		    struct strbuf *out)
{
	for (size_t c = 0; c < METRIC_COUNTERS; c++)
		strbuf_addf(out, "# HELP %s %s\n# TYPE %s counter\n%s %lu\n", COUNTERS[c].name,
			    COUNTERS[c].help, COUNTERS[c].name, COUNTERS[c].name,
			    load(&m->counters[c]));
	render_requests(m, labels, out);
	render_histogram(m, labels, out);
}
