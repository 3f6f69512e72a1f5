/*
 * Fault tests (issue 7, point 3): PostgreSQL stopped and started again under
 * load, SIGTERM under load against the real binary, slow and idle clients and
 * the connection limit, and writes cut off half-way by a database error. Each
 * is bounded in time and talks to 127.0.0.1 only. docs/reliability.md,
 * "Faults", says what each one proves.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/server.h"
#include "models/db.h"
#include "support.h"

static long clock_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* 1 if body is a JSON object with string "detail" and "code" (the API's error shape). */
static int is_json_error(const char *body)
{
	json_t *j = json_loads(body, 0, NULL);
	int ok = json_is_object(j) && json_is_string(json_object_get(j, "detail")) &&
		 json_is_string(json_object_get(j, "code"));
	json_decref(j);
	return ok;
}

/* ------------------------------------------------------------------------- */
/* PostgreSQL stopped and started again under load                            */
/* ------------------------------------------------------------------------- */

enum outage_phase { PHASE_UP, PHASE_STOPPING, PHASE_DOWN, PHASE_STARTING, PHASE_BACK, N_PHASES };

struct outage {
	struct test_server *ts;
	char bearer[4096];
	atomic_int phase;
	atomic_int stop;
	pthread_mutex_t lock;
	/* Requests that started and ended in the same phase, by phase. */
	long total[N_PHASES];
	long ok[N_PHASES]; /* 200 or 201 */
	long json503[N_PHASES];
	long other; /* anything else anywhere: a 500, a non-JSON 503, no answer */
	long max_ms;
	char first_other[256];
};

static void outage_record(struct outage *o, int from, int to, long status, const char *body,
			  long ms)
{
	pthread_mutex_lock(&o->lock);
	if (ms > o->max_ms)
		o->max_ms = ms;
	int good = status == 200 || status == 201 || (status == 503 && is_json_error(body));
	if (!good) {
		if (!o->other)
			snprintf(o->first_other, sizeof(o->first_other), "%ld %.200s", status,
				 body);
		o->other++;
	}
	if (from == to) {
		o->total[from]++;
		if (status == 200 || status == 201)
			o->ok[from]++;
		else if (status == 503 && good)
			o->json503[from]++;
	}
	pthread_mutex_unlock(&o->lock);
}

/* One client: reads of two lists and a project write, round robin, until told to stop. */
static void *outage_client(void *arg)
{
	struct outage *o = arg;
	const char *auth[] = {o->bearer, "Content-Type: application/json", NULL};
	char url[256];

	for (unsigned i = 0; !atomic_load(&o->stop); i++) {
		struct test_response resp;
		int from = atomic_load(&o->phase);
		long start = clock_ms();
		int rc;
		if (i % 3 == 0) {
			snprintf(url, sizeof(url), "%s/api/projects?page_size=3", o->ts->base);
			rc = test_http("GET", url, NULL, NULL, 0, &resp);
		} else if (i % 3 == 1) {
			snprintf(url, sizeof(url), "%s/api/profiles?page_size=3", o->ts->base);
			rc = test_http("GET", url, NULL, NULL, 0, &resp);
		} else {
			static const char body[] =
				"{\"title\":\"outage load\",\"tags\":[\"outage\"]}";
			snprintf(url, sizeof(url), "%s/api/projects", o->ts->base);
			rc = test_http("POST", url, auth, body, sizeof(body) - 1, &resp);
		}
		outage_record(o, from, atomic_load(&o->phase), rc ? 0 : resp.status,
			      strbuf_str(&resp.body), clock_ms() - start);
		test_response_release(&resp);
	}
	return NULL;
}

#define OUTAGE_CLIENTS 6

START_TEST(database_outage_gives_503_then_recovers)
{
	struct test_server ts;
	struct test_account a;
	struct outage o;
	pthread_t clients[OUTAGE_CLIENTS];
	char *access = NULL, *refresh = NULL, health[128];

	/* No cache: every read must reach the pool, so the outage is seen at once. */
	setenv("RESPONSE_CACHE_BYTES", "0", 1);
	setenv("HTTP_THREADS", "4", 1);
	setenv("DB_TIMEOUT", "2", 1);
	test_server_start(&ts, NULL, 0);
	test_register(&ts, &a, "outage");
	ck_assert_int_eq(test_login(&ts, a.username, TEST_PASSWORD, &access, &refresh), 200);

	memset(&o, 0, sizeof(o));
	o.ts = &ts;
	snprintf(o.bearer, sizeof(o.bearer), "Authorization: Bearer %s", access);
	pthread_mutex_init(&o.lock, NULL);
	atomic_init(&o.phase, PHASE_UP);
	atomic_init(&o.stop, 0);
	/* Every refused request logs a line: thousands of them; only the summary is kept. */
	fflush(stderr);
	int saved_stderr = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
	int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	ck_assert(saved_stderr >= 0 && devnull >= 0);
	dup2(devnull, STDERR_FILENO);
	close(devnull);
	for (int i = 0; i < OUTAGE_CLIENTS; i++)
		ck_assert_int_eq(pthread_create(&clients[i], NULL, outage_client, &o), 0);

	sleep_ms(700);
	atomic_store(&o.phase, PHASE_STOPPING);
	ck_assert_int_eq(test_pg_stop(), 0);
	atomic_store(&o.phase, PHASE_DOWN);
	sleep_ms(1500);
	atomic_store(&o.phase, PHASE_STARTING);
	ck_assert_int_eq(test_pg_start(), 0);
	/* The same process, not a restarted one: how long until the database is usable again. */
	long started = clock_ms();
	snprintf(health, sizeof(health), "%s/api/projects?page_size=1", ts.base);
	int back = test_wait_http_ok(health, 5000);
	long recovery_ms = clock_ms() - started;
	atomic_store(&o.phase, PHASE_BACK);
	sleep_ms(1500);
	atomic_store(&o.stop, 1);
	for (int i = 0; i < OUTAGE_CLIENTS; i++)
		pthread_join(clients[i], NULL);
	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);

	fprintf(stderr,
		"faults: outage: up %ld/%ld ok, down %ld/%ld json 503, back %ld/%ld ok, "
		"recovered in %ld ms, slowest answer %ld ms\n",
		o.ok[PHASE_UP], o.total[PHASE_UP], o.json503[PHASE_DOWN], o.total[PHASE_DOWN],
		o.ok[PHASE_BACK], o.total[PHASE_BACK], recovery_ms, o.max_ms);
	ck_assert_msg(back == 0, "no 200 within 5 s of PostgreSQL being back");
	ck_assert_msg(o.other == 0, "%ld answers were neither 2xx nor a JSON 503; first: %s",
		      o.other, o.first_other);
	ck_assert_int_gt(o.total[PHASE_UP], 0);
	ck_assert_int_eq(o.ok[PHASE_UP], o.total[PHASE_UP]);
	ck_assert_int_gt(o.total[PHASE_DOWN], 10);
	ck_assert_int_eq(o.json503[PHASE_DOWN], o.total[PHASE_DOWN]);
	/* Every pooled connection was broken by the restart; none may fail a request now. */
	ck_assert_int_gt(o.total[PHASE_BACK], 10);
	ck_assert_int_eq(o.ok[PHASE_BACK], o.total[PHASE_BACK]);
	/* DB_TIMEOUT=2: nothing waits much longer than it, whatever the phase. */
	ck_assert_int_lt(o.max_ms, 2000 + 1000 * test_time_scale());

	pthread_mutex_destroy(&o.lock);
	free(access);
	free(refresh);
	test_server_stop(&ts);
}
END_TEST

START_TEST(slow_statement_is_cut_at_db_timeout)
{
	struct test_server ts;
	struct test_response resp;
	struct db_conn *conn = NULL;

	setenv("DB_TIMEOUT", "2", 1);
	test_server_start(&ts, NULL, 0);
	/* A lock held by another session makes the pool's next write wait on it. */
	ck_assert_int_eq(db_conn_open(test_env("DATABASE_URL"), &conn), APP_OK);
	ck_assert_int_eq(db_begin(conn), APP_OK);
	ck_assert_int_eq(
		db_exec(conn, "LOCK TABLE projects IN ACCESS EXCLUSIVE MODE", 0, NULL, NULL),
		APP_OK);
	long start = clock_ms();
	long status = test_call(&ts, "GET", "/api/projects?page_size=1", NULL, NULL, &resp, NULL);
	long waited = clock_ms() - start;
	fprintf(stderr, "faults: statement behind a lock answered %ld after %ld ms\n", status,
		waited);
	ck_assert_int_eq(status, 503);
	ck_assert(is_json_error(strbuf_str(&resp.body)));
	ck_assert_int_ge(waited, 1900);
	ck_assert_int_lt(waited, 3500);
	test_response_release(&resp);
	db_rollback(conn);
	db_conn_free(conn);
	/* The connection that timed out is fine for the next request. */
	ck_assert_int_eq(
		test_call(&ts, "GET", "/api/projects?page_size=1", NULL, NULL, &resp, NULL), 200);
	test_response_release(&resp);
	test_server_stop(&ts);
}
END_TEST

/* ------------------------------------------------------------------------- */
/* Raw HTTP/1.1 on a socket                                                   */
/* ------------------------------------------------------------------------- */

static int tcp_connect(int port)
{
	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr))) {
		close(fd);
		return -1;
	}
	return fd;
}

static int send_text(int fd, const char *text, size_t len)
{
	while (len) {
		ssize_t n = send(fd, text, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		text += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The value of header name in the head [head, end), or NULL. */
static const char *header_in(const char *head, const char *end, const char *name)
{
	size_t len = strlen(name);
	for (const char *p = strstr(head, "\r\n"); p && p < end; p = strstr(p + 2, "\r\n")) {
		if (!strncasecmp(p + 2, name, len) && p[2 + len] == ':') {
			const char *v = p + 3 + len;
			while (*v == ' ')
				v++;
			return v;
		}
	}
	return NULL;
}

enum read_outcome { READ_COMPLETE, READ_EOF, READ_RESET, READ_TIMEOUT, READ_PARTIAL };

/*
 * Read one response (headers, then Content-Length bytes) within timeout_ms.
 * *status is its status, *closing 1 if it said "Connection: close".
 * READ_EOF / READ_RESET: nothing at all came before the end / the reset.
 */
static enum read_outcome read_response(int fd, int timeout_ms, int *status, int *closing)
{
	struct strbuf in = STRBUF_INIT;
	long deadline = clock_ms() + timeout_ms;
	enum read_outcome outcome = READ_TIMEOUT;
	char chunk[4096];

	*status = 0;
	*closing = 0;
	for (;;) {
		const char *end = strstr(strbuf_str(&in), "\r\n\r\n");
		if (end) {
			const char *cl = header_in(strbuf_str(&in), end, "Content-Length");
			size_t want = (size_t)(end - strbuf_str(&in)) + 4 +
				      (cl ? strtoul(cl, NULL, 10) : 0);
			if (in.len >= want) {
				const char *conn = header_in(strbuf_str(&in), end, "Connection");
				sscanf(strbuf_str(&in), "HTTP/1.%*d %d", status);
				*closing = conn && !strncasecmp(conn, "close", 5);
				outcome = READ_COMPLETE;
				break;
			}
		}
		long left = deadline - clock_ms();
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			break;
		ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			outcome = in.len ? READ_PARTIAL : n == 0 ? READ_EOF : READ_RESET;
			if (n < 0 && errno != ECONNRESET)
				outcome = READ_PARTIAL;
			break;
		}
		strbuf_add(&in, chunk, (size_t)n);
	}
	strbuf_release(&in);
	return outcome;
}

static const char GET_HEALTH[] = "GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

/* Count of this process's open descriptors. */
static int open_fds(void)
{
	int n = 0;
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* ------------------------------------------------------------------------- */
/* SIGTERM under load, against the real binary                                */
/* ------------------------------------------------------------------------- */

struct sigterm_client {
	int port;
	int slow;       /* send a POST whose body trickles in over about a second */
	atomic_int *go; /* set once every client has a connection */
	int sent, answered, closed_by_server, resets, lost, connect_failed;
};

static void *sigterm_client_run(void *arg)
{
	struct sigterm_client *c = arg;
	int fd = tcp_connect(c->port);
	int status, closing;

	if (fd < 0) {
		c->connect_failed = 1;
		return NULL;
	}
	while (!atomic_load(c->go))
		sleep_ms(5);
	for (;;) {
		if (c->slow) {
			static const char head[] =
				"POST /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n"
				"Content-Type: application/json\r\n"
				"Content-Length: 10\r\n\r\n";
			if (send_text(fd, head, sizeof(head) - 1))
				break;
			c->sent++;
			for (int i = 0; i < 10; i++) {
				if (send_text(fd, "{\"a\": 1}  " + i, 1))
					break;
				sleep_ms(100);
			}
		} else {
			if (send_text(fd, GET_HEALTH, sizeof(GET_HEALTH) - 1))
				break;
			c->sent++;
		}
		enum read_outcome r = read_response(fd, 15000, &status, &closing);
		if (r == READ_COMPLETE) {
			c->answered++;
			if (closing) {
				c->closed_by_server = 1;
				break;
			}
			continue;
		}
		/* A keep-alive connection closed between two requests is allowed only with EOF. */
		if (r == READ_RESET)
			c->resets++;
		else
			c->lost++;
		break;
	}
	close(fd);
	return NULL;
}

#define SIGTERM_CLIENTS 12

START_TEST(sigterm_under_load_answers_every_accepted_request)
{
	struct sigterm_client clients[SIGTERM_CLIENTS];
	pthread_t threads[SIGTERM_CLIENTS];
	struct strbuf out = STRBUF_INIT;
	char port_arg[16], health[64];
	int port = test_free_port(), fd_out;
	atomic_int go;

	snprintf(port_arg, sizeof(port_arg), "%d", port);
	snprintf(health, sizeof(health), "http://127.0.0.1:%d/api/health", port);
	const char *serve[] = {"serve", "--port", port_arg, NULL};
	const char *env[] = {"SHUTDOWN_TIMEOUT=20", "HTTP_THREADS=4", NULL};
	pid_t pid = test_spawn(serve, env, &fd_out);
	ck_assert_msg(test_wait_http_ok(health, 20000) == 0, "server did not come up");

	atomic_init(&go, 0);
	memset(clients, 0, sizeof(clients));
	for (int i = 0; i < SIGTERM_CLIENTS; i++) {
		clients[i].port = port;
		clients[i].slow = i < 3;
		clients[i].go = &go;
		ck_assert_int_eq(pthread_create(&threads[i], NULL, sigterm_client_run, &clients[i]),
				 0);
	}
	sleep_ms(200);
	atomic_store(&go, 1);
	sleep_ms(500); /* the slow bodies are half-way now */
	long signalled = clock_ms();
	ck_assert_int_eq(kill(pid, SIGTERM), 0);
	for (int i = 0; i < SIGTERM_CLIENTS; i++)
		pthread_join(threads[i], NULL);
	int exit_status = test_finish(pid, fd_out, &out);
	long stop_ms = clock_ms() - signalled;

	int sent = 0, answered = 0, resets = 0, lost = 0, closed = 0;
	for (int i = 0; i < SIGTERM_CLIENTS; i++) {
		ck_assert_msg(!clients[i].connect_failed, "client %d could not connect", i);
		sent += clients[i].sent;
		answered += clients[i].answered;
		resets += clients[i].resets;
		lost += clients[i].lost;
		closed += clients[i].closed_by_server;
	}
	fprintf(stderr,
		"faults: sigterm: %d requests sent, %d answered, %d connections closed with "
		"Connection: close, %d resets, %d lost; exit %d after %ld ms\n",
		sent, answered, closed, resets, lost, exit_status, stop_ms);
	ck_assert_msg(exit_status == 0, "exit status %d: %s", exit_status, strbuf_str(&out));
	ck_assert_int_eq(resets, 0);
	ck_assert_int_eq(lost, 0);
	ck_assert_int_eq(answered, sent);
	/* Each keep-alive client was told to hang up, none was cut off. */
	ck_assert_int_eq(closed, SIGTERM_CLIENTS);
	ck_assert_int_lt(stop_ms, 5000 * test_time_scale());
	/* The slow requests were in flight at SIGTERM and still got their answer. */
	for (int i = 0; i < 3; i++)
		ck_assert_int_ge(clients[i].answered, 1);
	strbuf_release(&out);
}
END_TEST

/* ------------------------------------------------------------------------- */
/* Slow clients, idle connections, the connection limit                       */
/* ------------------------------------------------------------------------- */

struct trickle {
	int port;
	int seconds;
	int bytes_sent;
};

/* Headers, then a body one byte a second, never finished within the test. */
static void *trickle_run(void *arg)
{
	struct trickle *t = arg;
	static const char head[] = "POST /api/users/token HTTP/1.1\r\nHost: 127.0.0.1\r\n"
				   "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n";
	int fd = tcp_connect(t->port);
	if (fd < 0 || send_text(fd, head, sizeof(head) - 1))
		goto out;
	for (int i = 0; i < t->seconds; i++) {
		if (send_text(fd, "{", 1))
			break;
		t->bytes_sent++;
		sleep_ms(1000);
	}
out:
	if (fd >= 0)
		close(fd);
	return NULL;
}

START_TEST(slow_and_idle_clients_do_not_stall_others)
{
	struct test_server ts;
	struct trickle t = {0};
	pthread_t slow;
	int idle[6];
	int status, closing;

	setenv("HTTP_THREADS", "2", 1);
	test_server_start(&ts, NULL, 0);
	t.port = server_port(ts.server);
	t.seconds = 4;
	ck_assert_int_eq(pthread_create(&slow, NULL, trickle_run, &t), 0);
	/* Idle keep-alive connections: one request each, then silence. */
	for (int i = 0; i < 6; i++) {
		idle[i] = tcp_connect(t.port);
		ck_assert_int_ge(idle[i], 0);
		ck_assert_int_eq(send_text(idle[i], GET_HEALTH, sizeof(GET_HEALTH) - 1), 0);
		ck_assert_int_eq(read_response(idle[i], 5000, &status, &closing), READ_COMPLETE);
	}
	long slowest = 0;
	for (int i = 0; i < 20; i++) {
		struct test_response resp;
		long start = clock_ms();
		ck_assert_int_eq(
			test_call(&ts, "GET", "/api/projects?page_size=2", NULL, NULL, &resp, NULL),
			200);
		test_response_release(&resp);
		long ms = clock_ms() - start;
		slowest = ms > slowest ? ms : slowest;
		sleep_ms(100);
	}
	pthread_join(slow, NULL);
	fprintf(stderr,
		"faults: slow clients: body at 1 byte/s (%d bytes) and 6 idle connections; "
		"slowest of 20 other requests %ld ms\n",
		t.bytes_sent, slowest);
	ck_assert_int_ge(t.bytes_sent, 2);
	ck_assert_int_lt(slowest, 1000);
	for (int i = 0; i < 6; i++)
		close(idle[i]);
	test_server_stop(&ts);
}
END_TEST

START_TEST(idle_connection_is_closed_after_http_idle_timeout)
{
	struct test_server ts;
	int status, closing;

	setenv("HTTP_IDLE_TIMEOUT", "1", 1);
	test_server_start(&ts, NULL, 0);
	int fd = tcp_connect(server_port(ts.server));
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(send_text(fd, GET_HEALTH, sizeof(GET_HEALTH) - 1), 0);
	ck_assert_int_eq(read_response(fd, 5000, &status, &closing), READ_COMPLETE);
	/* Also half a request: headers begun, never finished. */
	int half = tcp_connect(server_port(ts.server));
	ck_assert_int_ge(half, 0);
	ck_assert_int_eq(send_text(half, "GET /api/health HTTP/1.1\r\n", 26), 0);
	long start = clock_ms();
	ck_assert_int_eq(read_response(fd, 5000, &status, &closing), READ_EOF);
	long idle_ms = clock_ms() - start;
	enum read_outcome r = read_response(half, 5000, &status, &closing);
	ck_assert_msg(r == READ_EOF || r == READ_RESET, "half request: outcome %d", r);
	fprintf(stderr, "faults: idle keep-alive connection closed after %ld ms (timeout 1 s)\n",
		idle_ms);
	ck_assert_int_lt(idle_ms, 1000 + 2500 * test_time_scale());
	close(fd);
	close(half);
	test_server_stop(&ts);
}
END_TEST

#define LIMIT 6
#define OVER 10

START_TEST(connection_limit_queues_the_rest_without_descriptors)
{
	struct test_server ts;
	int fds[LIMIT + OVER], answered[LIMIT + OVER];
	int status, closing, served = 0, waiting = 0;

	setenv("HTTP_THREADS", "2", 1);
	setenv("HTTP_MAX_CONNECTIONS", "6", 1);
	test_server_start(&ts, NULL, 0);
	int port = server_port(ts.server);
	int fds_before = open_fds();

	for (int i = 0; i < LIMIT + OVER; i++) {
		fds[i] = tcp_connect(port); /* the kernel completes the handshake */
		ck_assert_int_ge(fds[i], 0);
		ck_assert_int_eq(send_text(fds[i], GET_HEALTH, sizeof(GET_HEALTH) - 1), 0);
	}
	for (int i = 0; i < LIMIT + OVER; i++) {
		answered[i] = read_response(fds[i], 300, &status, &closing) == READ_COMPLETE;
		served += answered[i];
		waiting += !answered[i];
	}
	/* This process is client and server: minus the client sockets, what the server holds. */
	int server_fds = open_fds() - fds_before - (LIMIT + OVER);
	fprintf(stderr,
		"faults: connection limit %d: %d connections, %d served, %d left in the listen "
		"queue; the server holds %d descriptors for them\n",
		LIMIT, LIMIT + OVER, served, waiting, server_fds);
	ck_assert_int_ge(served, 1);
	ck_assert_int_le(served, LIMIT);
	ck_assert_int_le(server_fds, LIMIT + 2); /* plus a pooled database connection or so */
	/* Those inside the limit keep being served while the others wait. */
	for (int i = 0; i < LIMIT + OVER; i++) {
		if (!answered[i])
			continue;
		ck_assert_int_eq(send_text(fds[i], GET_HEALTH, sizeof(GET_HEALTH) - 1), 0);
		ck_assert_int_eq(read_response(fds[i], 2000, &status, &closing), READ_COMPLETE);
		ck_assert_int_eq(status, 200);
		close(fds[i]);
		fds[i] = -1;
	}
	/* Room again: the queued connections are taken in and answered. */
	for (int i = 0; i < LIMIT + OVER; i++) {
		if (fds[i] < 0)
			continue;
		enum read_outcome r = read_response(fds[i], 5000, &status, &closing);
		ck_assert_msg(r == READ_COMPLETE && status == 200,
			      "queued connection %d: outcome %d", i, r);
		close(fds[i]);
	}
	struct test_response resp;
	ck_assert_int_eq(test_call(&ts, "GET", "/api/health", NULL, NULL, &resp, NULL), 200);
	test_response_release(&resp);
	sleep_ms(200);
	ck_assert_int_le(open_fds(), fds_before + 2);
	test_server_stop(&ts);
}
END_TEST

/* ------------------------------------------------------------------------- */
/* Writes cut off half-way                                                    */
/* ------------------------------------------------------------------------- */

/*
 * A trigger on table that fails the statement for rows whose marker column
 * (found through marker_sql, given NEW) contains "fault-" — so the rest of the
 * suite, sharing the database, is never touched. kill: end the session instead
 * of raising, as a crashed or restarted server would.
 */
static void fault_trigger_add(const char *table, const char *marker_sql, int kill)
{
	char sql[1024];
	snprintf(sql, sizeof(sql),
		 "CREATE OR REPLACE FUNCTION fault_inject() RETURNS trigger LANGUAGE plpgsql AS $$ "
		 "BEGIN IF (%s) LIKE '%%fault-%%' THEN %s END IF; RETURN NEW; END $$",
		 marker_sql,
		 kill ? "PERFORM pg_terminate_backend(pg_backend_pid());"
		      : "RAISE EXCEPTION 'fault injected by the test';");
	free(test_sql(sql, NULL, NULL));
	snprintf(sql, sizeof(sql),
		 "CREATE TRIGGER fault_inject BEFORE INSERT OR UPDATE ON %s "
		 "FOR EACH ROW EXECUTE FUNCTION fault_inject()",
		 table);
	free(test_sql(sql, NULL, NULL));
}

static void fault_trigger_drop(const char *table)
{
	char sql[256];
	snprintf(sql, sizeof(sql), "DROP TRIGGER IF EXISTS fault_inject ON %s", table);
	free(test_sql(sql, NULL, NULL));
	free(test_sql("DROP FUNCTION IF EXISTS fault_inject()", NULL, NULL));
}

static long count_of(const char *sql, const char *p1)
{
	char *v = test_sql(sql, p1, NULL);
	long n = v ? strtol(v, NULL, 10) : -1;
	free(v);
	return n;
}

/* The status a fault gives: a raised error is a 500, a lost session a 503; both JSON. */
static long expected_status(int kill)
{
	return kill ? 503 : 500;
}

START_TEST(project_with_tags_is_all_or_nothing)
{
	struct test_server ts;
	struct test_account a;
	char *access = NULL, *refresh = NULL, title[64];
	const char *marker = "(SELECT title FROM projects WHERE id = NEW.project_id)";

	setenv("RESPONSE_CACHE_BYTES", "0", 1);
	test_server_start(&ts, NULL, 0);
	test_register(&ts, &a, "faultw");
	ck_assert_int_eq(test_login(&ts, a.username, TEST_PASSWORD, &access, &refresh), 200);
	for (int kill = 0; kill < 2; kill++) {
		struct test_response resp;
		test_unique(title, sizeof(title), "fault-project-");
		fault_trigger_add("project_tags", marker, kill);
		json_t *j_body = json_pack("{s:s,s:[s,s]}", "title", title, "tags", "faulttag1",
					   "faulttag2");
		char *text = json_dumps(j_body, JSON_COMPACT);
		json_decref(j_body);
		long status = test_call(&ts, "POST", "/api/projects", test_bearer(access), text,
					&resp, NULL);
		free(text);
		fault_trigger_drop("project_tags");
		ck_assert_int_eq(status, expected_status(kill));
		ck_assert(is_json_error(strbuf_str(&resp.body)));
		ck_assert_ptr_null(strstr(strbuf_str(&resp.body), "fault injected"));
		test_response_release(&resp);
		/* The project row came first in the transaction: it must be gone too. */
		ck_assert_int_eq(count_of("SELECT count(*) FROM projects WHERE title = $1", title),
				 0);
	}
	/* Without the fault the same request works, on the same pool. */
	test_unique(title, sizeof(title), "fault-project-");
	ck_assert_int_eq(test_post(&ts, "/api/projects", test_bearer(access),
				   json_pack("{s:s,s:[s]}", "title", title, "tags", "faulttag1"),
				   NULL),
			 201);
	ck_assert_int_eq(count_of("SELECT count(*) FROM projects p JOIN project_tags pt ON "
				  "pt.project_id = p.id WHERE p.title = $1",
				  title),
			 1);
	free(access);
	free(refresh);
	test_server_stop(&ts);
}
END_TEST

START_TEST(project_update_with_tags_is_all_or_nothing)
{
	struct test_server ts;
	struct test_account a;
	json_t *j = NULL;
	char *access = NULL, *refresh = NULL, title[64], path[128], *new_title;
	const char *marker = "(SELECT title FROM projects WHERE id = NEW.project_id)";

	setenv("RESPONSE_CACHE_BYTES", "0", 1);
	test_server_start(&ts, NULL, 0);
	test_register(&ts, &a, "faultu");
	ck_assert_int_eq(test_login(&ts, a.username, TEST_PASSWORD, &access, &refresh), 200);
	test_unique(title, sizeof(title), "stable-project-");
	ck_assert_int_eq(test_post(&ts, "/api/projects", test_bearer(access),
				   json_pack("{s:s,s:[s]}", "title", title, "tags", "before"), &j),
			 201);
	snprintf(path, sizeof(path), "/api/projects/%s",
		 json_string_value(json_object_get(j, "id")));
	json_decref(j);
	for (int kill = 0; kill < 2; kill++) {
		/* The update renames it to a marked title, then the new tag row fails. */
		fault_trigger_add("project_tags", marker, kill);
		new_title = kill ? "fault-renamed-b" : "fault-renamed-a";
		long status = test_send(
			&ts, "PUT", path, test_bearer(access),
			json_pack("{s:s,s:[s]}", "title", new_title, "tags", "after"), NULL);
		fault_trigger_drop("project_tags");
		ck_assert_int_eq(status, expected_status(kill));
		ck_assert_int_eq(count_of("SELECT count(*) FROM projects WHERE title = $1", title),
				 1);
		ck_assert_int_eq(
			count_of("SELECT count(*) FROM project_tags pt JOIN tags t ON "
				 "t.id = pt.tag_id JOIN projects p ON p.id = pt.project_id "
				 "WHERE p.title = $1 AND t.name = 'before'",
				 title),
			1);
	}
	free(access);
	free(refresh);
	test_server_stop(&ts);
}
END_TEST

START_TEST(registration_is_all_or_nothing)
{
	struct test_server ts;
	char username[64], email[96];

	test_server_start(&ts, NULL, 0);
	for (int kill = 0; kill < 2; kill++) {
		/* users, then profiles, then the welcome email: the last one fails. */
		fault_trigger_add("email_outbox", "NEW.to_address", kill);
		test_unique(username, sizeof(username), "faultreg");
		snprintf(email, sizeof(email), "fault-%s@example.com", username);
		long status = test_post(&ts, "/api/users/register", NULL,
					json_pack("{s:s,s:s,s:s}", "username", username, "email",
						  email, "password", TEST_PASSWORD),
					NULL);
		fault_trigger_drop("email_outbox");
		ck_assert_int_eq(status, expected_status(kill));
		ck_assert_int_eq(
			count_of("SELECT count(*) FROM users WHERE username = $1", username), 0);
		ck_assert_int_eq(count_of("SELECT count(*) FROM profiles p JOIN users u ON "
					  "u.id = p.user_id WHERE u.username = $1",
					  username),
				 0);
	}
	test_server_stop(&ts);
}
END_TEST

/* Earlier suites' failed logins from 127.0.0.1 must not throttle these logins. */
static void faults_up(void)
{
	setenv("LOGIN_THROTTLE_USERNAME", "1000", 1);
	setenv("LOGIN_THROTTLE_IP", "1000", 1);
}

static void faults_down(void)
{
}

Suite *faults_suite(void)
{
	Suite *s = suite_create("faults");
	TCase *tc = tcase_create("database");
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, faults_up, faults_down);
	tcase_add_test(tc, database_outage_gives_503_then_recovers);
	tcase_add_test(tc, slow_statement_is_cut_at_db_timeout);
	suite_add_tcase(s, tc);

	tc = tcase_create("connections");
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, faults_up, faults_down);
	tcase_add_test(tc, sigterm_under_load_answers_every_accepted_request);
	tcase_add_test(tc, slow_and_idle_clients_do_not_stall_others);
	tcase_add_test(tc, idle_connection_is_closed_after_http_idle_timeout);
	tcase_add_test(tc, connection_limit_queues_the_rest_without_descriptors);
	suite_add_tcase(s, tc);

	tc = tcase_create("interrupted_writes");
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, faults_up, faults_down);
	tcase_add_test(tc, project_with_tags_is_all_or_nothing);
	tcase_add_test(tc, project_update_with_tags_is_all_or_nothing);
	tcase_add_test(tc, registration_is_all_or_nothing);
	suite_add_tcase(s, tc);
	return s;
}
