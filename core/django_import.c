/*
 * `devsearch import-django`: arguments, the two connections and their
 * transactions, the decision to commit, and the report. The SQL is
 * models/django_import.c's.
 */
#include "core/django_import.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/migrate.h"
#include "core/util.h"
#include "models/db.h"
#include "models/django_import.h"

#define IMPORT_USAGE                                                                               \
	"usage: devsearch import-django --from DJANGO_DATABASE_URL [--dry-run] [--skip-refused]\n"

struct import_args {
	const char *from;
	int dry_run;
	int skip_refused;
};

/* 0, or -1 with a message on bad arguments. */
static int parse_args(int argc, char **argv, struct import_args *args)
{
	memset(args, 0, sizeof(*args));
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--from") && i + 1 < argc && !args->from)
			args->from = argv[++i];
		else if (!strcmp(argv[i], "--dry-run"))
			args->dry_run = 1;
		else if (!strcmp(argv[i], "--skip-refused"))
			args->skip_refused = 1;
		else
			goto bad;
	}
	if (args->from && *args->from)
		return 0;
bad:
	fprintf(stderr, "error: --from DJANGO_DATABASE_URL is required, once\n" IMPORT_USAGE);
	return -1;
}

/*
 * A consistent snapshot of the source, read only, and both sessions in UTC and
 * ISO dates so COPY's text passes from one to the other unchanged.
 */
static const char SOURCE_BEGIN[] = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; "
				   "SET LOCAL TimeZone = 'UTC'; SET LOCAL DateStyle = 'ISO'";
static const char TARGET_SESSION[] = "SET LOCAL TimeZone = 'UTC'; SET LOCAL DateStyle = 'ISO'";

/* Open and check both databases; 0, or -1 with the problem printed. */
static int open_databases(const struct config *cfg, const char *from, struct db_conn **source,
			  struct db_conn **target)
{
	char *missing = NULL;
	int ret = -1;

	if (db_conn_open(cfg->database_direct_url, target) != APP_OK) {
		fprintf(stderr, "error: cannot connect to this server's database (check "
				"DATABASE_URL)\n");
		return -1;
	}
	if (migrate_check_current(*target, cfg->migrations_dir))
		return -1;
	if (db_conn_open(from, source) != APP_OK) {
		fprintf(stderr, "error: cannot connect to the Django database given by --from\n");
		return -1;
	}
	if (db_exec_script(*source, SOURCE_BEGIN) != APP_OK ||
	    django_import_missing_tables(*source, &missing) != APP_OK) {
		fprintf(stderr, "error: cannot read the Django database: %s\n",
			db_last_error(*source));
		goto out;
	}
	if (missing) {
		fprintf(stderr,
			"error: the --from database is not the Django version's (tables missing: "
			"%s); run its `manage.py migrate` first\n",
			missing);
		goto out;
	}
	ret = 0;
out:
	free(missing);
	return ret;
}

static void print_report(const struct import_report *report, int dry_run)
{
	printf("%-16s %10s %10s %10s %10s\n", "", "in Django", dry_run ? "to copy" : "copied",
	       "here", "refused");
	for (size_t i = 0; i < IMPORT_TABLES; i++) {
		const struct import_table_count *t = &report->tables[i];
		printf("%-16s %10ld %10ld %10ld %10ld\n", t->name, t->found, t->copied,
		       t->found - t->copied - t->refused, t->refused);
	}
	if (report->bare_users)
		printf("%ld users had no profile: each got one named after the user, as "
		       "Django's own signal would have made it.\n",
		       report->bare_users);
	if (report->recounted_projects)
		printf("%ld projects had stored vote counts that disagree with their reviews: "
		       "they are counted from the reviews here.\n",
		       report->recounted_projects);
	if (report->foreign_favorites)
		printf("%ld favorite notes were not carried: each belongs to another profile "
		       "or was refused.\n",
		       report->foreign_favorites);
	if (report->dead_tokens)
		printf("%ld refresh tokens were expired or their user deleted: not needed.\n",
		       report->dead_tokens);
	for (size_t i = 0; i < report->n_refusals; i++)
		printf("refused: %s %s: %s\n", report->refusals[i].table, report->refusals[i].key,
		       report->refusals[i].reason);
}

static long total_copied(const struct import_report *report)
{
	long n = 0;
	for (size_t i = 0; i < IMPORT_TABLES; i++)
		n += report->tables[i].copied;
	return n;
}

/* Commit, or roll back when asked to or when rows were refused; the exit status. */
static int finish(struct db_conn *target, const struct import_report *report,
		  const struct import_args *args, double started)
{
	double seconds = (now_ms() - started) / 1000.0;
	long copied = total_copied(report);

	if (report->n_refusals && !args->skip_refused) {
		db_rollback(target);
		printf("Nothing was written: %zu rows refused (see above). Fix them in the Django "
		       "database, or run again with --skip-refused to copy the rest.\n",
		       report->n_refusals);
		return 1;
	}
	if (args->dry_run) {
		db_rollback(target);
		printf("Dry run in %.1f s: %ld rows would be copied; nothing was written.\n",
		       seconds, copied);
		return 0;
	}
	if (db_commit(target) != APP_OK) {
		fprintf(stderr, "error: the commit failed, nothing was written: %s\n",
			db_last_error(target));
		return 1;
	}
	printf("Imported in %.1f s: %ld rows copied%s.\n", seconds, copied,
	       report->n_refusals ? ", refused rows skipped" : "");
	return 0;
}

int import_django_command(const struct config *cfg, int argc, char **argv)
{
	struct import_args args;
	struct import_report report = {0};
	struct db_conn *source = NULL, *target = NULL;
	double started = now_ms();
	enum app_err err;
	int ret = 1;

	if (parse_args(argc, argv, &args))
		return 2;
	if (open_databases(cfg, args.from, &source, &target))
		goto out;
	err = db_begin(target);
	if (err == APP_OK)
		err = db_exec_script(target, TARGET_SESSION);
	if (err == APP_OK)
		err = django_import(source, target, &report);
	if (err != APP_OK) {
		/* The failed statement is the last one of either connection. */
		fprintf(stderr, "error: the import failed, nothing was written: %s%s\n",
			db_last_error(target), db_last_error(source));
		goto out;
	}
	print_report(&report, args.dry_run);
	ret = finish(target, &report, &args, started);
out:
	if (target)
		db_rollback(target);
	if (source)
		db_rollback(source);
	db_conn_free(target);
	db_conn_free(source);
	import_report_release(&report);
	return ret;
}
