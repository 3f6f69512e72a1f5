/* Skills in SQL; see skill.h. Every statement is a static string with $n placeholders. */
#include "models/skill.h"

#include <string.h>

#define SKILL_COLUMNS                                                                              \
	"id, owner_id, name, description, "                                                        \
	"to_char(created AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS created"

static const char SQL_LOCK[] = "SELECT " SKILL_COLUMNS " FROM skills WHERE id = $1 FOR UPDATE";
/* lower(name) as in the unique index, which serves the lookup. */
static const char SQL_NAME_TAKEN[] =
	"SELECT EXISTS (SELECT 1 FROM skills WHERE owner_id = $1 AND lower(name) = lower($2) "
	"AND ($3::uuid IS NULL OR id <> $3::uuid))";
static const char SQL_INSERT[] = "INSERT INTO skills (owner_id, name, description) "
				 "VALUES ($1, $2, coalesce($3, '')) RETURNING " SKILL_COLUMNS;
static const char SQL_UPDATE[] = "UPDATE skills SET name = coalesce($2, name), "
				 "description = coalesce($3, description) "
				 "WHERE id = $1 RETURNING " SKILL_COLUMNS;
static const char SQL_DELETE[] = "DELETE FROM skills WHERE id = $1";

/* Run sql expecting one row back; none is APP_ERR_NOT_FOUND. */
static enum app_err one_row(struct db_conn *conn, const char *sql, int n, const char *const *params,
			    PGresult **res)
{
	enum app_err err = db_exec(conn, sql, n, params, res);
	if (err == APP_OK && PQntuples(*res) == 0) {
		PQclear(*res);
		*res = NULL;
		err = APP_ERR_NOT_FOUND;
	}
	return err;
}

enum app_err skill_lock(struct db_conn *conn, const char *id, PGresult **res)
{
	const char *params[] = {id};
	return one_row(conn, SQL_LOCK, 1, params, res);
}

enum app_err skill_name_taken(struct db_conn *conn, const char *owner_id, const char *name,
			      const char *except_id, int *taken)
{
	PGresult *res = NULL;
	const char *params[] = {owner_id, name, except_id};
	enum app_err err = db_exec(conn, SQL_NAME_TAKEN, 3, params, &res);
	*taken = err == APP_OK && PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	return err;
}

enum app_err skill_insert(struct db_conn *conn, const char *owner_id, const char *name,
			  const char *description, PGresult **res)
{
	const char *params[] = {owner_id, name, description};
	return one_row(conn, SQL_INSERT, 3, params, res);
}

enum app_err skill_update(struct db_conn *conn, const char *id, const char *name,
			  const char *description, PGresult **res)
{
	const char *params[] = {id, name, description};
	return one_row(conn, SQL_UPDATE, 3, params, res);
}

enum app_err skill_delete(struct db_conn *conn, const char *id)
{
	PGresult *res = NULL;
	const char *params[] = {id};
	enum app_err err = db_exec(conn, SQL_DELETE, 1, params, &res);
	if (err == APP_OK && strcmp(PQcmdTuples(res), "1"))
		err = APP_ERR_NOT_FOUND;
	PQclear(res);
	return err;
}
