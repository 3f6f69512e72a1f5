/*
 * The HTTP server: ulfius on libmicrohttpd with an epoll thread pool, every
 * request going to http_dispatch(). Stopping is graceful: stop accepting,
 * let in-flight requests finish, then close.
 */
#ifndef DEVSEARCH_SERVER_H
#define DEVSEARCH_SERVER_H

#include "core/app.h"

struct server;

/*
 * Listen on port (0: any free port) with app->cfg->http_threads threads.
 * Returns 0 with *out set, or -1 with the reason logged. app is borrowed and
 * must outlive the server.
 */
int server_start(struct app *app, int port, struct server **out);

/* The port actually listened on. */
int server_port(const struct server *server);

/* Requests received and not yet answered. */
long server_in_flight(const struct server *server);

/*
 * Stop accepting connections, wait up to timeout_s seconds for in-flight
 * requests to be answered, then stop and free the server. Requests answered
 * meanwhile carry "Connection: close"; keep-alive connections left idle are
 * closed half a second after the last request in flight was answered.
 */
void server_stop(struct server *server, int timeout_s);

#endif
