/* Allocation wrappers and strbuf; see util.h. Owns no global state. */
#include "core/util.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/random.h>
#include <unistd.h>

static void die_oom(size_t size)
{
	char msg[96];
	int n = snprintf(msg, sizeof(msg), "fatal: out of memory allocating %zu bytes\n", size);
	if (n > 0 && write(STDERR_FILENO, msg, (size_t)n) < 0)
		abort();
	abort();
}

void *xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);
	if (!p)
		die_oom(size);
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		die_oom(n * size);
	return p;
}

void *xrealloc(void *ptr, size_t size)
{
	void *p = realloc(ptr, size ? size : 1);
	if (!p)
		die_oom(size);
	return p;
}

char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = xmalloc(len + 1);
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

void strbuf_grow(struct strbuf *sb, size_t extra)
{
	size_t need = sb->len + extra + 1;
	if (need <= sb->alloc)
		return;
	size_t alloc = sb->alloc ? sb->alloc : 64;
	while (alloc < need)
		alloc *= 2;
	sb->buf = xrealloc(sb->buf, alloc);
	sb->alloc = alloc;
}

void strbuf_add(struct strbuf *sb, const void *data, size_t len)
{
	strbuf_grow(sb, len);
	memcpy(sb->buf + sb->len, data, len);
	sb->len += len;
	sb->buf[sb->len] = '\0';
}

void strbuf_addstr(struct strbuf *sb, const char *s)
{
	strbuf_add(sb, s, strlen(s));
}

void strbuf_addch(struct strbuf *sb, char c)
{
	strbuf_add(sb, &c, 1);
}

void strbuf_vaddf(struct strbuf *sb, const char *fmt, va_list ap)
{
	va_list copy;
	va_copy(copy, ap);
	int n = vsnprintf(NULL, 0, fmt, copy);
	va_end(copy);
	if (n <= 0)
		return;
	strbuf_grow(sb, (size_t)n);
	vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
	sb->len += (size_t)n;
}

void strbuf_addf(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	strbuf_vaddf(sb, fmt, ap);
	va_end(ap);
}

const char *strbuf_str(const struct strbuf *sb)
{
	return sb->buf ? sb->buf : "";
}

void strbuf_reset(struct strbuf *sb)
{
	sb->len = 0;
	if (sb->buf)
		sb->buf[0] = '\0';
}

void strbuf_release(struct strbuf *sb)
{
	free(sb->buf);
	sb->buf = NULL;
	sb->len = sb->alloc = 0;
}

char *strbuf_detach(struct strbuf *sb)
{
	char *s = sb->buf ? sb->buf : xstrdup("");
	sb->buf = NULL;
	sb->len = sb->alloc = 0;
	return s;
}

int is_uuid(const char *s, size_t len)
{
	if (len != 36)
		return 0;
	for (size_t i = 0; i < len; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (!isxdigit((unsigned char)s[i])) {
			return 0;
		}
	}
	return 1;
}

double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

struct timespec deadline_after_ms(clockid_t clock, long ms)
{
	struct timespec t;
	clock_gettime(clock, &t);
	t.tv_sec += ms / 1000;
	t.tv_nsec += (ms % 1000) * 1000000L;
	if (t.tv_nsec >= 1000000000L) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000L;
	}
	return t;
}

static const char B64URL[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

char *base64url_encode(const unsigned char *data, size_t len)
{
	struct strbuf sb = STRBUF_INIT;
	size_t i;
	for (i = 0; i + 2 < len; i += 3) {
		unsigned v = (unsigned)data[i] << 16 | (unsigned)data[i + 1] << 8 | data[i + 2];
		strbuf_addch(&sb, B64URL[v >> 18 & 63]);
		strbuf_addch(&sb, B64URL[v >> 12 & 63]);
		strbuf_addch(&sb, B64URL[v >> 6 & 63]);
		strbuf_addch(&sb, B64URL[v & 63]);
	}
	if (len - i == 1) {
		unsigned v = (unsigned)data[i] << 16;
		strbuf_addch(&sb, B64URL[v >> 18 & 63]);
		strbuf_addch(&sb, B64URL[v >> 12 & 63]);
	} else if (len - i == 2) {
		unsigned v = (unsigned)data[i] << 16 | (unsigned)data[i + 1] << 8;
		strbuf_addch(&sb, B64URL[v >> 18 & 63]);
		strbuf_addch(&sb, B64URL[v >> 12 & 63]);
		strbuf_addch(&sb, B64URL[v >> 6 & 63]);
	}
	return strbuf_detach(&sb);
}

unsigned char *base64url_decode(const char *text, size_t *len)
{
	size_t n = strlen(text);
	while (n && text[n - 1] == '=')
		n--;
	if (n % 4 == 1)
		return NULL;
	unsigned char *out = xmalloc(n * 3 / 4 + 1);
	unsigned bits = 0;
	int nbits = 0;
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		const char *p = text[i] ? strchr(B64URL, text[i]) : NULL;
		if (!p) {
			free(out);
			return NULL;
		}
		bits = bits << 6 | (unsigned)(p - B64URL);
		nbits += 6;
		if (nbits >= 8) {
			nbits -= 8;
			out[o++] = (unsigned char)(bits >> nbits & 0xff);
		}
	}
	out[o] = '\0';
	*len = o;
	return out;
}

void random_bytes(void *buf, size_t n)
{
	unsigned char *p = buf;
	while (n > 0) {
		ssize_t got = getrandom(p, n, 0);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			abort();
		}
		p += got;
		n -= (size_t)got;
	}
}

void hex_encode(const unsigned char *data, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[data[i] >> 4];
		out[2 * i + 1] = digits[data[i] & 15];
	}
	out[2 * n] = '\0';
}
