/*
 * gzip answers; see compress.h. Works on the response ulfius will send; knows
 * nothing of routes or the cache store.
 */
#include "api/compress.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "core/config.h"
#include "core/log.h"

static const char OWS[] = " \t";

/* Types worth compressing: text the client reads, never already-compressed images. */
static const char *const TEXT_TYPES[] = {
	"application/json",
	"application/vnd.oai.openapi",
	"application/javascript",
	"text/",
};

/* s[0..len) with the optional whitespace at both ends cut off. */
static void trim(const char **s, size_t *len)
{
	while (*len && strchr(OWS, **s)) {
		(*s)++;
		(*len)--;
	}
	while (*len && strchr(OWS, (*s)[*len - 1]))
		(*len)--;
}

/*
 * An RFC 9110 qvalue ("0", "0.5", "1", "1.000") in thousandths, or -1 when
 * malformed.
 */
static int parse_qvalue(const char *s, size_t len)
{
	int q;
	size_t i;

	if (len == 0 || (s[0] != '0' && s[0] != '1'))
		return -1;
	q = (s[0] - '0') * 1000;
	if (len == 1)
		return q;
	if (s[1] != '.' || len > 5)
		return -1;
	for (i = 2; i < len; i++) {
		int digit = s[i] - '0';
		if (digit < 0 || digit > 9 || (q == 1000 && digit))
			return -1;
		q += digit * (i == 2 ? 100 : i == 3 ? 10 : 1);
	}
	return q;
}

/*
 * One element of the list ("gzip", "gzip;q=0.5", " * ; Q=0"): its coding in
 * *coding and *coding_len and its q in thousandths (1000 without one); -1 when
 * malformed.
 */
static int parse_element(const char *s, size_t len, const char **coding, size_t *coding_len)
{
	const char *semi = memchr(s, ';', len);
	size_t rest;
	int q = 1000;

	*coding = s;
	*coding_len = semi ? (size_t)(semi - s) : len;
	trim(coding, coding_len);
	if (*coding_len == 0)
		return -1;
	while (semi) {
		const char *param = semi + 1;
		rest = len - (size_t)(param - s);
		semi = memchr(param, ';', rest);
		size_t param_len = semi ? (size_t)(semi - param) : rest;
		trim(&param, &param_len);
		if (param_len < 2 || strncasecmp(param, "q", 1))
			continue;
		const char *value = param + 1;
		size_t value_len = param_len - 1;
		trim(&value, &value_len);
		if (value_len == 0 || *value != '=')
			continue;
		value++;
		value_len--;
		trim(&value, &value_len);
		q = parse_qvalue(value, value_len);
	}
	return q;
}

static int coding_is(const char *coding, size_t len, const char *name)
{
	return strlen(name) == len && !strncasecmp(coding, name, len);
}

int http_accepts_gzip(const char *value)
{
	int gzip_q = -1, any_q = -1;

	while (value && *value) {
		size_t len = strcspn(value, ",");
		const char *coding;
		size_t coding_len;
		int q = parse_element(value, len, &coding, &coding_len);
		if (q >= 0 && (coding_is(coding, coding_len, "gzip") ||
			       coding_is(coding, coding_len, "x-gzip")))
			gzip_q = q;
		else if (q >= 0 && coding_is(coding, coding_len, "*"))
			any_q = q;
		value += len + (value[len] == ',');
	}
	/* A named gzip decides; "*" only speaks for codings not named ("gzip;q=0, *" refuses). */
	return gzip_q >= 0 ? gzip_q > 0 : any_q > 0;
}

int http_compress_accepted(const struct http_ctx *ctx)
{
	return ctx->app->cfg->compress_min_bytes > 0 &&
	       http_accepts_gzip(http_header(ctx, "Accept-Encoding"));
}

static int is_text_type(const char *type)
{
	for (size_t i = 0; type && i < sizeof(TEXT_TYPES) / sizeof(TEXT_TYPES[0]); i++)
		if (!strncasecmp(type, TEXT_TYPES[i], strlen(TEXT_TYPES[i])))
			return 1;
	return 0;
}

/* 1 if the list header (Vary, Cache-Control) names token, case-insensitively. */
static int header_lists(const char *list, const char *token)
{
	size_t token_len = strlen(token);
	while (list && *list) {
		const char *item = list;
		size_t len = strcspn(list, ",");
		list += len + (list[len] == ',');
		trim(&item, &len);
		if (len == token_len && !strncasecmp(item, token, len))
			return 1;
	}
	return 0;
}

int http_compress_applies(const struct http_ctx *ctx)
{
	const struct _u_response *resp = ctx->resp;
	const struct _u_map *headers = resp->map_header;
	long min = ctx->app->cfg->compress_min_bytes;

	if (min <= 0 || resp->stream_callback || !resp->binary_body ||
	    resp->binary_body_length < (size_t)min)
		return 0;
	if (resp->status < 200 || resp->status == 204 || resp->status == 304)
		return 0;
	if (u_map_has_key_case(headers, "Content-Encoding"))
		return 0;
	/* Secrets must not share a compressed body with text an attacker chose (BREACH). */
	if (header_lists(u_map_get_case(headers, "Cache-Control"), "no-store"))
		return 0;
	return is_text_type(u_map_get_case(headers, "Content-Type"));
}

int http_gzip(const char *in, size_t len, char **out, size_t *out_len)
{
	z_stream zs = {0};
	char *buf = NULL;
	int ret = -1;

	*out = NULL;
	*out_len = 0;
	/* 15 window bits, +16 for the gzip wrapper; level 6 is zlib's (and nginx's usual) trade. */
	if (deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
		log_error("compress: deflateInit2 failed");
		return -1;
	}
	/* One pass into a buffer of the worst case: no growing, no second copy. */
	size_t bound = deflateBound(&zs, (uLong)len);
	buf = xmalloc(bound);
	zs.next_in = (Bytef *)(uintptr_t)in; /* zlib's API is not const; it only reads */
	zs.avail_in = (uInt)len;
	zs.next_out = (Bytef *)buf;
	zs.avail_out = (uInt)bound;
	if (deflate(&zs, Z_FINISH) != Z_STREAM_END) {
		log_error("compress: deflate of %zu bytes did not finish", len);
		goto out;
	}
	*out_len = zs.total_out;
	*out = buf;
	buf = NULL;
	ret = 0;
out:
	deflateEnd(&zs);
	free(buf);
	return ret;
}

void http_compress_headers(struct http_ctx *ctx, int encoded)
{
	struct _u_map *headers = ctx->resp->map_header;
	const char *vary = u_map_get_case(headers, "Vary");
	const char *etag = u_map_get_case(headers, "ETag");

	if (!vary || !*vary) {
		u_map_put(headers, "Vary", "Accept-Encoding");
	} else if (!header_lists(vary, "Accept-Encoding") && !header_lists(vary, "*")) {
		struct strbuf sb = STRBUF_INIT;
		strbuf_addf(&sb, "%s, Accept-Encoding", vary);
		u_map_put(headers, "Vary", strbuf_str(&sb));
		strbuf_release(&sb);
	}
	if (encoded && etag && strncmp(etag, "W/", 2)) {
		struct strbuf sb = STRBUF_INIT;
		strbuf_addf(&sb, "W/%s", etag);
		u_map_put(headers, "ETag", strbuf_str(&sb));
		strbuf_release(&sb);
	}
}

void http_compress_set_body(struct http_ctx *ctx, char *gz, size_t len)
{
	free(ctx->resp->binary_body);
	ctx->resp->binary_body = gz; /* ulfius frees it with the response */
	ctx->resp->binary_body_length = len;
	u_map_put(ctx->resp->map_header, "Content-Encoding", "gzip");
	http_compress_headers(ctx, 1);
}

void http_compress_reply(struct http_ctx *ctx)
{
	char *gz;
	size_t len;

	if (!http_compress_applies(ctx))
		return;
	if (!http_compress_accepted(ctx)) {
		http_compress_headers(ctx, 0);
		return;
	}
	/* Without zlib's help the plain answer still goes out, with the same Vary. */
	if (http_gzip(ctx->resp->binary_body, ctx->resp->binary_body_length, &gz, &len)) {
		http_compress_headers(ctx, 0);
		return;
	}
	http_compress_set_body(ctx, gz, len);
}
