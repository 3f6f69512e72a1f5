/*
 * schema_migrations and the migration lock; see migration.h. File handling
 * and the plan (what to apply or revert) live in core/migrate.c.
 */
#include "models/migration.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/util.h"

/* An arbitrary constant that names "devsearch migrations" among advisory locks. */
static const char SQL_LOCK[] = "SELECT pg_advisory_lock(7240113021)";
static const char SQL_UNLOCK[] = "SELECT pg_advisory_unlock(7240113021)";
static const char SQL_CREATE_TABLE[] = "CREATE TABLE IF NOT EXISTS schema_migrations ("
				       " name text PRIMARY KEY,"
				       " checksum text NOT NULL,"
				       " applied_at timestamptz NOT NULL DEFAULT now())";
static const char SQL_TABLE_EXISTS[] = "SELECT to_regclass('schema_migrations') IS NOT NULL";
static const char SQL_LIST[] = "SELECT name, checksum FROM schema_migrations ORDER BY name";
static const char SQL_CHECKSUM[] = "SELECT encode(sha256($1::bytea), 'hex')";
static const char SQL_RECORD[] = "INSERT INTO schema_migrations (name, checksum) VALUES ($1, $2)";
static const char SQL_UNRECORD[] = "DELETE FROM schema_migrations WHERE name = $1";

enum app_err migration_lock(struct db_conn *conn)
{
	return db_exec(conn, SQL_LOCK, 0, NULL, NULL);
}

void migration_unlock(struct db_conn *conn)
{
	db_exec(conn, SQL_UNLOCK, 0, NULL, NULL);
}

enum app_err migration_ensure_table(struct db_conn *conn)
{
	return db_exec(conn, SQL_CREATE_TABLE, 0, NULL, NULL);
}

enum app_err migration_list_applied(struct db_conn *conn, struct applied_migration **out, size_t *n)
{
	PGresult *res = NULL;
	enum app_err err;

	*out = NULL;
	*n = 0;
	err = db_exec(conn, SQL_TABLE_EXISTS, 0, NULL, &res);
	if (err != APP_OK)
		goto out;
	if (strcmp(PQgetvalue(res, 0, 0), "t"))
		goto out;
	PQclear(res);
	err = db_exec(conn, SQL_LIST, 0, NULL, &res);
	if (err != APP_OK)
		goto out;
	*n = (size_t)PQntuples(res);
	*out = xcalloc(*n, sizeof(**out));
	for (size_t i = 0; i < *n; i++) {
		(*out)[i].name = xstrdup(PQgetvalue(res, (int)i, 0));
		(*out)[i].checksum = xstrdup(PQgetvalue(res, (int)i, 1));
	}
out:
	PQclear(res);
	return err;
}

void applied_migrations_free(struct applied_migration *list, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(list[i].name);
		free(list[i].checksum);
	}
	free(list);
}

enum app_err migration_checksum(struct db_conn *conn, const char *data, size_t len, char out[65])
{
	PGresult *res = NULL;
	const char *params[] = {data};
	const int lengths[] = {(int)len};
	const int formats[] = {1};
	enum app_err err = db_exec_binary(conn, SQL_CHECKSUM, 1, params, lengths, formats, &res);
	if (err == APP_OK)
		snprintf(out, 65, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	return err;
}

/* Run script (if any) and one bookkeeping statement in one transaction. */
static enum app_err run_in_transaction(struct db_conn *conn, const char *script,
				       const char *bookkeeping, int nparams,
				       const char *const *params)
{
	enum app_err err = db_begin(conn);
	if (err != APP_OK)
		return err;
	if (script)
		err = db_exec_script(conn, script);
	if (err == APP_OK)
		err = db_exec(conn, bookkeeping, nparams, params, NULL);
	if (err == APP_OK)
		err = db_commit(conn);
	if (err != APP_OK)
		db_rollback(conn);
	return err;
}

enum app_err migration_apply(struct db_conn *conn, const char *name, const char *checksum,
			     const char *script)
{
	const char *params[] = {name, checksum};
	return run_in_transaction(conn, script, SQL_RECORD, 2, params);
}

enum app_err migration_revert(struct db_conn *conn, const char *name, const char *script)
{
	const char *params[] = {name};
	return run_in_transaction(conn, script, SQL_UNRECORD, 1, params);
}
