/*
 * Settings from the environment; see config.h. Every server setting is read
 * here (createsuperuser alone reads DEVSEARCH_PASSWORD itself).
 */
#include "core/config.h"

#include "core/log.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef DEVSEARCH_SOURCE_DIR
#define DEVSEARCH_SOURCE_DIR "."
#endif
#ifndef DEVSEARCH_SQL_DIR
#define DEVSEARCH_SQL_DIR "sql"
#endif
/* Filled by the Makefile from node_modules/swagger-ui-dist and assets/docs. */
#ifndef DEVSEARCH_DOCS_ASSETS_DIR
#define DEVSEARCH_DOCS_ASSETS_DIR "build/docs-assets"
#endif

/* The value of an environment variable, NULL when unset or empty. */
static const char *env(const char *name)
{
	const char *value = getenv(name);
	return value && *value ? value : NULL;
}

static char *env_dup(const char *name, const char *fallback)
{
	const char *value = env(name);
	if (!value)
		value = fallback;
	return value ? xstrdup(value) : NULL;
}

static int parse_long(const char *text, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(text, &end, 10);
	if (errno || end == text || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

/* An integer setting within [min, max]; errors name the variable and quote the value. */
static void env_int(const char *name, long fallback, long min, long max, long *out,
		    struct strbuf *errors)
{
	const char *value = env(name);
	long v;
	*out = fallback;
	if (!value)
		return;
	if (parse_long(value, &v) || v < min || v > max) {
		strbuf_addf(errors, "%s: expected a whole number from %ld to %ld, got \"%s\"\n",
			    name, min, max, value);
		return;
	}
	*out = v;
}

int config_parse_duration(const char *text, long *seconds)
{
	const char *p = text;
	long n = 0;
	long unit = 1;

	while (isspace((unsigned char)*p))
		p++;
	if (!isdigit((unsigned char)*p))
		return -1;
	while (isdigit((unsigned char)*p)) {
		if (n > (LONG_MAX - 9) / 10)
			return -1;
		n = n * 10 + (*p++ - '0');
	}
	switch (*p) {
	case 's':
		unit = 1;
		p++;
		break;
	case 'm':
		unit = 60;
		p++;
		break;
	case 'h':
		unit = 3600;
		p++;
		break;
	case 'd':
		unit = 86400;
		p++;
		break;
	default: break;
	}
	while (isspace((unsigned char)*p))
		p++;
	if (*p != '\0' || n > LONG_MAX / unit)
		return -1;
	*seconds = n * unit;
	return 0;
}

static void env_duration(const char *name, long fallback, long *out, struct strbuf *errors)
{
	const char *value = env(name);
	*out = fallback;
	if (!value)
		return;
	if (config_parse_duration(value, out) || *out <= 0) {
		strbuf_addf(errors,
			    "%s: expected a positive duration such as 300, 300s, 5m, 1h or 1d, got "
			    "\"%s\"\n",
			    name, value);
		*out = fallback;
	}
}

/* A duration where 0 means "never". */
static void env_interval(const char *name, long fallback, long *out, struct strbuf *errors)
{
	const char *value = env(name);
	*out = fallback;
	if (!value)
		return;
	if (config_parse_duration(value, out)) {
		strbuf_addf(errors,
			    "%s: expected a duration such as 3600, 60m, 1h or 1d (0: never), got "
			    "\"%s\"\n",
			    name, value);
		*out = fallback;
	}
}

static void parse_origins(struct config *cfg, struct strbuf *errors)
{
	const char *value = env("CORS_ALLOWED_ORIGINS");
	const char *p = value;

	if (!value)
		return;
	while (*p) {
		const char *start, *end;
		while (*p == ',' || isspace((unsigned char)*p))
			p++;
		start = p;
		while (*p && *p != ',')
			p++;
		end = p;
		while (end > start && isspace((unsigned char)end[-1]))
			end--;
		if (end == start)
			continue;
		char *origin = xstrndup(start, (size_t)(end - start));
		const char *host = strstr(origin, "://");
		/* An origin is scheme://host[:port]: no path, not even a "/" (it would never match). */
		if ((strncmp(origin, "http://", 7) && strncmp(origin, "https://", 8)) || !host[3] ||
		    strchr(host + 3, '/')) {
			strbuf_addf(errors,
				    "CORS_ALLOWED_ORIGINS: \"%s\" is not an origin "
				    "(scheme://host[:port])\n",
				    origin);
			free(origin);
			continue;
		}
		cfg->cors_origins = xrealloc(cfg->cors_origins, (cfg->n_cors_origins + 1) *
									sizeof(*cfg->cors_origins));
		cfg->cors_origins[cfg->n_cors_origins++] = origin;
	}
}

/* "10.0.0.0/8", "::1", "127.0.0.1" into *net; 0, or -1 if it is none of those. */
static int parse_net(const char *text, struct config_net *net)
{
	char addr[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(text, '/');
	size_t len = slash ? (size_t)(slash - text) : strlen(text);
	long bits;

	if (len == 0 || len >= sizeof(addr))
		return -1;
	memcpy(addr, text, len);
	addr[len] = '\0';
	memset(net, 0, sizeof(*net));
	if (inet_pton(AF_INET, addr, net->addr) == 1)
		net->family = AF_INET;
	else if (inet_pton(AF_INET6, addr, net->addr) == 1)
		net->family = AF_INET6;
	else
		return -1;
	net->prefix_bits = net->family == AF_INET ? 32 : 128;
	if (slash && (parse_long(slash + 1, &bits) || bits < 0 || bits > net->prefix_bits))
		return -1;
	if (slash)
		net->prefix_bits = (int)bits;
	/* An IPv4-mapped network is the IPv4 network: addresses are compared that way too. */
	static const unsigned char V4_MAPPED[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	if (net->family == AF_INET6 && net->prefix_bits >= 96 &&
	    !memcmp(net->addr, V4_MAPPED, sizeof(V4_MAPPED))) {
		net->family = AF_INET;
		memmove(net->addr, net->addr + 12, 4);
		memset(net->addr + 4, 0, 12);
		net->prefix_bits -= 96;
	}
	return 0;
}

/*
 * A comma-separated list of addresses and networks (spaces around commas
 * ignored) into *nets; each bad entry is one line of errors naming the setting.
 */
static void parse_net_list(const char *name, const char *value, struct config_net **nets, size_t *n,
			   struct strbuf *errors)
{
	for (const char *p = value; p && *p;) {
		struct config_net net;
		size_t len;
		while (*p == ',' || isspace((unsigned char)*p))
			p++;
		len = strcspn(p, ",");
		while (len && isspace((unsigned char)p[len - 1]))
			len--;
		if (len == 0)
			continue;
		char *item = xstrndup(p, len);
		p += len;
		if (parse_net(item, &net)) {
			strbuf_addf(errors,
				    "%s: \"%s\" is not an IP address or network "
				    "(a.b.c.d[/bits] or an IPv6 address[/bits])\n",
				    name, item);
		} else {
			*nets = xrealloc(*nets, (*n + 1) * sizeof(**nets));
			(*nets)[(*n)++] = net;
		}
		free(item);
	}
}

/* METRICS and METRICS_ALLOW: who may read GET /metrics, when it is on at all. */
static void parse_metrics(struct config *cfg, struct strbuf *errors)
{
	const char *on = env("METRICS");
	const char *allow = env("METRICS_ALLOW");

	if (on && strcmp(on, "on") && strcmp(on, "off"))
		strbuf_addf(errors, "METRICS: expected on or off, got \"%s\"\n", on);
	cfg->metrics = on && !strcmp(on, "on");
	parse_net_list("METRICS_ALLOW", allow ? allow : "127.0.0.1,::1", &cfg->metrics_allow,
		       &cfg->n_metrics_allow, errors);
}

int config_parse_rate(const char *text, struct config_rate *rate)
{
	const char *slash = strchr(text, '/');
	long limit;
	char number[24];

	if (!strcmp(text, "off")) {
		rate->limit = 0;
		rate->period = 1;
		return 0;
	}
	if (!slash || slash == text || (size_t)(slash - text) >= sizeof(number))
		return -1;
	memcpy(number, text, (size_t)(slash - text));
	number[slash - text] = '\0';
	if (strspn(number, "0123456789") != strlen(number) || parse_long(number, &limit) ||
	    limit < 1 || limit > 1000000000)
		return -1;
	/*
	 * DRF looks at the first letter only, so "5/month" would be five a minute
	 * there; here only the words of its documentation and their short forms.
	 */
	static const struct {
		const char *unit;
		long seconds;
	} UNITS[] = {{"s", 1},       {"sec", 1},  {"second", 1},  {"m", 60},    {"min", 60},
		     {"minute", 60}, {"h", 3600}, {"hour", 3600}, {"d", 86400}, {"day", 86400}};
	rate->period = 0;
	for (size_t i = 0; i < sizeof(UNITS) / sizeof(UNITS[0]); i++)
		if (!strcmp(slash + 1, UNITS[i].unit))
			rate->period = UNITS[i].seconds;
	if (!rate->period)
		return -1;
	rate->limit = limit;
	return 0;
}

static void env_rate(const char *name, struct config_rate *out, struct strbuf *errors)
{
	const char *value = env(name);
	out->limit = 0;
	out->period = 1;
	if (value && config_parse_rate(value, out)) {
		strbuf_addf(
			errors,
			"%s: expected off or a rate such as 100/second, 100/minute, 100/hour or "
			"100/day, got \"%s\"\n",
			name, value);
		out->limit = 0;
		out->period = 1;
	}
}

/*
 * RATE_LIMIT_*, TRUSTED_PROXIES and USE_X_FORWARDED_HOST: who a client is,
 * where it sent the request, and how often it may ask.
 */
static void parse_rate_limits(struct config *cfg, struct strbuf *errors)
{
	const char *forwarded_host = env("USE_X_FORWARDED_HOST");

	parse_net_list("TRUSTED_PROXIES", env("TRUSTED_PROXIES"), &cfg->trusted_proxies,
		       &cfg->n_trusted_proxies, errors);
	if (forwarded_host && strcmp(forwarded_host, "on") && strcmp(forwarded_host, "off"))
		strbuf_addf(errors, "USE_X_FORWARDED_HOST: expected on or off, got \"%s\"\n",
			    forwarded_host);
	cfg->use_x_forwarded_host = forwarded_host && !strcmp(forwarded_host, "on");
	env_rate("RATE_LIMIT_ANON", &cfg->rate_anon, errors);
	env_rate("RATE_LIMIT_USER", &cfg->rate_user, errors);
	env_int("RATE_LIMIT_SYNC_MS", 1000, 10, 60000, &cfg->rate_limit_sync_ms, errors);
	env_int("RATE_LIMIT_MAX_KEYS", 100000, 1, 100000000, &cfg->rate_limit_max_keys, errors);
}

/* 1 if the first bits of a and b are equal. */
static int prefix_equal(const unsigned char *a, const unsigned char *b, int bits)
{
	int whole = bits / 8, rest = bits % 8;
	if (memcmp(a, b, (size_t)whole))
		return 0;
	if (!rest)
		return 1;
	unsigned char mask = (unsigned char)(0xff << (8 - rest));
	return (a[whole] & mask) == (b[whole] & mask);
}

/* 1 if the address is inside one of nets; an IPv4-mapped IPv6 address counts as IPv4. */
static int nets_contain(const struct config_net *nets, size_t n, int family,
			const unsigned char *addr)
{
	static const unsigned char V4_MAPPED[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	unsigned char bytes[16];

	if (family == AF_INET) {
		memcpy(bytes, addr, 4);
	} else if (family == AF_INET6) {
		memcpy(bytes, addr, 16);
		if (!memcmp(bytes, V4_MAPPED, sizeof(V4_MAPPED))) {
			family = AF_INET;
			memmove(bytes, bytes + 12, 4);
		}
	} else {
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		if (nets[i].family == family &&
		    prefix_equal(bytes, nets[i].addr, nets[i].prefix_bits))
			return 1;
	return 0;
}

int config_metrics_allowed(const struct config *cfg, const struct sockaddr *addr)
{
	if (!addr)
		return 0;
	if (addr->sa_family == AF_INET)
		return nets_contain(
			cfg->metrics_allow, cfg->n_metrics_allow, AF_INET,
			(const unsigned char *)&((const struct sockaddr_in *)(const void *)addr)
				->sin_addr);
	if (addr->sa_family == AF_INET6)
		return nets_contain(
			cfg->metrics_allow, cfg->n_metrics_allow, AF_INET6,
			(const unsigned char *)&((const struct sockaddr_in6 *)(const void *)addr)
				->sin6_addr);
	return 0;
}

int config_proxy_trusted(const struct config *cfg, int family, const unsigned char *bytes)
{
	return nets_contain(cfg->trusted_proxies, cfg->n_trusted_proxies, family, bytes);
}

static long online_cores(void)
{
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	return cores > 0 ? cores : 2;
}

int config_load(struct config *cfg, struct strbuf *errors)
{
	size_t errors_before = errors->len;
	long v;

	memset(cfg, 0, sizeof(*cfg));
	cfg->database_url = env_dup("DATABASE_URL", NULL);
	/*
	 * Behind a transaction pooler, what needs a session of its own (the
	 * migrations' advisory lock, the cache listener's LISTEN, the one-off
	 * commands) connects here instead.
	 */
	cfg->database_direct_url = env_dup("DATABASE_DIRECT_URL", cfg->database_url);
	cfg->database_replica_url = env_dup("DATABASE_REPLICA_URL", NULL);
	env_duration("REPLICA_READ_YOUR_WRITES", 30, &cfg->replica_read_your_writes, errors);
	const char *prepared = env("DB_PREPARED_STATEMENTS");
	cfg->db_prepared_statements = 1;
	if (prepared && !strcmp(prepared, "off"))
		cfg->db_prepared_statements = 0;
	else if (prepared && strcmp(prepared, "on"))
		strbuf_addf(errors, "DB_PREPARED_STATEMENTS: expected on or off, got \"%s\"\n",
			    prepared);
	env_int("PORT", 8000, 0, 65535, &v, errors);
	cfg->port = (int)v;
	/*
	 * Twice the cores: handlers wait on PostgreSQL and on the hasher, and on
	 * 2 cores 4 threads served more than 2 (docs/performance.md, "Threads").
	 */
	env_int("HTTP_THREADS", 2 * online_cores(), 1, 1024, &v, errors);
	cfg->http_threads = (int)v;
	env_int("DB_POOL_SIZE", cfg->http_threads + 1, 1, 1024, &v, errors);
	cfg->db_pool_size = (int)v;
	env_int("MAX_BODY_BYTES", 1024 * 1024, 1024, 1024L * 1024 * 1024, &cfg->max_body_bytes,
		errors);
	env_int("SHUTDOWN_TIMEOUT", 30, 0, 3600, &v, errors);
	cfg->shutdown_timeout = (int)v;
	/*
	 * One bound for every wait on PostgreSQL: a free pooled connection, a new
	 * connection, one statement. A request that cannot get an answer in time
	 * gets 503 instead of holding its thread.
	 */
	env_duration("DB_TIMEOUT", 5, &v, errors);
	if (v > 3600) {
		strbuf_addf(errors, "DB_TIMEOUT: at most 1h, got \"%s\"\n", env("DB_TIMEOUT"));
		v = 5;
	}
	cfg->db_timeout_ms = v * 1000;
	/* Below the descriptor limit, so a flood of connections is refused, not fatal. */
	env_int("HTTP_MAX_CONNECTIONS", 1000, 1, 1000000, &v, errors);
	cfg->http_max_connections = (int)v;
	env_int("HTTP_IDLE_TIMEOUT", 60, 1, 3600, &v, errors);
	cfg->http_idle_timeout = (int)v;
	parse_origins(cfg, errors);

	cfg->jwt_secret = env_dup("JWT_SECRET", NULL);
	cfg->jwt_algorithm = env_dup("JWT_ALGORITHM", "HS256");
	if (strcmp(cfg->jwt_algorithm, "HS256") && strcmp(cfg->jwt_algorithm, "RS256") &&
	    strcmp(cfg->jwt_algorithm, "ES256"))
		strbuf_addf(errors, "JWT_ALGORITHM: expected HS256, RS256 or ES256, got \"%s\"\n",
			    cfg->jwt_algorithm);
	cfg->jwt_private_key_file = env_dup("JWT_PRIVATE_KEY_FILE", NULL);
	cfg->jwt_public_key_file = env_dup("JWT_PUBLIC_KEY_FILE", NULL);
	env_duration("ACCESS_TOKEN_LIFETIME", 300, &cfg->access_token_lifetime, errors);
	env_duration("REFRESH_TOKEN_LIFETIME", 86400, &cfg->refresh_token_lifetime, errors);
	env_duration("PASSWORD_RESET_TIMEOUT", 3600, &cfg->password_reset_timeout, errors);

	cfg->email_backend = env_dup("EMAIL_BACKEND", "console");
	if (strcmp(cfg->email_backend, "console") && strcmp(cfg->email_backend, "smtp"))
		strbuf_addf(errors, "EMAIL_BACKEND: expected console or smtp, got \"%s\"\n",
			    cfg->email_backend);
	cfg->smtp_url = env_dup("SMTP_URL", NULL);
	cfg->media_root = env_dup("MEDIA_ROOT", "var/media");
	cfg->migrations_dir = env_dup("MIGRATIONS_DIR", DEVSEARCH_SQL_DIR);
	cfg->openapi_file = env_dup("OPENAPI_FILE", DEVSEARCH_SOURCE_DIR "/openapi.yaml");
	cfg->docs_assets_dir = env_dup("DOCS_ASSETS_DIR", DEVSEARCH_DOCS_ASSETS_DIR);
	cfg->default_from_email =
		env_dup("DEFAULT_FROM_EMAIL", "DevSearch <noreply@devsearch.local>");
	/* OWASP's minimum for argon2id; Django's own default is heavier (t=2, 100 MiB, p=8). */
	env_int("ARGON2_MEMORY_COST", 19456, 19456, 4L * 1024 * 1024, &cfg->argon2_memory_kib,
		errors);
	env_int("ARGON2_TIME_COST", 2, 2, 100, &cfg->argon2_time_cost, errors);
	env_int("ARGON2_PARALLELISM", 1, 1, 64, &cfg->argon2_parallelism, errors);
	env_int("PASSWORD_HASH_SLOTS", online_cores(), 1, 1024, &cfg->password_hash_slots, errors);
	env_int("LOGIN_THROTTLE_USERNAME", 5, 1, 1000000, &cfg->throttle_username, errors);
	env_int("LOGIN_THROTTLE_IP", 20, 1, 1000000, &cfg->throttle_ip, errors);
	env_duration("LOGIN_THROTTLE_WINDOW", 900, &cfg->throttle_window, errors);
	env_interval("FLUSH_INTERVAL", 3600, &cfg->flush_interval, errors);
	env_int("RESPONSE_CACHE_BYTES", 32L * 1024 * 1024, 0, 64L * 1024 * 1024 * 1024,
		&cfg->response_cache_bytes, errors);
	env_int("COMPRESS_MIN_BYTES", 1024, 0, 1024L * 1024 * 1024, &cfg->compress_min_bytes,
		errors);
	parse_metrics(cfg, errors);
	parse_rate_limits(cfg, errors);
	const char *level = env("LOG_LEVEL");
	cfg->log_level = level ? log_level_parse(level) : LOG_INFO;
	if (cfg->log_level < 0) {
		strbuf_addf(errors, "LOG_LEVEL: expected debug, info, warn or error, got \"%s\"\n",
			    level);
		cfg->log_level = LOG_INFO;
	}
	const char *log_format = env("LOG_FORMAT");
	cfg->log_format = log_format ? log_format_parse(log_format) : LOG_TEXT;
	if (cfg->log_format < 0) {
		strbuf_addf(errors, "LOG_FORMAT: expected text or json, got \"%s\"\n", log_format);
		cfg->log_format = LOG_TEXT;
	}
	return errors->len == errors_before ? 0 : -1;
}

int config_check_serve(const struct config *cfg, struct strbuf *errors)
{
	size_t errors_before = errors->len;

	if (!strcmp(cfg->jwt_algorithm, "HS256")) {
		if (!cfg->jwt_secret)
			strbuf_addstr(errors,
				      "JWT_SECRET: required (at least 32 bytes) to sign tokens\n");
		else if (strlen(cfg->jwt_secret) < 32)
			strbuf_addf(errors, "JWT_SECRET: must be at least 32 bytes, got %zu\n",
				    strlen(cfg->jwt_secret));
	} else {
		if (!cfg->jwt_private_key_file)
			strbuf_addf(errors,
				    "JWT_PRIVATE_KEY_FILE: required with JWT_ALGORITHM=%s\n",
				    cfg->jwt_algorithm);
		if (!cfg->jwt_public_key_file)
			strbuf_addf(errors, "JWT_PUBLIC_KEY_FILE: required with JWT_ALGORITHM=%s\n",
				    cfg->jwt_algorithm);
	}
	if (!strcmp(cfg->email_backend, "smtp") && !cfg->smtp_url)
		strbuf_addstr(errors, "SMTP_URL: required with EMAIL_BACKEND=smtp\n");
	if (cfg->smtp_url && strncmp(cfg->smtp_url, "smtp://", 7) &&
	    strncmp(cfg->smtp_url, "smtps://", 8))
		/* The value is not repeated: it may hold a password. */
		strbuf_addstr(errors,
			      "SMTP_URL: expected smtp://[user:pass@]host[:port] or smtps://...\n");
	return errors->len == errors_before ? 0 : -1;
}

int config_cors_allowed(const struct config *cfg, const char *origin)
{
	for (size_t i = 0; i < cfg->n_cors_origins; i++)
		if (!strcasecmp(cfg->cors_origins[i], origin))
			return 1;
	return 0;
}

void config_release(struct config *cfg)
{
	free(cfg->database_url);
	free(cfg->database_direct_url);
	free(cfg->database_replica_url);
	for (size_t i = 0; i < cfg->n_cors_origins; i++)
		free(cfg->cors_origins[i]);
	free(cfg->cors_origins);
	free(cfg->jwt_secret);
	free(cfg->jwt_algorithm);
	free(cfg->jwt_private_key_file);
	free(cfg->jwt_public_key_file);
	free(cfg->email_backend);
	free(cfg->smtp_url);
	free(cfg->media_root);
	free(cfg->migrations_dir);
	free(cfg->openapi_file);
	free(cfg->docs_assets_dir);
	free(cfg->default_from_email);
	free(cfg->metrics_allow);
	free(cfg->trusted_proxies);
	memset(cfg, 0, sizeof(*cfg));
}
