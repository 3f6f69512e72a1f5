/*
 * Log lines on stderr, one write(2) per line (at most LOG_LINE_MAX bytes, so
 * under PIPE_BUF), so lines of concurrent threads never interleave. Two
 * formats (LOG_FORMAT): text, "2026-11-21T10:14:18.123Z LEVEL message", and
 * json, one object per line: {"time":...,"level":"info","msg":...}.
 * Lines written while a request is handled carry its id (log_set_request_id).
 */
#ifndef DEVSEARCH_LOG_H
#define DEVSEARCH_LOG_H

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };
enum log_format { LOG_TEXT, LOG_JSON };

/* The longest line written, newline included: below PIPE_BUF (4096). */
#define LOG_LINE_MAX 4000
/* The longest request id kept (X-Request-Id: 1 to 128 visible ASCII characters). */
#define LOG_REQUEST_ID_MAX 128

__attribute__((format(printf, 2, 3))) void log_msg(enum log_level level, const char *fmt, ...);

/*
 * Drop lines below level from now on. Called once at start, before any thread
 * exists (the LOG_LEVEL setting); the default is LOG_INFO.
 */
void log_set_level(enum log_level level);

/* "debug", "info", "warn", "error" -> level; -1 if none of them. */
int log_level_parse(const char *name);

/* Write lines in format from now on; once at start, as log_set_level (LOG_FORMAT). */
void log_set_format(enum log_format format);

/* "text", "json" -> format; -1 if neither. */
int log_format_parse(const char *name);

/*
 * The request this thread handles from now on: id (copied, at most
 * LOG_REQUEST_ID_MAX bytes) is added to each line the thread writes until it
 * is called again with NULL at the end of the request. This is the one piece
 * of thread-local state of the server: a request is handled start to end on
 * one thread (api/http.c http_dispatch), and lines from deep inside (a
 * database error in models/db.c) can then name it without every layer passing
 * the request down.
 */
void log_set_request_id(const char *id);

/* The access-log line of one request; every pointer borrowed for the call. */
struct log_request {
	const char *method;
	const char *path;
	long status;
	double ms;
	const char *user_id;     /* NULL when anonymous */
	const char *remote_addr; /* the client's address as text */
};

/*
 * Write r at level info with the current request id. text:
 * "... INFO GET /api/projects 200 3.1ms request_id=ab12 user=- remote_addr=127.0.0.1";
 * json: the same as fields method, path, status, ms, user_id (null when
 * anonymous), remote_addr and request_id, plus msg "GET /api/projects 200".
 */
void log_request(const struct log_request *r);

#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
