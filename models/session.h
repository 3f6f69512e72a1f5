/*
 * Logins (sessions) and their refresh tokens in SQL: every issued refresh
 * token is recorded with the session it belongs to, rotation links a token to
 * its parent, and blacklisting is a row in blacklisted_tokens.
 */
#ifndef DEVSEARCH_MODELS_SESSION_H
#define DEVSEARCH_MODELS_SESSION_H

#include <stddef.h>

#include "models/db.h"

/* The state of one recorded refresh token, read under a row lock. */
struct refresh_state {
	char user_id[37];
	char session_id[37];
	int blacklisted;
	int rotated; /* already exchanged for a newer token */
	int session_revoked;
};

struct session_row {
	char id[37];
	char *created; /* RFC 3339 UTC */
	char *last_used;
	char *user_agent;
	char *ip;
	int current;
};

/* A new session of user_id seen from user_agent and ip; its id into session_id. */
enum app_err session_create(struct db_conn *conn, const char *user_id, const char *user_agent,
			    const char *ip, char session_id[37]);

/* Record a refresh token (parent_jti NULL for a login) and the access token issued with it. */
enum app_err refresh_record(struct db_conn *conn, const char *jti, const char *user_id,
			    const char *session_id, const char *parent_jti, long expires_at,
			    const char *access_jti);

/*
 * Lock and read the recorded token jti (in the caller's transaction), so
 * concurrent refreshes of one token take turns. APP_ERR_NOT_FOUND if it was
 * never issued here.
 */
enum app_err refresh_lock(struct db_conn *conn, const char *jti, struct refresh_state *out);

/*
 * Record a validly signed refresh token we never issued (the Django version's
 * SimpleJWT made it) as the only token of a new session of user_id, as
 * SimpleJWT records an unknown token at first use. Nothing is written when the
 * user is missing or inactive, when iat is before the user's
 * tokens_valid_after, or when jti is already recorded (a concurrent first use
 * won): the caller's refresh_lock() then tells which. APP_OK in every one of
 * those cases; in the caller's transaction.
 */
enum app_err refresh_adopt(struct db_conn *conn, const char *jti, const char *user_id, long iat,
			   long expires_at);

/* Blacklist jti; the old token of a rotation also gets rotated_at. */
enum app_err refresh_blacklist(struct db_conn *conn, const char *jti, int rotated);

/* 1 in *blacklisted if jti is blacklisted (unknown tokens are not). */
enum app_err refresh_is_blacklisted(struct db_conn *conn, const char *jti, int *blacklisted);

/* End a session: every token of it blacklisted, revoked_at set. */
enum app_err session_revoke(struct db_conn *conn, const char *session_id);

/* Note a use of the session (refresh) from user_agent and ip. */
enum app_err session_touch(struct db_conn *conn, const char *session_id, const char *user_agent,
			   const char *ip);

/*
 * The user's live sessions, most recently used first; current marks the one
 * whose access token has jti access_jti. *out new array, sessions_free().
 */
enum app_err sessions_list(struct db_conn *conn, const char *user_id, const char *access_jti,
			   struct session_row **out, size_t *n);
void sessions_free(struct session_row *rows, size_t n);

/* End session_id if it is user_id's; APP_ERR_NOT_FOUND otherwise. */
enum app_err session_revoke_owned(struct db_conn *conn, const char *user_id,
				  const char *session_id);

#endif
