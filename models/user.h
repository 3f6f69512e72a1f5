/*
 * Users and their profiles in SQL: create (with the profile, in the caller's
 * transaction), look up, change password, deactivate. Rows come back as
 * plain structs of strings; no JSON here.
 */
#ifndef DEVSEARCH_MODELS_USER_H
#define DEVSEARCH_MODELS_USER_H

#include "models/db.h"

struct user {
	char id[37];
	char *username;
	char *email;
	char *password; /* PHC string */
	char *name;     /* the profile's name */
	char profile_id[37];
	int is_active;
	int is_staff;
	/* Access tokens issued before this (Unix seconds, rounded up) are refused; 0 if never. */
	long tokens_valid_after;
	long last_login; /* Unix seconds, 0 if never */
};

/* Free the strings of a struct user filled by a function below. */
void user_release(struct user *user);

/*
 * Insert a user and its profile (name) in the caller's transaction. On
 * APP_ERR_CONFLICT, *conflict is "username" or "email".
 */
enum app_err user_create(struct db_conn *conn, const char *username, const char *email,
			 const char *password_hash, const char *name, int is_staff,
			 struct user *out, const char **conflict);

/* Find by exact username (as Django's login does). APP_ERR_NOT_FOUND if none. */
enum app_err user_find_by_username(struct db_conn *conn, const char *username, struct user *out);
/* Find by id. APP_ERR_NOT_FOUND if none. */
enum app_err user_find_by_id(struct db_conn *conn, const char *id, struct user *out);
/* Find an active user by email, case-insensitively. APP_ERR_NOT_FOUND if none. */
enum app_err user_find_by_email(struct db_conn *conn, const char *email, struct user *out);

/* Which of username and email are taken (case-insensitively); each flag 0 or 1. */
enum app_err user_taken(struct db_conn *conn, const char *username, const char *email,
			int *username_taken, int *email_taken);

/* Store a new password hash only (a hash upgrade at login). */
enum app_err user_update_hash(struct db_conn *conn, const char *id, const char *password_hash);
/*
 * Store a new password and refuse every token issued before now: refresh
 * tokens blacklisted, sessions ended, access tokens older than now refused.
 */
enum app_err user_change_password(struct db_conn *conn, const char *id, const char *password_hash);
/* Refuse every token issued before now (logout-all), without a password change. */
enum app_err user_revoke_tokens(struct db_conn *conn, const char *id);
enum app_err user_touch_login(struct db_conn *conn, const char *id);

#endif
