/* Sessions and refresh tokens in SQL; see session.h. */
#include "models/session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

static const char SQL_SESSION_CREATE[] =
	"INSERT INTO login_sessions (user_id, user_agent, ip) VALUES ($1, $2, $3) RETURNING id";
static const char SQL_REFRESH_RECORD[] =
	"INSERT INTO refresh_tokens (jti, user_id, session_id, parent_jti, expires_at, access_jti) "
	"VALUES ($1, $2, $3, $4, to_timestamp($5::bigint), $6)";
static const char SQL_REFRESH_LOCK[] =
	"SELECT t.user_id, t.session_id, b.jti IS NOT NULL, t.rotated_at IS NOT NULL, "
	"s.revoked_at IS NOT NULL "
	"FROM refresh_tokens t JOIN login_sessions s ON s.id = t.session_id "
	"LEFT JOIN blacklisted_tokens b ON b.jti = t.jti WHERE t.jti = $1 FOR UPDATE OF t";
/*
 * One statement, so a token that is not taken leaves no session behind: the
 * session's id is drawn first and its row written only when the token's row
 * was (the foreign key is checked at the end of the statement). ON CONFLICT
 * waits for a concurrent first use of jti and then writes nothing. The user
 * test is auth_authenticate's: iat at or after ceil(tokens_valid_after).
 */
static const char SQL_REFRESH_ADOPT[] =
	"WITH u AS (SELECT id, gen_random_uuid() AS session_id FROM users WHERE id = $2 "
	"AND is_active AND $3::bigint >= "
	"coalesce(ceil(extract(epoch FROM tokens_valid_after)), 0)), "
	"t AS (INSERT INTO refresh_tokens (jti, user_id, session_id, expires_at) "
	"SELECT $1, id, session_id, to_timestamp($4::bigint) FROM u "
	"ON CONFLICT (jti) DO NOTHING RETURNING user_id, session_id) "
	"INSERT INTO login_sessions (id, user_id) SELECT session_id, user_id FROM t";
static const char SQL_BLACKLIST[] =
	"INSERT INTO blacklisted_tokens (jti) VALUES ($1) ON CONFLICT DO NOTHING";
static const char SQL_MARK_ROTATED[] =
	"UPDATE refresh_tokens SET rotated_at = now() WHERE jti = $1";
static const char SQL_IS_BLACKLISTED[] = "SELECT 1 FROM blacklisted_tokens WHERE jti = $1";
static const char SQL_SESSION_BLACKLIST[] =
	"INSERT INTO blacklisted_tokens (jti) SELECT jti FROM refresh_tokens WHERE session_id = $1 "
	"ON CONFLICT DO NOTHING";
static const char SQL_SESSION_END[] =
	"UPDATE login_sessions SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1";
static const char SQL_SESSION_TOUCH[] =
	"UPDATE login_sessions SET last_used = now(), user_agent = $2, ip = $3 WHERE id = $1";
static const char SQL_SESSIONS_LIST[] = "SELECT s.id, " DB_RFC3339("s.created") ", " DB_RFC3339(
	"s.last_used") ", s.user_agent, s.ip, "
		       "EXISTS (SELECT 1 FROM refresh_tokens t WHERE t.session_id = s.id AND "
		       "t.access_jti = $2) "
		       "FROM login_sessions s WHERE s.user_id = $1 AND s.revoked_at IS NULL "
		       "AND EXISTS (SELECT 1 FROM refresh_tokens t WHERE t.session_id = s.id AND "
		       "t.expires_at > now() AND NOT EXISTS (SELECT 1 FROM blacklisted_tokens b "
		       "WHERE b.jti = t.jti)) "
		       "ORDER BY s.last_used DESC, s.id";
static const char SQL_SESSION_OWNED[] =
	"SELECT 1 FROM login_sessions WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL";

enum app_err session_create(struct db_conn *conn, const char *user_id, const char *user_agent,
			    const char *ip, char session_id[37])
{
	PGresult *res = NULL;
	const char *params[] = {user_id, user_agent, ip};
	enum app_err err = db_exec(conn, SQL_SESSION_CREATE, 3, params, &res);
	if (err == APP_OK)
		snprintf(session_id, 37, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	return err;
}

enum app_err refresh_record(struct db_conn *conn, const char *jti, const char *user_id,
			    const char *session_id, const char *parent_jti, long expires_at,
			    const char *access_jti)
{
	char expires[24];
	snprintf(expires, sizeof(expires), "%ld", expires_at);
	const char *params[] = {jti, user_id, session_id, parent_jti, expires, access_jti};
	return db_exec(conn, SQL_REFRESH_RECORD, 6, params, NULL);
}

enum app_err refresh_lock(struct db_conn *conn, const char *jti, struct refresh_state *out)
{
	PGresult *res = NULL;
	const char *params[] = {jti};
	enum app_err err = db_exec(conn, SQL_REFRESH_LOCK, 1, params, &res);
	memset(out, 0, sizeof(*out));
	if (err == APP_OK && PQntuples(res) == 0)
		err = APP_ERR_NOT_FOUND;
	if (err == APP_OK) {
		snprintf(out->user_id, sizeof(out->user_id), "%s", PQgetvalue(res, 0, 0));
		snprintf(out->session_id, sizeof(out->session_id), "%s", PQgetvalue(res, 0, 1));
		out->blacklisted = PQgetvalue(res, 0, 2)[0] == 't';
		out->rotated = PQgetvalue(res, 0, 3)[0] == 't';
		out->session_revoked = PQgetvalue(res, 0, 4)[0] == 't';
	}
	PQclear(res);
	return err;
}

enum app_err refresh_adopt(struct db_conn *conn, const char *jti, const char *user_id, long iat,
			   long expires_at)
{
	char issued[24], expires[24];
	snprintf(issued, sizeof(issued), "%ld", iat);
	snprintf(expires, sizeof(expires), "%ld", expires_at);
	const char *params[] = {jti, user_id, issued, expires};
	return db_exec(conn, SQL_REFRESH_ADOPT, 4, params, NULL);
}

enum app_err refresh_blacklist(struct db_conn *conn, const char *jti, int rotated)
{
	const char *params[] = {jti};
	enum app_err err = db_exec(conn, SQL_BLACKLIST, 1, params, NULL);
	if (err == APP_OK && rotated)
		err = db_exec(conn, SQL_MARK_ROTATED, 1, params, NULL);
	return err;
}

enum app_err refresh_is_blacklisted(struct db_conn *conn, const char *jti, int *blacklisted)
{
	PGresult *res = NULL;
	const char *params[] = {jti};
	enum app_err err = db_exec(conn, SQL_IS_BLACKLISTED, 1, params, &res);
	if (err == APP_OK)
		*blacklisted = PQntuples(res) > 0;
	PQclear(res);
	return err;
}

enum app_err session_revoke(struct db_conn *conn, const char *session_id)
{
	const char *params[] = {session_id};
	enum app_err err = db_exec(conn, SQL_SESSION_BLACKLIST, 1, params, NULL);
	if (err == APP_OK)
		err = db_exec(conn, SQL_SESSION_END, 1, params, NULL);
	return err;
}

enum app_err session_touch(struct db_conn *conn, const char *session_id, const char *user_agent,
			   const char *ip)
{
	const char *params[] = {session_id, user_agent, ip};
	return db_exec(conn, SQL_SESSION_TOUCH, 3, params, NULL);
}

enum app_err sessions_list(struct db_conn *conn, const char *user_id, const char *access_jti,
			   struct session_row **out, size_t *n)
{
	PGresult *res = NULL;
	const char *params[] = {user_id, access_jti};
	enum app_err err = db_exec(conn, SQL_SESSIONS_LIST, 2, params, &res);
	*out = NULL;
	*n = 0;
	if (err != APP_OK)
		goto out;
	*n = (size_t)PQntuples(res);
	*out = xcalloc(*n, sizeof(**out));
	for (size_t i = 0; i < *n; i++) {
		struct session_row *row = &(*out)[i];
		int r = (int)i;
		snprintf(row->id, sizeof(row->id), "%s", PQgetvalue(res, r, 0));
		row->created = xstrdup(PQgetvalue(res, r, 1));
		row->last_used = xstrdup(PQgetvalue(res, r, 2));
		row->user_agent = xstrdup(PQgetvalue(res, r, 3));
		row->ip = xstrdup(PQgetvalue(res, r, 4));
		row->current = PQgetvalue(res, r, 5)[0] == 't';
	}
out:
	PQclear(res);
	return err;
}

void sessions_free(struct session_row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(rows[i].created);
		free(rows[i].last_used);
		free(rows[i].user_agent);
		free(rows[i].ip);
	}
	free(rows);
}

enum app_err session_revoke_owned(struct db_conn *conn, const char *user_id, const char *session_id)
{
	PGresult *res = NULL;
	const char *params[] = {session_id, user_id};
	enum app_err err = db_exec(conn, SQL_SESSION_OWNED, 2, params, &res);
	if (err == APP_OK && PQntuples(res) == 0)
		err = APP_ERR_NOT_FOUND;
	PQclear(res);
	if (err == APP_OK)
		err = session_revoke(conn, session_id);
	return err;
}
