/*
 * The request pipeline shared by every route (see http.h): size limit, CORS,
 * routing, response cache (api/cache.h), handler, access log. Handlers never
 * see a request that broke a convention, and every error leaves as a JSON
 * object.
 */
#include "api/http.h"

#include <unistd.h>
#include <sys/stat.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "api/cache.h"
#include "api/client_addr.h"
#include "api/compress.h"
#include "api/ratelimit.h"
#include "core/config.h"
#include "core/log.h"
#include "core/metrics.h"
#include "models/db.h"

static const char JSON_TYPE[] = "application/json; charset=utf-8";
static const char CORS_ALLOW_HEADERS[] = "accept, accept-encoding, authorization, content-type, "
					 "dnt, origin, user-agent, x-csrftoken, x-request-id, "
					 "x-requested-with";
static const char CORS_ALLOW_METHODS[] = "DELETE, GET, OPTIONS, PATCH, POST, PUT";
/* Response headers a browser script may read besides the CORS-safelisted ones. */
/* The headers a browser's script may read: with rate limits on, theirs too. */
static const char CORS_EXPOSE_HEADERS[] = REQUEST_ID_HEADER;
static const char CORS_EXPOSE_HEADERS_LIMITED[] =
	REQUEST_ID_HEADER ", RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, Retry-After";

const char *http_param(const struct http_ctx *ctx, size_t i)
{
	return i < ctx->nparams ? ctx->params[i] : NULL;
}

char *http_query_trimmed(const struct http_ctx *ctx, const char *name)
{
	static const char SPACE[] = " \t\n\r\f\v";
	const char *text = http_query(ctx, name);
	if (!text)
		return xstrdup("");
	text += strspn(text, SPACE);
	size_t len = strlen(text);
	while (len && strchr(SPACE, text[len - 1]))
		len--;
	return xstrndup(text, len);
}

const char *http_header(const struct http_ctx *ctx, const char *name)
{
	return u_map_get_case(ctx->req->map_header, name);
}

const char *http_query(const struct http_ctx *ctx, const char *name)
{
	return u_map_get(ctx->req->map_url, name);
}

void http_client_ip(const struct http_ctx *ctx, char out[64])
{
	client_addr_resolve(ctx->app->cfg, ctx->req->client_address,
			    http_header(ctx, "X-Forwarded-For"), out);
}

char *http_absolute_url(const struct http_ctx *ctx, const char *path)
{
	struct strbuf sb = STRBUF_INIT;
	const char *host = ctx->host && *ctx->host ? ctx->host : "localhost";
	strbuf_addf(&sb, "%s://%s%s", ctx->scheme ? ctx->scheme : "http", host, path);
	return strbuf_detach(&sb);
}

void http_set_header(struct http_ctx *ctx, const char *name, const char *value)
{
	u_map_put(ctx->resp->map_header, name, value);
}

static int method_only_reads(const char *method)
{
	return !strcmp(method, "GET") || !strcmp(method, "HEAD");
}

/* The WAL position the client last wrote at: the X-Primary-LSN header, else the cookie. */
static const char *client_write_lsn(const struct http_ctx *ctx)
{
	const char *lsn = http_header(ctx, HTTP_LSN_HEADER);
	if (!lsn && ctx->req->map_cookie)
		lsn = u_map_get(ctx->req->map_cookie, HTTP_LSN_COOKIE);
	return lsn;
}

/*
 * A replica connection for a request that only reads, or NULL for the
 * primary: no replica, a write (or a ROUTE_PRIMARY read), an answer the
 * response cache will keep (filled from the primary, or a lagging replica's
 * answer would be kept after the write's invalidation), the replica down or
 * already failed this request, or not yet at the position the client last
 * wrote at (read-your-writes).
 */
static struct db_conn *replica_conn(struct http_ctx *ctx)
{
	struct db_conn *conn = NULL;
	const char *lsn;

	if (!ctx->app->replica || ctx->replica_failed || !method_only_reads(ctx->req->http_verb) ||
	    (ctx->route->flags & ROUTE_PRIMARY))
		return NULL;
	if (ctx->app->cache && (ctx->route->flags & ROUTE_CACHED) &&
	    !http_header(ctx, "Authorization"))
		return NULL;
	if (db_pool_acquire(ctx->app->replica, DB_POOL_WAIT, &conn) != APP_OK)
		return NULL;
	if ((lsn = client_write_lsn(ctx)) && !db_replayed(conn, lsn)) {
		db_pool_release(ctx->app->replica, conn);
		return NULL;
	}
	return conn;
}

int http_db_or_reply(struct http_ctx *ctx, struct db_conn **conn)
{
	if ((*conn = replica_conn(ctx))) {
		ctx->db_pool = ctx->app->replica;
		return 0;
	}
	ctx->db_pool = ctx->app->pool;
	enum app_err err = db_pool_acquire(ctx->app->pool, DB_POOL_WAIT, conn);
	if (err != APP_OK) {
		http_reply_app_error(ctx, err);
		return -1;
	}
	return 0;
}

void http_db_release(struct http_ctx *ctx, struct db_conn *conn)
{
	if (conn && ctx->db_pool && ctx->db_pool == ctx->app->replica && db_conn_failed(conn))
		ctx->replica_failed = 1;
	db_pool_release(ctx->db_pool ? ctx->db_pool : ctx->app->pool, conn);
}

/*
 * After a successful write with a replica configured: hand the client the
 * primary's WAL position, so that its next reads wait for a replica that has
 * it (header for API clients, cookie for browsers and cookie jars; the
 * cookie lasts REPLICA_READ_YOUR_WRITES).
 */
static void mark_write_position(struct http_ctx *ctx)
{
	char lsn[DB_LSN_SIZE], cookie[128];

	if (!ctx->app->replica || method_only_reads(ctx->req->http_verb) ||
	    ctx->resp->status < 200 || ctx->resp->status > 299)
		return;
	if (db_pool_primary_lsn(ctx->app->pool, lsn) != APP_OK)
		return;
	http_set_header(ctx, HTTP_LSN_HEADER, lsn);
	snprintf(cookie, sizeof(cookie), "%s=%s; Max-Age=%ld; Path=/; HttpOnly; SameSite=Lax",
		 HTTP_LSN_COOKIE, lsn, ctx->app->cfg->replica_read_your_writes);
	http_set_header(ctx, "Set-Cookie", cookie);
}

static int dump_to_strbuf(const char *buffer, size_t size, void *data)
{
	strbuf_add(data, buffer, size);
	return 0;
}

void http_reply_json(struct http_ctx *ctx, unsigned status, json_t *j_body)
{
	struct strbuf text = STRBUF_INIT;
	/* A list page is tens of KiB: start big enough to rarely grow. */
	strbuf_grow(&text, 16384);
	/*
	 * Straight into one buffer that the response then owns: json_dumps() would
	 * copy the text once more, and ulfius_set_binary_body_response() again.
	 */
	if (json_dump_callback(j_body, dump_to_strbuf, &text, JSON_COMPACT | JSON_ENCODE_ANY)) {
		log_error("http: cannot serialise a response body");
		status = 500;
		strbuf_reset(&text);
		strbuf_addstr(&text,
			      "{\"detail\":\"A server error occurred.\",\"code\":\"error\"}");
	}
	json_decref(j_body);
	free(ctx->resp->binary_body);
	ctx->resp->binary_body_length = text.len;
	ctx->resp->binary_body = strbuf_detach(&text); /* ulfius frees it with the response */
	ctx->resp->status = status;
	http_set_header(ctx, "Content-Type", JSON_TYPE);
	ctx->replied = 1;
}

/* The open file of one streamed response; freed by ulfius when it is sent. */
struct file_stream {
	int fd;
};

static ssize_t file_stream_read(void *cls, uint64_t offset, char *buf, size_t max)
{
	const struct file_stream *stream = cls;
	ssize_t n;
	do
		n = pread(stream->fd, buf, max, (off_t)offset);
	while (n < 0 && errno == EINTR);
	if (n == 0)
		return U_STREAM_END;
	return n < 0 ? U_STREAM_ERROR : n;
}

static void file_stream_free(void *cls)
{
	struct file_stream *stream = cls;
	close(stream->fd);
	free(stream);
}

void http_reply_file(struct http_ctx *ctx, int fd, const struct stat *st)
{
	struct file_stream *stream = xmalloc(sizeof(*stream));
	struct tm tm;
	char date[64];

	stream->fd = fd;
	gmtime_r(&st->st_mtime, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	http_set_header(ctx, "Last-Modified", date);
	if (ulfius_set_stream_response(ctx->resp, 200, file_stream_read, file_stream_free,
				       (uint64_t)st->st_size, 64 * 1024, stream) != U_OK) {
		file_stream_free(stream);
		http_reply_app_error(ctx, APP_ERR_INTERNAL);
		return;
	}
	ctx->replied = 1;
}

void http_reply_no_content(struct http_ctx *ctx)
{
	ulfius_set_empty_body_response(ctx->resp, 204);
	ctx->replied = 1;
}

void http_reply_error(struct http_ctx *ctx, unsigned status, const char *code, const char *detail)
{
	if (status == 401)
		http_set_header(ctx, "WWW-Authenticate", "Bearer realm=\"api\"");
	http_reply_json(ctx, status, json_pack("{s:s,s:s}", "detail", detail, "code", code));
}

void http_reply_validation(struct http_ctx *ctx, json_t *j_errors)
{
	http_reply_json(ctx, 400, j_errors);
}

int http_reply_if_errors(struct http_ctx *ctx, json_t *j_errors)
{
	if (json_object_size(j_errors) == 0) {
		json_decref(j_errors);
		return 0;
	}
	http_reply_validation(ctx, j_errors);
	return 1;
}

void http_reply_app_error(struct http_ctx *ctx, enum app_err err)
{
	switch (err) {
	case APP_ERR_INVALID:
	case APP_ERR_CONFLICT:
		http_reply_validation(ctx,
				      json_pack("{s:[s]}", "non_field_errors", "Invalid input."));
		break;
	case APP_ERR_UNAUTHENTICATED:
		http_reply_error(ctx, 401, "not_authenticated",
				 "Authentication credentials were not provided.");
		break;
	case APP_ERR_FORBIDDEN:
		http_reply_error(ctx, 403, "permission_denied",
				 "You do not have permission to perform this action.");
		break;
	case APP_ERR_NOT_FOUND: http_reply_error(ctx, 404, "not_found", "Not found."); break;
	case APP_ERR_TOO_LARGE:
		http_reply_error(ctx, 413, "payload_too_large", "Request body is too large.");
		break;
	case APP_ERR_UNSUPPORTED:
		http_reply_error(ctx, 415, "unsupported_media_type", "Unsupported media type.");
		break;
	case APP_ERR_THROTTLED:
		http_reply_error(ctx, 429, "throttled", "Request was throttled.");
		break;
	case APP_ERR_UNAVAILABLE:
		http_reply_error(ctx, 503, "service_unavailable",
				 "The database is unavailable; try again shortly.");
		break;
	case APP_OK:
	case APP_ERR_RETRY:
	case APP_ERR_INTERNAL:
	default: http_reply_error(ctx, 500, "error", "A server error occurred."); break;
	}
}

/* "application/json", "application/json; charset=utf-8", "Application/JSON" are JSON. */
static int is_json_media_type(const char *content_type)
{
	size_t len = strcspn(content_type, ";");
	while (len && (content_type[len - 1] == ' ' || content_type[len - 1] == '\t'))
		len--;
	while (len && (*content_type == ' ' || *content_type == '\t')) {
		content_type++;
		len--;
	}
	return len == 16 && !strncasecmp(content_type, "application/json", 16);
}

static const char *json_type_name(const json_t *j)
{
	switch (json_typeof(j)) {
	case JSON_ARRAY: return "list";
	case JSON_STRING: return "str";
	case JSON_INTEGER: return "int";
	case JSON_REAL: return "float";
	case JSON_TRUE:
	case JSON_FALSE: return "bool";
	case JSON_NULL: return "NoneType";
	default: return "dict";
	}
}

/* http_json_object_or_reply's work; with reply 0 a failure returns -1 and sends nothing. */
static int json_object_body(struct http_ctx *ctx, json_t **j_body, int reply)
{
	const struct _u_request *req = ctx->req;
	const char *content_type = http_header(ctx, "Content-Type");
	json_error_t error;

	if (ctx->j_body) {
		*j_body = ctx->j_body;
		return 0;
	}
	/* As DRF: no body, or a body without a declared type, is an empty object. */
	if (req->binary_body_length == 0 || !content_type) {
		ctx->j_body = json_object();
		*j_body = ctx->j_body;
		return 0;
	}
	if (!is_json_media_type(content_type)) {
		if (!reply)
			return -1;
		struct strbuf detail = STRBUF_INIT;
		strbuf_addf(&detail, "Unsupported media type \"%s\" in request.", content_type);
		http_reply_error(ctx, 415, "unsupported_media_type", strbuf_str(&detail));
		strbuf_release(&detail);
		return -1;
	}
	/* NULs are let through here so that validation can name the field they are in. */
	json_t *j = json_loadb(req->binary_body, req->binary_body_length,
			       JSON_DECODE_ANY | JSON_ALLOW_NUL, &error);
	if (!j) {
		if (!reply)
			return -1;
		struct strbuf detail = STRBUF_INIT;
		strbuf_addf(&detail, "JSON parse error - %s: line %d column %d (char %d)",
			    error.text, error.line, error.column, error.position);
		http_reply_error(ctx, 400, "parse_error", strbuf_str(&detail));
		strbuf_release(&detail);
		return -1;
	}
	if (!json_is_object(j)) {
		if (reply) {
			struct strbuf msg = STRBUF_INIT;
			strbuf_addf(&msg, "Invalid data. Expected a dictionary, but got %s.",
				    json_type_name(j));
			http_reply_validation(
				ctx, json_pack("{s:[s]}", "non_field_errors", strbuf_str(&msg)));
			strbuf_release(&msg);
		}
		json_decref(j);
		return -1;
	}
	ctx->j_body = j;
	*j_body = j;
	return 0;
}

int http_json_object_or_reply(struct http_ctx *ctx, json_t **j_body)
{
	return json_object_body(ctx, j_body, 1);
}

int http_json_object_quiet(struct http_ctx *ctx, json_t **j_body)
{
	return json_object_body(ctx, j_body, 0);
}

/* Paths the CORS and Vary rules cover, as django-cors-headers' URL regex. */
static int is_api_path(const char *path)
{
	return (!strncmp(path, "/api", 4) && (path[4] == '\0' || path[4] == '/')) ||
	       !strncmp(path, "/media/", 7);
}

/* Adds the CORS headers; returns 1 if the request is a preflight (already answered). */
static int apply_cors(struct http_ctx *ctx, const char *path)
{
	const char *origin = http_header(ctx, "Origin");
	int allowed;

	if (!is_api_path(path))
		return 0;
	http_set_header(ctx, "Vary", "Origin");
	allowed = origin && config_cors_allowed(ctx->app->cfg, origin);
	if (allowed) {
		http_set_header(ctx, "Access-Control-Allow-Origin", origin);
		http_set_header(ctx, "Access-Control-Expose-Headers",
				ctx->app->limiter ? CORS_EXPOSE_HEADERS_LIMITED
						  : CORS_EXPOSE_HEADERS);
	}
	if (strcmp(ctx->req->http_verb, "OPTIONS") || !origin ||
	    !http_header(ctx, "Access-Control-Request-Method"))
		return 0;
	if (allowed) {
		http_set_header(ctx, "Access-Control-Allow-Headers", CORS_ALLOW_HEADERS);
		http_set_header(ctx, "Access-Control-Allow-Methods", CORS_ALLOW_METHODS);
		http_set_header(ctx, "Access-Control-Max-Age", "86400");
	}
	/* Answered whether or not the origin is allowed: the browser decides from the headers. */
	ulfius_set_empty_body_response(ctx->resp, 200);
	ctx->replied = 1;
	return 1;
}

/* The body limit of route (NULL: no route matched): MAX_BODY_BYTES, more for uploads. */
static long body_limit(const struct app *app, const struct route *route)
{
	long limit = app->cfg->max_body_bytes;
	if (route && (route->flags & ROUTE_UPLOAD) && limit < HTTP_UPLOAD_MAX_BYTES)
		limit = HTTP_UPLOAD_MAX_BYTES;
	return limit;
}

long http_max_body_bytes(const struct app *app)
{
	long limit = app->cfg->max_body_bytes;
	for (size_t i = 0; app->router && i < router_count(app->router); i++) {
		long route_limit = body_limit(app, router_at(app->router, i));
		if (route_limit > limit)
			limit = route_limit;
	}
	return limit;
}

/* 1 if the declared or received body is over the limit of the matched route (or NULL). */
static int body_too_large(const struct http_ctx *ctx, const struct route *route)
{
	long limit = body_limit(ctx->app, route);
	const char *length = http_header(ctx, "Content-Length");
	if (length && strtoll(length, NULL, 10) > limit)
		return 1;
	return ctx->req->binary_body_length > (size_t)limit;
}

/* Plain OPTIONS on a route: describe it, as DRF's metadata does. */
static void reply_options(struct http_ctx *ctx)
{
	http_reply_json(ctx, 200,
			json_pack("{s:s,s:s,s:[s],s:[s]}", "name",
				  ctx->route ? ctx->route->pattern : "", "description", "",
				  "renders", "application/json", "parses", "application/json"));
}

/* SimpleJWT's answer to a refused access token on an API route. */
static void reply_bad_token(struct http_ctx *ctx, const char *message)
{
	http_set_header(ctx, "WWW-Authenticate", "Bearer realm=\"api\"");
	http_reply_json(ctx, 401,
			json_pack("{s:s,s:s,s:[{s:s,s:s,s:s}]}", "detail",
				  "Given token not valid for any token type", "code",
				  "token_not_valid", "messages", "token_class", "AccessToken",
				  "token_type", "access", "message", message));
}

/* Fill ctx->user from the Authorization header; 0, or -1 after replying. */
static int authenticate_or_reply(struct http_ctx *ctx)
{
	switch (auth_authenticate(ctx->app, http_header(ctx, "Authorization"), (long)time(NULL),
				  &ctx->user)) {
	case AUTH_ANONYMOUS:
	case AUTH_OK: return 0;
	case AUTH_TOKEN_WRONG_TYPE: reply_bad_token(ctx, "Token has wrong type"); return -1;
	case AUTH_TOKEN_INVALID: reply_bad_token(ctx, "Token is invalid or expired"); return -1;
	case AUTH_USER_NOT_FOUND:
		http_reply_error(ctx, 401, "user_not_found", "User not found");
		return -1;
	case AUTH_USER_INACTIVE:
		http_reply_error(ctx, 401, "user_inactive", "User is inactive");
		return -1;
	case AUTH_UNAVAILABLE:
	default: http_reply_app_error(ctx, APP_ERR_UNAVAILABLE); return -1;
	}
}

/*
 * Forget the handler's answer: its status, body (or stream) and headers; the
 * headers are put back as they were before it ran (before), which keeps the
 * dispatcher's own (request id, nosniff, CORS, rate limit, Allow). Cookies are
 * only ever set as headers here, so ulfius' cookie list is empty.
 */
static void discard_answer(struct http_ctx *ctx, const struct _u_map *before)
{
	struct _u_response *resp = ctx->resp;

	u_map_empty(resp->map_header);
	u_map_copy_into(resp->map_header, before);
	free(resp->binary_body);
	resp->binary_body = NULL;
	resp->binary_body_length = 0;
	if (resp->stream_callback_free && resp->stream_user_data)
		resp->stream_callback_free(resp->stream_user_data);
	resp->stream_callback = NULL;
	resp->stream_callback_free = NULL;
	resp->stream_user_data = NULL;
	resp->stream_size = 0;
	resp->status = 200;
	ctx->replied = 0;
}

/*
 * Run the route's handler. A read is idempotent: when its 503 came from a
 * replica connection that failed under it (not from a busy server or the
 * primary alone), that answer is dropped and the handler runs once more, on
 * the primary (ctx->replica_failed keeps the replica away).
 */
static void call_handler(struct http_ctx *ctx)
{
	struct _u_map before;
	int may_retry = ctx->app->replica && method_only_reads(ctx->req->http_verb);

	if (!may_retry) {
		ctx->route->handler(ctx);
		return;
	}
	u_map_init(&before);
	u_map_copy_into(&before, ctx->resp->map_header);
	ctx->route->handler(ctx);
	if (ctx->replica_failed && ctx->resp->status == 503) {
		log_warn("http: %s %s: the replica failed mid-request; answering from the primary",
			 ctx->req->http_verb, ctx->route->pattern);
		metrics_count(ctx->app->metrics, METRIC_REPLICA_READ_RETRIES);
		discard_answer(ctx, &before);
		ctx->route->handler(ctx);
	}
	u_map_clean(&before);
}

static void run_handler(struct http_ctx *ctx)
{
	unsigned flags = ctx->route->flags;
	if (!(flags & ROUTE_NO_AUTH) && authenticate_or_reply(ctx))
		return;
	if ((flags & ROUTE_LOGIN) && !ctx->user.authenticated) {
		http_reply_app_error(ctx, APP_ERR_UNAUTHENTICATED);
		return;
	}
	call_handler(ctx);
	mark_write_position(ctx);
}

static void route_request(struct http_ctx *ctx, const char *path)
{
	struct strbuf allow = STRBUF_INIT;
	const char *method = ctx->req->http_verb;
	int is_options = !strcmp(method, "OPTIONS");
	enum route_match match = router_match(ctx->app->router, is_options ? "GET" : method, path,
					      &ctx->route, ctx->params, &ctx->nparams, &allow);

	/* Before anything else, on any path; only the matched route can raise the limit. */
	if (body_too_large(ctx, match == ROUTE_MATCHED ? ctx->route : NULL)) {
		http_reply_app_error(ctx, APP_ERR_TOO_LARGE);
		goto out;
	}
	if (match == ROUTE_NO_PATH) {
		http_reply_error(ctx, 404, "not_found", "Not found.");
		goto out;
	}
	http_set_header(ctx, "Allow", strbuf_str(&allow));
	if (is_options) {
		reply_options(ctx);
	} else if (match == ROUTE_NO_METHOD) {
		struct strbuf detail = STRBUF_INIT;
		strbuf_addf(&detail, "Method \"%s\" not allowed.", method);
		http_reply_error(ctx, 405, "method_not_allowed", strbuf_str(&detail));
		strbuf_release(&detail);
	} else {
		/* A hit answers without the handler; the cache also sees every answer and write. */
		struct http_cache_request cached;
		if (!http_cache_serve(ctx, &cached)) {
			run_handler(ctx);
			if (!ctx->replied) {
				log_error("http: %s %s: handler gave no answer", method, path);
				http_reply_app_error(ctx, APP_ERR_INTERNAL);
			}
		}
		http_cache_complete(ctx, &cached);
	}
out:
	strbuf_release(&allow);
}

/*
 * Django's rule for a Host header (host_validation_re): a name of letters,
 * digits, '.' and '-', or a bracketed IPv6 address, then an optional port.
 * The Host (or a trusted proxy's X-Forwarded-Host) is echoed into Location,
 * pagination links and stored image URLs, so anything else (a CR, a quote, a
 * space, a path) must never get that far.
 */
static int host_is_valid(const char *host)
{
	static const char NAME[] =
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-";
	static const char IPV6[] = "0123456789abcdefABCDEF:.";
	size_t len;

	if (*host == '[') {
		len = strspn(host + 1, IPV6);
		if (!memchr(host + 1, ':', len) || host[1 + len] != ']')
			return 0;
		host += len + 2;
	} else {
		len = strspn(host, NAME);
		if (len == 0)
			return 0;
		host += len;
	}
	if (*host == '\0')
		return 1;
	return *host == ':' && host[1] && strspn(host + 1, "0123456789") == strlen(host + 1);
}

/*
 * Set ctx->scheme and ctx->host: http and Host, or what a TRUSTED_PROXIES
 * peer says the client used (Django's SECURE_PROXY_SSL_HEADER and
 * USE_X_FORWARDED_HOST, only believed from our own proxies). Any other
 * X-Forwarded-Proto value leaves http. 0, or -1 if Host or the forwarded
 * host is not a valid host: it would be echoed into URLs.
 */
static int resolve_origin(struct http_ctx *ctx)
{
	const struct config *cfg = ctx->app->cfg;
	const char *host = http_header(ctx, "Host");
	const char *scheme;

	ctx->scheme = "http";
	ctx->host = host;
	if (host && !host_is_valid(host))
		return -1;
	if (!client_addr_peer_trusted(cfg, ctx->req->client_address))
		return 0;
	if ((scheme = client_addr_forwarded_proto(http_header(ctx, "X-Forwarded-Proto"))))
		ctx->scheme = scheme;
	if (!cfg->use_x_forwarded_host)
		return 0;
	ctx->forwarded_host = client_addr_forwarded_host(http_header(ctx, "X-Forwarded-Host"));
	if (!ctx->forwarded_host)
		return 0;
	ctx->host = ctx->forwarded_host;
	return host_is_valid(ctx->host) ? 0 : -1;
}

int http_dispatch(const struct _u_request *request, struct _u_response *response, void *user_data)
{
	struct http_ctx ctx = {.req = request, .resp = response, .app = user_data};
	const char *path = request->url_path ? request->url_path : "/";
	double started = now_ms();

	request_log_begin(&ctx);
	/* Every answer's type is the one we name: browsers must not guess another from the bytes. */
	http_set_header(&ctx, "X-Content-Type-Options", "nosniff");
	if (resolve_origin(&ctx))
		http_reply_error(&ctx, 400, "invalid_host", "Invalid HTTP_HOST header.");
	else if (!apply_cors(&ctx, path) && !http_rate_limit_or_reply(&ctx, path))
		route_request(&ctx, path);
	http_compress_reply(&ctx);
	double elapsed = now_ms() - started;
	request_log_end(&ctx, elapsed);
	if (ctx.app->metrics)
		/* The pattern, never the path: one series per route, whatever clients send. */
		metrics_observe_request(ctx.app->metrics,
					router_index_of(ctx.app->router, ctx.route),
					(unsigned)response->status, elapsed);

	for (size_t i = 0; i < ctx.nparams; i++)
		free(ctx.params[i]);
	json_decref(ctx.j_body);
	free(ctx.forwarded_host);
	return U_CALLBACK_COMPLETE;
}
