/*
 * Migration files and plans; see migrate.h. SQL stays in models/migration.c;
 * this file reads the sql/ folder, compares it with what is recorded, and
 * decides what to run, in which order.
 */
#include "core/migrate.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "core/util.h"
#include "models/migration.h"

static const char UP_SUFFIX[] = ".up.sql";
static const char DOWN_SUFFIX[] = ".down.sql";

/* "0001_initial.up.sql" -> 1 and name "0001_initial"; 0 if the name does not fit. */
static int parse_up_name(const char *file, int *number, char **name)
{
	size_t len = strlen(file), suffix = sizeof(UP_SUFFIX) - 1;
	if (len <= 5 + suffix || strcmp(file + len - suffix, UP_SUFFIX))
		return 0;
	for (int i = 0; i < 4; i++)
		if (!isdigit((unsigned char)file[i]))
			return 0;
	if (file[4] != '_')
		return 0;
	for (size_t i = 5; i < len - suffix; i++)
		if (!islower((unsigned char)file[i]) && !isdigit((unsigned char)file[i]) &&
		    file[i] != '_')
			return 0;
	*number = atoi(file);
	*name = xstrndup(file, len - suffix);
	return 1;
}

static int compare_files(const void *a, const void *b)
{
	const struct migration_file *x = a, *y = b;
	return x->number - y->number;
}

static char *join_path(const char *dir, const char *name, const char *suffix)
{
	struct strbuf sb = STRBUF_INIT;
	strbuf_addf(&sb, "%s/%s%s", dir, name, suffix);
	return strbuf_detach(&sb);
}

int migration_set_load(const char *dir, struct migration_set *set, struct strbuf *errors)
{
	size_t errors_before = errors->len;
	DIR *d = opendir(dir);
	struct dirent *entry;

	memset(set, 0, sizeof(*set));
	if (!d) {
		strbuf_addf(errors, "cannot read migrations folder %s: %s\n", dir, strerror(errno));
		return -1;
	}
	while ((entry = readdir(d))) {
		struct migration_file file = {0};
		if (!parse_up_name(entry->d_name, &file.number, &file.name))
			continue;
		file.up_path = join_path(dir, file.name, UP_SUFFIX);
		file.down_path = join_path(dir, file.name, DOWN_SUFFIX);
		set->files = xrealloc(set->files, (set->n + 1) * sizeof(*set->files));
		set->files[set->n++] = file;
	}
	closedir(d);
	qsort(set->files, set->n, sizeof(*set->files), compare_files);
	for (size_t i = 0; i < set->n; i++) {
		if (access(set->files[i].down_path, R_OK))
			strbuf_addf(errors, "%s: missing its down file %s\n", set->files[i].up_path,
				    set->files[i].down_path);
		if (i && set->files[i].number == set->files[i - 1].number)
			strbuf_addf(errors, "%s and %s have the same number\n",
				    set->files[i - 1].up_path, set->files[i].up_path);
	}
	return errors->len == errors_before ? 0 : -1;
}

void migration_set_release(struct migration_set *set)
{
	for (size_t i = 0; i < set->n; i++) {
		free(set->files[i].name);
		free(set->files[i].up_path);
		free(set->files[i].down_path);
	}
	free(set->files);
	memset(set, 0, sizeof(*set));
}

/* The whole file as a NUL-terminated string (caller free()s), or NULL with errno. */
static char *read_file(const char *path, size_t *len)
{
	struct strbuf sb = STRBUF_INIT;
	char chunk[8192];
	size_t n;
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		strbuf_add(&sb, chunk, n);
	if (ferror(f)) {
		fclose(f);
		strbuf_release(&sb);
		return NULL;
	}
	fclose(f);
	*len = sb.len;
	return strbuf_detach(&sb);
}

static const struct applied_migration *find_applied(const struct applied_migration *applied,
						    size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(applied[i].name, name))
			return &applied[i];
	return NULL;
}

static const struct migration_file *find_file(const struct migration_set *set, const char *name)
{
	for (size_t i = 0; i < set->n; i++)
		if (!strcmp(set->files[i].name, name))
			return &set->files[i];
	return NULL;
}

/* The up file's checksum into out[65]; -1 with a message if it cannot be read. */
static int file_checksum(struct db_conn *conn, const struct migration_file *file, char out[65])
{
	size_t len = 0;
	char *text = read_file(file->up_path, &len);
	if (!text) {
		fprintf(stderr, "error: cannot read %s: %s\n", file->up_path, strerror(errno));
		return -1;
	}
	enum app_err err = migration_checksum(conn, text, len, out);
	free(text);
	return err == APP_OK ? 0 : -1;
}

/*
 * Every recorded migration must still have its file, unchanged. Prints one
 * line per problem; returns 0 if there is none.
 */
static int verify_applied(struct db_conn *conn, const struct migration_set *set,
			  const struct applied_migration *applied, size_t n_applied)
{
	int problems = 0;
	char checksum[65];

	for (size_t i = 0; i < n_applied; i++) {
		const struct migration_file *file = find_file(set, applied[i].name);
		if (!file) {
			fprintf(stderr,
				"error: migration %s is applied but has no file in the migrations "
				"folder\n",
				applied[i].name);
			problems++;
			continue;
		}
		if (file_checksum(conn, file, checksum)) {
			problems++;
			continue;
		}
		if (strcmp(checksum, applied[i].checksum)) {
			fprintf(stderr,
				"error: %s has changed since it was applied (checksum %.12s..., "
				"recorded %.12s...); "
				"restore it, and put schema changes in a new migration (devsearch "
				"makemigrations NAME)\n",
				file->up_path, checksum, applied[i].checksum);
			problems++;
		}
	}
	return problems ? -1 : 0;
}

/* Index of the target file, set->n for "zero", or -1 with a message. */
static long find_target(const struct migration_set *set, const char *target)
{
	if (!strcmp(target, "zero"))
		return (long)set->n;
	for (size_t i = 0; i < set->n; i++) {
		const char *name = set->files[i].name;
		if (!strcmp(name, target) || (strlen(target) == 4 && !strncmp(name, target, 4)))
			return (long)i;
	}
	fprintf(stderr, "error: no migration named \"%s\" in the migrations folder\n", target);
	return -1;
}

/* Run (or only record, when fake) one step; prints Django-style progress. */
static int run_step(struct db_conn *conn, const struct migration_file *file, int forwards, int fake)
{
	char checksum[65] = "";
	char *script = NULL;
	size_t len = 0;
	enum app_err err;
	int ret = -1;

	printf("  %s %s...", forwards ? "Applying" : "Unapplying", file->name);
	fflush(stdout);
	if (forwards && file_checksum(conn, file, checksum))
		goto out;
	if (!fake) {
		const char *path = forwards ? file->up_path : file->down_path;
		script = read_file(path, &len);
		if (!script) {
			fprintf(stderr, "\nerror: cannot read %s: %s\n", path, strerror(errno));
			goto out;
		}
		if (strlen(script) != len) {
			fprintf(stderr, "\nerror: %s contains a NUL byte\n", path);
			goto out;
		}
	}
	err = forwards ? migration_apply(conn, file->name, checksum, script)
		       : migration_revert(conn, file->name, script);
	if (err != APP_OK) {
		fprintf(stderr,
			"\nerror: %s %s failed; nothing of it was kept (see the log above)\n",
			forwards ? "applying" : "unapplying", file->name);
		goto out;
	}
	printf(fake ? " FAKED\n" : " OK\n");
	ret = 0;
out:
	free(script);
	return ret;
}

/*
 * Revert the applied migrations numbered above the target (newest first), then
 * apply the missing ones up to it. No target: apply everything pending;
 * "zero" (target == set->n): revert everything.
 */
static int run_plan(struct db_conn *conn, const struct migration_set *set,
		    const struct applied_migration *applied, size_t n_applied, long target,
		    int fake)
{
	int steps = 0;
	int limit = target < 0 ? INT_MAX : target == (long)set->n ? -1 : set->files[target].number;

	for (size_t i = set->n; i-- > 0;) {
		const struct migration_file *file = &set->files[i];
		if (file->number > limit && find_applied(applied, n_applied, file->name)) {
			if (run_step(conn, file, 0, fake))
				return -1;
			steps++;
		}
	}
	for (size_t i = 0; i < set->n; i++) {
		const struct migration_file *file = &set->files[i];
		if (file->number <= limit && !find_applied(applied, n_applied, file->name)) {
			if (run_step(conn, file, 1, fake))
				return -1;
			steps++;
		}
	}
	if (!steps)
		printf("  No migrations to apply.\n");
	return 0;
}

int migrate_command(const struct config *cfg, const char *target, int fake)
{
	struct migration_set set = {0};
	struct strbuf errors = STRBUF_INIT;
	struct applied_migration *applied = NULL;
	size_t n_applied = 0;
	struct db_conn *conn = NULL;
	int locked = 0, ret = 1;
	long target_index = -1;

	if (migration_set_load(cfg->migrations_dir, &set, &errors)) {
		fprintf(stderr, "%s", strbuf_str(&errors));
		goto out;
	}
	if (target && (target_index = find_target(&set, target)) < 0)
		goto out;
	if (db_conn_open(cfg->database_direct_url, &conn) != APP_OK) {
		fprintf(stderr, "error: cannot connect to the database (check DATABASE_URL)\n");
		goto out;
	}
	/* Several instances may start at once: one migrates, the others wait and find nothing to do. */
	if (migration_lock(conn) != APP_OK)
		goto out;
	locked = 1;
	if (migration_ensure_table(conn) != APP_OK ||
	    migration_list_applied(conn, &applied, &n_applied) != APP_OK)
		goto out;
	if (verify_applied(conn, &set, applied, n_applied))
		goto out;
	printf("Operations to perform:\n  %s migrations in %s%s\nRunning migrations:\n",
	       fake ? "Record" : "Apply", cfg->migrations_dir,
	       fake ? " (fake: no SQL is run)" : "");
	if (run_plan(conn, &set, applied, n_applied, target_index, fake))
		goto out;
	ret = 0;
out:
	if (locked)
		migration_unlock(conn);
	db_conn_free(conn);
	applied_migrations_free(applied, n_applied);
	migration_set_release(&set);
	strbuf_release(&errors);
	return ret;
}

int showmigrations_command(const struct config *cfg)
{
	struct migration_set set = {0};
	struct strbuf errors = STRBUF_INIT;
	struct applied_migration *applied = NULL;
	size_t n_applied = 0;
	struct db_conn *conn = NULL;
	int ret = 1;

	if (migration_set_load(cfg->migrations_dir, &set, &errors)) {
		fprintf(stderr, "%s", strbuf_str(&errors));
		goto out;
	}
	if (db_conn_open(cfg->database_direct_url, &conn) != APP_OK) {
		fprintf(stderr, "error: cannot connect to the database (check DATABASE_URL)\n");
		goto out;
	}
	if (migration_list_applied(conn, &applied, &n_applied) != APP_OK)
		goto out;
	for (size_t i = 0; i < set.n; i++)
		printf("[%c] %s\n", find_applied(applied, n_applied, set.files[i].name) ? 'X' : ' ',
		       set.files[i].name);
	for (size_t i = 0; i < n_applied; i++)
		if (!find_file(&set, applied[i].name))
			printf("[X] %s (applied, but its file is missing)\n", applied[i].name);
	ret = 0;
out:
	db_conn_free(conn);
	applied_migrations_free(applied, n_applied);
	migration_set_release(&set);
	strbuf_release(&errors);
	return ret;
}

/* Create path with text; refuses to overwrite. 0 or -1 with a message. */
static int write_new_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
	size_t len = strlen(text);
	if (fd < 0) {
		fprintf(stderr, "error: cannot create %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (write(fd, text, len) != (ssize_t)len || close(fd)) {
		fprintf(stderr, "error: cannot write %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

int makemigrations_command(const struct config *cfg, const char *name)
{
	struct migration_set set = {0};
	struct strbuf errors = STRBUF_INIT, base = STRBUF_INIT, up = STRBUF_INIT,
		      down = STRBUF_INIT;
	char *up_path = NULL, *down_path = NULL;
	int ret = 1;

	for (const char *p = name; *p; p++) {
		if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) && *p != '_') {
			fprintf(stderr,
				"error: a migration name is lowercase letters, digits and _, got "
				"\"%s\"\n",
				name);
			goto out;
		}
	}
	if (!*name || strlen(name) > 64) {
		fprintf(stderr, "error: a migration name has 1 to 64 characters\n");
		goto out;
	}
	if (migration_set_load(cfg->migrations_dir, &set, &errors)) {
		fprintf(stderr, "%s", strbuf_str(&errors));
		goto out;
	}
	int number = set.n ? set.files[set.n - 1].number + 1 : 1;
	if (number > 9999) {
		fprintf(stderr, "error: no migration numbers left\n");
		goto out;
	}
	strbuf_addf(&base, "%04d_%s", number, name);
	up_path = join_path(cfg->migrations_dir, strbuf_str(&base), UP_SUFFIX);
	down_path = join_path(cfg->migrations_dir, strbuf_str(&base), DOWN_SUFFIX);
	strbuf_addf(&up,
		    "-- %s: forwards.\n-- Runs in one transaction with its bookkeeping: no "
		    "BEGIN/COMMIT here.\n\n",
		    strbuf_str(&base));
	strbuf_addf(&down, "-- %s: backwards; undoes exactly what %s%s does.\n\n",
		    strbuf_str(&base), strbuf_str(&base), UP_SUFFIX);
	if (write_new_file(up_path, strbuf_str(&up)))
		goto out;
	if (write_new_file(down_path, strbuf_str(&down))) {
		unlink(up_path);
		goto out;
	}
	printf("%s\n%s\n", up_path, down_path);
	ret = 0;
out:
	free(up_path);
	free(down_path);
	strbuf_release(&errors);
	strbuf_release(&base);
	strbuf_release(&up);
	strbuf_release(&down);
	migration_set_release(&set);
	return ret;
}

int migrate_check_current(struct db_conn *conn, const char *dir)
{
	struct migration_set set = {0};
	struct strbuf errors = STRBUF_INIT, pending = STRBUF_INIT;
	struct applied_migration *applied = NULL;
	size_t n_applied = 0, n_pending = 0;
	int ret = -1;

	if (migration_set_load(dir, &set, &errors)) {
		fprintf(stderr, "%s", strbuf_str(&errors));
		goto out;
	}
	if (migration_list_applied(conn, &applied, &n_applied) != APP_OK)
		goto out;
	if (verify_applied(conn, &set, applied, n_applied))
		goto out;
	for (size_t i = 0; i < set.n; i++) {
		if (!find_applied(applied, n_applied, set.files[i].name)) {
			strbuf_addf(&pending, "%s%s", n_pending ? ", " : "", set.files[i].name);
			n_pending++;
		}
	}
	if (n_pending) {
		fprintf(stderr,
			"error: %zu migration%s pending (%s); run `devsearch migrate` first\n",
			n_pending, n_pending == 1 ? "" : "s", strbuf_str(&pending));
		goto out;
	}
	ret = 0;
out:
	applied_migrations_free(applied, n_applied);
	migration_set_release(&set);
	strbuf_release(&errors);
	strbuf_release(&pending);
	return ret;
}
