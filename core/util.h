/*
 * Allocation that cannot fail, and a growable string buffer after git's strbuf.
 * Out of memory aborts the process with a message: a server that cannot
 * allocate a few bytes cannot answer correctly either, and the supervisor
 * restarts it.
 */
#ifndef DEVSEARCH_UTIL_H
#define DEVSEARCH_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <time.h>

/* Like malloc/calloc/realloc/strdup/strndup, but abort on out of memory. */
void *xmalloc(size_t size);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *ptr, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

/* A NUL-terminated growable buffer. STRBUF_INIT is an empty buffer. */
struct strbuf {
	char *buf;
	size_t len;
	size_t alloc;
};
#define STRBUF_INIT                                                                                \
	{                                                                                          \
		NULL, 0, 0                                                                         \
	}

/* Make room for extra more bytes without changing the contents. */
void strbuf_grow(struct strbuf *sb, size_t extra);
void strbuf_add(struct strbuf *sb, const void *data, size_t len);
void strbuf_addstr(struct strbuf *sb, const char *s);
void strbuf_addch(struct strbuf *sb, char c);
__attribute__((format(printf, 2, 3))) void strbuf_addf(struct strbuf *sb, const char *fmt, ...);
void strbuf_vaddf(struct strbuf *sb, const char *fmt, va_list ap);
/* The contents, never NULL ("" when empty); borrowed, valid until the next change. */
const char *strbuf_str(const struct strbuf *sb);
/* Empty the buffer, keep its memory. */
void strbuf_reset(struct strbuf *sb);
/* Free the contents; the buffer is STRBUF_INIT again. */
void strbuf_release(struct strbuf *sb);
/* Hand the contents over (caller free()s, never NULL); the buffer is reset. */
char *strbuf_detach(struct strbuf *sb);

/* 1 if s is a canonical lowercase or uppercase hyphenated UUID, else 0. */
int is_uuid(const char *s, size_t len);

/* Base64url without padding (RFC 4648 §5); a new string the caller free()s. */
char *base64url_encode(const unsigned char *data, size_t len);
/*
 * Decode unpadded (or padded) base64url text; a new NUL-terminated buffer the
 * caller free()s with its length in *len, or NULL if text is not base64url.
 */
unsigned char *base64url_decode(const char *text, size_t *len);

/* Fill buf with n random bytes from the kernel; aborts if it cannot. */
void random_bytes(void *buf, size_t n);

/* Lowercase hex of n bytes into out (2n + 1 bytes). */
void hex_encode(const unsigned char *data, size_t n, char *out);

/* Monotonic clock in milliseconds, for durations. */
double now_ms(void);

/* The instant ms milliseconds from now on clock: a pthread_cond_timedwait() deadline. */
struct timespec deadline_after_ms(clockid_t clock, long ms);

#endif
