/*
 * The metrics registry: counters and a latency histogram kept as atomics, so
 * any thread adds to them without a lock, and rendered in the Prometheus text
 * format (0.0.4) for GET /metrics (api/metrics.c). Owned by struct app; it
 * knows nothing of HTTP or SQL: routes are indexes given by the caller.
 */
#ifndef DEVSEARCH_METRICS_H
#define DEVSEARCH_METRICS_H

#include <stddef.h>

#include "core/util.h"

/* Plain event counters; metrics_render() names them (devsearch_<name>_total). */
enum metrics_counter {
	METRIC_EMAILS_QUEUED,        /* an email written to the outbox */
	METRIC_EMAILS_SENT,          /* delivered by the mailer */
	METRIC_EMAILS_FAILED,        /* one delivery attempt failed (it is retried) */
	METRIC_TOKEN_ROTATIONS,      /* a refresh token exchanged for a new pair */
	METRIC_TOKEN_REUSE,          /* a rotated refresh token presented again */
	METRIC_CACHE_HITS,           /* answered from the response cache */
	METRIC_CACHE_MISSES,         /* cacheable, but the handler ran */
	METRIC_REPLICA_READ_RETRIES, /* a read run again on the primary: the replica failed */
	METRIC_COUNTERS
};

/* Upper bounds of the latency histogram, in seconds (the last is +Inf). */
#define METRICS_BUCKETS 14

/* One route's label values; borrowed. */
struct metrics_route_label {
	const char *method;
	const char *pattern;
};

struct metrics;

/*
 * A registry for n_routes routes, indexed 0..n_routes-1, plus one more
 * (index n_routes) for requests that matched none. Caller metrics_free()s.
 */
struct metrics *metrics_new(size_t n_routes);
void metrics_free(struct metrics *m);

/* Add one to counter c. m may be NULL (metrics not kept): then nothing happens. */
void metrics_count(struct metrics *m, enum metrics_counter c);

/*
 * Count one answered request of route (n_routes or more: none matched) with
 * its status (100..599, anything else is counted as 0) and how long it took.
 * m may be NULL.
 */
void metrics_observe_request(struct metrics *m, size_t route, unsigned status, double elapsed_ms);

/* The value of counter c (0 for a NULL m). */
unsigned long metrics_counter_value(const struct metrics *m, enum metrics_counter c);

/*
 * Append the registry in the Prometheus text format to out: the counters,
 * devsearch_http_requests_total{method,route,status} and the cumulative
 * devsearch_http_request_duration_seconds histogram per route. labels has
 * n_routes entries, in the indexes given to metrics_observe_request.
 */
void metrics_render(const struct metrics *m, const struct metrics_route_label *labels,
		    struct strbuf *out);

#endif
