/*
 * Connections, the pool and the statement wrapper; see db.h. This file knows
 * libpq and SQLSTATE codes; it knows nothing of HTTP or JSON.
 */
#include "models/db.h"

#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/log.h"
#include "core/util.h"

/* Seconds a replica found unreachable is left alone before it is tried again. */
#define DB_REPLICA_RETRY_S 5

/* More distinct statements than the whole API has; past it we run unprepared. */
#define DB_MAX_PREPARED 512

struct db_conn {
	PGconn *pg;
	char *database_url;
	const char *prepared[DB_MAX_PREPARED]; /* statement texts prepared here, by address */
	size_t n_prepared;
	int in_transaction;
	unsigned long statements;
	unsigned long round_trips;
	long statement_timeout_ms; /* 0: none (migrations, commands) */
	int no_prepare;            /* DB_NO_PREPARE: unnamed statements, no session state */
	char last_constraint[64];
	char last_error[512]; /* the last failure's message and detail, one line */
	/* The connection failed (not a statement timeout) since the pool lent it out. */
	int failed_since_acquire;
	atomic_ulong *errors; /* the pool's error counts by enum app_err; NULL outside a pool */
};

struct db_pool {
	char *database_url;
	struct db_conn **conns; /* NULL where not yet opened */
	int size;
	int timeout_ms;    /* DB_TIMEOUT: wait for a slot, connect, each statement */
	unsigned flags;    /* DB_NO_PREPARE, DB_REPLICA */
	time_t down_until; /* DB_REPLICA: after a failed connection, not tried before this */
	int *idle;         /* indexes of free slots */
	int n_idle;
	int n_waiting;          /* threads in pool_take_slot waiting for a slot; under lock */
	unsigned long timeouts; /* acquires that found no slot in time; under lock */
	pthread_mutex_t lock;
	pthread_cond_t freed;
	/* Failed statements by error, from any thread: atomics, not under lock. */
	atomic_ulong errors[DB_ERROR_KINDS];
};

static const char SQL_PING[] = "SELECT 1";
static const char SQL_PRIMARY_LSN[] = "SELECT pg_current_wal_insert_lsn()::text";
/* NULL (not a standby, or nothing replayed yet) counts as behind. */
static const char SQL_REPLAYED[] =
	"SELECT coalesce(pg_last_wal_replay_lsn() >= $1::pg_lsn, false)::int";
/* A session setting, so it survives nothing but this connection: set again after a reset. */
static const char SQL_STATEMENT_TIMEOUT[] = "SELECT set_config('statement_timeout', $1, false)";

static PGconn *connect_pg(const char *database_url, int connect_timeout_s)
{
	char timeout[16];
	/* The URL (or key=value string) first, then our defaults on top of it. */
	const char *keys[] = {"dbname", "connect_timeout", "application_name", NULL};
	const char *values[] = {database_url, timeout, "devsearch", NULL};
	/* libpq takes whole seconds and treats 1 as 2; 0 would mean "wait forever". */
	snprintf(timeout, sizeof(timeout), "%d", connect_timeout_s > 2 ? connect_timeout_s : 2);
	const char *const *k = keys, *const *v = values;
	if (!database_url) {
		k++;
		v++;
	}
	return PQconnectdbParams(k, v, 1);
}

/*
 * A listening connection only ever reads, so a server gone without closing
 * the TCP connection would never be noticed: keepalives probe after 10 s idle,
 * every 5 s, and give up after 3 unanswered probes (ignored on unix sockets,
 * where a stopped server closes the socket).
 */
static PGconn *connect_listener_pg(const char *database_url)
{
	const char *keys[] = {
		"dbname",          "connect_timeout",     "application_name", "keepalives",
		"keepalives_idle", "keepalives_interval", "keepalives_count", NULL};
	const char *values[] = {database_url, "2", "devsearch-listener", "1", "10", "5", "3", NULL};
	const char *const *k = keys, *const *v = values;
	if (!database_url) {
		k++;
		v++;
	}
	return PQconnectdbParams(k, v, 1);
}

/* Server NOTICEs ("relation already exists, skipping") are for debugging only. */
static void notice_to_log(void *arg, const char *message)
{
	(void)arg;
	log_msg(LOG_DEBUG, "database: %s", message);
}

static enum app_err exec_once(struct db_conn *conn, const char *sql, int nparams,
			      const char *const *params, const int *lengths, const int *formats,
			      PGresult **out);

/* Session state every new or reset connection needs before its first statement. */
static enum app_err conn_setup(struct db_conn *conn)
{
	char ms[32];
	const char *params[] = {ms};

	PQsetNoticeProcessor(conn->pg, notice_to_log, NULL);
	/*
	 * Behind a transaction pooler a session setting would stick to whichever
	 * server connection ran it, for other clients too: db_begin() sets the
	 * timeout per transaction instead.
	 */
	if (!conn->statement_timeout_ms || conn->no_prepare)
		return APP_OK;
	snprintf(ms, sizeof(ms), "%ld", conn->statement_timeout_ms);
	return exec_once(conn, SQL_STATEMENT_TIMEOUT, 1, params, NULL, NULL, NULL);
}

static enum app_err conn_open(const char *database_url, long timeout_ms, unsigned flags,
			      struct db_conn **out)
{
	struct db_conn *conn = xcalloc(1, sizeof(*conn));
	conn->database_url = database_url ? xstrdup(database_url) : NULL;
	conn->statement_timeout_ms = timeout_ms;
	conn->no_prepare = (flags & DB_NO_PREPARE) != 0;
	conn->pg = connect_pg(database_url, timeout_ms ? (int)((timeout_ms + 999) / 1000) : 5);
	if (PQstatus(conn->pg) != CONNECTION_OK) {
		log_error("database: cannot connect: %s", PQerrorMessage(conn->pg));
		db_conn_free(conn);
		*out = NULL;
		return APP_ERR_UNAVAILABLE;
	}
	if (conn_setup(conn) != APP_OK) {
		db_conn_free(conn);
		*out = NULL;
		return APP_ERR_UNAVAILABLE;
	}
	*out = conn;
	return APP_OK;
}

enum app_err db_conn_open(const char *database_url, struct db_conn **out)
{
	return conn_open(database_url, 0, 0, out);
}

enum app_err db_conn_open_timeout(const char *database_url, long statement_timeout_ms,
				  struct db_conn **out)
{
	return conn_open(database_url, statement_timeout_ms, 0, out);
}

void db_conn_free(struct db_conn *conn)
{
	if (!conn)
		return;
	PQfinish(conn->pg);
	free(conn->database_url);
	free(conn);
}

/* Re-open a broken connection in place. APP_OK if it is usable again. */
static enum app_err conn_reset(struct db_conn *conn)
{
	PQreset(conn->pg);
	conn->n_prepared = 0;
	conn->in_transaction = 0;
	if (PQstatus(conn->pg) != CONNECTION_OK) {
		log_warn("database: reconnect failed: %s", PQerrorMessage(conn->pg));
		return APP_ERR_UNAVAILABLE;
	}
	if (conn_setup(conn) != APP_OK)
		return APP_ERR_UNAVAILABLE;
	log_info("database: reconnected");
	return APP_OK;
}

static enum app_err map_sqlstate(const char *state)
{
	if (!state)
		return APP_ERR_UNAVAILABLE; /* no server answer at all: the connection went */
	if (!strcmp(state, "23505"))
		return APP_ERR_CONFLICT;
	if (!strcmp(state, "23503") || !strcmp(state, "23502") || !strcmp(state, "23514") ||
	    !strcmp(state, "22P02") || !strcmp(state, "22001") || !strcmp(state, "22007") ||
	    !strcmp(state, "22008") || !strcmp(state, "22003") || !strcmp(state, "22021"))
		return APP_ERR_INVALID;
	if (!strncmp(state, "08", 2) || !strcmp(state, "57P01") || !strcmp(state, "57P02") ||
	    !strcmp(state, "57P03") || !strncmp(state, "53", 2))
		return APP_ERR_UNAVAILABLE;
	/* statement_timeout (DB_TIMEOUT) ran out: busy, not broken. */
	if (!strcmp(state, "57014"))
		return APP_ERR_UNAVAILABLE;
	if (!strcmp(state, "40001") || !strcmp(state, "40P01"))
		return APP_ERR_RETRY;
	return APP_ERR_INTERNAL;
}

/* Keep a failure's primary message and detail as one line, for db_last_error(). */
static void remember_error(struct db_conn *conn, const PGresult *res)
{
	const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	const char *detail = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;
	if (!primary)
		primary = PQerrorMessage(conn->pg);
	snprintf(conn->last_error, sizeof(conn->last_error), "%s%s%s", primary, detail ? " " : "",
		 detail ? detail : "");
	for (char *c = conn->last_error; *c; c++)
		if (*c == '\n')
			*c = ' ';
}

/* A word of SQL: letters, digits, '_' and '.' (a schema-qualified name). */
static size_t sql_word_length(const char *p)
{
	size_t n = 0;
	while ((p[n] >= 'a' && p[n] <= 'z') || (p[n] >= 'A' && p[n] <= 'Z') ||
	       (p[n] >= '0' && p[n] <= '9') || p[n] == '_' || p[n] == '.')
		n++;
	return n;
}

static int sql_word_is(const char *word, size_t len, const char *keyword)
{
	return len == strlen(keyword) && !strncasecmp(word, keyword, len);
}

/*
 * Our statements are constants with $n placeholders, but a name is shorter
 * than the text and never holds a literal of a hand-built one.
 */
void db_statement_label(const char *sql, char *out, size_t size)
{
	const char *verb = NULL, *keyword = NULL, *table = NULL;
	size_t verb_len = 0, keyword_len = 0, table_len = 0;
	int words = 0, keyword_at = 0;

	for (const char *p = sql; *p && !table;) {
		size_t len = sql_word_length(p);
		if (len == 0) {
			if (*p == '\'')
				while (*++p && *p != '\'')
					;
			if (*p)
				p++;
			continue;
		}
		words++;
		if (!verb) {
			verb = p;
			verb_len = len;
		} else if (keyword || sql_word_is(verb, verb_len, "UPDATE")) {
			table = p;
			table_len = len;
		} else if (sql_word_is(p, len, "FROM") || sql_word_is(p, len, "INTO")) {
			keyword = p;
			keyword_len = len;
			keyword_at = words;
		}
		p += len;
	}
	if (!verb) {
		snprintf(out, size, "(empty)");
		return;
	}
	/* Keywords in capitals, whatever the source's case; the table as written. */
	char verb_up[16] = "", keyword_up[8] = "";
	for (size_t i = 0; i < verb_len && i < sizeof(verb_up) - 1; i++)
		verb_up[i] = (char)toupper((unsigned char)verb[i]);
	for (size_t i = 0; keyword && i < keyword_len && i < sizeof(keyword_up) - 1; i++)
		keyword_up[i] = (char)toupper((unsigned char)keyword[i]);
	if (!table)
		snprintf(out, size, "%s", verb_up);
	else if (!keyword)
		snprintf(out, size, "%s %.*s", verb_up, (int)table_len, table);
	else
		snprintf(out, size, "%s%s%s %.*s", verb_up, keyword_at > 2 ? " ... " : " ",
			 keyword_up, (int)table_len, table);
}

/*
 * Check a result; on failure remember the constraint, map the error, and log
 * it when it is ours (not the client's): what failed ("statement", "prepare",
 * "batch sync", ...), the statement's name when sql is given (see
 * db_statement_label), the SQLSTATE, and PostgreSQL's primary message only. The
 * DETAIL is left out: it may quote row values (a duplicate key's, a
 * constraint's failing row), which can be personal data.
 */
static enum app_err check_result(struct db_conn *conn, PGresult *res, const char *what,
				 const char *sql)
{
	ExecStatusType status = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	char label[96] = "";

	if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
		conn->last_error[0] = '\0';
		return APP_OK;
	}

	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *constraint = res ? PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME) : NULL;
	snprintf(conn->last_constraint, sizeof(conn->last_constraint), "%s",
		 constraint ? constraint : "");
	remember_error(conn, res);
	enum app_err err = map_sqlstate(state);
	if (PQstatus(conn->pg) != CONNECTION_OK)
		err = APP_ERR_UNAVAILABLE;
	const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	if (!msg)
		msg = PQerrorMessage(conn->pg);
	if (sql)
		db_statement_label(sql, label, sizeof(label));
	if (err == APP_ERR_INTERNAL || err == APP_ERR_UNAVAILABLE)
		log_error("database: %s%s%s%s failed, SQLSTATE %s: %s", what, sql ? " \"" : "",
			  label, sql ? "\"" : "", state ? state : "none", msg);
	if (conn->errors)
		atomic_fetch_add_explicit(&conn->errors[err], 1, memory_order_relaxed);
	/* A statement timeout is a busy server, not a failed one. */
	if (err == APP_ERR_UNAVAILABLE &&
	    (PQstatus(conn->pg) != CONNECTION_OK || !state || strcmp(state, "57014")))
		conn->failed_since_acquire = 1;
	return err;
}

/*
 * The prepared-statement name for sql on this connection, written into name.
 * Returns 0 (known), 1 (new: prepare it first) or -1 (no room: run unprepared).
 */
static int statement_name(const struct db_conn *conn, const char *sql, char name[16])
{
	size_t i;
	/* A transaction pooler may run the next statement on another server connection. */
	if (conn->no_prepare)
		return -1;
	for (i = 0; i < conn->n_prepared; i++)
		if (conn->prepared[i] == sql)
			break;
	if (i == DB_MAX_PREPARED)
		return -1;
	snprintf(name, 16, "s%zu", i);
	return i == conn->n_prepared;
}

static enum app_err exec_once(struct db_conn *conn, const char *sql, int nparams,
			      const char *const *params, const int *lengths, const int *formats,
			      PGresult **out)
{
	enum app_err err;
	PGresult *res;
	char name[16];
	int is_new = statement_name(conn, sql, name);

	conn->statements++;
	conn->round_trips += 1 + (is_new > 0);
	if (is_new < 0) {
		res = PQexecParams(conn->pg, sql, nparams, NULL, params, lengths, formats, 0);
	} else {
		if (is_new) {
			res = PQprepare(conn->pg, name, sql, nparams, NULL);
			err = check_result(conn, res, "prepare", sql);
			PQclear(res);
			if (err != APP_OK)
				return err;
			conn->prepared[conn->n_prepared++] = sql;
		}
		res = PQexecPrepared(conn->pg, name, nparams, params, lengths, formats, 0);
	}
	err = check_result(conn, res, "statement", sql);
	if (err != APP_OK) {
		PQclear(res);
		res = NULL;
	}
	if (out)
		*out = res;
	else
		PQclear(res);
	return err;
}

enum app_err db_exec_binary(struct db_conn *conn, const char *sql, int nparams,
			    const char *const *params, const int *lengths, const int *formats,
			    PGresult **res)
{
	enum app_err err = exec_once(conn, sql, nparams, params, lengths, formats, res);
	/* Outside a transaction nothing is lost by trying again on a new connection. */
	if (err == APP_ERR_UNAVAILABLE && !conn->in_transaction &&
	    PQstatus(conn->pg) != CONNECTION_OK && conn_reset(conn) == APP_OK)
		err = exec_once(conn, sql, nparams, params, lengths, formats, res);
	return err;
}

enum app_err db_exec(struct db_conn *conn, const char *sql, int nparams, const char *const *params,
		     PGresult **res)
{
	return db_exec_binary(conn, sql, nparams, params, NULL, NULL, res);
}

/*
 * The next result of a pipeline and the NULL that ends it; NULL when the
 * connection gave nothing (lost). The caller PQclear()s the result.
 */
static PGresult *pipeline_result(PGconn *pg)
{
	PGresult *res = PQgetResult(pg);
	if (res && PQresultStatus(res) != PGRES_PIPELINE_SYNC)
		while (PQgetResult(
			pg)) /* a well-behaved server sends one result: nothing to free */
			;
	return res;
}

/* Queue one statement of a batch; *prepare_now tells whether its PREPARE went first. */
static int pipeline_send(struct db_conn *conn, const struct db_statement *stmt, int *prepare_now)
{
	char name[16];
	int is_new = statement_name(conn, stmt->sql, name);

	*prepare_now = is_new > 0;
	conn->statements++;
	if (is_new < 0)
		return PQsendQueryParams(conn->pg, stmt->sql, stmt->nparams, NULL, stmt->params,
					 NULL, NULL, 0);
	if (is_new && !PQsendPrepare(conn->pg, name, stmt->sql, stmt->nparams, NULL))
		return 0;
	return PQsendQueryPrepared(conn->pg, name, stmt->nparams, stmt->params, NULL, NULL, 0);
}

/*
 * Read a sent batch's results in order: a statement's PREPARE (when sent)
 * then its execution. The first failure decides err; the statements after it
 * come back PGRES_PIPELINE_ABORTED and are only drained.
 */
static enum app_err pipeline_read(struct db_conn *conn, const struct db_statement *stmts, size_t n,
				  const int *prepared_now, PGresult **results)
{
	enum app_err err = APP_OK;

	for (size_t i = 0; i < n; i++) {
		for (int step = prepared_now[i] ? 0 : 1; step < 2; step++) {
			PGresult *res = pipeline_result(conn->pg);
			if (!res)
				return err != APP_OK
					       ? err
					       : check_result(conn, NULL, "batch", stmts[i].sql);
			if (err == APP_OK &&
			    (err = check_result(conn, res,
						step ? "batch statement" : "batch prepare",
						stmts[i].sql)) == APP_OK) {
				if (step == 0)
					conn->prepared[conn->n_prepared++] = stmts[i].sql;
				else {
					results[i] = res;
					continue;
				}
			}
			PQclear(res);
		}
	}
	PGresult *sync = PQgetResult(conn->pg);
	if (!sync || PQresultStatus(sync) != PGRES_PIPELINE_SYNC)
		err = err != APP_OK ? err : check_result(conn, sync, "batch sync", NULL);
	PQclear(sync);
	return err;
}

static enum app_err exec_many_once(struct db_conn *conn, const struct db_statement *stmts, size_t n,
				   PGresult **results)
{
	int prepared_now[DB_MAX_BATCH] = {0};
	size_t n_before = conn->n_prepared;
	enum app_err err = APP_ERR_UNAVAILABLE;
	size_t sent = 0;

	conn->round_trips++;
	if (!PQenterPipelineMode(conn->pg)) {
		err = check_result(conn, NULL, "pipeline", NULL);
		goto out;
	}
	for (; sent < n; sent++) {
		if (!pipeline_send(conn, &stmts[sent], &prepared_now[sent]))
			break;
		/* A statement named twice in one batch is prepared once. */
		if (prepared_now[sent])
			conn->prepared[conn->n_prepared++] = stmts[sent].sql;
	}
	conn->n_prepared = n_before; /* pipeline_read records the PREPAREs that succeed */
	if (sent == n && PQpipelineSync(conn->pg))
		err = pipeline_read(conn, stmts, n, prepared_now, results);
	else
		err = check_result(conn, NULL, "batch send", NULL);
	/* Results still pending (only after a protocol surprise): start afresh. */
	if (!PQexitPipelineMode(conn->pg) && PQstatus(conn->pg) == CONNECTION_OK) {
		log_error("database: batch left results unread; reconnecting");
		if (conn_reset(conn) == APP_OK && err == APP_OK)
			err = APP_ERR_UNAVAILABLE;
		conn->failed_since_acquire = 1;
	}
out:
	return err;
}

enum app_err db_exec_many(struct db_conn *conn, const struct db_statement *stmts, size_t n)
{
	PGresult *results[DB_MAX_BATCH] = {0};
	enum app_err err;

	if (n > DB_MAX_BATCH) {
		log_error("database: a batch of %zu statements; at most %d", n, DB_MAX_BATCH);
		return APP_ERR_INTERNAL;
	}
	err = exec_many_once(conn, stmts, n, results);

	if (err == APP_ERR_UNAVAILABLE && !conn->in_transaction &&
	    PQstatus(conn->pg) != CONNECTION_OK && conn_reset(conn) == APP_OK) {
		for (size_t i = 0; i < n; i++) {
			PQclear(results[i]);
			results[i] = NULL;
		}
		err = exec_many_once(conn, stmts, n, results);
	}
	for (size_t i = 0; i < n; i++) {
		if (err != APP_OK) {
			PQclear(results[i]);
			results[i] = NULL;
		}
		if (stmts[i].res)
			*stmts[i].res = results[i];
		else
			PQclear(results[i]);
	}
	return err;
}

enum app_err db_exec_script(struct db_conn *conn, const char *script)
{
	conn->statements++;
	conn->round_trips++;
	PGresult *res = PQexec(conn->pg, script);
	/* A script of comments only (a fresh makemigrations pair) is a valid no-op. */
	if (PQresultStatus(res) == PGRES_EMPTY_QUERY) {
		PQclear(res);
		return APP_OK;
	}
	enum app_err err = check_result(conn, res, "script", NULL);
	if (err != APP_OK && err != APP_ERR_INTERNAL && err != APP_ERR_UNAVAILABLE)
		log_error("database: script failed, SQLSTATE %s: %s",
			  PQresultErrorField(res, PG_DIAG_SQLSTATE)
				  ? PQresultErrorField(res, PG_DIAG_SQLSTATE)
				  : "none",
			  PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY)
				  ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY)
				  : PQerrorMessage(conn->pg));
	PQclear(res);
	return err;
}

static enum app_err exec_simple(struct db_conn *conn, const char *sql)
{
	conn->statements++;
	conn->round_trips++;
	PGresult *res = PQexec(conn->pg, sql);
	enum app_err err = check_result(conn, res, "statement", sql);
	PQclear(res);
	return err;
}

enum app_err db_begin(struct db_conn *conn)
{
	char begin[64] = "BEGIN";
	/* Same round trip; SET LOCAL ends with the transaction, so no pooled session keeps it. */
	if (conn->no_prepare && conn->statement_timeout_ms)
		snprintf(begin, sizeof(begin), "BEGIN; SET LOCAL statement_timeout = %ld",
			 conn->statement_timeout_ms);
	enum app_err err = exec_simple(conn, begin);
	if (err == APP_ERR_UNAVAILABLE && PQstatus(conn->pg) != CONNECTION_OK &&
	    conn_reset(conn) == APP_OK)
		err = exec_simple(conn, begin);
	if (err == APP_OK)
		conn->in_transaction = 1;
	return err;
}

enum app_err db_commit(struct db_conn *conn)
{
	enum app_err err = exec_simple(conn, "COMMIT");
	conn->in_transaction = 0;
	return err;
}

void db_rollback(struct db_conn *conn)
{
	if (PQstatus(conn->pg) == CONNECTION_OK && PQtransactionStatus(conn->pg) != PQTRANS_IDLE)
		exec_simple(conn, "ROLLBACK");
	conn->in_transaction = 0;
}

const char *db_last_constraint(const struct db_conn *conn)
{
	return conn->last_constraint;
}

int db_conn_failed(const struct db_conn *conn)
{
	return conn->failed_since_acquire;
}

const char *db_last_error(const struct db_conn *conn)
{
	return conn->last_error;
}

/* The end of a COPY ... FROM STDIN: its outcome, with every result read. */
static enum app_err copy_in_finish(struct db_conn *to, const char *abort_reason)
{
	enum app_err err = APP_OK;
	PGresult *res;

	if (PQputCopyEnd(to->pg, abort_reason) != 1)
		err = APP_ERR_UNAVAILABLE;
	while ((res = PQgetResult(to->pg))) {
		if (err == APP_OK)
			err = check_result(to, res, "COPY FROM STDIN", NULL);
		PQclear(res);
	}
	return err;
}

/* Read what follows the last row of a COPY ... TO STDOUT: its outcome. */
static enum app_err copy_out_finish(struct db_conn *from)
{
	enum app_err err = APP_OK;
	PGresult *res;

	while ((res = PQgetResult(from->pg))) {
		if (err == APP_OK)
			err = check_result(from, res, "COPY TO STDOUT", NULL);
		PQclear(res);
	}
	return err;
}

enum app_err db_copy(struct db_conn *from, const char *copy_out, struct db_conn *to,
		     const char *copy_in, long *rows)
{
	PGresult *res;
	enum app_err err = APP_OK;
	char *row = NULL;
	int len;

	*rows = 0;
	from->statements++, from->round_trips++;
	to->statements++, to->round_trips++;
	res = PQexec(from->pg, copy_out);
	if (PQresultStatus(res) != PGRES_COPY_OUT) {
		err = check_result(from, res, "COPY TO STDOUT", NULL);
		PQclear(res);
		return err == APP_OK ? APP_ERR_INTERNAL : err;
	}
	PQclear(res);
	res = PQexec(to->pg, copy_in);
	if (PQresultStatus(res) != PGRES_COPY_IN) {
		err = check_result(to, res, "COPY FROM STDIN", NULL);
		PQclear(res);
		/* Leave the source's COPY unread: the connection is given up below. */
		PQreset(from->pg);
		return err == APP_OK ? APP_ERR_INTERNAL : err;
	}
	PQclear(res);
	/* Text format, so each buffer is one row, passed on as it is. */
	while ((len = PQgetCopyData(from->pg, &row, 0)) > 0) {
		if (PQputCopyData(to->pg, row, len) != 1)
			err = APP_ERR_UNAVAILABLE;
		PQfreemem(row);
		if (err != APP_OK)
			break;
		(*rows)++;
	}
	if (err == APP_OK && len == -2)
		err = APP_ERR_UNAVAILABLE;
	if (err == APP_OK)
		err = copy_out_finish(from);
	else
		PQreset(from->pg);
	enum app_err in_err = copy_in_finish(to, err == APP_OK ? NULL : "the source failed");
	return err != APP_OK ? err : in_err;
}

unsigned long db_statement_count(const struct db_conn *conn)
{
	return conn->statements;
}

unsigned long db_round_trip_count(const struct db_conn *conn)
{
	return conn->round_trips;
}

enum app_err db_listen_open(const char *database_url, const char *channel, struct db_conn **out)
{
	struct db_conn *conn = xcalloc(1, sizeof(*conn));
	struct strbuf sql = STRBUF_INIT;
	char *quoted = NULL;
	enum app_err err = APP_ERR_UNAVAILABLE;

	*out = NULL;
	conn->database_url = database_url ? xstrdup(database_url) : NULL;
	conn->pg = connect_listener_pg(database_url);
	/* Debug only: the caller retries during an outage and logs the change of state. */
	if (PQstatus(conn->pg) != CONNECTION_OK) {
		log_msg(LOG_DEBUG, "database: listener cannot connect: %s",
			PQerrorMessage(conn->pg));
		goto out;
	}
	PQsetNoticeProcessor(conn->pg, notice_to_log, NULL);
	if (!(quoted = PQescapeIdentifier(conn->pg, channel, strlen(channel))))
		goto out;
	strbuf_addf(&sql, "LISTEN %s", quoted);
	if ((err = exec_simple(conn, strbuf_str(&sql))) != APP_OK)
		goto out;
	*out = conn;
	conn = NULL;
out:
	PQfreemem(quoted);
	strbuf_release(&sql);
	db_conn_free(conn);
	return err;
}

int db_conn_socket(const struct db_conn *conn)
{
	return PQsocket(conn->pg);
}

enum app_err db_notifications(struct db_conn *conn, unsigned *count)
{
	PGnotify *notify;

	*count = 0;
	if (!PQconsumeInput(conn->pg) || PQstatus(conn->pg) != CONNECTION_OK)
		return APP_ERR_UNAVAILABLE;
	while ((notify = PQnotifies(conn->pg))) {
		(*count)++;
		PQfreemem(notify);
	}
	return APP_OK;
}

enum app_err db_pool_open(const char *database_url, int size, int timeout_ms, unsigned flags,
			  struct db_pool **out)
{
	struct db_pool *pool = xcalloc(1, sizeof(*pool));
	enum app_err err;

	pool->database_url = database_url ? xstrdup(database_url) : NULL;
	pool->size = size;
	pool->timeout_ms = timeout_ms;
	pool->flags = flags;
	pool->conns = xcalloc((size_t)size, sizeof(*pool->conns));
	pool->idle = xcalloc((size_t)size, sizeof(*pool->idle));
	for (int i = 0; i < size; i++)
		pool->idle[pool->n_idle++] = size - 1 - i;
	pthread_mutex_init(&pool->lock, NULL);
	pthread_cond_init(&pool->freed, NULL);
	for (int i = 0; i < DB_ERROR_KINDS; i++)
		atomic_init(&pool->errors[i], 0);

	/* One connection now, so a wrong DATABASE_URL fails at start, not at the first request. */
	err = conn_open(database_url, timeout_ms, flags, &pool->conns[0]);
	/* A replica that is down at start is only a slower start for reads, not a failure. */
	if (err != APP_OK && (flags & DB_REPLICA)) {
		log_warn("database: replica unreachable at start; reads go to the primary");
		pool->down_until = time(NULL) + DB_REPLICA_RETRY_S;
		err = APP_OK;
	}
	if (err != APP_OK) {
		db_pool_free(pool);
		*out = NULL;
		return err;
	}
	if (pool->conns[0]) /* NULL: a replica down at start, opened on a later acquire */
		pool->conns[0]->errors = pool->errors;
	*out = pool;
	return APP_OK;
}

void db_pool_free(struct db_pool *pool)
{
	if (!pool)
		return;
	for (int i = 0; i < pool->size; i++)
		db_conn_free(pool->conns[i]);
	free(pool->conns);
	free(pool->idle);
	free(pool->database_url);
	pthread_mutex_destroy(&pool->lock);
	pthread_cond_destroy(&pool->freed);
	free(pool);
}

static int pool_slot_of(const struct db_pool *pool, const struct db_conn *conn)
{
	for (int i = 0; i < pool->size; i++)
		if (pool->conns[i] == conn)
			return i;
	return -1;
}

/* Take a free slot index, waiting until the deadline. -1 on time-out. */
static int pool_take_slot(struct db_pool *pool, int timeout_ms)
{
	struct timespec deadline;
	int slot = -1;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += timeout_ms / 1000;
	deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&pool->lock);
	pool->n_waiting++;
	while (pool->n_idle == 0) {
		if (pthread_cond_timedwait(&pool->freed, &pool->lock, &deadline) == ETIMEDOUT)
			break;
	}
	pool->n_waiting--;
	if (pool->n_idle > 0)
		slot = pool->idle[--pool->n_idle];
	else
		pool->timeouts++;
	pthread_mutex_unlock(&pool->lock);
	return slot;
}

static void pool_put_slot(struct db_pool *pool, int slot)
{
	pthread_mutex_lock(&pool->lock);
	pool->idle[pool->n_idle++] = slot;
	pthread_cond_signal(&pool->freed);
	pthread_mutex_unlock(&pool->lock);
}

/* DB_REPLICA: 1 while a recent failure says not to try the server yet. */
static int pool_resting(struct db_pool *pool)
{
	pthread_mutex_lock(&pool->lock);
	int resting = pool->down_until > time(NULL);
	pthread_mutex_unlock(&pool->lock);
	return resting;
}

static void pool_mark_down(struct db_pool *pool)
{
	pthread_mutex_lock(&pool->lock);
	pool->down_until = time(NULL) + DB_REPLICA_RETRY_S;
	pthread_mutex_unlock(&pool->lock);
}

/*
 * DB_REPLICA: an idle connection has nothing to read unless the server went
 * away (its goodbye, or the end of the stream). Anything there: reconnect now,
 * rather than let the next statement fail on it.
 */
static int conn_looks_lost(const struct db_conn *conn)
{
	struct pollfd pfd = {.fd = PQsocket(conn->pg), .events = POLLIN};
	return PQstatus(conn->pg) != CONNECTION_OK || pfd.fd < 0 || poll(&pfd, 1, 0) != 0;
}

enum app_err db_pool_acquire(struct db_pool *pool, int timeout_ms, struct db_conn **out)
{
	enum app_err err = APP_OK;
	int slot;

	*out = NULL;
	if ((pool->flags & DB_REPLICA) && pool_resting(pool))
		return APP_ERR_UNAVAILABLE;
	if (timeout_ms == DB_POOL_WAIT)
		timeout_ms = pool->timeout_ms;
	slot = pool_take_slot(pool, timeout_ms);

	*out = NULL;
	if (slot < 0) {
		log_warn("database: no pooled connection free within %d ms", timeout_ms);
		return APP_ERR_UNAVAILABLE;
	}
	/* Connection work happens outside the pool lock: the slot is ours alone. */
	if (!pool->conns[slot]) {
		err = conn_open(pool->database_url, pool->timeout_ms, pool->flags,
				&pool->conns[slot]);
		if (err == APP_OK)
			pool->conns[slot]->errors = pool->errors;
	} else if (PQstatus(pool->conns[slot]->pg) != CONNECTION_OK ||
		   ((pool->flags & DB_REPLICA) && conn_looks_lost(pool->conns[slot]))) {
		err = conn_reset(pool->conns[slot]);
	}
	if (err != APP_OK) {
		/* No statement ran, so check_result did not count it: a connect failure. */
		atomic_fetch_add_explicit(&pool->errors[err], 1, memory_order_relaxed);
		if (pool->flags & DB_REPLICA)
			pool_mark_down(pool);
		pool_put_slot(pool, slot);
		return err;
	}
	pool->conns[slot]->failed_since_acquire = 0;
	*out = pool->conns[slot];
	return APP_OK;
}

void db_pool_release(struct db_pool *pool, struct db_conn *conn)
{
	if (!conn)
		return;
	int slot = pool_slot_of(pool, conn);
	if (slot < 0) {
		log_error("database: released a connection that is not the pool's");
		return;
	}
	/* A handler that bailed out mid-transaction must not leak it to the next request. */
	db_rollback(conn);
	pool_put_slot(pool, slot);
}

static unsigned long pool_sum(struct db_pool *pool, int round_trips)
{
	unsigned long total = 0;
	pthread_mutex_lock(&pool->lock);
	for (int i = 0; i < pool->size; i++)
		if (pool->conns[i])
			total += round_trips ? pool->conns[i]->round_trips
					     : pool->conns[i]->statements;
	pthread_mutex_unlock(&pool->lock);
	return total;
}

unsigned long db_pool_statement_count(struct db_pool *pool)
{
	return pool_sum(pool, 0);
}

unsigned long db_pool_round_trip_count(struct db_pool *pool)
{
	return pool_sum(pool, 1);
}

void db_pool_stats(struct db_pool *pool, struct db_pool_stats *out)
{
	pthread_mutex_lock(&pool->lock);
	out->size = pool->size;
	out->idle = pool->n_idle;
	out->in_use = pool->size - pool->n_idle;
	out->waiting = pool->n_waiting;
	out->timeouts = pool->timeouts;
	pthread_mutex_unlock(&pool->lock);
	for (int i = 0; i < DB_ERROR_KINDS; i++)
		out->errors[i] = atomic_load_explicit(&pool->errors[i], memory_order_relaxed);
}

enum app_err db_pool_ping(struct db_pool *pool)
{
	struct db_conn *conn = NULL;
	enum app_err err = db_pool_acquire(pool, DB_POOL_WAIT, &conn);
	if (err == APP_OK)
		err = db_exec(conn, SQL_PING, 0, NULL, NULL);
	db_pool_release(pool, conn);
	return err;
}

int db_lsn_is_valid(const char *lsn)
{
	/* pg_lsn's text form: 1 to 8 hex digits, '/', 1 to 8 hex digits. */
	static const char HEX[] = "0123456789abcdefABCDEF";
	size_t high = lsn ? strspn(lsn, HEX) : 0;
	if (high < 1 || high > 8 || lsn[high] != '/')
		return 0;
	size_t low = strspn(lsn + high + 1, HEX);
	return low >= 1 && low <= 8 && lsn[high + 1 + low] == '\0';
}

enum app_err db_pool_primary_lsn(struct db_pool *pool, char lsn[DB_LSN_SIZE])
{
	struct db_conn *conn = NULL;
	PGresult *res = NULL;
	enum app_err err = db_pool_acquire(pool, DB_POOL_WAIT, &conn);
	if (err == APP_OK)
		err = db_exec(conn, SQL_PRIMARY_LSN, 0, NULL, &res);
	if (err == APP_OK)
		snprintf(lsn, DB_LSN_SIZE, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	db_pool_release(pool, conn);
	return err;
}

int db_replayed(struct db_conn *conn, const char *lsn)
{
	PGresult *res = NULL;
	const char *params[] = {lsn};
	int replayed = 0;
	if (db_lsn_is_valid(lsn) && db_exec(conn, SQL_REPLAYED, 1, params, &res) == APP_OK)
		replayed = !strcmp(PQgetvalue(res, 0, 0), "1");
	PQclear(res);
	return replayed;
}

void db_like_pattern(struct strbuf *sb, const char *text)
{
	strbuf_addch(sb, '%');
	for (const char *p = text; *p; p++) {
		if (*p == '\\' || *p == '%' || *p == '_')
			strbuf_addch(sb, '\\');
		strbuf_addch(sb, *p);
	}
	strbuf_addch(sb, '%');
}

void db_text_array_literal(struct strbuf *sb, const char *const *texts, size_t n)
{
	strbuf_addch(sb, '{');
	for (size_t i = 0; i < n; i++) {
		if (i)
			strbuf_addch(sb, ',');
		strbuf_addch(sb, '"');
		for (const char *p = texts[i]; *p; p++) {
			if (*p == '"' || *p == '\\')
				strbuf_addch(sb, '\\');
			strbuf_addch(sb, *p);
		}
		strbuf_addch(sb, '"');
	}
	strbuf_addch(sb, '}');
}
