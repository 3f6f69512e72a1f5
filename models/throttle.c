/* login_failures in SQL; see throttle.h. */
#include "models/throttle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char SQL_READ[] =
	"SELECT scope, count(*), "
	"ceil(extract(epoch FROM min(failed_at) + make_interval(secs => $3::bigint) - "
	"now()))::bigint "
	"FROM login_failures WHERE ((scope = 'username' AND key = lower($1)) OR "
	"(scope = 'ip' AND key = $2)) AND failed_at > now() - make_interval(secs => $3::bigint) "
	"GROUP BY scope";
static const char SQL_RECORD[] =
	"INSERT INTO login_failures (scope, key) VALUES ('username', lower($1)), ('ip', $2)";
static const char SQL_PRUNE[] =
	"DELETE FROM login_failures WHERE ((scope = 'username' AND key = lower($1)) OR "
	"(scope = 'ip' AND key = $2)) AND failed_at <= now() - make_interval(secs => $3::bigint)";
static const char SQL_CLEAR[] =
	"DELETE FROM login_failures WHERE scope = 'username' AND key = lower($1)";

enum app_err throttle_read(struct db_conn *conn, const char *username, const char *ip, long window,
			   struct throttle_state *out)
{
	PGresult *res = NULL;
	char window_text[24];
	snprintf(window_text, sizeof(window_text), "%ld", window);
	const char *params[] = {username, ip, window_text};
	enum app_err err = db_exec(conn, SQL_READ, 3, params, &res);

	memset(out, 0, sizeof(*out));
	if (err == APP_OK) {
		for (int i = 0; i < PQntuples(res); i++) {
			long count = atol(PQgetvalue(res, i, 1));
			long retry = atol(PQgetvalue(res, i, 2));
			if (retry < 1)
				retry = 1;
			if (!strcmp(PQgetvalue(res, i, 0), "username")) {
				out->username_failures = count;
				out->username_retry_after = retry;
			} else {
				out->ip_failures = count;
				out->ip_retry_after = retry;
			}
		}
	}
	PQclear(res);
	return err;
}

enum app_err throttle_record(struct db_conn *conn, const char *username, const char *ip,
			     long window)
{
	char window_text[24];
	snprintf(window_text, sizeof(window_text), "%ld", window);
	const char *params[] = {username, ip, window_text};
	enum app_err err = db_exec(conn, SQL_PRUNE, 3, params, NULL);
	if (err == APP_OK)
		err = db_exec(conn, SQL_RECORD, 2, params, NULL);
	return err;
}

enum app_err throttle_clear(struct db_conn *conn, const char *username)
{
	const char *params[] = {username};
	return db_exec(conn, SQL_CLEAR, 1, params, NULL);
}
