/*
 * The staff view of users in SQL: a page of users (optionally searched) and
 * changing is_active / is_staff. Rows carry id, username, email, is_active,
 * is_staff, date_joined, last_login (timestamps as RFC 3339 text, last_login
 * NULL if never). No JSON here.
 */
#ifndef DEVSEARCH_MODELS_ADMIN_H
#define DEVSEARCH_MODELS_ADMIN_H

#include "models/db.h"

/*
 * One page of users ordered by date_joined, id; limit and offset are decimal
 * text. search (NULL or "" for all) keeps the users whose username or email
 * contains it, case-insensitively, with %, _ and \ taken literally. Each row
 * also has total_count. *res: caller PQclear()s.
 */
enum app_err admin_user_list(struct db_conn *conn, const char *search, const char *limit,
			     const char *offset, PGresult **res);

/* 1 in *exists if the user id exists. */
enum app_err admin_user_exists(struct db_conn *conn, const char *id, int *exists);

/*
 * Set is_active and is_staff of user id (each 0 or 1, or -1 to leave it),
 * locking the row. APP_ERR_NOT_FOUND if there is no such user. *was_active
 * tells whether the user was active before. *res the row after the change,
 * caller PQclear()s. Run it in the caller's transaction.
 */
enum app_err admin_user_update(struct db_conn *conn, const char *id, int is_active, int is_staff,
			       int *was_active, PGresult **res);

#endif
