/*
 * A tiny SMTP server for tests, on 127.0.0.1: enough SMTP for libcurl, records
 * what it receives, bounded in time and message count, never loops forever.
 */
#ifndef DEVSEARCH_TEST_SMTP_LISTENER_H
#define DEVSEARCH_TEST_SMTP_LISTENER_H

#include <pthread.h>
#include <stddef.h>

#define SMTP_MAX_MESSAGES 32

struct smtp_message {
	char *mail_from; /* MAIL FROM argument, "<addr>" */
	char *rcpt;      /* RCPT TO argument */
	char *data;      /* the message, dot-stuffing undone */
	char *raw;       /* the DATA lines exactly as sent */
};

/*
 * Bound at once (so its port is reserved and refuses connections), listening
 * only after smtp_listener_start(). The thread serves one client at a time and
 * ends when told, at its deadline or after SMTP_MAX_MESSAGES messages.
 */
struct smtp_listener {
	int fd;
	int port;
	int started;
	double deadline_ms;
	pthread_t thread;
	pthread_mutex_t lock;
	int stop;                                        /* under lock */
	struct smtp_message messages[SMTP_MAX_MESSAGES]; /* under lock */
	size_t n_messages;                               /* under lock */
	char *credentials;                               /* "user:pass" from AUTH PLAIN */
};

/* Bind a free port now (connections are refused until started). */
void smtp_listener_bind(struct smtp_listener *l);
/* Accept connections for at most seconds. */
void smtp_listener_start(struct smtp_listener *l, int seconds);
void smtp_listener_stop(struct smtp_listener *l);
/* Messages received for to; *first (if not NULL) gets a copy of the first one. */
int smtp_listener_count(struct smtp_listener *l, const char *to, struct smtp_message *first);
void smtp_message_release(struct smtp_message *msg);
/* Append the standard-base64 decoding of len bytes of text to out. */
struct strbuf;
void base64_decode(const char *text, size_t len, struct strbuf *out);

#endif
