/*
 * Settings, read once from the environment at start (API.md's list plus a few
 * of ours) and immutable afterwards. Every problem is reported at once, one
 * line each, naming the variable.
 */
#ifndef DEVSEARCH_CONFIG_H
#define DEVSEARCH_CONFIG_H

#include <stddef.h>

#include "core/util.h"

/* One METRICS_ALLOW or TRUSTED_PROXIES entry: an address and how many leading bits must match. */
struct config_net {
	int family;             /* AF_INET or AF_INET6 */
	unsigned char addr[16]; /* network order; 4 bytes used for AF_INET */
	int prefix_bits;        /* 32 or 128 for a single address */
};

/* A request rate as DRF writes it ("100/minute"); limit 0 is "off". */
struct config_rate {
	long limit;  /* requests per window; 0: no limit */
	long period; /* the window in seconds: 1, 60, 3600 or 86400 */
};

struct config {
	char *database_url;        /* NULL: libpq's PG* variables decide */
	char *database_direct_url; /* DATABASE_DIRECT_URL: migrations, LISTEN; default DATABASE_URL */
	char *database_replica_url;    /* DATABASE_REPLICA_URL: reads go there; NULL: no replica */
	long replica_read_your_writes; /* REPLICA_READ_YOUR_WRITES seconds, default 30 */
	int db_prepared_statements;    /* DB_PREPARED_STATEMENTS on (1, default) or off (0) */
	int port;                      /* PORT, default 8000 */
	int http_threads;              /* HTTP_THREADS, default: number of cores */
	int db_pool_size;              /* DB_POOL_SIZE, default: HTTP_THREADS + 1 */
	long max_body_bytes;           /* MAX_BODY_BYTES, default 1 MiB */
	int shutdown_timeout; /* SHUTDOWN_TIMEOUT seconds to finish in-flight requests, default 30 */
	long db_timeout_ms;   /* DB_TIMEOUT: pool wait, connect and statement bound, default 5 s */
	int http_max_connections; /* HTTP_MAX_CONNECTIONS open at once, default 1000 */
	int http_idle_timeout; /* HTTP_IDLE_TIMEOUT seconds before a silent connection is closed */
	char **cors_origins;   /* CORS_ALLOWED_ORIGINS, comma-separated */
	size_t n_cors_origins;
	char *jwt_secret;            /* JWT_SECRET */
	char *jwt_algorithm;         /* JWT_ALGORITHM: HS256 (default), RS256, ES256 */
	char *jwt_private_key_file;  /* JWT_PRIVATE_KEY_FILE */
	char *jwt_public_key_file;   /* JWT_PUBLIC_KEY_FILE */
	long access_token_lifetime;  /* ACCESS_TOKEN_LIFETIME seconds, default 300 */
	long refresh_token_lifetime; /* REFRESH_TOKEN_LIFETIME seconds, default 86400 */
	long password_reset_timeout; /* PASSWORD_RESET_TIMEOUT seconds, default 3600 */
	char *email_backend;         /* EMAIL_BACKEND: console (default) or smtp */
	char *smtp_url;              /* SMTP_URL, required with smtp */
	char *media_root;            /* MEDIA_ROOT, default var/media */
	char *migrations_dir;        /* MIGRATIONS_DIR, default the source tree's sql/ */
	char *openapi_file;          /* OPENAPI_FILE, default the source tree's openapi.yaml */
	char *docs_assets_dir;       /* DOCS_ASSETS_DIR, default the build's docs-assets/ */
	int log_level;               /* LOG_LEVEL: debug, info (default), warn, error */
	int log_format;              /* LOG_FORMAT: text (default) or json, enum log_format */
	char *default_from_email;    /* DEFAULT_FROM_EMAIL, "DevSearch <noreply@devsearch.local>" */
	long argon2_memory_kib;      /* ARGON2_MEMORY_COST KiB, default 19456 (OWASP minimum) */
	long argon2_time_cost;       /* ARGON2_TIME_COST, default 2 */
	long argon2_parallelism;     /* ARGON2_PARALLELISM, default 1 */
	long password_hash_slots;    /* PASSWORD_HASH_SLOTS: concurrent hashes, default cores */
	long throttle_username;      /* LOGIN_THROTTLE_USERNAME failures per window, default 5 */
	long throttle_ip;            /* LOGIN_THROTTLE_IP failures per window, default 20 */
	long throttle_window;        /* LOGIN_THROTTLE_WINDOW seconds, default 15m */
	long flush_interval; /* FLUSH_INTERVAL seconds between serve's flushes, 1h; 0: never */
	long response_cache_bytes; /* RESPONSE_CACHE_BYTES, default 32 MiB; 0: no cache */
	long compress_min_bytes;   /* COMPRESS_MIN_BYTES: gzip bodies this large, 1024; 0: off */
	int metrics;               /* METRICS: off (default) or on: GET /metrics */
	struct config_net *metrics_allow; /* METRICS_ALLOW, default 127.0.0.1,::1 */
	size_t n_metrics_allow;
	struct config_net *trusted_proxies; /* TRUSTED_PROXIES, default none */
	size_t n_trusted_proxies;
	int use_x_forwarded_host;     /* USE_X_FORWARDED_HOST: off (default) or on */
	struct config_rate rate_anon; /* RATE_LIMIT_ANON, default off */
	struct config_rate rate_user; /* RATE_LIMIT_USER, default off */
	long rate_limit_sync_ms;      /* RATE_LIMIT_SYNC_MS, default 1000 */
	long rate_limit_max_keys;     /* RATE_LIMIT_MAX_KEYS, default 100000 */
};

/*
 * Fill cfg from the environment. Returns 0, or -1 with one line per problem
 * appended to errors. cfg must be released with config_release() either way.
 */
int config_load(struct config *cfg, struct strbuf *errors);

/* Extra checks for `serve` (token keys and email). 0 or -1 with errors appended. */
int config_check_serve(const struct config *cfg, struct strbuf *errors);

/* Free what config_load allocated. */
void config_release(struct config *cfg);

/* "300", "300s", "5m", "1h", "1d" -> seconds. 0 on success, -1 if malformed. */
int config_parse_duration(const char *text, long *seconds);

/*
 * 1 if addr (a struct sockaddr of AF_INET or AF_INET6; NULL is refused) is
 * inside one of METRICS_ALLOW's addresses or networks. An IPv4-mapped IPv6
 * address (::ffff:a.b.c.d) is checked as the IPv4 address.
 */
struct sockaddr;
int config_metrics_allowed(const struct config *cfg, const struct sockaddr *addr);

/*
 * "N/second", "N/minute", "N/hour", "N/day" (also s/sec, m/min, h, d), or
 * "off", into *rate. 0, or -1 if malformed (the rate is then unspecified).
 */
int config_parse_rate(const char *text, struct config_rate *rate);

/*
 * 1 if the address (family AF_INET or AF_INET6, bytes in network order: 4 or
 * 16 of them) is inside one of TRUSTED_PROXIES' addresses or networks. An
 * IPv4-mapped IPv6 address is checked as the IPv4 address.
 */
int config_proxy_trusted(const struct config *cfg, int family, const unsigned char *bytes);

/* 1 if origin is listed in CORS_ALLOWED_ORIGINS. */
int config_cors_allowed(const struct config *cfg, const char *origin);

#endif
