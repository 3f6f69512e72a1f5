/*
 * Messages in SQL; see message.h. Owns every statement on the messages table;
 * no JSON, no HTTP. Sender and recipient are joined in each statement.
 */
#include "models/message.h"

#include <stdlib.h>

/* The columns of a message row, over m (messages) joined as in MESSAGE_JOINS. */
#define MESSAGE_COLUMNS                                                                            \
	"m.id, m.sender_id, su.username AS sender_username, sp.name AS sender_name, "              \
	"m.recipient_id, ru.username AS recipient_username, rp.name AS recipient_name, "           \
	"m.name, m.email, m.subject, m.body, "
#define MESSAGE_JOINS                                                                              \
	"JOIN profiles rp ON rp.id = m.recipient_id JOIN users ru ON ru.id = rp.user_id "          \
	"LEFT JOIN profiles sp ON sp.id = m.sender_id LEFT JOIN users su ON su.id = sp.user_id "

/* A profile sender's name and email come from the profile, whatever the body said. */
static const char SQL_SEND[] =
	"WITH m AS (INSERT INTO messages (sender_id, recipient_id, name, email, subject, body) "
	"SELECT s.id, r.id, coalesce(s.name, $3), coalesce(s.email, $4), $5, $6 "
	"FROM profiles r LEFT JOIN (SELECT p.id, p.name, u.email FROM profiles p "
	"JOIN users u ON u.id = p.user_id WHERE p.id = $2::uuid) s ON true "
	"WHERE r.id = $1::uuid RETURNING *) "
	"SELECT " MESSAGE_COLUMNS "m.is_read, " DB_RFC3339("m.created") " AS created "
									"FROM m " MESSAGE_JOINS;

static const char SQL_RECIPIENT_EXISTS[] = "SELECT EXISTS (SELECT 1 FROM profiles WHERE id = $1)";

/* One query: the page, the inbox size and its unread count (window functions before LIMIT). */
static const char SQL_INBOX[] = "SELECT " MESSAGE_COLUMNS "m.is_read, " DB_RFC3339(
	"m.created") " AS created, "
		     "count(*) OVER () AS total_count, "
		     "count(*) FILTER (WHERE NOT m.is_read) OVER () AS unread_count "
		     "FROM messages m " MESSAGE_JOINS "WHERE m.recipient_id = $1 "
		     "ORDER BY m.is_read, m.created DESC, m.id LIMIT $2 OFFSET $3";

/*
 * The update writes only an unread message; the SELECT sees the row as it was
 * before the statement, so it reports is_read as what it now is: true.
 */
static const char SQL_READ[] =
	"WITH target AS (SELECT id FROM messages WHERE id = $1 AND recipient_id = $2), "
	"marked AS (UPDATE messages SET is_read = true "
	"WHERE id IN (SELECT id FROM target) AND NOT is_read RETURNING id) "
	"SELECT " MESSAGE_COLUMNS "true AS is_read, " DB_RFC3339(
		"m.created") " AS created "
			     "FROM messages m JOIN target t ON t.id = m.id " MESSAGE_JOINS;

static const char SQL_DELETE[] =
	"DELETE FROM messages WHERE id = $1 AND recipient_id = $2 RETURNING id";

/* Run sql; APP_ERR_NOT_FOUND when it returns no row. */
static enum app_err exec_one(struct db_conn *conn, const char *sql, int n,
			     const char *const *params, PGresult **res)
{
	PGresult *tmp = NULL;
	enum app_err err = db_exec(conn, sql, n, params, &tmp);
	if (err == APP_OK && PQntuples(tmp) == 0)
		err = APP_ERR_NOT_FOUND;
	if (err == APP_OK && res) {
		*res = tmp;
		tmp = NULL;
	}
	PQclear(tmp);
	return err;
}

enum app_err message_send(struct db_conn *conn, const char *recipient_id, const char *sender_id,
			  const char *name, const char *email, const char *subject,
			  const char *body, PGresult **res)
{
	const char *params[] = {recipient_id,       sender_id, name ? name : "",
				email ? email : "", subject,   body};
	*res = NULL;
	enum app_err err = exec_one(conn, SQL_SEND, 6, params, res);
	/* A profile deleted while the row went in (foreign key): as if it was never there. */
	return err == APP_ERR_INVALID ? APP_ERR_NOT_FOUND : err;
}

enum app_err message_recipient_exists(struct db_conn *conn, const char *recipient_id, int *exists)
{
	PGresult *res = NULL;
	const char *params[] = {recipient_id};
	enum app_err err = db_exec(conn, SQL_RECIPIENT_EXISTS, 1, params, &res);
	*exists = err == APP_OK && PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	return err;
}

enum app_err message_inbox(struct db_conn *conn, const char *recipient_id, const char *limit,
			   const char *offset, PGresult **res)
{
	const char *params[] = {recipient_id, limit, offset};
	return db_exec(conn, SQL_INBOX, 3, params, res);
}

enum app_err message_read(struct db_conn *conn, const char *recipient_id, const char *id,
			  PGresult **res)
{
	const char *params[] = {id, recipient_id};
	*res = NULL;
	return exec_one(conn, SQL_READ, 2, params, res);
}

enum app_err message_delete(struct db_conn *conn, const char *recipient_id, const char *id)
{
	const char *params[] = {id, recipient_id};
	return exec_one(conn, SQL_DELETE, 2, params, NULL);
}
