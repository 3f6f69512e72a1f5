/*
 * The outbox delivery thread, the console and SMTP backends and the message
 * format; see mailer.h. Reaches the database only through models/email.h and
 * never holds a pooled connection while a mail server is being talked to.
 */
#include "core/mailer.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/metrics.h"
#include "core/util.h"
#include "models/email.h"

#define MAILER_BATCH 10
#define MAILER_TICK_MS 500L
/* After a database error: wait longer, so an outage is not logged twice a second. */
#define MAILER_DB_RETRY_MS 5000L
#define SMTP_TIMEOUT_S 30L
/* RFC 2047 words of at most 75 characters: 42 bytes are 56 base64 characters. */
#define ENCODED_WORD_BYTES 42

enum mailer_backend { MAILER_CONSOLE, MAILER_SMTP };

struct mailer {
	const struct config *cfg; /* borrowed */
	struct db_pool *pool;     /* borrowed */
	struct metrics *metrics;  /* borrowed; NULL: nothing counted */
	enum mailer_backend backend;
	char *smtp_url;      /* SMTP_URL without credentials or query, for curl */
	char *username;      /* percent-decoded, NULL when the URL has none */
	char *password;      /* percent-decoded, NULL when the URL has none */
	int starttls;        /* ?starttls: CURLUSESSL_ALL */
	char *envelope_from; /* "<addr>" for MAIL FROM */
	int sync_ready;      /* lock and wake are initialised */
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	int stopping; /* under lock */
};

/* ---- Message format ------------------------------------------------------ */

static int is_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return 0;
	return 1;
}

/* A header value with CR, LF and other control characters turned into spaces. */
static char *header_text(const char *value, size_t len)
{
	char *text = xstrndup(value, len);
	for (char *p = text; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	return text;
}

static void base64_add(struct strbuf *sb, const unsigned char *data, size_t len)
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	for (size_t i = 0; i < len; i += 3) {
		unsigned long v = (unsigned long)data[i] << 16;
		if (i + 1 < len)
			v |= (unsigned long)data[i + 1] << 8;
		if (i + 2 < len)
			v |= data[i + 2];
		strbuf_addch(sb, alphabet[(v >> 18) & 63]);
		strbuf_addch(sb, alphabet[(v >> 12) & 63]);
		strbuf_addch(sb, i + 1 < len ? alphabet[(v >> 6) & 63] : '=');
		strbuf_addch(sb, i + 2 < len ? alphabet[v & 63] : '=');
	}
}

/*
 * text as RFC 2047 base64 encoded-words, folded onto continuation lines. Words
 * end on UTF-8 character boundaries: a decoder may not join a character split
 * between two words.
 */
static void encoded_words_add(struct strbuf *sb, const char *text)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t len = strlen(text), start = 0;

	while (start < len) {
		size_t end = start + ENCODED_WORD_BYTES < len ? start + ENCODED_WORD_BYTES : len;
		size_t cut = end;
		while (cut > start && cut < len && (s[cut] & 0xC0) == 0x80)
			cut--;
		if (cut > start) /* else not UTF-8 at all: cut anywhere */
			end = cut;
		if (start > 0)
			strbuf_addstr(sb, "\r\n ");
		strbuf_addstr(sb, "=?utf-8?B?");
		base64_add(sb, s + start, end - start);
		strbuf_addstr(sb, "?=");
		start = end;
	}
}

/* "Name: value\r\n", the value made safe and encoded when it is not ASCII. */
static void header_add(struct strbuf *sb, const char *name, const char *value)
{
	char *text = header_text(value, strlen(value));
	strbuf_addf(sb, "%s: ", name);
	if (is_ascii(text))
		strbuf_addstr(sb, text);
	else
		encoded_words_add(sb, text);
	strbuf_addstr(sb, "\r\n");
	free(text);
}

/* From: only the display name of "Name <addr>" may be encoded, never the address. */
static void from_header_add(struct strbuf *sb, const char *from)
{
	char *text = header_text(from, strlen(from));
	char *lt = strrchr(text, '<');
	char *addr = NULL;
	size_t name_len;

	if (is_ascii(text) || !lt) {
		strbuf_addf(sb, "From: %s\r\n", text);
		goto out;
	}
	addr = xstrdup(lt);
	name_len = (size_t)(lt - text);
	while (name_len > 0 && text[name_len - 1] == ' ')
		name_len--;
	text[name_len] = '\0';
	strbuf_addstr(sb, "From: ");
	if (name_len > 0) {
		encoded_words_add(sb, text);
		strbuf_addch(sb, ' ');
	}
	strbuf_addf(sb, "%s\r\n", addr);
out:
	free(addr);
	free(text);
}

/* RFC 5322 date-time in UTC; the names are fixed, not the locale's. */
static void date_header_add(struct strbuf *sb)
{
	static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strbuf_addf(sb, "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\r\n", days[tm.tm_wday],
		    tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
		    tm.tm_sec);
}

static void message_id_add(struct strbuf *sb)
{
	unsigned char id[16];

	if (getrandom(id, sizeof(id), 0) != (ssize_t)sizeof(id)) {
		/* No entropy source: still unique enough for an identifier, not a secret. */
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		unsigned long long mix[2] = {(unsigned long long)ts.tv_sec * 1000000000ULL +
						     (unsigned long long)ts.tv_nsec,
					     ((unsigned long long)getpid() << 32) ^
						     (unsigned long long)(uintptr_t)&ts};
		memcpy(id, mix, sizeof(id));
	}
	strbuf_addstr(sb, "Message-ID: <");
	for (size_t i = 0; i < sizeof(id); i++)
		strbuf_addf(sb, "%02x", id[i]);
	strbuf_addstr(sb, "@devsearch>\r\n");
}

/* The body with every line end (LF, CR or CRLF) as CRLF, ending in one. */
static void body_add(struct strbuf *sb, const char *body)
{
	const char *p = body;

	while (*p) {
		size_t run = strcspn(p, "\r\n");
		strbuf_add(sb, p, run);
		p += run;
		if (!*p)
			break;
		strbuf_addstr(sb, "\r\n");
		p += (p[0] == '\r' && p[1] == '\n') ? 2 : 1;
	}
	if (*body && (sb->len < 2 || strcmp(sb->buf + sb->len - 2, "\r\n")))
		strbuf_addstr(sb, "\r\n");
}

char *mailer_format_message(const char *from, const char *to, const char *subject, const char *body)
{
	struct strbuf sb = STRBUF_INIT;

	from_header_add(&sb, from);
	header_add(&sb, "To", to);
	header_add(&sb, "Subject", subject);
	date_header_add(&sb);
	message_id_add(&sb);
	strbuf_addstr(&sb, "MIME-Version: 1.0\r\n"
			   "Content-Type: text/plain; charset=\"utf-8\"\r\n"
			   "Content-Transfer-Encoding: 8bit\r\n"
			   "\r\n");
	body_add(&sb, body);
	return strbuf_detach(&sb);
}

/* ---- SMTP settings ------------------------------------------------------- */

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* len bytes of s percent-decoded (new string), or NULL if malformed or holding %00. */
static char *percent_decode(const char *s, size_t len)
{
	char *out = xmalloc(len + 1);
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		if (s[i] != '%') {
			out[n++] = s[i];
			continue;
		}
		int hi = i + 2 < len ? hex_digit(s[i + 1]) : -1;
		int lo = hi >= 0 ? hex_digit(s[i + 2]) : -1;
		if (lo < 0 || (hi == 0 && lo == 0)) {
			free(out);
			return NULL;
		}
		out[n++] = (char)(hi * 16 + lo);
		i += 2;
	}
	out[n] = '\0';
	return out;
}

/* A bare address usable in MAIL FROM / RCPT TO: one @, no spaces, brackets or controls. */
static int address_is_plain(const char *addr)
{
	const char *at = strchr(addr, '@');
	if (!at || at == addr || !at[1] || strchr(at + 1, '@'))
		return 0;
	for (const char *p = addr; *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f || *p == '<' || *p == '>')
			return 0;
	return 1;
}

/* "<addr>" from "Name <addr>" or "addr" (new string), or NULL if it is not an address. */
static char *envelope_address(const char *from)
{
	const char *lt = strrchr(from, '<');
	const char *gt = lt ? strchr(lt, '>') : NULL;
	const char *start = from, *end = from + strlen(from);
	struct strbuf sb = STRBUF_INIT;
	char *addr;

	if (lt && gt) {
		start = lt + 1;
		end = gt;
	}
	while (start < end && *start == ' ')
		start++;
	while (end > start && end[-1] == ' ')
		end--;
	addr = xstrndup(start, (size_t)(end - start));
	if (address_is_plain(addr))
		strbuf_addf(&sb, "<%s>", addr);
	free(addr);
	return sb.buf; /* NULL when nothing was added */
}

/*
 * Split SMTP_URL (smtp[s]://[user[:pass]@]host[:port][/domain][?starttls])
 * into the URL curl gets, the decoded credentials and the STARTTLS switch.
 * Errors never quote the URL: it may hold a password.
 */
static int smtp_settings_parse(struct mailer *m, const char *url)
{
	const char *authority, *host, *at = NULL, *query, *fragment;
	size_t authority_len;
	struct strbuf curl_url = STRBUF_INIT;
	int ret = -1;

	if (strncmp(url, "smtp://", 7) && strncmp(url, "smtps://", 8)) {
		log_error("mailer: SMTP_URL must start with smtp:// or smtps://");
		goto out;
	}
	authority = strstr(url, "://") + 3;
	authority_len = strcspn(authority, "/?#");
	for (const char *p = authority; p < authority + authority_len; p++)
		if (*p == '@')
			at = p;
	host = at ? at + 1 : authority;
	if (host == authority + authority_len) {
		log_error("mailer: SMTP_URL has no host");
		goto out;
	}
	if (at) {
		const char *colon = memchr(authority, ':', (size_t)(at - authority));
		const char *user_end = colon ? colon : at;
		m->username = percent_decode(authority, (size_t)(user_end - authority));
		if (colon)
			m->password = percent_decode(colon + 1, (size_t)(at - colon - 1));
		if (!m->username || (colon && !m->password)) {
			log_error("mailer: SMTP_URL has a malformed %%-escape in its credentials");
			goto out;
		}
	}
	query = strchr(host, '?');
	fragment = strchr(host, '#');
	if (fragment && (!query || fragment < query)) {
		log_error("mailer: SMTP_URL must not have a #fragment");
		goto out;
	}
	strbuf_add(&curl_url, url, (size_t)(authority - url));
	strbuf_add(&curl_url, host, query ? (size_t)(query - host) : strlen(host));
	for (const char *opt = query ? query + 1 : NULL; opt && *opt;) {
		size_t opt_len = strcspn(opt, "&#");
		if (opt_len == 8 && !strncmp(opt, "starttls", 8)) {
			m->starttls = 1;
		} else if (opt_len > 0) {
			char *name = header_text(opt, opt_len);
			log_error(
				"mailer: SMTP_URL: unknown option \"%s\" (only starttls is known)",
				name);
			free(name);
			goto out;
		}
		opt += opt_len;
		if (*opt != '&')
			break;
		opt++;
	}
	m->smtp_url = strbuf_detach(&curl_url);
	m->envelope_from = envelope_address(m->cfg->default_from_email);
	if (!m->envelope_from) {
		log_error("mailer: DEFAULT_FROM_EMAIL \"%s\" holds no usable address",
			  m->cfg->default_from_email);
		goto out;
	}
	ret = 0;
out:
	strbuf_release(&curl_url);
	return ret;
}

/* ---- Backends ------------------------------------------------------------ */

/* The message and a line of 79 dashes on stdout in one write(2). */
static int deliver_console(const char *message, char **error)
{
	struct strbuf out = STRBUF_INIT;
	size_t done = 0;
	int ret = -1;

	strbuf_addstr(&out, message);
	if (out.len && out.buf[out.len - 1] != '\n')
		strbuf_addch(&out, '\n');
	for (int i = 0; i < 79; i++)
		strbuf_addch(&out, '-');
	strbuf_addch(&out, '\n');
	/* Whatever stdio holds goes first; the lock keeps other stdio writers out. */
	flockfile(stdout);
	fflush(stdout);
	while (done < out.len) {
		ssize_t n = write(STDOUT_FILENO, out.buf + done, out.len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			strbuf_reset(&out);
			strbuf_addf(&out, "cannot write to stdout: %s", strerror(errno));
			*error = strbuf_detach(&out);
			goto unlock;
		}
		done += (size_t)n;
	}
	ret = 0;
unlock:
	funlockfile(stdout);
	strbuf_release(&out);
	return ret;
}

struct upload {
	const char *data;
	size_t len, pos;
};

static size_t upload_read(char *buf, size_t size, size_t nitems, void *userdata)
{
	struct upload *up = userdata;
	size_t n = up->len - up->pos;
	if (n > size * nitems)
		n = size * nitems;
	memcpy(buf, up->data + up->pos, n);
	up->pos += n;
	return n;
}

/* One SMTP transaction on its own curl handle (handles are not shared between threads). */
static int deliver_smtp(const struct mailer *m, const char *to, const char *message, char **error)
{
	CURL *curl = NULL;
	struct curl_slist *rcpt = NULL;
	struct strbuf sb = STRBUF_INIT;
	struct upload up = {message, strlen(message), 0};
	char errbuf[CURL_ERROR_SIZE] = "";
	CURLcode rc;
	int ret = -1;

	if (!address_is_plain(to)) {
		*error = xstrdup("the recipient is not a plain email address");
		goto out;
	}
	strbuf_addf(&sb, "<%s>", to);
	curl = curl_easy_init();
	rcpt = curl_slist_append(NULL, strbuf_str(&sb));
	if (!curl || !rcpt) {
		*error = xstrdup("cannot set up a curl transfer");
		goto out;
	}
	curl_easy_setopt(curl, CURLOPT_URL, m->smtp_url);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
#else
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS, (long)(CURLPROTO_SMTP | CURLPROTO_SMTPS));
#endif
	if (m->username)
		curl_easy_setopt(curl, CURLOPT_USERNAME, m->username);
	if (m->password)
		curl_easy_setopt(curl, CURLOPT_PASSWORD, m->password);
	if (m->starttls)
		curl_easy_setopt(curl, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
	curl_easy_setopt(curl, CURLOPT_MAIL_FROM, m->envelope_from);
	curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, rcpt);
	curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(curl, CURLOPT_READFUNCTION, upload_read);
	curl_easy_setopt(curl, CURLOPT_READDATA, &up);
	curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)up.len);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, SMTP_TIMEOUT_S);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
	rc = curl_easy_perform(curl);
	if (rc != CURLE_OK) {
		strbuf_reset(&sb);
		strbuf_addstr(&sb, curl_easy_strerror(rc));
		if (errbuf[0])
			strbuf_addf(&sb, ": %s", errbuf);
		*error = strbuf_detach(&sb);
		goto out;
	}
	ret = 0;
out:
	curl_slist_free_all(rcpt);
	curl_easy_cleanup(curl);
	strbuf_release(&sb);
	return ret;
}

/* ---- The worker ---------------------------------------------------------- */

static int mailer_stopping(struct mailer *m)
{
	pthread_mutex_lock(&m->lock);
	int stopping = m->stopping;
	pthread_mutex_unlock(&m->lock);
	return stopping;
}

/* Sleep ms or until mailer_stop(); returns whether stopping. */
static int mailer_wait(struct mailer *m, long ms)
{
	struct timespec deadline = deadline_after_ms(CLOCK_MONOTONIC, ms);
	int stopping;

	pthread_mutex_lock(&m->lock);
	while (!m->stopping)
		if (pthread_cond_timedwait(&m->wake, &m->lock, &deadline) == ETIMEDOUT)
			break;
	stopping = m->stopping;
	pthread_mutex_unlock(&m->lock);
	return stopping;
}

/* Deliver one claimed email, then record the outcome on a briefly borrowed connection. */
static void mailer_deliver(struct mailer *m, const struct outbox_email *email)
{
	char *message = mailer_format_message(m->cfg->default_from_email, email->to, email->subject,
					      email->body);
	char *error = NULL;
	struct db_conn *conn = NULL;
	enum app_err err;
	int failed = m->backend == MAILER_SMTP ? deliver_smtp(m, email->to, message, &error)
					       : deliver_console(message, &error);

	if (failed)
		log_warn("mailer: email %s not sent (attempt %d), will retry: %s", email->id,
			 email->attempts, error);
	metrics_count(m->metrics, failed ? METRIC_EMAILS_FAILED : METRIC_EMAILS_SENT);
	err = db_pool_acquire(m->pool, DB_POOL_WAIT, &conn);
	if (err == APP_OK)
		err = failed ? email_mark_failed(conn, email->id, email->attempts, error)
			     : email_mark_sent(conn, email->id);
	if (err != APP_OK)
		log_error("mailer: cannot record the outcome of email %s; it is tried again "
			  "when its lease ends",
			  email->id);
	db_pool_release(m->pool, conn);
	free(error);
	free(message);
}

/* Claimed emails that were never attempted become due again for whoever is next. */
static void mailer_unclaim(struct mailer *m, const struct outbox_email *emails, size_t n)
{
	struct db_conn *conn = NULL;

	if (db_pool_acquire(m->pool, DB_POOL_WAIT, &conn) != APP_OK)
		goto out;
	for (size_t i = 0; i < n; i++)
		if (email_unclaim(conn, emails[i].id) != APP_OK)
			log_warn("mailer: email %s stays leased until its lease ends",
				 emails[i].id);
out:
	db_pool_release(m->pool, conn);
}

/* One batch: claim (connection held only for that), deliver each. -1 on a database error. */
static int mailer_run_batch(struct mailer *m, size_t *claimed)
{
	struct db_conn *conn = NULL;
	struct outbox_email *emails = NULL;
	size_t n = 0, i = 0;
	int ret = -1;

	*claimed = 0;
	if (db_pool_acquire(m->pool, DB_POOL_WAIT, &conn) != APP_OK)
		goto out;
	if (email_claim_due(conn, MAILER_BATCH, &emails, &n) != APP_OK)
		goto out;
	db_pool_release(m->pool, conn);
	conn = NULL;
	*claimed = n;
	while (i < n && !mailer_stopping(m))
		mailer_deliver(m, &emails[i++]);
	if (i < n)
		mailer_unclaim(m, emails + i, n - i);
	ret = 0;
out:
	db_pool_release(m->pool, conn);
	outbox_emails_free(emails, n);
	return ret;
}

static void *mailer_main(void *arg)
{
	struct mailer *m = arg;
	size_t claimed;

	while (!mailer_stopping(m)) {
		int failed = mailer_run_batch(m, &claimed);
		/* A full batch means more may be due: go on without sleeping. */
		if (!failed && claimed == MAILER_BATCH)
			continue;
		mailer_wait(m, failed ? MAILER_DB_RETRY_MS : MAILER_TICK_MS);
	}
	return NULL;
}

static void mailer_free(struct mailer *m)
{
	if (!m)
		return;
	if (m->sync_ready) {
		pthread_mutex_destroy(&m->lock);
		pthread_cond_destroy(&m->wake);
	}
	free(m->smtp_url);
	free(m->username);
	free(m->password);
	free(m->envelope_from);
	free(m);
}

int mailer_start(const struct config *cfg, struct db_pool *pool, struct metrics *metrics,
		 struct mailer **out)
{
	struct mailer *m = xcalloc(1, sizeof(*m));
	pthread_condattr_t attr;
	int ret = -1;

	*out = NULL;
	m->cfg = cfg;
	m->pool = pool;
	m->metrics = metrics;
	if (!strcmp(cfg->email_backend, "smtp")) {
		m->backend = MAILER_SMTP;
		if (!cfg->smtp_url) {
			log_error("mailer: SMTP_URL is required with EMAIL_BACKEND=smtp");
			goto out;
		}
		if (smtp_settings_parse(m, cfg->smtp_url))
			goto out;
	} else if (!strcmp(cfg->email_backend, "console")) {
		m->backend = MAILER_CONSOLE;
	} else {
		log_error("mailer: unknown EMAIL_BACKEND \"%s\"", cfg->email_backend);
		goto out;
	}
	/* The monotonic clock: a wall-clock jump must not stall or hurry the ticks. */
	pthread_mutex_init(&m->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&m->wake, &attr);
	pthread_condattr_destroy(&attr);
	m->sync_ready = 1;
	if (pthread_create(&m->thread, NULL, mailer_main, m)) {
		log_error("mailer: cannot start the delivery thread");
		goto out;
	}
	log_info("mailer: delivering with the %s backend", cfg->email_backend);
	*out = m;
	m = NULL;
	ret = 0;
out:
	mailer_free(m);
	return ret;
}

void mailer_stop(struct mailer *mailer)
{
	if (!mailer)
		return;
	pthread_mutex_lock(&mailer->lock);
	mailer->stopping = 1;
	pthread_cond_signal(&mailer->wake);
	pthread_mutex_unlock(&mailer->lock);
	pthread_join(mailer->thread, NULL);
	mailer_free(mailer);
}
