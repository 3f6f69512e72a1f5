/*
 * Private notes in SQL: every statement is scoped to the owner's profile, so
 * someone else's note is simply not found. Rows carry id, title, body,
 * created, updated (timestamps as RFC 3339 text). No JSON here.
 */
#ifndef DEVSEARCH_MODELS_NOTE_H
#define DEVSEARCH_MODELS_NOTE_H

#include "models/db.h"

/*
 * One page of owner_id's notes, newest first; limit and offset are decimal
 * text. Each row also has total_count. *res: caller PQclear()s.
 */
enum app_err note_list(struct db_conn *conn, const char *owner_id, const char *limit,
		       const char *offset, PGresult **res);

/* A new note (body NULL: empty); *res its one row, caller PQclear()s. */
enum app_err note_create(struct db_conn *conn, const char *owner_id, const char *title,
			 const char *body, PGresult **res);

/*
 * owner_id's note id; APP_ERR_NOT_FOUND otherwise. *res one row, caller
 * PQclear()s; res may be NULL to only ask whether it exists.
 */
enum app_err note_find(struct db_conn *conn, const char *owner_id, const char *id, PGresult **res);

/*
 * Change the fields that are not NULL (none: only updated moves) and set
 * updated to the clock; APP_ERR_NOT_FOUND if owner_id has no note id. *res the
 * row after the change, caller PQclear()s.
 */
enum app_err note_update(struct db_conn *conn, const char *owner_id, const char *id,
			 const char *title, const char *body, PGresult **res);

/*
 * Delete owner_id's note id (a profile's favorite_note pointing at it becomes
 * NULL: the schema's ON DELETE SET NULL). APP_ERR_NOT_FOUND if there is none.
 */
enum app_err note_delete(struct db_conn *conn, const char *owner_id, const char *id);

#endif
