/*
 * The SQL side of migrations: the schema_migrations table, the advisory lock
 * that makes concurrent `migrate` runs apply each migration once, and
 * applying or reverting one migration in its own transaction.
 */
#ifndef DEVSEARCH_MODELS_MIGRATION_H
#define DEVSEARCH_MODELS_MIGRATION_H

#include <stddef.h>

#include "core/app.h"
#include "models/db.h"

/* One applied migration as recorded. */
struct applied_migration {
	char *name;
	char *checksum;
};

/* Take / give back the session-level migration lock (waits for other migrators). */
enum app_err migration_lock(struct db_conn *conn);
void migration_unlock(struct db_conn *conn);

/* Create schema_migrations if it is missing. Call with the lock held. */
enum app_err migration_ensure_table(struct db_conn *conn);

/*
 * The recorded migrations, in name order: *out is a new array of *n entries
 * (caller applied_migrations_free()s). No table yet means none applied.
 */
enum app_err migration_list_applied(struct db_conn *conn, struct applied_migration **out,
				    size_t *n);
void applied_migrations_free(struct applied_migration *list, size_t n);

/* Hex SHA-256 of len bytes of data, computed by PostgreSQL, into out[65]. */
enum app_err migration_checksum(struct db_conn *conn, const char *data, size_t len, char out[65]);

/*
 * In one transaction: run script (NULL for --fake) and record name with
 * checksum (apply), or run script and delete the record (revert).
 */
enum app_err migration_apply(struct db_conn *conn, const char *name, const char *checksum,
			     const char *script);
enum app_err migration_revert(struct db_conn *conn, const char *name, const char *script);

#endif
