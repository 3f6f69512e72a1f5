/*
 * The email outbox and its delivery worker against the real test database:
 * the message format, backoff and claims, and delivery through a tiny SMTP
 * server in this process (the smtp backend) or stdout (the console backend).
 * Every test uses its own recipient addresses and looks only at its own rows:
 * the worker also delivers whatever other suites left in the outbox.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/config.h"
#include "core/log.h"
#include "core/mailer.h"
#include "models/db.h"
#include "models/email.h"
#include "smtp_listener.h"
#include "support.h"

#define FROM_EMAIL "DevSearch Tests <tests@devsearch.local>"
#define WAIT_MS 10000

/* ---- Database and mailer helpers ---------------------------------------- */

/* A recipient nobody else uses: tag, pid and time. */
static void unique_address(char *out, size_t size, const char *tag)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(out, size, "%s-%ld-%ld%09ld@example.test", tag, (long)getpid(), (long)ts.tv_sec,
		 ts.tv_nsec);
}

static void enqueue(const char *to, const char *subject, const char *body, int commit)
{
	struct db_conn *conn = NULL;
	ck_assert_int_eq(db_conn_open(test_env("DATABASE_URL"), &conn), APP_OK);
	ck_assert_int_eq(db_begin(conn), APP_OK);
	ck_assert_int_eq(email_enqueue(conn, to, subject, body, "test"), APP_OK);
	if (commit)
		ck_assert_int_eq(db_commit(conn), APP_OK);
	else
		db_rollback(conn);
	db_conn_free(conn);
}

/* sql with every %s replaced by the (test-made, quote-free) address; caller free()s. */
static char *row_sql(const char *sql, const char *to)
{
	struct strbuf sb = STRBUF_INIT;
	ck_assert(!strchr(to, '\''));
	for (const char *p = sql; *p; p++) {
		if (p[0] == '%' && p[1] == 's') {
			strbuf_addstr(&sb, to);
			p++;
		} else {
			strbuf_addch(&sb, *p);
		}
	}
	return strbuf_detach(&sb);
}

/* The first value of sql (with the address filled in), new string or NULL. */
static char *row_value(const char *sql, const char *to)
{
	char *text = row_sql(sql, to);
	char *value = test_sql_value(test_env("DATABASE_URL"), text);
	free(text);
	return value;
}

/* 1 if the boolean sql answers true within timeout_ms. */
static int row_wait(const char *sql, const char *to, int timeout_ms)
{
	struct timespec tick = {0, 50 * 1000 * 1000};
	double deadline = now_ms() + timeout_ms;
	do {
		char *value = row_value(sql, to);
		int yes = value && !strcmp(value, "t");
		free(value);
		if (yes)
			return 1;
		nanosleep(&tick, NULL);
	} while (now_ms() < deadline);
	return 0;
}

static void assert_row(const char *sql, const char *to, const char *want)
{
	char *got = row_value(sql, to);
	ck_assert_msg(got && !strcmp(got, want), "%s for %s: got %s, want %s", sql, to,
		      got ? got : "no row / NULL", want);
	free(got);
}

static const char SQL_SENT[] =
	"SELECT sent_at IS NOT NULL FROM email_outbox WHERE to_address = '%s'";
static const char SQL_FAILED[] =
	"SELECT last_error IS NOT NULL FROM email_outbox WHERE to_address = '%s'";

struct mailer_fixture {
	struct config cfg;
	struct db_pool *pool;
	struct mailer *mailer;
};

/* Settings through config_load (tests run in forked children: setenv stays here). */
static void mailer_up(struct mailer_fixture *fx, const char *backend, const char *smtp_url)
{
	struct strbuf errors = STRBUF_INIT;
	setenv("EMAIL_BACKEND", backend, 1);
	if (smtp_url)
		setenv("SMTP_URL", smtp_url, 1);
	else
		unsetenv("SMTP_URL");
	setenv("DEFAULT_FROM_EMAIL", FROM_EMAIL, 1);
	ck_assert_msg(config_load(&fx->cfg, &errors) == 0, "%s", strbuf_str(&errors));
	strbuf_release(&errors);
	log_set_level((enum log_level)fx->cfg.log_level);
	ck_assert_int_eq(
		db_pool_open(fx->cfg.database_url, 2, (int)fx->cfg.db_timeout_ms, 0, &fx->pool),
		APP_OK);
	ck_assert_int_eq(mailer_start(&fx->cfg, fx->pool, NULL, &fx->mailer), 0);
}

static void mailer_down(struct mailer_fixture *fx)
{
	mailer_stop(fx->mailer);
	db_pool_free(fx->pool);
	config_release(&fx->cfg);
}

static int matches(const char *text, const char *pattern)
{
	regex_t re;
	ck_assert_int_eq(regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB), 0);
	int found = regexec(&re, text, 0, NULL, 0) == 0;
	regfree(&re);
	return found;
}

static int starts_with(const char *text, const char *prefix)
{
	return !strncmp(text, prefix, strlen(prefix));
}

/* Every CR is followed by LF and every LF preceded by CR. */
static void assert_crlf_only(const char *text)
{
	for (const char *p = text; *p; p++) {
		if (*p == '\r')
			ck_assert_msg(p[1] == '\n', "bare CR at %ld", (long)(p - text));
		if (*p == '\n')
			ck_assert_msg(p > text && p[-1] == '\r', "bare LF at %ld",
				      (long)(p - text));
	}
}

/* ---- Message format ------------------------------------------------------ */

START_TEST(format_message_headers_and_line_ends)
{
	char *msg = mailer_format_message("Dev Search <noreply@devsearch.local>",
					  "ann@example.test", "Grüße aus Köln",
					  "Hallo\nzweite Zeile\r\ndritte\rvierte\n.punkt");
	char *other = mailer_format_message("a@example.test", "b@example.test", "Hi", "");

	ck_assert_msg(starts_with(msg, "From: Dev Search <noreply@devsearch.local>\r\n"), "%s",
		      msg);
	ck_assert_ptr_nonnull(strstr(msg, "\r\nTo: ann@example.test\r\n"));
	ck_assert_ptr_nonnull(strstr(msg, "\r\nSubject: =?utf-8?B?R3LDvMOfZSBhdXMgS8O2bG4=?=\r\n"));
	ck_assert_msg(matches(msg, "\r\nDate: (Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{2} "
				   "(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [0-9]{4} "
				   "[0-9]{2}:[0-9]{2}:[0-9]{2} \\+0000\r\n"),
		      "%s", msg);
	ck_assert(matches(msg, "\r\nMessage-ID: <[0-9a-f]{32}@devsearch>\r\n"));
	ck_assert_ptr_nonnull(strstr(msg, "\r\nMIME-Version: 1.0\r\n"));
	ck_assert_ptr_nonnull(strstr(msg, "\r\nContent-Type: text/plain; charset=\"utf-8\"\r\n"));
	ck_assert_ptr_nonnull(strstr(msg, "\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"));
	/* Every line end is CRLF; a leading dot is left for libcurl to stuff. */
	const char *body = strstr(msg, "\r\n\r\n");
	ck_assert_str_eq(body, "\r\n\r\nHallo\r\nzweite Zeile\r\ndritte\r\nvierte\r\n.punkt\r\n");
	assert_crlf_only(msg);

	/* Message-IDs are random. */
	const char *id1 = strstr(msg, "Message-ID: "), *id2 = strstr(other, "Message-ID: ");
	ck_assert(id1 && id2 && strncmp(id1, id2, 46));
	ck_assert_ptr_nonnull(strstr(other, "\r\n\r\n"));
	ck_assert_str_eq(strstr(other, "\r\n\r\n"), "\r\n\r\n");
	free(msg);
	free(other);
}
END_TEST

START_TEST(format_message_folds_long_subjects_and_blocks_injection)
{
	struct strbuf subject = STRBUF_INIT, decoded = STRBUF_INIT;
	for (int i = 0; i < 12; i++)
		strbuf_addstr(&subject, "Ünïcödé → ");
	char *msg = mailer_format_message("Dév Search <noreply@devsearch.local>",
					  "ann@example.test\r\nBcc: eve@example.test",
					  strbuf_str(&subject), "x");

	ck_assert_msg(starts_with(msg, "From: =?utf-8?B?RMOpdiBTZWFyY2g=?= "
				       "<noreply@devsearch.local>\r\n"),
		      "%s", msg);
	ck_assert_ptr_null(strstr(msg, "\nBcc:"));
	ck_assert_ptr_nonnull(strstr(msg, "\r\nTo: ann@example.test  Bcc: eve@example.test\r\n"));

	/* The subject: words on folded lines, none over 78 characters, decoding to the original. */
	const char *line = strstr(msg, "\r\nSubject: ") + 2;
	int lines = 0;
	for (;;) {
		const char *eol = strstr(line, "\r\n");
		const char *word = strstr(line, "=?utf-8?B?");
		ck_assert_msg(eol - line <= 78, "line too long: %.*s", (int)(eol - line), line);
		ck_assert_msg(word && word < eol, "no encoded-word: %.*s", (int)(eol - line), line);
		ck_assert(!strncmp(eol - 2, "?=", 2));
		word += 10;
		base64_decode(word, (size_t)(eol - 2 - word), &decoded);
		lines++;
		line = eol + 2;
		if (*line != ' ')
			break;
	}
	ck_assert_int_gt(lines, 2);
	ck_assert_str_eq(strbuf_str(&decoded), strbuf_str(&subject));
	assert_crlf_only(msg);

	free(msg);
	msg = mailer_format_message(FROM_EMAIL, "ann@example.test", "Hi\r\nBcc: eve@example.test",
				    "x");
	ck_assert_ptr_nonnull(strstr(msg, "\r\nSubject: Hi  Bcc: eve@example.test\r\n"));
	ck_assert_ptr_null(strstr(msg, "\nBcc:"));
	free(msg);
	strbuf_release(&subject);
	strbuf_release(&decoded);
}
END_TEST

/* ---- Outbox model --------------------------------------------------------- */

/* The claimed entry for id in list, or NULL. */
static const struct outbox_email *find_claimed(const struct outbox_email *list, size_t n,
					       const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(list[i].id, id))
			return &list[i];
	return NULL;
}

/* Seconds from now to next_attempt_at of the row for to. */
static double next_attempt_in(const char *to)
{
	char *v = row_value("SELECT extract(epoch FROM next_attempt_at - now()) FROM email_outbox "
			    "WHERE to_address = '%s'",
			    to);
	ck_assert_ptr_nonnull(v);
	double seconds = atof(v);
	free(v);
	return seconds;
}

START_TEST(claims_skip_locked_rows_and_failures_back_off)
{
	struct db_conn *a = NULL, *b = NULL;
	struct outbox_email *list = NULL;
	size_t n = 0;
	char to[128];
	const struct outbox_email *mine;

	unique_address(to, sizeof(to), "claim");
	enqueue(to, "Claim me", "body", 1);
	char *id = row_value("SELECT id FROM email_outbox WHERE to_address = '%s'", to);
	ck_assert_ptr_nonnull(id);
	ck_assert_int_eq(db_conn_open(test_env("DATABASE_URL"), &a), APP_OK);
	ck_assert_int_eq(db_conn_open(test_env("DATABASE_URL"), &b), APP_OK);

	/* A claim in progress (not committed) holds the row: a second worker skips it. */
	ck_assert_int_eq(db_begin(a), APP_OK);
	ck_assert_int_eq(email_claim_due(a, 1000, &list, &n), APP_OK);
	mine = find_claimed(list, n, id);
	ck_assert_ptr_nonnull(mine);
	ck_assert_int_eq(mine->attempts, 1);
	ck_assert_str_eq(mine->to, to);
	ck_assert_str_eq(mine->subject, "Claim me");
	ck_assert_str_eq(mine->body, "body");
	outbox_emails_free(list, n);
	ck_assert_int_eq(email_claim_due(b, 1000, &list, &n), APP_OK);
	ck_assert_ptr_null(find_claimed(list, n, id));
	outbox_emails_free(list, n);

	/* Rolled back, it is due again; claimed for real, it is leased for 5 minutes. */
	db_rollback(a);
	ck_assert_int_eq(email_claim_due(b, 1000, &list, &n), APP_OK);
	mine = find_claimed(list, n, id);
	ck_assert_ptr_nonnull(mine);
	ck_assert_int_eq(mine->attempts, 1);
	outbox_emails_free(list, n);
	ck_assert_int_eq(email_claim_due(a, 1000, &list, &n), APP_OK);
	ck_assert_ptr_null(find_claimed(list, n, id));
	outbox_emails_free(list, n);
	double lease = next_attempt_in(to);
	ck_assert_msg(lease > 290 && lease <= 300, "lease %f", lease);

	/* Backoff: 5 s, 20 s, capped at an hour however many attempts. */
	ck_assert_int_eq(email_mark_failed(b, id, 1, "boom"), APP_OK);
	double wait = next_attempt_in(to);
	ck_assert_msg(wait > 3 && wait <= 5, "after 1 attempt: %f", wait);
	assert_row("SELECT last_error FROM email_outbox WHERE to_address = '%s'", to, "boom");
	ck_assert_int_eq(email_mark_failed(b, id, 3, "boom 3"), APP_OK);
	wait = next_attempt_in(to);
	ck_assert_msg(wait > 18 && wait <= 20, "after 3 attempts: %f", wait);
	ck_assert_int_eq(email_mark_failed(b, id, 13, "boom 13"), APP_OK);
	wait = next_attempt_in(to);
	ck_assert_msg(wait > 3598 && wait <= 3600, "after 13 attempts: %f", wait);
	ck_assert_int_eq(email_mark_failed(b, id, 2000000000, "boom"), APP_OK);
	wait = next_attempt_in(to);
	ck_assert_msg(wait > 3598 && wait <= 3600, "after many attempts: %f", wait);

	/* Unclaimed: due at once, the attempt uncounted. */
	ck_assert_int_eq(email_unclaim(b, id), APP_OK);
	assert_row("SELECT attempts FROM email_outbox WHERE to_address = '%s'", to, "0");
	ck_assert_msg(next_attempt_in(to) <= 0, "unclaimed but not due");

	/* Sent: never claimed again, even when due, and a late failure changes nothing. */
	ck_assert_int_eq(email_mark_sent(b, id), APP_OK);
	ck_assert_int_eq(email_mark_failed(b, id, 1, "late"), APP_OK);
	assert_row("SELECT last_error FROM email_outbox WHERE to_address = '%s'", to, "boom");
	ck_assert_int_eq(email_claim_due(b, 1000, &list, &n), APP_OK);
	ck_assert_ptr_null(find_claimed(list, n, id));
	outbox_emails_free(list, n);
	assert_row("SELECT count(*) FROM email_outbox WHERE to_address = '%s'", to, "1");

	db_conn_free(a);
	db_conn_free(b);
	free(id);
}
END_TEST

/* ---- Delivery ------------------------------------------------------------ */

START_TEST(rolled_back_email_is_never_sent)
{
	struct smtp_listener l;
	struct mailer_fixture fx;
	char url[128], rolled_back[128], committed[128];

	smtp_listener_bind(&l);
	smtp_listener_start(&l, 20);
	snprintf(url, sizeof(url), "smtp://127.0.0.1:%d", l.port);
	mailer_up(&fx, "smtp", url);
	unique_address(rolled_back, sizeof(rolled_back), "rolledback");
	unique_address(committed, sizeof(committed), "committed");
	enqueue(rolled_back, "Never", "never sent", 0);
	enqueue(committed, "Sent", "sent", 1);

	/* Once the later, committed email went out, the rolled-back one had its chance. */
	ck_assert_msg(row_wait(SQL_SENT, committed, WAIT_MS), "committed email not sent");
	assert_row("SELECT count(*) FROM email_outbox WHERE to_address = '%s'", rolled_back, "0");
	ck_assert_int_eq(smtp_listener_count(&l, rolled_back, NULL), 0);
	ck_assert_int_eq(smtp_listener_count(&l, committed, NULL), 1);
	mailer_down(&fx);
	smtp_listener_stop(&l);
}
END_TEST

START_TEST(smtp_delivers_with_credentials_and_dot_stuffing)
{
	struct smtp_listener l;
	struct mailer_fixture fx;
	struct smtp_message got = {0};
	char url[160], to[128], subject[160], header[256];

	smtp_listener_bind(&l);
	smtp_listener_start(&l, 20);
	/* Percent-escaped credentials reach AUTH decoded. */
	snprintf(url, sizeof(url), "smtp://mailer%%40devsearch:p%%3Ass%%20w@127.0.0.1:%d", l.port);
	mailer_up(&fx, "smtp", url);
	unique_address(to, sizeof(to), "smtp");
	snprintf(subject, sizeof(subject), "Welcome %s", to);
	enqueue(to, subject, "Hello Ann,\n.\n..two dots\nBye", 1);

	ck_assert_msg(row_wait(SQL_SENT, to, WAIT_MS), "email not sent");
	assert_row("SELECT attempts FROM email_outbox WHERE to_address = '%s'", to, "1");
	assert_row("SELECT last_error IS NULL FROM email_outbox WHERE to_address = '%s'", to, "t");
	ck_assert_int_eq(smtp_listener_count(&l, to, &got), 1);
	ck_assert_str_eq(got.mail_from, "<tests@devsearch.local>");
	ck_assert_ptr_nonnull(strstr(got.data, "From: " FROM_EMAIL "\r\n"));
	snprintf(header, sizeof(header), "\r\nTo: %s\r\n", to);
	ck_assert_ptr_nonnull(strstr(got.data, header));
	snprintf(header, sizeof(header), "\r\nSubject: %s\r\n", subject);
	ck_assert_ptr_nonnull(strstr(got.data, header));
	ck_assert_str_eq(strstr(got.data, "\r\n\r\n"),
			 "\r\n\r\nHello Ann,\r\n.\r\n..two dots\r\nBye\r\n");
	/* libcurl doubled the leading dots on the wire; the server undid it. */
	ck_assert_msg(strstr(got.raw, "\r\nHello Ann,\r\n..\r\n...two dots\r\nBye\r\n") != NULL,
		      "not dot-stuffed: %s", got.raw);
	mailer_down(&fx);
	ck_assert_ptr_nonnull(l.credentials);
	ck_assert_str_eq(l.credentials, "mailer@devsearch:p:ss w");
	smtp_message_release(&got);
	smtp_listener_stop(&l);
}
END_TEST

START_TEST(starttls_is_required_when_asked)
{
	struct smtp_listener l;
	struct mailer_fixture fx;
	char url[128], to[128];

	smtp_listener_bind(&l);
	smtp_listener_start(&l, 20);
	snprintf(url, sizeof(url), "smtp://127.0.0.1:%d?starttls", l.port);
	mailer_up(&fx, "smtp", url);
	log_set_level(LOG_ERROR); /* the expected delivery failure is logged as a warning */
	unique_address(to, sizeof(to), "starttls");
	enqueue(to, "Secret", "only over TLS", 1);

	/* This server offers no STARTTLS: nothing may go out in clear text. */
	ck_assert_msg(row_wait(SQL_FAILED, to, WAIT_MS), "failure not recorded");
	assert_row("SELECT sent_at IS NULL FROM email_outbox WHERE to_address = '%s'", to, "t");
	ck_assert_int_eq(smtp_listener_count(&l, to, NULL), 0);
	mailer_down(&fx);
	smtp_listener_stop(&l);
}
END_TEST

START_TEST(failed_delivery_is_retried_and_sent_once)
{
	struct smtp_listener l;
	struct mailer_fixture fx;
	char url[128], to[128];

	/* Bound but not listening: every connection is refused. */
	smtp_listener_bind(&l);
	snprintf(url, sizeof(url), "smtp://127.0.0.1:%d", l.port);
	mailer_up(&fx, "smtp", url);
	log_set_level(LOG_ERROR); /* the expected delivery failure is logged as a warning */
	unique_address(to, sizeof(to), "retry");
	enqueue(to, "Retry me", "second time lucky", 1);

	ck_assert_msg(row_wait(SQL_FAILED, to, WAIT_MS), "failure not recorded");
	assert_row("SELECT sent_at IS NULL AND attempts >= 1 AND next_attempt_at > now()"
		   " FROM email_outbox WHERE to_address = '%s'",
		   to, "t");
	char *error = row_value("SELECT last_error FROM email_outbox WHERE to_address = '%s'", to);
	ck_assert_msg(error && *error, "empty last_error");
	free(error);

	/* The server is back and the email due again: delivered exactly once. */
	smtp_listener_start(&l, 20);
	free(row_value("UPDATE email_outbox SET next_attempt_at = now() WHERE to_address = '%s'"
		       " RETURNING id",
		       to));
	ck_assert_msg(row_wait(SQL_SENT, to, WAIT_MS), "email not sent after the retry");
	assert_row("SELECT attempts >= 2 FROM email_outbox WHERE to_address = '%s'", to, "t");
	struct timespec three_ticks = {1, 500 * 1000 * 1000};
	nanosleep(&three_ticks, NULL);
	ck_assert_int_eq(smtp_listener_count(&l, to, NULL), 1);
	mailer_down(&fx);
	smtp_listener_stop(&l);
}
END_TEST

START_TEST(console_backend_prints_the_message)
{
	struct mailer_fixture fx;
	struct strbuf out = STRBUF_INIT;
	char to[128], subject[160], path[] = "/tmp/devsearch-console-XXXXXX", chunk[4096];
	int saved, fd;
	ssize_t n;

	unique_address(to, sizeof(to), "console");
	snprintf(subject, sizeof(subject), "Console check %s", to);
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	unlink(path);
	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	ck_assert(saved >= 0 && dup2(fd, STDOUT_FILENO) >= 0);

	mailer_up(&fx, "console", NULL);
	enqueue(to, subject, "Printed, not sent.", 1);
	int sent = row_wait(SQL_SENT, to, WAIT_MS);
	double before = now_ms();
	mailer_down(&fx);
	double stop_ms = now_ms() - before;
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);

	ck_assert_msg(sent, "console email not marked sent");
	ck_assert_msg(stop_ms < 1000, "mailer_stop took %.0f ms", stop_ms);
	ck_assert(lseek(fd, 0, SEEK_SET) == 0);
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		strbuf_add(&out, chunk, (size_t)n);
	close(fd);

	struct strbuf want = STRBUF_INIT;
	strbuf_addf(&want, "\r\nSubject: %s\r\n", subject);
	const char *mine = strstr(strbuf_str(&out), want.buf);
	ck_assert_msg(mine != NULL, "no subject in: %s", strbuf_str(&out));
	const char *body = strstr(mine, "\r\n\r\n");
	ck_assert_ptr_nonnull(body);
	strbuf_reset(&want);
	strbuf_addstr(&want, "\r\n\r\nPrinted, not sent.\r\n");
	for (int i = 0; i < 79; i++)
		strbuf_addch(&want, '-');
	strbuf_addch(&want, '\n');
	ck_assert_msg(!strncmp(body, want.buf, want.len), "after the headers: %s", body);
	strbuf_release(&want);
	strbuf_release(&out);
}
END_TEST

START_TEST(bad_smtp_settings_refuse_to_start)
{
	struct config cfg;
	struct strbuf errors = STRBUF_INIT;
	struct mailer *mailer = NULL;
	static const char *const bad[] = {"smtp://", "smtp://host?tls", "smtp://u%zz:p@host",
					  "http://host"};

	setenv("EMAIL_BACKEND", "smtp", 1);
	ck_assert_int_eq(config_load(&cfg, &errors), 0);
	log_set_level((enum log_level)(LOG_ERROR +
				       1)); /* the refusals are logged as errors: keep them quiet */
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		free(cfg.smtp_url);
		cfg.smtp_url = xstrdup(bad[i]);
		ck_assert_msg(mailer_start(&cfg, NULL, NULL, &mailer) == -1, "%s accepted", bad[i]);
		ck_assert_ptr_null(mailer);
	}
	free(cfg.smtp_url);
	cfg.smtp_url = NULL;
	ck_assert_int_eq(mailer_start(&cfg, NULL, NULL, &mailer), -1);
	mailer_stop(NULL);
	config_release(&cfg);
	strbuf_release(&errors);
}
END_TEST

Suite *email_suite(void)
{
	Suite *s = suite_create("email");
	TCase *tc = tcase_create("format");
	tcase_add_test(tc, format_message_headers_and_line_ends);
	tcase_add_test(tc, format_message_folds_long_subjects_and_blocks_injection);
	tcase_add_test(tc, bad_smtp_settings_refuse_to_start);
	suite_add_tcase(s, tc);
	tc = tcase_create("outbox");
	tcase_add_test(tc, claims_skip_locked_rows_and_failures_back_off);
	suite_add_tcase(s, tc);
	tc = tcase_create("delivery");
	tcase_add_test(tc, rolled_back_email_is_never_sent);
	tcase_add_test(tc, smtp_delivers_with_credentials_and_dot_stuffing);
	tcase_add_test(tc, starttls_is_required_when_asked);
	tcase_add_test(tc, failed_delivery_is_retried_and_sent_once);
	tcase_add_test(tc, console_backend_prints_the_message);
	suite_add_tcase(s, tc);
	return s;
}
