/*
 * Messages in SQL: send (to a profile, from a profile or anonymous), a
 * recipient's inbox page, read (marks read) and delete. Every function is one
 * statement whose rows carry the message with its sender and recipient
 * already joined (columns: id, sender_id, sender_username, sender_name,
 * recipient_id, recipient_username, recipient_name, name, email, subject,
 * body, is_read, created), so a page is one query. No JSON here.
 */
#ifndef DEVSEARCH_MODELS_MESSAGE_H
#define DEVSEARCH_MODELS_MESSAGE_H

#include "models/db.h"

/*
 * Send a message to the profile recipient_id. sender_id is the sending
 * profile, or NULL for an anonymous sender: then name and email are stored as
 * given; for a profile they are taken from it (its name, its user's email).
 * APP_ERR_NOT_FOUND when there is no such recipient. On APP_OK *res holds the
 * one new row (caller PQclear()s).
 */
enum app_err message_send(struct db_conn *conn, const char *recipient_id, const char *sender_id,
			  const char *name, const char *email, const char *subject,
			  const char *body, PGresult **res);

/*
 * 1 in *exists if the profile id exists (to answer 404 before a validation
 * error, as the Django version looks the recipient up first).
 */
enum app_err message_recipient_exists(struct db_conn *conn, const char *recipient_id, int *exists);

/*
 * One page of recipient_id's messages, unread first then newest first; limit
 * and offset are decimal text. Each row also has total_count and
 * unread_count (of the whole inbox). *res: caller PQclear()s.
 */
enum app_err message_inbox(struct db_conn *conn, const char *recipient_id, const char *limit,
			   const char *offset, PGresult **res);

/*
 * The message id if recipient_id received it, marked read by the same
 * statement (the row shows is_read true). APP_ERR_NOT_FOUND otherwise (also
 * for someone else's message). *res: one row, caller PQclear()s.
 */
enum app_err message_read(struct db_conn *conn, const char *recipient_id, const char *id,
			  PGresult **res);

/* Delete the message id of recipient_id; APP_ERR_NOT_FOUND if there is none. */
enum app_err message_delete(struct db_conn *conn, const char *recipient_id, const char *id);

#endif
