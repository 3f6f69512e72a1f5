/* The test SMTP server; see smtp_listener.h. */
#include "smtp_listener.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "support.h"

struct smtp_client {
	int fd;
	double deadline_ms;
	struct strbuf in;
};

static int base64_value(char c)
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *p = c ? strchr(alphabet, c) : NULL;
	return p ? (int)(p - alphabet) : -1;
}

/* Decode base64 text (stops at '=' or anything else) into out. */
void base64_decode(const char *text, size_t len, struct strbuf *out)
{
	unsigned long acc = 0;
	int bits = 0;
	for (size_t i = 0; i < len; i++) {
		int v = base64_value(text[i]);
		if (v < 0)
			break;
		acc = (acc << 6) | (unsigned long)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			strbuf_addch(out, (char)((acc >> bits) & 0xff));
		}
	}
}

static void smtp_reply(struct smtp_client *c, const char *text)
{
	size_t len = strlen(text), done = 0;
	while (done < len) {
		ssize_t n = send(c->fd, text + done, len - done, MSG_NOSIGNAL);
		if (n <= 0)
			return;
		done += (size_t)n;
	}
}

/* The next line without its CRLF into line; -1 on close, error or deadline. */
static int smtp_read_line(struct smtp_client *c, struct strbuf *line)
{
	for (;;) {
		char *eol = c->in.len ? strstr(c->in.buf, "\r\n") : NULL;
		if (eol) {
			size_t n = (size_t)(eol - c->in.buf);
			strbuf_reset(line);
			strbuf_add(line, c->in.buf, n);
			memmove(c->in.buf, eol + 2, c->in.len - n - 2 + 1);
			c->in.len -= n + 2;
			return 0;
		}
		if (now_ms() > c->deadline_ms)
			return -1;
		struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		char chunk[4096];
		ssize_t n = recv(c->fd, chunk, sizeof(chunk), 0);
		if (n <= 0)
			return -1;
		strbuf_add(&c->in, chunk, (size_t)n);
	}
}

static void smtp_auth_plain(struct smtp_listener *l, struct smtp_client *c, const char *initial)
{
	struct strbuf line = STRBUF_INIT, decoded = STRBUF_INIT;
	if (!*initial) {
		smtp_reply(c, "334 \r\n");
		if (smtp_read_line(c, &line))
			goto out;
		initial = strbuf_str(&line);
	}
	/* authzid NUL authcid NUL password */
	base64_decode(initial, strlen(initial), &decoded);
	const char *text = strbuf_str(&decoded);
	size_t authzid_len = strnlen(text, decoded.len);
	if (authzid_len + 1 < decoded.len) {
		const char *user = text + authzid_len + 1;
		size_t user_len = strnlen(user, decoded.len - authzid_len - 1);
		const char *pass = user + user_len + 1;
		struct strbuf cred = STRBUF_INIT;
		strbuf_add(&cred, user, user_len);
		strbuf_addch(&cred, ':');
		if (pass < text + decoded.len)
			strbuf_add(&cred, pass, (size_t)(text + decoded.len - pass));
		pthread_mutex_lock(&l->lock);
		free(l->credentials);
		l->credentials = strbuf_detach(&cred);
		pthread_mutex_unlock(&l->lock);
	}
	smtp_reply(c, "235 2.7.0 Authentication successful\r\n");
out:
	strbuf_release(&line);
	strbuf_release(&decoded);
}

/* DATA up to the lone ".": keep it raw and with dot-stuffing undone (RFC 5321 4.5.2). */
static int smtp_data(struct smtp_listener *l, struct smtp_client *c, struct smtp_message *msg)
{
	struct strbuf line = STRBUF_INIT, data = STRBUF_INIT, raw = STRBUF_INIT;
	int ret = -1;

	smtp_reply(c, "354 End data with <CR><LF>.<CR><LF>\r\n");
	while (smtp_read_line(c, &line) == 0) {
		if (!strcmp(strbuf_str(&line), ".")) {
			ret = 0;
			break;
		}
		strbuf_addf(&raw, "%s\r\n", strbuf_str(&line));
		strbuf_addf(&data, "%s\r\n", strbuf_str(&line) + (line.buf[0] == '.'));
	}
	if (ret == 0) {
		msg->data = strbuf_detach(&data);
		msg->raw = strbuf_detach(&raw);
		pthread_mutex_lock(&l->lock);
		if (l->n_messages < SMTP_MAX_MESSAGES)
			l->messages[l->n_messages++] = *msg;
		else
			ret = -1;
		pthread_mutex_unlock(&l->lock);
		if (ret == 0)
			memset(msg, 0, sizeof(*msg));
		smtp_reply(c, ret == 0 ? "250 2.0.0 Queued\r\n" : "452 Too many messages\r\n");
	}
	strbuf_release(&line);
	strbuf_release(&data);
	strbuf_release(&raw);
	return ret;
}

void smtp_message_release(struct smtp_message *msg)
{
	free(msg->mail_from);
	free(msg->rcpt);
	free(msg->data);
	free(msg->raw);
	memset(msg, 0, sizeof(*msg));
}

static void smtp_session(struct smtp_listener *l, int fd)
{
	struct smtp_client c = {.fd = fd, .deadline_ms = l->deadline_ms, .in = STRBUF_INIT};
	struct strbuf line = STRBUF_INIT;
	struct smtp_message msg = {0};

	smtp_reply(&c, "220 localhost ESMTP test\r\n");
	while (smtp_read_line(&c, &line) == 0) {
		const char *cmd = strbuf_str(&line);
		if (!strncasecmp(cmd, "EHLO", 4)) {
			smtp_reply(&c, "250-localhost\r\n250-AUTH PLAIN\r\n250 8BITMIME\r\n");
		} else if (!strncasecmp(cmd, "HELO", 4)) {
			smtp_reply(&c, "250 localhost\r\n");
		} else if (!strncasecmp(cmd, "AUTH PLAIN", 10)) {
			smtp_auth_plain(l, &c, cmd[10] == ' ' ? cmd + 11 : "");
		} else if (!strncasecmp(cmd, "MAIL FROM:", 10)) {
			smtp_message_release(&msg);
			msg.mail_from = xstrndup(cmd + 10, strcspn(cmd + 10, " "));
			smtp_reply(&c, "250 2.1.0 Ok\r\n");
		} else if (!strncasecmp(cmd, "RCPT TO:", 8)) {
			free(msg.rcpt);
			msg.rcpt = xstrdup(cmd + 8);
			smtp_reply(&c, "250 2.1.5 Ok\r\n");
		} else if (!strncasecmp(cmd, "DATA", 4)) {
			if (smtp_data(l, &c, &msg))
				break;
		} else if (!strncasecmp(cmd, "RSET", 4) || !strncasecmp(cmd, "NOOP", 4)) {
			smtp_reply(&c, "250 2.0.0 Ok\r\n");
		} else if (!strncasecmp(cmd, "QUIT", 4)) {
			smtp_reply(&c, "221 2.0.0 Bye\r\n");
			break;
		} else {
			smtp_reply(&c, "502 5.5.2 Command not recognized\r\n");
		}
	}
	smtp_message_release(&msg);
	strbuf_release(&line);
	strbuf_release(&c.in);
}

static int smtp_listener_done(struct smtp_listener *l)
{
	pthread_mutex_lock(&l->lock);
	int done = l->stop || l->n_messages >= SMTP_MAX_MESSAGES;
	pthread_mutex_unlock(&l->lock);
	return done || now_ms() > l->deadline_ms;
}

static void *smtp_listener_main(void *arg)
{
	struct smtp_listener *l = arg;
	while (!smtp_listener_done(l)) {
		struct pollfd pfd = {.fd = l->fd, .events = POLLIN};
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		int fd = accept(l->fd, NULL, NULL);
		if (fd < 0)
			continue;
		smtp_session(l, fd);
		close(fd);
	}
	return NULL;
}

/* Reserve a port on 127.0.0.1; connections to it are refused until started. */
void smtp_listener_bind(struct smtp_listener *l)
{
	struct sockaddr_in addr = {.sin_family = AF_INET,
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(addr);

	memset(l, 0, sizeof(*l));
	pthread_mutex_init(&l->lock, NULL);
	l->fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert(l->fd >= 0);
	ck_assert(bind(l->fd, (struct sockaddr *)&addr, sizeof(addr)) == 0);
	ck_assert(getsockname(l->fd, (struct sockaddr *)&addr, &len) == 0);
	l->port = ntohs(addr.sin_port);
}

/* Accept connections for at most seconds. */
void smtp_listener_start(struct smtp_listener *l, int seconds)
{
	ck_assert(listen(l->fd, 8) == 0);
	l->deadline_ms = now_ms() + seconds * 1000.0;
	ck_assert(pthread_create(&l->thread, NULL, smtp_listener_main, l) == 0);
	l->started = 1;
}

void smtp_listener_stop(struct smtp_listener *l)
{
	if (l->started) {
		pthread_mutex_lock(&l->lock);
		l->stop = 1;
		pthread_mutex_unlock(&l->lock);
		pthread_join(l->thread, NULL);
	}
	close(l->fd);
	for (size_t i = 0; i < l->n_messages; i++)
		smtp_message_release(&l->messages[i]);
	free(l->credentials);
	pthread_mutex_destroy(&l->lock);
}

/* Messages received for to; *first (if not NULL) gets a copy of the first one. */
int smtp_listener_count(struct smtp_listener *l, const char *to, struct smtp_message *first)
{
	char rcpt[256];
	int count = 0;

	snprintf(rcpt, sizeof(rcpt), "<%s>", to);
	pthread_mutex_lock(&l->lock);
	for (size_t i = 0; i < l->n_messages; i++) {
		const struct smtp_message *m = &l->messages[i];
		if (!m->rcpt || strcmp(m->rcpt, rcpt))
			continue;
		if (first && count == 0) {
			first->mail_from = xstrdup(m->mail_from ? m->mail_from : "");
			first->rcpt = xstrdup(m->rcpt);
			first->data = xstrdup(m->data);
			first->raw = xstrdup(m->raw);
		}
		count++;
	}
	pthread_mutex_unlock(&l->lock);
	return count;
}
