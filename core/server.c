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
	atomic_long in_flight;
	int port;
};

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

static int start_daemon(struct server *server, unsigned threads, unsigned extra_flags)
{
	struct MHD_OptionItem options[] = {
		{MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)mhd_log,
		 NULL}, /* first, or MHD logs by itself */
		{MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)request_completed, server},
		{MHD_OPTION_URI_LOG_CALLBACK, (intptr_t)request_started, server},
		{MHD_OPTION_THREAD_POOL_SIZE, (intptr_t)threads, NULL},
		{MHD_OPTION_CONNECTION_TIMEOUT, 60, NULL},
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
	atomic_init(&server->in_flight, 0);
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
	ulfius_add_endpoint_by_val(&server->instance, "*", NULL, "*", 0, http_dispatch, app);
	ulfius_set_default_endpoint(&server->instance, http_dispatch, app);

	/*
	 * IPv4 only: ulfius 2.7 keeps just sizeof(struct sockaddr) bytes of the client
	 * address, which cuts IPv6 addresses short, and throttling needs them whole.
	 */
	if (start_daemon(server, (unsigned)app->cfg->http_threads, 0) != U_OK) {
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

void server_stop(struct server *server, int timeout_s)
{
	struct timespec tick = {0, 10 * 1000 * 1000};
	long waited_ms = 0;

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
	while (server_in_flight(server) > 0 && waited_ms < (long)timeout_s * 1000) {
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
