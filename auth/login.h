/*
 * Logins and the access check: issuing a token pair for a session, and
 * deciding who a request's Authorization header speaks for. Uses models/ for
 * the database; knows nothing of HTTP responses (api/ turns results into them).
 */
#ifndef DEVSEARCH_AUTH_LOGIN_H
#define DEVSEARCH_AUTH_LOGIN_H

#include "auth/token.h"
#include "core/app.h"
#include "models/db.h"
#include "models/user.h"

/* Who a request is authenticated as. */
struct auth_user {
	int authenticated;
	char id[37];
	char profile_id[37];
	char jti[33]; /* of the access token */
	int is_staff;
};

enum auth_result {
	AUTH_ANONYMOUS, /* no Bearer credentials: fine for public routes */
	AUTH_OK,
	AUTH_TOKEN_INVALID,    /* 401 token_not_valid, "Token is invalid or expired" */
	AUTH_TOKEN_WRONG_TYPE, /* 401 token_not_valid, "Token has wrong type" */
	AUTH_USER_NOT_FOUND,   /* 401 user_not_found */
	AUTH_USER_INACTIVE,    /* 401 user_inactive */
	AUTH_UNAVAILABLE,      /* the database did not answer: 503 */
};

/*
 * Check an Authorization header value (may be NULL) as SimpleJWT does, then
 * the user: it must exist, be active, and not have revoked its tokens since
 * the token's iat. Fills *out on AUTH_OK.
 */
enum auth_result auth_authenticate(const struct app *app, const char *header, long now,
				   struct auth_user *out);

/*
 * The user a valid access token in the Authorization header (may be NULL)
 * speaks for, from the token alone: no database, so a deleted or deactivated
 * user's token still names them (auth_authenticate() refuses it). 1 with
 * user_id filled, 0 when there is no such token.
 */
int auth_token_user(const struct app *app, const char *header, long now, char user_id[37]);

/*
 * Issue an access and a refresh token for user in session_id (the refresh
 * token rotated from parent_jti, NULL at login) and record the refresh token,
 * in the caller's transaction. *access and *refresh are new strings (free()).
 */
enum app_err auth_issue_pair(const struct app *app, struct db_conn *conn, const struct user *user,
			     const char *session_id, const char *parent_jti, char **access,
			     char **refresh);

#endif
