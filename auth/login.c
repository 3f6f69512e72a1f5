/* Token pairs and the access check; see login.h. */
#include "auth/login.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/config.h"
#include "models/session.h"

/* "Bearer <token>" -> the token; NULL for any other scheme (SimpleJWT then ignores the header). */
static const char *bearer_token(const char *header)
{
	if (!header || strncmp(header, "Bearer ", 7))
		return NULL;
	header += 7;
	while (*header == ' ')
		header++;
	return header;
}

int auth_token_user(const struct app *app, const char *header, long now, char user_id[37])
{
	struct token_claims claims;
	const char *token = bearer_token(header);

	if (!token || token_decode(app->keys, token, TOKEN_ACCESS, now, &claims) != TOKEN_VALID)
		return 0;
	snprintf(user_id, 37, "%s", claims.user_id);
	return 1;
}

enum auth_result auth_authenticate(const struct app *app, const char *header, long now,
				   struct auth_user *out)
{
	struct token_claims claims;
	struct user user = {0};
	struct db_conn *conn = NULL;
	enum auth_result result;
	const char *token = bearer_token(header);

	memset(out, 0, sizeof(*out));
	if (!token)
		return AUTH_ANONYMOUS;
	switch (token_decode(app->keys, token, TOKEN_ACCESS, now, &claims)) {
	case TOKEN_VALID: break;
	case TOKEN_WRONG_TYPE: return AUTH_TOKEN_WRONG_TYPE;
	default: return AUTH_TOKEN_INVALID;
	}
	if (db_pool_acquire(app->pool, DB_POOL_WAIT, &conn) != APP_OK)
		return AUTH_UNAVAILABLE;
	switch (user_find_by_id(conn, claims.user_id, &user)) {
	case APP_OK: break;
	case APP_ERR_NOT_FOUND: result = AUTH_USER_NOT_FOUND; goto out;
	default: result = AUTH_UNAVAILABLE; goto out;
	}
	if (!user.is_active) {
		result = AUTH_USER_INACTIVE;
		goto out;
	}
	/* Password change, reset or logout-all since this token was made: refused. */
	if (claims.iat < user.tokens_valid_after) {
		result = AUTH_TOKEN_INVALID;
		goto out;
	}
	out->authenticated = 1;
	snprintf(out->id, sizeof(out->id), "%s", user.id);
	snprintf(out->profile_id, sizeof(out->profile_id), "%s", user.profile_id);
	snprintf(out->jti, sizeof(out->jti), "%s", claims.jti);
	out->is_staff = user.is_staff;
	result = AUTH_OK;
out:
	user_release(&user);
	db_pool_release(app->pool, conn);
	return result;
}

static void fill_claims(struct token_claims *claims, enum token_type type, const struct user *user,
			long iat, long lifetime)
{
	memset(claims, 0, sizeof(*claims));
	claims->type = type;
	token_new_jti(claims->jti);
	snprintf(claims->user_id, sizeof(claims->user_id), "%s", user->id);
	snprintf(claims->username, sizeof(claims->username), "%s", user->username);
	snprintf(claims->name, sizeof(claims->name), "%s", user->name);
	claims->is_staff = user->is_staff;
	claims->iat = iat;
	claims->exp = iat + lifetime;
}

enum app_err auth_issue_pair(const struct app *app, struct db_conn *conn, const struct user *user,
			     const char *session_id, const char *parent_jti, char **access,
			     char **refresh)
{
	struct token_claims access_claims, refresh_claims;
	long now = (long)time(NULL);
	/*
	 * Tokens revoked at second S are those with iat < ceil(S); a token made in
	 * that same second after the revocation carries iat = ceil(S) so it lives.
	 */
	long iat = now < user->tokens_valid_after ? user->tokens_valid_after : now;
	enum app_err err = APP_ERR_INTERNAL;

	*access = *refresh = NULL;
	fill_claims(&access_claims, TOKEN_ACCESS, user, iat, app->cfg->access_token_lifetime);
	fill_claims(&refresh_claims, TOKEN_REFRESH, user, iat, app->cfg->refresh_token_lifetime);
	*access = token_encode(app->keys, &access_claims);
	*refresh = token_encode(app->keys, &refresh_claims);
	if (!*access || !*refresh)
		goto out;
	err = refresh_record(conn, refresh_claims.jti, user->id, session_id, parent_jti,
			     refresh_claims.exp, access_claims.jti);
out:
	if (err != APP_OK) {
		free(*access);
		free(*refresh);
		*access = *refresh = NULL;
	}
	return err;
}
