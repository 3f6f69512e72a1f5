/*
 * PostgreSQL access: one connection (struct db_conn) and a fixed-size pool of
 * them shared by the HTTP threads. The only place that calls libpq's query
 * functions; every statement runs through db_exec*(), which prepares it once
 * per connection, checks the result and maps SQLSTATE to enum app_err. SQL
 * text and server messages go to the log, never to clients.
 */
#ifndef DEVSEARCH_DB_H
#define DEVSEARCH_DB_H

#include <libpq-fe.h>
#include <stddef.h>

#include "core/app.h"

struct db_conn;
struct db_pool;
struct strbuf;

/* A timestamptz column as text in DRF's format: 2026-01-02T03:04:05.123456Z (UTC). */
#define DB_RFC3339(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"

/* Append "%text%" for ILIKE, with \, % and _ of text escaped so they match literally. */
void db_like_pattern(struct strbuf *sb, const char *text);

/* Append a text[] literal {"a","b"} of n strings, quoted and escaped. */
void db_text_array_literal(struct strbuf *sb, const char *const *texts, size_t n);

/*
 * Connect to database_url (NULL: libpq's PG* environment). Returns APP_OK with
 * *out set (caller db_conn_free()s), or APP_ERR_UNAVAILABLE with the reason
 * logged.
 */
enum app_err db_conn_open(const char *database_url, struct db_conn **out);
/* The same with every statement bounded by statement_timeout_ms (and the connection attempt). */
enum app_err db_conn_open_timeout(const char *database_url, long statement_timeout_ms,
				  struct db_conn **out);
void db_conn_free(struct db_conn *conn);

/*
 * Run one parameterised statement, prepared on first use on this connection
 * (statements are told apart by the address of their text, so pass static
 * strings). params are text, NULL for SQL NULL. On APP_OK, *res (if res is not
 * NULL) is the result and the caller PQclear()s it; on error *res is NULL.
 * A connection lost outside a transaction is re-opened and the statement
 * retried once, so a database restart costs no request.
 */
enum app_err db_exec(struct db_conn *conn, const char *sql, int nparams, const char *const *params,
		     PGresult **res);

/* One statement of a db_exec_many() batch; res NULL discards its result. */
struct db_statement {
	const char *sql; /* a static string, as for db_exec */
	int nparams;
	const char *const *params;
	PGresult **res;
};

/*
 * Run n independent statements in one round trip (libpq's pipeline mode), as
 * db_exec would run them one after the other: prepared on first use, and
 * retried once on a new connection when the connection was lost outside a
 * transaction. Outside a transaction the batch is one implicit transaction.
 * On APP_OK each non-NULL res holds its result (the caller PQclear()s them);
 * on error every res is NULL.
 */
/* The most statements one db_exec_many() takes (more is APP_ERR_INTERNAL, logged). */
#define DB_MAX_BATCH 16

enum app_err db_exec_many(struct db_conn *conn, const struct db_statement *stmts, size_t n);

/* Like db_exec with per-parameter lengths and formats (1 = binary), for bytea. */
enum app_err db_exec_binary(struct db_conn *conn, const char *sql, int nparams,
			    const char *const *params, const int *lengths, const int *formats,
			    PGresult **res);

/*
 * Run a trusted multi-statement script (a migration file) with the simple
 * query protocol. Never pass text that came from a request.
 */
enum app_err db_exec_script(struct db_conn *conn, const char *script);

/* Transactions; db_rollback is safe to call when none is open. */
enum app_err db_begin(struct db_conn *conn);
enum app_err db_commit(struct db_conn *conn);
void db_rollback(struct db_conn *conn);

/*
 * A short name of statement sql that is safe to log, into out (size bytes):
 * its first word and the table it works on, as "INSERT INTO refresh_tokens",
 * "UPDATE users", "SELECT ... FROM projects", "WITH ... INTO project_tags"
 * (the first FROM or INTO outside string literals), or only the first word
 * ("BEGIN", "SELECT"). Database errors are logged with it.
 */
void db_statement_label(const char *sql, char *out, size_t size);

/* The constraint named by the last failed statement ("" if none); borrowed. */
const char *db_last_constraint(const struct db_conn *conn);

/*
 * 1 if a statement on conn failed because the connection did (lost, the
 * server shutting down, refusing or out of resources: APP_ERR_UNAVAILABLE
 * other than a statement timeout) since db_pool_acquire() lent it out, even
 * if the retry on a fresh connection then succeeded.
 */
int db_conn_failed(const struct db_conn *conn);

/* The last statement's message and detail when it failed, one line; "" when it did not. */
const char *db_last_error(const struct db_conn *conn);

/*
 * Stream the rows of copy_out (a COPY ... TO STDOUT, text format, run on from)
 * into copy_in (a COPY ... FROM STDIN run on to), without parsing them; *rows
 * is how many. On failure the target's COPY is aborted; a source connection
 * left in the middle of its COPY is reset.
 */
enum app_err db_copy(struct db_conn *from, const char *copy_out, struct db_conn *to,
		     const char *copy_in, long *rows);

/* Statements run on this connection since it was opened; for the N+1 tests. */
unsigned long db_statement_count(const struct db_conn *conn);

/* Waits for the server's answer on this connection so far; for the batching tests. */
unsigned long db_round_trip_count(const struct db_conn *conn);

/*
 * A connection of its own, outside the pool, that LISTENs on channel (one of
 * our constants, never client text), with TCP keepalives so that a vanished
 * server is noticed although nothing is ever sent. Returns APP_OK with *out
 * set (caller db_conn_free()s), or APP_ERR_UNAVAILABLE, logged at debug level
 * only (the caller retries and says when the state changes).
 */
enum app_err db_listen_open(const char *database_url, const char *channel, struct db_conn **out);

/* The connection's socket, to poll() for input; -1 if there is none. */
int db_conn_socket(const struct db_conn *conn);

/*
 * Read whatever arrived on a listening connection, without blocking, and
 * count the notifications in *count. APP_ERR_UNAVAILABLE once the connection
 * is lost: open a new one, and assume notifications were missed.
 */
enum app_err db_notifications(struct db_conn *conn, unsigned *count);

/*
 * db_pool_open() flag for a transaction pooler (PgBouncer, pool_mode =
 * transaction) in front of the database: every statement is unnamed (no
 * PREPARE), and the statement timeout is set per transaction (SET LOCAL in
 * db_begin) instead of per session; statements outside a transaction then
 * rely on the server's or the pooler's own limit (docs/deploy.md).
 */
#define DB_NO_PREPARE 1u

/*
 * db_pool_open() flag for a read replica: opening succeeds although the
 * server is down; a connection that cannot be made marks the pool down for a
 * few seconds, during which db_pool_acquire() fails at once
 * (APP_ERR_UNAVAILABLE) so the caller uses the primary; a connection the
 * server has closed is noticed when it is borrowed.
 */
#define DB_REPLICA 2u

/*
 * A pool of size connections. Opening fails (APP_ERR_UNAVAILABLE) only if the
 * first connection cannot be made; the others are made on first use.
 * timeout_ms (DB_TIMEOUT) bounds each connection attempt (libpq's
 * connect_timeout, whole seconds, at least 2) and each statement
 * (statement_timeout; a statement cut short is APP_ERR_UNAVAILABLE), and is
 * the wait of db_pool_acquire(..., DB_POOL_WAIT, ...). flags: 0, DB_NO_PREPARE,
 * DB_REPLICA.
 */
enum app_err db_pool_open(const char *database_url, int size, int timeout_ms, unsigned flags,
			  struct db_pool **out);
void db_pool_free(struct db_pool *pool);

/* db_pool_acquire()'s timeout_ms for "the pool's own timeout" (DB_TIMEOUT). */
#define DB_POOL_WAIT (-1)

/*
 * Borrow a connection, waiting up to timeout_ms (or DB_POOL_WAIT) for one to be free. A
 * connection found broken is reset first; if the database cannot be reached
 * the result is APP_ERR_UNAVAILABLE and nothing is borrowed. Give it back with
 * db_pool_release(), which rolls back anything left open.
 */
enum app_err db_pool_acquire(struct db_pool *pool, int timeout_ms, struct db_conn **out);
void db_pool_release(struct db_pool *pool, struct db_conn *conn);

/* Statements run on every connection of the pool so far; for the N+1 tests. */
unsigned long db_pool_statement_count(struct db_pool *pool);

/* Waits for the server's answer so far, every connection of the pool; for the batching tests. */
unsigned long db_pool_round_trip_count(struct db_pool *pool);

/* Failed statements are counted by enum app_err, APP_OK..APP_ERR_INTERNAL. */
#define DB_ERROR_KINDS (APP_ERR_INTERNAL + 1)

/* A snapshot of the pool for GET /metrics. */
struct db_pool_stats {
	int size;               /* DB_POOL_SIZE */
	int in_use;             /* connections lent out */
	int idle;               /* slots free (open or not yet opened) */
	int waiting;            /* threads waiting for a slot */
	unsigned long timeouts; /* acquires that gave up waiting, since start */
	/* Statements (and connection attempts) that failed, by the error they mapped to. */
	unsigned long errors[DB_ERROR_KINDS];
};

/* Fill out with the pool's current counts; takes the pool lock briefly. */
void db_pool_stats(struct db_pool *pool, struct db_pool_stats *out);

/* APP_OK if the database answers a trivial query through the pool. */
enum app_err db_pool_ping(struct db_pool *pool);

/* Room for a WAL position as text ("16/B374D848") and its NUL. */
#define DB_LSN_SIZE 20

/* 1 if lsn is a WAL position as PostgreSQL writes it (hex/hex), else 0. */
int db_lsn_is_valid(const char *lsn);

/*
 * The primary's current WAL insert position into lsn: every transaction
 * committed before the call ends at or before it.
 */
enum app_err db_pool_primary_lsn(struct db_pool *pool, char lsn[DB_LSN_SIZE]);

/*
 * 1 if the standby behind conn has replayed the WAL up to lsn; 0 if not, if
 * the server is not a standby, if lsn is malformed, or on error.
 */
int db_replayed(struct db_conn *conn, const char *lsn);

#endif
