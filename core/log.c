/*
 * Line-at-a-time logging to stderr in text or JSON; see log.h. Each line is
 * built in a fixed buffer on the stack and leaves in one write(2); every
 * field has a budget, so a line always fits and a JSON line is always whole.
 */
#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static const char *const level_names[] = {"DEBUG", "INFO", "WARN", "ERROR"};
static const char *const level_json_names[] = {"debug", "info", "warn", "error"};
static const char *const format_names[] = {"text", "json"};

/* Output bytes a field may take in a line; their sum stays well below LOG_LINE_MAX. */
#define MSG_BUDGET 1600
#define PATH_BUDGET 1024
#define METHOD_BUDGET 32
#define ADDR_BUDGET 64
#define ID_BUDGET (2 * LOG_REQUEST_ID_MAX) /* visible ASCII: at most one escape each */

/* Settings: written once at start, before threads exist; read-only afterwards. */
static enum log_level min_level = LOG_INFO;
static enum log_format format = LOG_TEXT;

/* The request this thread is handling; "" when none (see log_set_request_id in log.h). */
static _Thread_local char request_id[LOG_REQUEST_ID_MAX + 1];

void log_set_level(enum log_level level)
{
	min_level = level;
}

int log_level_parse(const char *name)
{
	for (int i = 0; i < 4; i++)
		if (!strcasecmp(name, level_names[i]))
			return i;
	return -1;
}

void log_set_format(enum log_format f)
{
	format = f;
}

int log_format_parse(const char *name)
{
	for (int i = 0; i < 2; i++)
		if (!strcasecmp(name, format_names[i]))
			return i;
	return -1;
}

void log_set_request_id(const char *id)
{
	snprintf(request_id, sizeof(request_id), "%s", id ? id : "");
}

/* One line being built; len never passes LOG_LINE_MAX - 1 (room for the newline). */
struct line {
	char buf[LOG_LINE_MAX];
	size_t len;
};

static void line_add(struct line *l, const char *s, size_t n)
{
	if (n > sizeof(l->buf) - 1 - l->len)
		n = sizeof(l->buf) - 1 - l->len;
	memcpy(l->buf + l->len, s, n);
	l->len += n;
}

static void line_addstr(struct line *l, const char *s)
{
	line_add(l, s, strlen(s));
}

/*
 * The length of the valid UTF-8 sequence at s (n bytes left), or 0: no
 * overlong forms, no surrogates, nothing past U+10FFFF.
 */
static size_t utf8_sequence(const unsigned char *s, size_t n)
{
	size_t len;
	unsigned char lo = 0x80, hi = 0xBF;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xC2 && s[0] <= 0xDF)
		len = 2;
	else if (s[0] >= 0xE0 && s[0] <= 0xEF)
		len = 3;
	else if (s[0] >= 0xF0 && s[0] <= 0xF4)
		len = 4;
	else
		return 0;
	if (s[0] == 0xE0)
		lo = 0xA0;
	else if (s[0] == 0xED)
		hi = 0x9F;
	else if (s[0] == 0xF0)
		lo = 0x90;
	else if (s[0] == 0xF4)
		hi = 0x8F;
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xBF)
			return 0;
	return len;
}

/*
 * s as a JSON string, quotes included, taking at most budget bytes of output
 * (a longer value is cut at a character). Control characters are escaped and
 * bytes that are not UTF-8 become U+FFFD, so the line stays one valid line.
 */
static void line_add_json_string(struct line *l, const char *s, size_t budget)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t left = strlen(s), used = 0;
	char esc[8];

	line_add(l, "\"", 1);
	while (left) {
		const char *out = esc;
		size_t n, take = 1;
		if (*p == '"' || *p == '\\') {
			esc[0] = '\\';
			esc[1] = (char)*p;
			n = 2;
		} else if (*p < 0x20 || *p == 0x7F) {
			n = (size_t)snprintf(esc, sizeof(esc), "\\u%04x", *p);
		} else if ((take = utf8_sequence(p, left)) == 0) {
			out = "\\ufffd";
			n = 6;
			take = 1;
		} else {
			out = (const char *)p;
			n = take;
		}
		if (used + n > budget)
			break;
		line_add(l, out, n);
		used += n;
		p += take;
		left -= take;
	}
	line_add(l, "\"", 1);
}

/* s in a text line, at most budget bytes; control characters become spaces. */
static void line_add_text(struct line *l, const char *s, size_t budget)
{
	for (size_t i = 0; s[i] && i < budget; i++) {
		char c = (unsigned char)s[i] < 0x20 || s[i] == 0x7F ? ' ' : s[i];
		line_add(l, &c, 1);
	}
}

/* The start of a line: its time (RFC 3339, UTC, milliseconds) and level. */
static void line_begin(struct line *l, enum log_level level)
{
	struct timespec ts;
	struct tm tm;
	char time_text[40];
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(time_text, sizeof(time_text), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(time_text + n, sizeof(time_text) - n, ".%03ldZ", ts.tv_nsec / 1000000L);
	l->len = 0;
	if (format == LOG_JSON) {
		line_addstr(l, "{\"time\":\"");
		line_addstr(l, time_text);
		line_addstr(l, "\",\"level\":\"");
		line_addstr(l, level_json_names[level]);
		line_addstr(l, "\",\"msg\":");
	} else {
		line_addstr(l, time_text);
		line_addstr(l, " ");
		line_addstr(l, level_names[level]);
		line_addstr(l, " ");
	}
}

/* ,"key":"value" (json) or " key=value" (text); a NULL value is null or "-". */
static void line_add_field(struct line *l, const char *key, const char *value, size_t budget)
{
	if (format == LOG_JSON) {
		line_addstr(l, ",\"");
		line_addstr(l, key);
		line_addstr(l, "\":");
		if (value)
			line_add_json_string(l, value, budget);
		else
			line_addstr(l, "null");
		return;
	}
	line_addstr(l, " ");
	line_addstr(l, key);
	line_addstr(l, "=");
	line_add_text(l, value ? value : "-", budget);
}

/* Close the object (json), end the line and write it out in one write(2). */
static void line_write(struct line *l)
{
	if (format == LOG_JSON)
		line_addstr(l, "}");
	l->buf[l->len++] = '\n';
	/* A failed log write has nowhere better to be reported. */
	if (write(STDERR_FILENO, l->buf, l->len) < 0)
		return;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	char msg[MSG_BUDGET];
	struct line l;
	va_list ap;

	if (level < min_level)
		return;
	va_start(ap, fmt);
	int m = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	size_t n = m < 0 ? 0 : (size_t)m < sizeof(msg) ? (size_t)m : sizeof(msg) - 1;
	/* libpq's messages end in a newline; the line must not. */
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		n--;
	msg[n] = '\0';
	line_begin(&l, level);
	if (format == LOG_JSON)
		line_add_json_string(&l, msg, MSG_BUDGET);
	else
		line_add_text(&l, msg, MSG_BUDGET);
	if (request_id[0])
		line_add_field(&l, "request_id", request_id, ID_BUDGET);
	line_write(&l);
}

void log_request(const struct log_request *r)
{
	char number[64];
	struct line l;

	if (LOG_INFO < min_level)
		return;
	line_begin(&l, LOG_INFO);
	if (format == LOG_TEXT) {
		line_add_text(&l, r->method, METHOD_BUDGET);
		line_addstr(&l, " ");
		line_add_text(&l, r->path, PATH_BUDGET);
		snprintf(number, sizeof(number), " %ld %.1fms", r->status, r->ms);
		line_addstr(&l, number);
		line_add_field(&l, "request_id", request_id[0] ? request_id : NULL, ID_BUDGET);
		line_add_field(&l, "user", r->user_id, ADDR_BUDGET);
		line_add_field(&l, "remote_addr", r->remote_addr, ADDR_BUDGET);
		line_write(&l);
		return;
	}
	/* msg: the text form's start, for people reading the JSON raw. */
	struct line msg = {.len = 0};
	line_add_text(&msg, r->method, METHOD_BUDGET);
	line_addstr(&msg, " ");
	line_add_text(&msg, r->path, PATH_BUDGET / 2);
	snprintf(number, sizeof(number), " %ld", r->status);
	line_addstr(&msg, number);
	msg.buf[msg.len] = '\0';
	line_add_json_string(&l, msg.buf, PATH_BUDGET / 2 + 64);
	line_add_field(&l, "method", r->method, METHOD_BUDGET);
	line_add_field(&l, "path", r->path, PATH_BUDGET);
	snprintf(number, sizeof(number), ",\"status\":%ld,\"ms\":%.1f", r->status, r->ms);
	line_addstr(&l, number);
	line_add_field(&l, "user_id", r->user_id, ADDR_BUDGET);
	line_add_field(&l, "remote_addr", r->remote_addr, ADDR_BUDGET);
	line_add_field(&l, "request_id", request_id[0] ? request_id : NULL, ID_BUDGET);
	line_write(&l);
}
