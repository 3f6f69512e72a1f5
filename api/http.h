/*
 * API.md's Conventions, enforced in one place for every route: routing with an
 * optional trailing slash, 404/405 with Allow, body size limit (413), content
 * type (415), JSON parsing (400), CORS with preflight, JSON error bodies, and
 * one access-log line per request. Handlers get a struct http_ctx and answer
 * through the http_reply_*() functions; only api/ writes responses.
 */
#ifndef DEVSEARCH_HTTP_H
#define DEVSEARCH_HTTP_H

#include <jansson.h>
#include <stddef.h>
#include <ulfius.h>

#include "api/request_log.h"
#include "auth/login.h"
#include "core/app.h"
#include "core/util.h"

#define HTTP_MAX_PARAMS 4

struct http_ctx;
typedef void (*route_handler)(struct http_ctx *ctx);

/* How a route treats the Authorization header. */
enum route_flags {
	ROUTE_PUBLIC = 0,   /* anyone; a Bearer token, if sent, must be valid (as DRF) */
	ROUTE_NO_AUTH = 1,  /* the header is not looked at (meta, token and reset routes) */
	ROUTE_LOGIN = 2,    /* a valid access token is required */
	ROUTE_UPLOAD = 4,   /* the body may be up to HTTP_UPLOAD_MAX_BYTES (file uploads) */
	ROUTE_UNLISTED = 8, /* not in GET /api nor in openapi.yaml (static assets of /api/docs) */
	ROUTE_CACHED = 16,  /* a public GET whose anonymous answers the response cache keeps */
	/* Writes only what no cached answer shows (tokens, sessions, messages): a 2xx keeps the cache. */
	ROUTE_KEEPS_CACHE = 32,
	/* A GET that also writes (reading a message marks it read): never on the replica. */
	ROUTE_PRIMARY = 64,
};

/*
 * The body limit of a ROUTE_UPLOAD route (when larger than MAX_BODY_BYTES):
 * a 5 MiB image plus room for the multipart envelope, as the Django version's
 * MAX_IMAGE_BYTES + 64 KiB. Every other route keeps MAX_BODY_BYTES. The
 * handler checks the file's own size.
 */
#define HTTP_UPLOAD_MAX_BYTES (5L * 1024 * 1024 + 64L * 1024)

/*
 * One route. In pattern, "{name}" matches one path segment that must be a
 * UUID (anything else is a 404, as Django's <uuid:...>), and a last segment
 * "{name...}" matches the rest of the path.
 */
struct route {
	const char *method;
	const char *pattern;
	route_handler handler;
	unsigned flags;
};

/* Where a client's last write ended on the primary (docs/deploy.md, "Read replicas"). */
#define HTTP_LSN_HEADER "X-Primary-LSN"
#define HTTP_LSN_COOKIE "primary_lsn"

/* Per-request state; lives on the dispatcher's stack for one request. */
struct http_ctx {
	const struct _u_request *req;
	struct _u_response *resp;
	struct app *app;
	const struct route *route;
	char *params[HTTP_MAX_PARAMS]; /* path parameters in pattern order, owned */
	size_t nparams;
	json_t *j_body;          /* parsed body, owned; see http_json_object_or_reply */
	struct auth_user user;   /* who the request is from (user.authenticated) */
	struct db_pool *db_pool; /* the pool http_db_or_reply() borrowed from */
	/*
	 * A replica connection failed under the handler (set on its release):
	 * a read's 503 is then answered again by the primary, and the replica is
	 * not lent to this request any more.
	 */
	int replica_failed;
	int replied;
	/* The request's id (X-Request-Id), set first thing; see api/request_log.h. */
	char request_id[REQUEST_ID_SIZE];
	/*
	 * Where the client sent the request, for absolute URLs (set before
	 * routing): scheme is "http" or "https" (static), host is borrowed
	 * (Host, NULL when absent) or forwarded_host (owned, X-Forwarded-Host).
	 */
	const char *scheme;
	const char *host;
	char *forwarded_host;
};

/* The routing table: every module adds its static table at start. */
struct router;
struct router *router_new(void);
void router_free(struct router *router);
/* Add n routes; the table is borrowed and must outlive the router. */
void router_add(struct router *router, const struct route *routes, size_t n);
size_t router_count(const struct router *router);
const struct route *router_at(const struct router *router, size_t i);
/* The index of route in router (as router_at), or router_count() if it is not there (NULL). */
size_t router_index_of(const struct router *router, const struct route *route);

enum route_match { ROUTE_NO_PATH, ROUTE_NO_METHOD, ROUTE_MATCHED };

/*
 * Match method and path (one trailing slash ignored). On ROUTE_MATCHED *route
 * is set and params[0..*nparams) are new strings the caller free()s. Unless
 * ROUTE_NO_PATH, allow receives the path's methods ("GET, POST, HEAD, OPTIONS").
 */
enum route_match router_match(const struct router *router, const char *method, const char *path,
			      const struct route **route, char **params, size_t *nparams,
			      struct strbuf *allow);

/*
 * The largest body any route of app->router accepts: what the server must let
 * ulfius collect (plus one byte, to tell a body that is too large).
 */
long http_max_body_bytes(const struct app *app);

/* The ulfius callback for every request; user_data is the struct app. */
int http_dispatch(const struct _u_request *request, struct _u_response *response, void *user_data);

/* Path parameter i of the matched route; borrowed for the request. */
const char *http_param(const struct http_ctx *ctx, size_t i);
/* A query parameter trimmed of whitespace, "" when absent; new string (free()). */
char *http_query_trimmed(const struct http_ctx *ctx, const char *name);
/* A request header (case-insensitive name) or NULL; borrowed for the request. */
const char *http_header(const struct http_ctx *ctx, const char *name);
/* A query-string parameter or NULL; borrowed for the request. */
const char *http_query(const struct http_ctx *ctx, const char *name);
/*
 * The client's address as text into out (64 bytes): the TCP peer, or behind
 * TRUSTED_PROXIES the one X-Forwarded-For names (api/client_addr.h).
 */
void http_client_ip(const struct http_ctx *ctx, char out[64]);
/*
 * Absolute URL of path on this server as the client addressed it: ctx->scheme
 * (X-Forwarded-Proto of a TRUSTED_PROXIES peer, else http) and ctx->host
 * (Host, or a trusted peer's X-Forwarded-Host with USE_X_FORWARDED_HOST;
 * "localhost" when there is none); new string (free()).
 */
char *http_absolute_url(const struct http_ctx *ctx, const char *path);
/* Set a response header (copied). */
void http_set_header(struct http_ctx *ctx, const char *name, const char *value);

/*
 * Borrow a pool connection for the handler (the replica's for a read, see
 * replica_conn in http.c); on failure reply 503 and return -1. Give it back
 * with http_db_release (NULL is fine), which notes a replica connection that
 * failed (ctx->replica_failed).
 */
struct db_conn;
int http_db_or_reply(struct http_ctx *ctx, struct db_conn **conn);
void http_db_release(struct http_ctx *ctx, struct db_conn *conn);

/* Answer status with j_body as compact UTF-8 JSON; steals j_body. */
void http_reply_json(struct http_ctx *ctx, unsigned status, json_t *j_body);
/*
 * Answer 200 with the open file fd (st its fstat) as the body, streamed, and
 * its Last-Modified; the caller sets Content-Type and any other header first.
 * Takes fd: it is closed when the response is done, or at once on failure
 * (then a 500 is the answer).
 */
struct stat;
void http_reply_file(struct http_ctx *ctx, int fd, const struct stat *st);
/* Answer 204 with no body. */
void http_reply_no_content(struct http_ctx *ctx);
/* Answer {"detail": detail, "code": code}; a 401 also gets WWW-Authenticate. */
void http_reply_error(struct http_ctx *ctx, unsigned status, const char *code, const char *detail);
/* Answer a 400 validation error body ({"field": ["message"], ...}); steals j_errors. */
void http_reply_validation(struct http_ctx *ctx, json_t *j_errors);
/* Answer 400 with j_errors if it holds any error (1), else 0; steals j_errors either way. */
int http_reply_if_errors(struct http_ctx *ctx, json_t *j_errors);
/* Answer the status and generic body that err stands for. */
void http_reply_app_error(struct http_ctx *ctx, enum app_err err);

/*
 * The request body as a JSON object, parsed on first call: no body is {}, a
 * non-JSON content type is a 415, invalid JSON a 400 parse_error, and JSON
 * that is not an object a 400 non_field_errors. Returns 0 with *j_body
 * borrowed (valid for the request), or -1 after replying.
 */
int http_json_object_or_reply(struct http_ctx *ctx, json_t **j_body);

/*
 * The same without replying: -1 for any body http_json_object_or_reply would
 * refuse, for handlers that must check other things before saying why.
 */
int http_json_object_quiet(struct http_ctx *ctx, json_t **j_body);

#endif
