/*
 * The devsearch command line (Django's manage.py): serve, the migration
 * commands, createsuperuser, seed and flushexpiredtokens. Parses arguments, loads settings, and
 * hands over to the module that does the work.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "api/metrics.h"
#include "api/routes.h"
#include "auth/password.h"
#include "auth/token.h"
#include "core/cache_listener.h"
#include "core/config.h"
#include "core/django_import.h"
#include "core/flush.h"
#include "core/log.h"
#include "core/mailer.h"
#include "core/migrate.h"
#include "core/ratelimit.h"
#include "core/metrics.h"
#include "core/response_cache.h"
#include "core/seed.h"
#include "core/server.h"
#include "core/superuser.h"
#include "models/db.h"

static const char USAGE[] =
	"usage: devsearch COMMAND [ARGS]\n"
	"\n"
	"Commands:\n"
	"  serve [--port N]          run the API server (default port 8000, or PORT)\n"
	"  migrate [--fake] [NNNN]   apply pending migrations, or go forwards or backwards to\n"
	"                            NNNN (\"zero\" unapplies all); --fake records without "
	"running\n"
	"  showmigrations            list migrations: [X] applied, [ ] pending\n"
	"  makemigrations NAME       write the next empty numbered up/down migration pair\n"
	"  createsuperuser --username U --email E\n"
	"                            a staff user; password from DEVSEARCH_PASSWORD or a prompt\n"
	"  seed [--profiles N]       demo data: N profiles (default 50) with skills, projects,\n"
	"                            tags, reviews, messages and notes\n"
	"  import-django --from URL [--dry-run] [--skip-refused]\n"
	"                            copy the Django version's data and live refresh tokens\n"
	"  flushexpiredtokens        delete expired refresh tokens, ended sessions, spent\n"
	"                            password resets, old sent emails and login failures\n"
	"\n"
	"Run `devsearch COMMAND --help` for one command. Settings come from the environment\n"
	"(every one is described in docs/configuration.md):\n"
	"DATABASE_URL, PORT, JWT_SECRET, JWT_ALGORITHM, JWT_PRIVATE_KEY_FILE, "
	"JWT_PUBLIC_KEY_FILE,\n"
	"ACCESS_TOKEN_LIFETIME, REFRESH_TOKEN_LIFETIME, CORS_ALLOWED_ORIGINS, EMAIL_BACKEND,\n"
	"SMTP_URL, PASSWORD_RESET_TIMEOUT, HTTP_THREADS, DB_POOL_SIZE, MAX_BODY_BYTES,\n"
	"SHUTDOWN_TIMEOUT, MEDIA_ROOT, MIGRATIONS_DIR, LOG_LEVEL, OPENAPI_FILE, DOCS_ASSETS_DIR,\n"
	"RESPONSE_CACHE_BYTES, FLUSH_INTERVAL, ...\n";

static const char SERVE_HELP[] =
	"usage: devsearch serve [--port N]\n"
	"\n"
	"Serve the API on port N (default: PORT, else 8000) with HTTP_THREADS threads and a\n"
	"pool of DB_POOL_SIZE database connections. Refuses to start while migrations are\n"
	"pending or an applied migration file has changed. SIGTERM or SIGINT stops it\n"
	"gracefully: no new connections, in-flight requests are answered (at most\n"
	"SHUTDOWN_TIMEOUT seconds), then exit 0. Anonymous reads of projects, profiles and\n"
	"tags are answered from a cache of RESPONSE_CACHE_BYTES (0: none), emptied by every\n"
	"write, on this server at once and on the others through PostgreSQL notifications.\n"
	"At start and every FLUSH_INTERVAL seconds (0: never) it runs flushexpiredtokens.\n";

static const char MIGRATE_HELP[] =
	"usage: devsearch migrate [--fake] [TARGET]\n"
	"\n"
	"Without TARGET, apply every pending migration of the migrations folder in number\n"
	"order, each in its own transaction. With TARGET (NNNN or NNNN_name), go forwards to\n"
	"it, or backwards by running the down files of later migrations newest first;\n"
	"\"zero\" unapplies every migration. --fake records (or unrecords) without running\n"
	"any SQL. Concurrent runs take turns under a PostgreSQL advisory lock, so each\n"
	"migration is applied once. An applied migration whose file changed stops it.\n";

static const char SHOW_HELP[] =
	"usage: devsearch showmigrations\n"
	"\n"
	"List every migration file, one a line: \"[X] 0001_initial\" when applied,\n"
	"\"[ ] 0002_name\" when pending.\n";

static const char MAKE_HELP[] =
	"usage: devsearch makemigrations NAME\n"
	"\n"
	"Write NNNN_NAME.up.sql and NNNN_NAME.down.sql in the migrations folder, NNNN being\n"
	"the next free number; NAME is lowercase letters, digits and underscores.\n";

static const char SUPERUSER_HELP[] =
	"usage: devsearch createsuperuser --username U --email E\n"
	"\n"
	"Create a staff user (is_staff and is_superuser) with a profile. The password comes\n"
	"from DEVSEARCH_PASSWORD, else from a prompt without echo (asked twice); username,\n"
	"email and password are checked as registration checks them.\n";

static const char SEED_HELP[] =
	"usage: devsearch seed [--profiles N]\n"
	"\n"
	"Add N demo profiles (default 50, at most 1000000) in one transaction: users\n"
	"demo<run>_1 to demo<run>_N (run: 6 random hex digits, so seeds can be repeated),\n"
	"every one with the password \"" SEED_PASSWORD "\", and their skills, projects with\n"
	"tags, reviews (votes), messages and notes, shaped as the Django version's\n"
	"`manage.py seed`: per profile 1-5 skills, 0-4 projects, 0-3 notes and 0-3 messages\n"
	"received; per project 1-4 tags and 0-8 reviews, two in three up. The data is drawn\n"
	"from word lists by a hash of each row's number, so the same N always gives the same\n"
	"data and counts. The users, profiles, skills, projects and reviews tables stay\n"
	"locked until it ends. Prints one line with the rows created.\n";

static const char IMPORT_HELP[] =
	"usage: devsearch import-django --from DJANGO_DATABASE_URL [--dry-run] [--skip-refused]\n"
	"\n"
	"Copy the Django version's users (with their password hashes), profiles, skills,\n"
	"friends, tags, projects with their tags, reviews, notes, messages and live refresh\n"
	"tokens (blacklisted ones stay blacklisted) from its PostgreSQL database into\n"
	"DATABASE_URL's, in one transaction, keeping every id and timestamp. Rows whose id\n"
	"is already here are left as they are, so running it again copies only what is new.\n"
	"A row this database refuses is listed with the reason, with the rows that depend on\n"
	"it, and then nothing is written, unless --skip-refused copies all the others.\n"
	"--dry-run does everything, prints the same report, and writes nothing. The Django\n"
	"database is only read, from one snapshot. See docs/from-django.md.\n";

static const char FLUSH_HELP[] =
	"usage: devsearch flushexpiredtokens\n"
	"\n"
	"Delete what is no longer needed (SimpleJWT's command, and more): refresh tokens\n"
	"expired more than 5 minutes ago (their blacklist rows with them), login sessions\n"
	"left with no token and unused for REFRESH_TOKEN_LIFETIME, password resets used or\n"
	"expired, emails sent more than 7 days ago (unsent ones stay, whatever their age),\n"
	"and login failures older than LOGIN_THROTTLE_WINDOW. In batches of 10,000 rows,\n"
	"each its own transaction, so no lock is held for long. Prints one line with the\n"
	"counts. Under a PostgreSQL advisory lock: while another flush (a server's, see\n"
	"FLUSH_INTERVAL, or a command's) holds it, says so and deletes nothing. Exit 0.\n";

static int wants_help(int argc, char **argv)
{
	for (int i = 0; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return 1;
	return 0;
}

static int usage_error(const char *help, const char *problem)
{
	fprintf(stderr, "error: %s\n\n%s", problem, help);
	return 2;
}

/* Wait for SIGTERM or SIGINT; the signals are blocked in every thread, so no handler runs. */
static int wait_for_stop_signal(const sigset_t *stop_signals)
{
	int sig = 0;
	sigwait(stop_signals, &sig);
	return sig;
}

static int serve(struct config *cfg, int argc, char **argv)
{
	struct strbuf errors = STRBUF_INIT;
	struct app app = {.cfg = cfg};
	struct db_conn *conn = NULL;
	struct server *server = NULL;
	struct router *router = NULL;
	struct token_keys *keys = NULL;
	struct mailer *mailer = NULL;
	struct flusher *flusher = NULL;
	struct cache_listener *listener = NULL;
	sigset_t stop_signals;
	int port = cfg->port, ret = 1;

	for (int i = 0; i < argc; i++) {
		char *end;
		if (!strcmp(argv[i], "--port") && i + 1 < argc) {
			long v = strtol(argv[++i], &end, 10);
			if (*end || v < 0 || v > 65535)
				return usage_error(SERVE_HELP,
						   "--port takes a number from 0 to 65535");
			port = (int)v;
		} else {
			return usage_error(SERVE_HELP, "unknown argument");
		}
	}
	if (config_check_serve(cfg, &errors) || token_keys_load(cfg, &keys, &errors)) {
		fprintf(stderr, "%s", strbuf_str(&errors));
		goto out;
	}
	app.keys = keys;
	app.hasher = password_hasher_new(
		(unsigned)cfg->argon2_memory_kib, (unsigned)cfg->argon2_time_cost,
		(unsigned)cfg->argon2_parallelism, (unsigned)cfg->password_hash_slots);
	/* Block the stop signals before any thread starts, so every thread inherits the mask. */
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGTERM);
	sigaddset(&stop_signals, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (db_pool_open(cfg->database_url, cfg->db_pool_size, (int)cfg->db_timeout_ms,
			 cfg->db_prepared_statements ? 0 : DB_NO_PREPARE, &app.pool) != APP_OK) {
		fprintf(stderr, "error: cannot connect to the database (check DATABASE_URL)\n");
		goto out;
	}
	if (cfg->database_replica_url &&
	    db_pool_open(cfg->database_replica_url, cfg->db_pool_size, (int)cfg->db_timeout_ms,
			 DB_REPLICA | (cfg->db_prepared_statements ? 0 : DB_NO_PREPARE),
			 &app.replica) != APP_OK)
		goto out;
	if (db_pool_acquire(app.pool, DB_POOL_WAIT, &conn) != APP_OK)
		goto out;
	int current = migrate_check_current(conn, cfg->migrations_dir);
	db_pool_release(app.pool, conn);
	if (current)
		goto out;

	router = routes_build();
	if (cfg->metrics) {
		metrics_routes(router);
		app.metrics = metrics_new(router_count(router));
	}
	app.router = router;
	app.cache = response_cache_new((size_t)cfg->response_cache_bytes);
	if (cache_listener_start(cfg->database_direct_url, app.cache, &listener) ||
	    rate_limiter_start(cfg, app.pool, &app.limiter) ||
	    mailer_start(cfg, app.pool, app.metrics, &mailer) || flusher_start(cfg, &flusher) ||
	    server_start(&app, port, &server))
		goto out;
	log_info("devsearch: serving on port %d with %d threads and %d database connections",
		 server_port(server), cfg->http_threads, cfg->db_pool_size);
	int sig = wait_for_stop_signal(&stop_signals);
	log_info("devsearch: %s received, finishing in-flight requests", strsignal(sig));
	server_stop(server, cfg->shutdown_timeout);
	log_info("devsearch: stopped");
	ret = 0;
out:
	flusher_stop(flusher);
	mailer_stop(mailer);
	rate_limiter_free(app.limiter);
	cache_listener_stop(listener);
	response_cache_free(app.cache);
	router_free(router);
	metrics_free(app.metrics);
	password_hasher_free(app.hasher);
	token_keys_free(keys);
	db_pool_free(app.replica);
	db_pool_free(app.pool);
	strbuf_release(&errors);
	return ret;
}

static int migrate(struct config *cfg, int argc, char **argv)
{
	const char *target = NULL;
	int fake = 0;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--fake"))
			fake = 1;
		else if (argv[i][0] == '-' || target)
			return usage_error(MIGRATE_HELP, "unexpected argument");
		else
			target = argv[i];
	}
	return migrate_command(cfg, target, fake);
}

int main(int argc, char **argv)
{
	struct config cfg;
	struct strbuf errors = STRBUF_INIT;
	const char *cmd = argc > 1 ? argv[1] : NULL;
	int ret = 2;

	if (!cmd || !strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
		fputs(USAGE, cmd ? stdout : stderr);
		return cmd ? 0 : 2;
	}
	const char *help = !strcmp(cmd, "serve")                ? SERVE_HELP
			   : !strcmp(cmd, "migrate")            ? MIGRATE_HELP
			   : !strcmp(cmd, "showmigrations")     ? SHOW_HELP
			   : !strcmp(cmd, "makemigrations")     ? MAKE_HELP
			   : !strcmp(cmd, "createsuperuser")    ? SUPERUSER_HELP
			   : !strcmp(cmd, "seed")               ? SEED_HELP
			   : !strcmp(cmd, "import-django")      ? IMPORT_HELP
			   : !strcmp(cmd, "flushexpiredtokens") ? FLUSH_HELP
								: NULL;
	if (!help) {
		fprintf(stderr, "error: unknown command \"%s\"\n\n%s", cmd, USAGE);
		return 2;
	}
	if (wants_help(argc - 2, argv + 2)) {
		fputs(help, stdout);
		return 0;
	}
	if (config_load(&cfg, &errors)) {
		fprintf(stderr, "%s", strbuf_str(&errors));
		ret = 1;
		goto out;
	}
	log_set_level((enum log_level)cfg.log_level);
	log_set_format((enum log_format)cfg.log_format);
	/* Before any thread: libcurl's global state (the mail worker uses it). */
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (!strcmp(cmd, "serve"))
		ret = serve(&cfg, argc - 2, argv + 2);
	else if (!strcmp(cmd, "migrate"))
		ret = migrate(&cfg, argc - 2, argv + 2);
	else if (!strcmp(cmd, "showmigrations"))
		ret = argc == 2 ? showmigrations_command(&cfg)
				: usage_error(SHOW_HELP, "showmigrations takes no arguments");
	else if (!strcmp(cmd, "createsuperuser"))
		ret = createsuperuser_command(&cfg, argc - 2, argv + 2);
	else if (!strcmp(cmd, "seed"))
		ret = seed_command(&cfg, argc - 2, argv + 2);
	else if (!strcmp(cmd, "import-django"))
		ret = import_django_command(&cfg, argc - 2, argv + 2);
	else if (!strcmp(cmd, "flushexpiredtokens"))
		ret = flushexpiredtokens_command(&cfg, argc - 2, argv + 2);
	else if (argc != 3)
		ret = usage_error(MAKE_HELP, "makemigrations takes one NAME");
	else
		ret = makemigrations_command(&cfg, argv[2]);
out:
	curl_global_cleanup();
	config_release(&cfg);
	strbuf_release(&errors);
	return ret;
}
