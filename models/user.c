/* Users in SQL; see user.h. Username and email live on users only. */
#include "models/user.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

#define USER_COLUMNS                                                                               \
	"u.id, u.username, u.email, u.password, p.name, p.id, u.is_active, u.is_staff, "           \
	"coalesce(ceil(extract(epoch FROM u.tokens_valid_after)), 0)::bigint, "                    \
	"coalesce(extract(epoch FROM u.last_login), 0)::bigint "

static const char SQL_INSERT_USER[] =
	"INSERT INTO users (username, email, password, is_staff, is_superuser) "
	"VALUES ($1, $2, $3, $4::boolean, $4::boolean) RETURNING id";
static const char SQL_INSERT_PROFILE[] =
	"INSERT INTO profiles (user_id, name) VALUES ($1, $2) RETURNING id";
static const char SQL_BY_USERNAME[] =
	"SELECT " USER_COLUMNS "FROM users u JOIN profiles p ON p.user_id = u.id "
	"WHERE lower(u.username) = lower($1) AND u.username = $1";
static const char SQL_BY_ID[] =
	"SELECT " USER_COLUMNS "FROM users u JOIN profiles p ON p.user_id = u.id WHERE u.id = $1";
static const char SQL_BY_EMAIL[] =
	"SELECT " USER_COLUMNS "FROM users u JOIN profiles p ON p.user_id = u.id "
	"WHERE lower(u.email) = lower($1) AND u.email <> '' AND u.is_active";
static const char SQL_TAKEN[] =
	"SELECT EXISTS (SELECT 1 FROM users WHERE lower(username) = lower($1)), "
	"EXISTS (SELECT 1 FROM users WHERE lower(email) = lower($2) AND email <> '')";
static const char SQL_UPDATE_HASH[] = "UPDATE users SET password = $2 WHERE id = $1";
static const char SQL_CHANGE_PASSWORD[] =
	"UPDATE users SET password = $2, tokens_valid_after = now() WHERE id = $1";
static const char SQL_REVOKE_ACCESS[] = "UPDATE users SET tokens_valid_after = now() WHERE id = $1";
static const char SQL_BLACKLIST_ALL[] =
	"INSERT INTO blacklisted_tokens (jti) SELECT jti FROM refresh_tokens WHERE user_id = $1 "
	"ON CONFLICT DO NOTHING";
static const char SQL_END_SESSIONS[] =
	"UPDATE login_sessions SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL";
static const char SQL_TOUCH_LOGIN[] = "UPDATE users SET last_login = now() WHERE id = $1";

void user_release(struct user *user)
{
	free(user->username);
	free(user->email);
	if (user->password)
		explicit_bzero(user->password, strlen(user->password));
	free(user->password);
	free(user->name);
	memset(user, 0, sizeof(*user));
}

static void copy_id(char dst[37], const char *src)
{
	snprintf(dst, 37, "%s", src);
}

static void user_from_row(const PGresult *res, int row, struct user *out)
{
	memset(out, 0, sizeof(*out));
	copy_id(out->id, PQgetvalue(res, row, 0));
	out->username = xstrdup(PQgetvalue(res, row, 1));
	out->email = xstrdup(PQgetvalue(res, row, 2));
	out->password = xstrdup(PQgetvalue(res, row, 3));
	out->name = xstrdup(PQgetvalue(res, row, 4));
	copy_id(out->profile_id, PQgetvalue(res, row, 5));
	out->is_active = PQgetvalue(res, row, 6)[0] == 't';
	out->is_staff = PQgetvalue(res, row, 7)[0] == 't';
	out->tokens_valid_after = atol(PQgetvalue(res, row, 8));
	out->last_login = atol(PQgetvalue(res, row, 9));
}

static enum app_err find_one(struct db_conn *conn, const char *sql, const char *param,
			     struct user *out)
{
	PGresult *res = NULL;
	const char *params[] = {param};
	enum app_err err = db_exec(conn, sql, 1, params, &res);
	memset(out, 0, sizeof(*out));
	if (err == APP_OK && PQntuples(res) == 0)
		err = APP_ERR_NOT_FOUND;
	if (err == APP_OK)
		user_from_row(res, 0, out);
	PQclear(res);
	return err;
}

enum app_err user_find_by_username(struct db_conn *conn, const char *username, struct user *out)
{
	return find_one(conn, SQL_BY_USERNAME, username, out);
}

enum app_err user_find_by_id(struct db_conn *conn, const char *id, struct user *out)
{
	return find_one(conn, SQL_BY_ID, id, out);
}

enum app_err user_find_by_email(struct db_conn *conn, const char *email, struct user *out)
{
	return find_one(conn, SQL_BY_EMAIL, email, out);
}

enum app_err user_create(struct db_conn *conn, const char *username, const char *email,
			 const char *password_hash, const char *name, int is_staff,
			 struct user *out, const char **conflict)
{
	PGresult *res = NULL;
	const char *user_params[] = {username, email, password_hash, is_staff ? "true" : "false"};
	char user_id[37];
	enum app_err err;

	*conflict = NULL;
	memset(out, 0, sizeof(*out));
	err = db_exec(conn, SQL_INSERT_USER, 4, user_params, &res);
	if (err == APP_ERR_CONFLICT)
		*conflict = strstr(db_last_constraint(conn), "email") ? "email" : "username";
	if (err != APP_OK)
		goto out;
	copy_id(user_id, PQgetvalue(res, 0, 0));
	/* No user without a profile: both in the caller's transaction. */
	const char *profile_params[] = {user_id, name};
	err = db_exec(conn, SQL_INSERT_PROFILE, 2, profile_params, NULL);
	if (err == APP_OK)
		err = user_find_by_id(conn, user_id, out);
out:
	PQclear(res);
	return err;
}

enum app_err user_taken(struct db_conn *conn, const char *username, const char *email,
			int *username_taken, int *email_taken)
{
	PGresult *res = NULL;
	const char *params[] = {username ? username : "", email ? email : ""};
	enum app_err err = db_exec(conn, SQL_TAKEN, 2, params, &res);
	if (err == APP_OK) {
		*username_taken = username && PQgetvalue(res, 0, 0)[0] == 't';
		*email_taken = email && PQgetvalue(res, 0, 1)[0] == 't';
	}
	PQclear(res);
	return err;
}

enum app_err user_update_hash(struct db_conn *conn, const char *id, const char *password_hash)
{
	const char *params[] = {id, password_hash};
	return db_exec(conn, SQL_UPDATE_HASH, 2, params, NULL);
}

/* Blacklist every refresh token and end every session; the caller holds a transaction. */
static enum app_err revoke_refresh_tokens(struct db_conn *conn, const char *id)
{
	const char *params[] = {id};
	enum app_err err = db_exec(conn, SQL_BLACKLIST_ALL, 1, params, NULL);
	if (err == APP_OK)
		err = db_exec(conn, SQL_END_SESSIONS, 1, params, NULL);
	return err;
}

enum app_err user_change_password(struct db_conn *conn, const char *id, const char *password_hash)
{
	const char *params[] = {id, password_hash};
	enum app_err err = db_exec(conn, SQL_CHANGE_PASSWORD, 2, params, NULL);
	if (err == APP_OK)
		err = revoke_refresh_tokens(conn, id);
	return err;
}

enum app_err user_revoke_tokens(struct db_conn *conn, const char *id)
{
	const char *params[] = {id};
	enum app_err err = db_exec(conn, SQL_REVOKE_ACCESS, 1, params, NULL);
	if (err == APP_OK)
		err = revoke_refresh_tokens(conn, id);
	return err;
}

enum app_err user_touch_login(struct db_conn *conn, const char *id)
{
	const char *params[] = {id};
	return db_exec(conn, SQL_TOUCH_LOGIN, 1, params, NULL);
}
