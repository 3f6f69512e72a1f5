/*
 * libmicrohttpd/ulfius set-up and graceful stop; see server.h. Owns the MHD
 * daemon and the count of in-flight requests, nothing else.
 */
#include "core/server.h"

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <ulfius.h>
#include <unistd.h>

#include "api/http.h"
#include "core/config.h"
#include "core/log.h"
#include "core/util.h"

struct server {
	struct _u_instance instance;
	struct app *app;
	atomic_long in_flight;
	atomic_int draining; /* set by server_stop: answers close their connection */
	int port;
};

/*
 * After a stop has begun, a keep-alive client's next request is still
 * answered, with "Connection: close", so the client hangs up by itself instead
 * of having an idle connection cut under a request it is sending.
 */
static int dispatch(const struct _u_request *request, struct _u_response *response, void *user_data)
{
	struct server *server = user_data;
	int ret = http_dispatch(request, response, server->app);
	if (atomic_load(&server->draining))
		u_map_put(response->map_header, "Connection", "close");
	return ret;
}

/* ulfius must see every request start and end; we count them on the way. */
static void *request_started(void *cls, const char *uri, struct MHD_Connection *connection)
{
	struct server *server = cls;
	(void)connection;
	atomic_fetch_add(&server->in_flight, 1);
	return ulfius_uri_logger(NULL, uri);
}

static void request_completed(void *cls, struct MHD_Connection *connection, void **con_cls,
			      enum MHD_RequestTerminationCode toe)
{
	struct server *server = cls;
	mhd_request_completed(NULL, connection, con_cls, toe);
	atomic_fetch_sub(&server->in_flight, 1);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct strbuf sb = STRBUF_INIT;
	(void)cls;
	strbuf_vaddf(&sb, fmt, ap);
	while (sb.len && sb.buf[sb.len - 1] == '\n')
		sb.buf[--sb.len] = '\0';
	log_warn("http server: %s", strbuf_str(&sb));
	strbuf_release(&sb);
}

static int start_daemon(struct server *server, const struct config *cfg, unsigned extra_flags)
{
	struct MHD_OptionItem options[] = {
		{MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)mhd_log,
		 NULL}, /* first, or MHD logs by itself */
		{MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)request_completed, server},
		{MHD_OPTION_URI_LOG_CALLBACK, (intptr_t)request_started, server},
		{MHD_OPTION_THREAD_POOL_SIZE, (intptr_t)cfg->http_threads, NULL},
		/*
		 * Past the limit MHD accepts and closes at once (logged), so a flood of
		 * connections costs no descriptors or memory beyond the limit's. The pool's
		 * threads share it out: each takes at most its part of the limit.
		 */
		{MHD_OPTION_CONNECTION_LIMIT, (intptr_t)cfg->http_max_connections, NULL},
		/* Also closes a body that trickles in too slowly: the timer runs per read. */
		{MHD_OPTION_CONNECTION_TIMEOUT, (intptr_t)cfg->http_idle_timeout, NULL},
		{MHD_OPTION_END, 0, NULL},
	};
	/*
	 * poll(), not epoll: libmicrohttpd 0.9.75's MHD_quiesce_daemon races its own
	 * epoll workers to remove the listening socket from their sets and aborts the
	 * process when it loses (seen about once in 20 test runs). With poll() each
	 * worker leaves the socket out of its next poll set; ITC wakes it up.
	 */
	unsigned flags =
		MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG | extra_flags;
	return ulfius_start_framework_with_mhd_options(&server->instance, flags, options);
}

int server_start(struct app *app, int port, struct server **out)
{
	struct server *server = xcalloc(1, sizeof(*server));
	const union MHD_DaemonInfo *info;

	*out = NULL;
	server->app = app;
	atomic_init(&server->in_flight, 0);
	atomic_init(&server->draining, 0);
	if (ulfius_init_instance(&server->instance, port ? (unsigned)port : 8000, NULL, NULL) !=
	    U_OK) {
		log_error("http server: cannot initialise ulfius");
		free(server);
		return -1;
	}
	server->instance.port = (unsigned)port;
	/*
	 * One byte over the largest limit is enough to know the body was too large;
	 * the dispatcher applies each route's own limit (ROUTE_UPLOAD routes accept more).
	 */
	server->instance.max_post_body_size = (size_t)http_max_body_bytes(app) + 1;
	server->instance.allowed_post_processor = U_POST_PROCESS_NONE;
	ulfius_add_endpoint_by_val(&server->instance, "*", NULL, "*", 0, dispatch, server);
	ulfius_set_default_endpoint(&server->instance, dispatch, server);

	/*
	 * IPv4 only: ulfius 2.7 keeps just sizeof(struct sockaddr) bytes of the client
	 * address, which cuts IPv6 addresses short, and throttling needs them whole.
	 */
	if (start_daemon(server, app->cfg, 0) != U_OK) {
		log_error("http server: cannot listen on port %d", port);
		ulfius_clean_instance(&server->instance);
		free(server);
		return -1;
	}
	info = MHD_get_daemon_info(server->instance.mhd_daemon, MHD_DAEMON_INFO_BIND_PORT);
	server->port = info ? info->port : port;
	*out = server;
	return 0;
}

int server_port(const struct server *server)
{
	return server->port;
}

long server_in_flight(const struct server *server)
{
	return atomic_load(&server->in_flight);
}

/* Client connections open now, over every worker thread. */
static unsigned open_connections(const struct server *server)
{
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(server->instance.mhd_daemon,
							       MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
	return info ? info->num_connections : 0;
}

/*
 * How long connections may stay open with no request in flight once a stop has
 * begun: enough for a keep-alive client between two requests to send its next
 * one (answered with "Connection: close"), short enough that idle ones do not
 * hold the stop up.
 */
#define DRAIN_IDLE_MS 500

void server_stop(struct server *server, int timeout_s)
{
	struct timespec tick = {0, 10 * 1000 * 1000};
	long waited_ms = 0, idle_ms = 0;

	if (!server)
		return;
	/*
	 * Refuse new connections now, but keep the descriptor open until the daemon
	 * has stopped: a worker thread may still hold it in its epoll set, and MHD
	 * aborts the process if removing it fails because it was closed.
	 */
	MHD_socket listener = MHD_quiesce_daemon(server->instance.mhd_daemon);
	if (listener != MHD_INVALID_SOCKET)
		shutdown(listener, SHUT_RDWR);
	atomic_store(&server->draining, 1);
	while (waited_ms < (long)timeout_s * 1000) {
		idle_ms = server_in_flight(server) > 0 ? 0 : idle_ms + 10;
		if (idle_ms > 0 && (open_connections(server) == 0 || idle_ms >= DRAIN_IDLE_MS))
			break;
		nanosleep(&tick, NULL);
		waited_ms += 10;
	}
	if (server_in_flight(server) > 0)
		log_warn("http server: stopping with %ld requests unanswered after %d s",
			 server_in_flight(server), timeout_s);
	ulfius_stop_framework(&server->instance);
	if (listener != MHD_INVALID_SOCKET)
		close(listener);
	ulfius_clean_instance(&server->instance);
	free(server);
}
