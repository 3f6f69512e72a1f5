/*
 * The migration commands (migrate, showmigrations, makemigrations) and the
 * start-up check of `serve`. Migrations are sql/NNNN_name.up.sql and
 * NNNN_name.down.sql pairs; each applied one is recorded with the SHA-256 of
 * its up file, so an edited file is caught.
 */
#ifndef DEVSEARCH_MIGRATE_H
#define DEVSEARCH_MIGRATE_H

#include <stddef.h>

#include "core/config.h"
#include "models/db.h"

struct migration_file {
	int number;
	char *name; /* "0001_initial" */
	char *up_path;
	char *down_path;
};

struct migration_set {
	struct migration_file *files; /* sorted by number */
	size_t n;
};

/*
 * Read the directory: every NNNN_name.up.sql with its .down.sql. Returns 0, or
 * -1 with one line per problem (missing down file, duplicate number) appended
 * to errors. Release with migration_set_release() either way.
 */
int migration_set_load(const char *dir, struct migration_set *set, struct strbuf *errors);
void migration_set_release(struct migration_set *set);

/*
 * `migrate [--fake] [TARGET]`: TARGET is NNNN, NNNN_name or "zero"; none means
 * every pending migration. Returns the process exit status.
 */
int migrate_command(const struct config *cfg, const char *target, int fake);

/* `showmigrations`: "[X] 0001_initial" / "[ ] 0002_..." on stdout. Exit status. */
int showmigrations_command(const struct config *cfg);

/* `makemigrations NAME`: write the next numbered pair from a template. Exit status. */
int makemigrations_command(const struct config *cfg, const char *name);

/*
 * For `serve`: 0 if every migration file is applied and unchanged; -1 with a
 * message on stderr (what is pending or changed, and what to run) otherwise.
 */
int migrate_check_current(struct db_conn *conn, const char *dir);

#endif
