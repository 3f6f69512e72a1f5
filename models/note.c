/*
 * Notes in SQL; see note.h. Owns every statement on the notes table; no JSON,
 * no HTTP. Timestamps are clock readings (clock_timestamp(), as the schema's
 * defaults), so created and updated differ and a later write always moves
 * updated forward, even inside one transaction.
 */
#include "models/note.h"

#include <stdlib.h>

#define NOTE_COLUMNS                                                                               \
	"id, title, body, " DB_RFC3339("created") " AS created, " DB_RFC3339(                      \
		"updated") " AS updated"

static const char SQL_LIST[] = "SELECT " NOTE_COLUMNS ", count(*) OVER () AS total_count "
			       "FROM notes WHERE owner_id = $1 "
			       "ORDER BY created DESC, id LIMIT $2 OFFSET $3";
static const char SQL_CREATE[] = "INSERT INTO notes (owner_id, title, body) "
				 "VALUES ($1, $2, coalesce($3, '')) RETURNING " NOTE_COLUMNS;
static const char SQL_FIND[] = "SELECT " NOTE_COLUMNS " FROM notes WHERE id = $1 AND owner_id = $2";
static const char SQL_UPDATE[] =
	"UPDATE notes SET title = coalesce($3, title), body = coalesce($4, body), "
	"updated = clock_timestamp() WHERE id = $1 AND owner_id = $2 RETURNING " NOTE_COLUMNS;
static const char SQL_DELETE[] = "DELETE FROM notes WHERE id = $1 AND owner_id = $2 RETURNING id";

/* Run sql; APP_ERR_NOT_FOUND when it returns no row. *res (if res) takes the result. */
static enum app_err exec_one(struct db_conn *conn, const char *sql, int n,
			     const char *const *params, PGresult **res)
{
	PGresult *tmp = NULL;
	enum app_err err = db_exec(conn, sql, n, params, &tmp);
	if (res)
		*res = NULL;
	if (err == APP_OK && PQntuples(tmp) == 0)
		err = APP_ERR_NOT_FOUND;
	if (err == APP_OK && res) {
		*res = tmp;
		tmp = NULL;
	}
	PQclear(tmp);
	return err;
}

enum app_err note_list(struct db_conn *conn, const char *owner_id, const char *limit,
		       const char *offset, PGresult **res)
{
	const char *params[] = {owner_id, limit, offset};
	return db_exec(conn, SQL_LIST, 3, params, res);
}

enum app_err note_create(struct db_conn *conn, const char *owner_id, const char *title,
			 const char *body, PGresult **res)
{
	const char *params[] = {owner_id, title, body};
	return exec_one(conn, SQL_CREATE, 3, params, res);
}

enum app_err note_find(struct db_conn *conn, const char *owner_id, const char *id, PGresult **res)
{
	const char *params[] = {id, owner_id};
	return exec_one(conn, SQL_FIND, 2, params, res);
}

enum app_err note_update(struct db_conn *conn, const char *owner_id, const char *id,
			 const char *title, const char *body, PGresult **res)
{
	const char *params[] = {id, owner_id, title, body};
	return exec_one(conn, SQL_UPDATE, 4, params, res);
}

enum app_err note_delete(struct db_conn *conn, const char *owner_id, const char *id)
{
	const char *params[] = {id, owner_id};
	return exec_one(conn, SQL_DELETE, 2, params, NULL);
}
