/* password_resets in SQL; see reset.h. */
#include "models/reset.h"

#include <stdio.h>

static const char SQL_RECORD[] =
	"INSERT INTO password_resets (user_id, token_hash, expires_at) "
	"VALUES ($1, $2, to_timestamp($3::bigint)) ON CONFLICT (token_hash) DO NOTHING";
static const char SQL_USE[] =
	"UPDATE password_resets SET used_at = now() WHERE user_id = $1 AND token_hash = $2 "
	"AND used_at IS NULL AND expires_at > now() RETURNING id";

enum app_err reset_record(struct db_conn *conn, const char *user_id, const char *digest,
			  long expires_at)
{
	char expires[24];
	snprintf(expires, sizeof(expires), "%ld", expires_at);
	const char *params[] = {user_id, digest, expires};
	return db_exec(conn, SQL_RECORD, 3, params, NULL);
}

enum app_err reset_use(struct db_conn *conn, const char *user_id, const char *digest)
{
	PGresult *res = NULL;
	const char *params[] = {user_id, digest};
	enum app_err err = db_exec(conn, SQL_USE, 2, params, &res);
	if (err == APP_OK && PQntuples(res) == 0)
		err = APP_ERR_NOT_FOUND;
	PQclear(res);
	return err;
}
