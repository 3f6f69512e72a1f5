/*
 * GET /metrics: the metrics registry (core/metrics.h) and the pool's counts in
 * the Prometheus text format, for addresses METRICS_ALLOW lists. Registered
 * only with METRICS=on; otherwise the path is as unknown as any other.
 */
#ifndef DEVSEARCH_API_METRICS_H
#define DEVSEARCH_API_METRICS_H

#include "api/http.h"

/* Add GET /metrics to router (unlisted, no authentication: METRICS_ALLOW decides). */
void metrics_routes(struct router *router);

#endif
