/*
 * The email delivery worker: one background thread that sends what
 * models/email.h queued in email_outbox, through the console backend (the
 * default: the message on stdout, as Django's console backend) or SMTP
 * (libcurl), and the RFC 5322 message format both use. Delivery is at least
 * once: an email is marked sent after the server accepted it, so a crash
 * between the two sends it again after its lease.
 */
#ifndef DEVSEARCH_MAILER_H
#define DEVSEARCH_MAILER_H

#include "core/config.h"
#include "models/db.h"

struct mailer;

/*
 * Start the worker thread. It wakes every 500 ms (at once for mailer_stop),
 * claims a batch of due emails and delivers them one by one, borrowing a pool
 * connection only to claim and to record each outcome (never while talking
 * SMTP). cfg, pool and metrics (NULL: nothing counted; else sent and failed
 * deliveries are) are borrowed and must outlive the mailer; with the smtp
 * backend curl_global_init() must have run before any thread started. Returns
 * 0 with *out set (give it to mailer_stop()), or -1 with the reason logged
 * (a bad SMTP_URL, no thread).
 */
struct metrics;
int mailer_start(const struct config *cfg, struct db_pool *pool, struct metrics *metrics,
		 struct mailer **out);

/*
 * Ask the worker to stop, wait for the email in progress (at most the 30 s
 * SMTP timeout), join and free. Emails claimed but not yet attempted are made
 * due again for the next worker. NULL is fine.
 */
void mailer_stop(struct mailer *mailer);

/*
 * An RFC 5322 message with CRLF line ends: From, To, Subject (RFC 2047 base64
 * encoded-words, folded, when not ASCII; a non-ASCII display name in from is
 * encoded the same way), Date, Message-ID (<random@devsearch>), MIME-Version,
 * Content-Type: text/plain; charset="utf-8", Content-Transfer-Encoding: 8bit,
 * a blank line and body with every LF, CR or CRLF turned into CRLF. CR and LF
 * in header values become spaces, so no header can be injected. Lines starting
 * with "." are not doubled here: libcurl dot-stuffs SMTP uploads itself (any
 * "." after CRLF, and at the start of the data), so doubling them here would
 * double them twice. All arguments are borrowed; the result is new (caller
 * free()s).
 */
char *mailer_format_message(const char *from, const char *to, const char *subject,
			    const char *body);

#endif
