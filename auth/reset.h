/*
 * Password reset tokens as Django's PasswordResetTokenGenerator makes them:
 * "<timestamp in base 36>-<32 hex digits>", an HMAC over the user's id,
 * current password hash, last login and the timestamp. A token stops working
 * once the password changes or the user logs in, and after the timeout.
 */
#ifndef DEVSEARCH_AUTH_RESET_H
#define DEVSEARCH_AUTH_RESET_H

#include "auth/token.h"
#include "models/user.h"

#define RESET_TOKEN_SIZE 64

/* The token for user at Unix time now, into out. */
void reset_token_make(const struct token_keys *keys, const struct user *user, long now,
		      char out[RESET_TOKEN_SIZE]);

/* 1 if token is user's and at most timeout seconds old at now, else 0. */
int reset_token_check(const struct token_keys *keys, const struct user *user, const char *token,
		      long now, long timeout);

/* The uid of a reset email: base64url of the user id; a new string (free()). */
char *reset_uid_encode(const char *user_id);
/* The user id in a uid, into out; 0 if uid is not one of ours. */
int reset_uid_decode(const char *uid, char out[37]);

/* Hex SHA-256 of a token, for the bookkeeping table (tokens are never stored). */
void reset_token_digest(const char *token, char out[65]);

#endif
