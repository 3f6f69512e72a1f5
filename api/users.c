/*
 * Users and tokens: register, token pair, refresh (rotation with reuse
 * detection), verify, blacklist, logout-all, me, sessions, password change,
 * reset and reset confirm, the JWK set. Handlers parse with serializers/,
 * query through models/ and auth/, and answer here.
 */
#include "api/users.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/ratelimit.h"
#include "auth/password.h"
#include "auth/reset.h"
#include "auth/token.h"
#include "core/config.h"
#include "core/log.h"
#include "core/metrics.h"
#include "models/email.h"
#include "models/profile.h"
#include "models/reset.h"
#include "models/session.h"
#include "models/throttle.h"
#include "models/user.h"
#include "serializers/password.h"
#include "serializers/profile.h"
#include "serializers/user.h"

static const char NO_ACCOUNT[] = "No active account found with the given credentials";
static const char BLACKLISTED[] = "Token is blacklisted";
static const char RESET_SENT[] =
	"If an account with that email exists, a password reset email has been sent.";

static long now_seconds(void)
{
	return (long)time(NULL);
}

static void reply_token_error(struct http_ctx *ctx, const char *detail)
{
	http_reply_error(ctx, 401, "token_not_valid", detail);
}

/* The user with profile as users/me and register answer; new reference or NULL. */
static json_t *user_with_profile(struct db_conn *conn, const struct user *user)
{
	struct profile_rows rows;
	const char *ids[] = {user->profile_id};
	json_t *j = NULL;
	if (profile_fetch(conn, ids, 1, &rows) != APP_OK)
		return NULL;
	if (PQntuples(rows.profiles) == 1)
		j = user_to_json(user, profile_to_json(&rows, 0, 1));
	profile_rows_clear(&rows);
	return j;
}

/* Password validators: {field: [...]} into j_errors when the password fails. */
static void validate_new_password(const char *password, const char *username, const char *email,
				  const char *field, json_t *j_errors)
{
	json_t *j_messages = json_array();
	if (password_validate(password, username, email, j_messages))
		json_object_set(j_errors, field, j_messages);
	json_decref(j_messages);
}

static void post_register(struct http_ctx *ctx)
{
	struct app *app = ctx->app;
	char *values[REG_FIELDS] = {0};
	struct db_conn *conn = NULL;
	struct user user = {0};
	json_t *j_body, *j_errors = NULL, *j_user = NULL;
	char *hash = NULL, *location = NULL;
	const char *conflict = NULL;
	int username_taken = 0, email_taken = 0;
	enum app_err err;

	if (http_json_object_or_reply(ctx, &j_body))
		return;
	j_errors = registration_read(j_body, values);
	if ((values[REG_USERNAME] || values[REG_EMAIL])) {
		err = db_pool_acquire(app->pool, DB_POOL_WAIT, &conn);
		if (err == APP_OK)
			err = user_taken(conn, values[REG_USERNAME], values[REG_EMAIL],
					 &username_taken, &email_taken);
		db_pool_release(app->pool, conn);
		conn = NULL;
		if (err != APP_OK)
			goto fail;
	}
	if (username_taken)
		field_error(j_errors, "username", "A user with that username already exists.");
	if (email_taken)
		field_error(j_errors, "email", "A user with that email already exists.");
	/* As DRF: the password rules run only once every field is valid on its own. */
	if (json_object_size(j_errors) == 0)
		validate_new_password(values[REG_PASSWORD], values[REG_USERNAME], values[REG_EMAIL],
				      "password", j_errors);
	if (http_reply_if_errors(ctx, j_errors)) {
		j_errors = NULL;
		goto out;
	}
	j_errors = NULL;
	/* Hash before borrowing a connection: hashing is the slow part. */
	hash = password_hash(app->hasher, values[REG_PASSWORD], strlen(values[REG_PASSWORD]));
	if (!hash) {
		err = APP_ERR_INTERNAL;
		goto fail;
	}
	const char *name =
		values[REG_NAME] && *values[REG_NAME] ? values[REG_NAME] : values[REG_USERNAME];
	if ((err = db_pool_acquire(app->pool, DB_POOL_WAIT, &conn)) != APP_OK ||
	    (err = db_begin(conn)) != APP_OK)
		goto fail;
	err = user_create(conn, values[REG_USERNAME], values[REG_EMAIL], hash, name, 0, &user,
			  &conflict);
	if (err == APP_ERR_CONFLICT) {
		/* Lost a race with a registration of the same name or email. */
		db_rollback(conn);
		j_errors = json_object();
		field_error(j_errors, conflict,
			    !strcmp(conflict, "email")
				    ? "A user with that email already exists."
				    : "A user with that username already exists.");
		http_reply_validation(ctx, j_errors);
		j_errors = NULL;
		goto out;
	}
	if (err != APP_OK)
		goto fail;
	struct strbuf body = STRBUF_INIT;
	strbuf_addf(&body, "Hi %s, welcome to DevSearch! Your username is %s.\n", user.name,
		    user.username);
	err = email_enqueue(conn, user.email, "Welcome to DevSearch", strbuf_str(&body), "welcome");
	strbuf_release(&body);
	if (err != APP_OK || (err = db_commit(conn)) != APP_OK)
		goto fail;
	metrics_count(ctx->app->metrics, METRIC_EMAILS_QUEUED);
	j_user = user_with_profile(conn, &user);
	if (!j_user) {
		err = APP_ERR_INTERNAL;
		goto fail;
	}
	struct strbuf path = STRBUF_INIT;
	strbuf_addf(&path, "/api/profiles/%s", user.profile_id);
	location = http_absolute_url(ctx, strbuf_str(&path));
	strbuf_release(&path);
	http_set_header(ctx, "Location", location);
	http_reply_json(ctx, 201, j_user);
	goto out;
fail:
	http_reply_app_error(ctx, err);
out:
	if (conn)
		db_pool_release(app->pool, conn);
	json_decref(j_errors);
	fields_release(values, REG_FIELDS);
	user_release(&user);
	free(hash);
	free(location);
}

/*
 * 200 with a token pair. Credentials must not be kept by a browser or proxy
 * cache (RFC 6749 5.1 asks the same of OAuth token responses).
 */
static void reply_token_pair(struct http_ctx *ctx, const char *access, const char *refresh)
{
	http_set_header(ctx, "Cache-Control", "no-store");
	http_set_header(ctx, "Pragma", "no-cache");
	http_reply_json(ctx, 200, json_pack("{s:s,s:s}", "access", access, "refresh", refresh));
}

/* Start a session for user and answer with a new pair; the caller's transaction is open. */
static enum app_err login_reply(struct http_ctx *ctx, struct db_conn *conn, const struct user *user)
{
	char session_id[37], ip[64];
	char *access = NULL, *refresh = NULL;
	const char *agent = http_header(ctx, "User-Agent");
	enum app_err err;

	http_client_ip(ctx, ip);
	err = session_create(conn, user->id, agent ? agent : "", ip, session_id);
	if (err == APP_OK)
		err = auth_issue_pair(ctx->app, conn, user, session_id, NULL, &access, &refresh);
	if (err == APP_OK)
		err = user_touch_login(conn, user->id);
	if (err == APP_OK)
		err = db_commit(conn);
	if (err == APP_OK)
		reply_token_pair(ctx, access, refresh);
	free(access);
	free(refresh);
	return err;
}

static void post_token(struct http_ctx *ctx)
{
	struct app *app = ctx->app;
	const struct config *cfg = app->cfg;
	char *values[LOGIN_FIELDS] = {0};
	struct db_conn *conn = NULL;
	struct user user = {0};
	struct throttle_state throttle;
	char ip[64];
	int needs_rehash = 0, found;
	json_t *j_body;
	enum app_err err;

	if (http_json_object_or_reply(ctx, &j_body))
		return;
	if (http_reply_if_errors(ctx, login_read(j_body, values)))
		goto out;
	http_client_ip(ctx, ip);
	const char *username = values[LOGIN_USERNAME], *password = values[LOGIN_PASSWORD];
	if ((err = db_pool_acquire(app->pool, DB_POOL_WAIT, &conn)) != APP_OK ||
	    (err = throttle_read(conn, username, ip, cfg->throttle_window, &throttle)) != APP_OK)
		goto fail;
	if (throttle.username_failures >= cfg->throttle_username ||
	    throttle.ip_failures >= cfg->throttle_ip) {
		long wait = throttle.username_failures >= cfg->throttle_username
				    ? throttle.username_retry_after
				    : 0;
		if (throttle.ip_failures >= cfg->throttle_ip && throttle.ip_retry_after > wait)
			wait = throttle.ip_retry_after;
		http_reply_throttled(ctx, wait);
		goto out;
	}
	err = user_find_by_username(conn, username, &user);
	if (err != APP_OK && err != APP_ERR_NOT_FOUND)
		goto fail;
	found = err == APP_OK;
	/* No connection is held while hashing; an unknown user costs one hash all the same. */
	db_pool_release(app->pool, conn);
	conn = NULL;
	int match = password_verify(app->hasher, found ? user.password : NULL, password,
				    strlen(password), &needs_rehash);
	if ((err = db_pool_acquire(app->pool, DB_POOL_WAIT, &conn)) != APP_OK)
		goto fail;
	if (!match || !user.is_active) {
		if ((err = throttle_record(conn, username, ip, cfg->throttle_window)) != APP_OK)
			goto fail;
		http_reply_error(ctx, 401, "no_active_account", NO_ACCOUNT);
		goto out;
	}
	if ((err = db_begin(conn)) != APP_OK || (err = throttle_clear(conn, username)) != APP_OK)
		goto fail;
	if (needs_rehash) {
		/* Stronger parameters than the stored hash's: upgrade it now, as Django does. */
		char *hash = password_hash(app->hasher, password, strlen(password));
		err = hash ? user_update_hash(conn, user.id, hash) : APP_ERR_INTERNAL;
		free(hash);
		if (err != APP_OK)
			goto fail;
	}
	if ((err = login_reply(ctx, conn, &user)) != APP_OK)
		goto fail;
	goto out;
fail:
	http_reply_app_error(ctx, err);
out:
	if (conn)
		db_pool_release(app->pool, conn);
	fields_release(values, LOGIN_FIELDS);
	user_release(&user);
}

/*
 * Decode the refresh token of a body field; replies and returns -1 on any
 * problem (400 missing, 401 invalid or wrong type).
 */
static int refresh_claims_or_reply(struct http_ctx *ctx, const char *field,
				   struct token_claims *claims)
{
	json_t *j_body;
	char *token = NULL;
	int ret = -1;

	if (http_json_object_or_reply(ctx, &j_body))
		return -1;
	if (http_reply_if_errors(ctx, token_field_read(j_body, field, &token)))
		goto out;
	enum token_result result =
		token_decode(ctx->app->keys, token, TOKEN_REFRESH, now_seconds(), claims);
	if (result != TOKEN_VALID) {
		reply_token_error(ctx, token_result_message(result));
		goto out;
	}
	ret = 0;
out:
	free(token);
	return ret;
}

/*
 * Decode the body's refresh token, open a transaction on a borrowed connection
 * and lock the token's row. Returns 0 with *conn (in the transaction) and
 * *state for a live token. Otherwise replies and returns -1, *conn released: a
 * rotated token presented again first ends its whole login (reuse detection).
 * A valid token we never recorded is adopted first (refresh_adopt()).
 */
static int lock_live_refresh_or_reply(struct http_ctx *ctx, struct token_claims *claims,
				      struct db_conn **conn, struct refresh_state *state)
{
	struct app *app = ctx->app;
	enum app_err err;

	*conn = NULL;
	if (refresh_claims_or_reply(ctx, "refresh", claims))
		return -1;
	if ((err = db_pool_acquire(app->pool, DB_POOL_WAIT, conn)) != APP_OK ||
	    (err = db_begin(*conn)) != APP_OK)
		goto fail;
	/* Row lock: of two concurrent uses of one token, exactly one goes on. */
	err = refresh_lock(*conn, claims->jti, state);
	if (err == APP_ERR_NOT_FOUND) {
		/*
		 * Signed with our key but never recorded: the Django version issued
		 * it. Adopt it as SimpleJWT does at first sight, then lock it. Still
		 * not found: its user is gone, inactive, or logged out since iat. A
		 * concurrent first use that won is found rotated or revoked here.
		 */
		err = refresh_adopt(*conn, claims->jti, claims->user_id, claims->iat, claims->exp);
		if (err == APP_OK)
			err = refresh_lock(*conn, claims->jti, state);
	}
	if (err == APP_ERR_NOT_FOUND) {
		reply_token_error(ctx, token_result_message(TOKEN_INVALID));
		goto out;
	}
	if (err != APP_OK)
		goto fail;
	/*
	 * rotated counts as dead on its own: a refresh that waited on this row lock
	 * sees the winner's rotated_at (the locked row is re-read) but not its
	 * blacklist row (the join keeps the statement's snapshot).
	 */
	if (!state->blacklisted && !state->session_revoked && !state->rotated)
		return 0;
	if (state->rotated && !state->session_revoked) {
		/* A rotated token came back: stolen or replayed. End its whole login. */
		log_warn("auth: refresh token reuse for user %s; session %s revoked",
			 state->user_id, state->session_id);
		if ((err = session_revoke(*conn, state->session_id)) != APP_OK ||
		    (err = db_commit(*conn)) != APP_OK)
			goto fail;
		metrics_count(app->metrics, METRIC_TOKEN_REUSE);
	}
	reply_token_error(ctx, BLACKLISTED);
	goto out;
fail:
	http_reply_app_error(ctx, err);
out:
	db_pool_release(app->pool, *conn);
	*conn = NULL;
	return -1;
}

static void post_refresh(struct http_ctx *ctx)
{
	struct app *app = ctx->app;
	struct token_claims claims;
	struct refresh_state state;
	struct db_conn *conn = NULL;
	struct user user = {0};
	char *access = NULL, *refresh = NULL, ip[64];
	const char *agent = http_header(ctx, "User-Agent");
	enum app_err err;

	if (lock_live_refresh_or_reply(ctx, &claims, &conn, &state))
		return;
	err = user_find_by_id(conn, state.user_id, &user);
	if (err == APP_ERR_NOT_FOUND || (err == APP_OK && !user.is_active)) {
		reply_token_error(ctx, token_result_message(TOKEN_INVALID));
		goto out;
	}
	http_client_ip(ctx, ip);
	if (err != APP_OK || (err = refresh_blacklist(conn, claims.jti, 1)) != APP_OK ||
	    (err = auth_issue_pair(app, conn, &user, state.session_id, claims.jti, &access,
				   &refresh)) != APP_OK ||
	    (err = session_touch(conn, state.session_id, agent ? agent : "", ip)) != APP_OK ||
	    (err = db_commit(conn)) != APP_OK)
		goto fail;
	metrics_count(app->metrics, METRIC_TOKEN_ROTATIONS);
	reply_token_pair(ctx, access, refresh);
	goto out;
fail:
	http_reply_app_error(ctx, err);
out:
	db_pool_release(app->pool, conn);
	user_release(&user);
	free(access);
	free(refresh);
}

static void post_verify(struct http_ctx *ctx)
{
	struct app *app = ctx->app;
	struct token_claims claims;
	struct db_conn *conn = NULL;
	struct user user = {0};
	json_t *j_body;
	char *token = NULL;
	int blacklisted = 0;
	enum app_err err;

	if (http_json_object_or_reply(ctx, &j_body))
		return;
	if (http_reply_if_errors(ctx, token_field_read(j_body, "token", &token)))
		goto out;
	/* Either type verifies; a wrong type for one is the right type for the other. */
	enum token_result result =
		token_decode(app->keys, token, TOKEN_ACCESS, now_seconds(), &claims);
	if (result == TOKEN_INVALID) {
		reply_token_error(ctx, token_result_message(result));
		goto out;
	}
	if ((err = db_pool_acquire(app->pool, DB_POOL_WAIT, &conn)) != APP_OK)
		goto fail;
	if (claims.type == TOKEN_REFRESH) {
		if ((err = refresh_is_blacklisted(conn, claims.jti, &blacklisted)) != APP_OK)
			goto fail;
		if (blacklisted) {
			reply_token_error(ctx, BLACKLISTED);
			goto out;
		}
	} else {
		/* An access token the API would refuse does not verify either. */
		err = user_find_by_id(conn, claims.user_id, &user);
		if (err != APP_OK && err != APP_ERR_NOT_FOUND)
			goto fail;
		if (err == APP_ERR_NOT_FOUND || !user.is_active ||
		    claims.iat < user.tokens_valid_after) {
			reply_token_error(ctx, token_result_message(TOKEN_INVALID));
			goto out;
		}
	}
	http_reply_json(ctx, 200, json_object());
	goto out;
fail:
	http_reply_app_error(ctx, err);
out:
	db_pool_release(app->pool, conn);
	user_release(&user);
	free(token);
}

static void post_blacklist(struct http_ctx *ctx)
{
	struct token_claims claims;
	struct refresh_state state;
	struct db_conn *conn = NULL;
	enum app_err err;

	if (lock_live_refresh_or_reply(ctx, &claims, &conn, &state))
		return;
	/* Logout ends the login this token belongs to. */
	if ((err = session_revoke(conn, state.session_id)) == APP_OK)
		err = db_commit(conn);
	if (err == APP_OK)
		http_reply_json(ctx, 200, json_object());
	else
		http_reply_app_error(ctx, err);
	db_pool_release(ctx->app->pool, conn);
}

/* Run one write on the caller's behalf in a transaction and answer 200 {}. */
static void post_logout_all(struct http_ctx *ctx)
{
	struct db_conn *conn = NULL;
	enum app_err err = db_pool_acquire(ctx->app->pool, DB_POOL_WAIT, &conn);
	if (err == APP_OK && (err = db_begin(conn)) == APP_OK &&
	    (err = user_revoke_tokens(conn, ctx->user.id)) == APP_OK)
		err = db_commit(conn);
	if (err == APP_OK)
		http_reply_json(ctx, 200, json_object());
	else
		http_reply_app_error(ctx, err);
	db_pool_release(ctx->app->pool, conn);
}

static void get_me(struct http_ctx *ctx)
{
	struct db_conn *conn = NULL;
	struct profile_rows rows = {0};
	const char *ids[] = {ctx->user.profile_id};
	enum app_err err = db_pool_acquire(ctx->app->pool, DB_POOL_WAIT, &conn);
	if (err == APP_OK)
		err = profile_fetch(conn, ids, 1, &rows);
	db_pool_release(ctx->app->pool, conn);
	/* Deleted between the access check and now. */
	if (err == APP_OK && PQntuples(rows.profiles) != 1)
		err = APP_ERR_NOT_FOUND;
	if (err == APP_OK)
		http_reply_json(
			ctx, 200,
			user_from_profile_to_json(ctx->user.id, ctx->user.is_staff, &rows, 0));
	else
		http_reply_app_error(ctx, err);
	profile_rows_clear(&rows);
}

static void get_sessions(struct http_ctx *ctx)
{
	struct db_conn *conn = NULL;
	struct session_row *rows = NULL;
	size_t n = 0;
	enum app_err err = db_pool_acquire(ctx->app->pool, DB_POOL_WAIT, &conn);
	if (err == APP_OK)
		err = sessions_list(conn, ctx->user.id, ctx->user.jti, &rows, &n);
	if (err == APP_OK) {
		json_t *j_list = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append_new(j_list,
					      json_pack("{s:s,s:s,s:s,s:s,s:s,s:b}", "id",
							rows[i].id, "created", rows[i].created,
							"last_used", rows[i].last_used,
							"user_agent", rows[i].user_agent, "ip",
							rows[i].ip, "current", rows[i].current));
		http_reply_json(ctx, 200, j_list);
	} else {
		http_reply_app_error(ctx, err);
	}
	sessions_free(rows, n);
	db_pool_release(ctx->app->pool, conn);
}

static void delete_session(struct http_ctx *ctx)
{
	struct db_conn *conn = NULL;
	enum app_err err = db_pool_acquire(ctx->app->pool, DB_POOL_WAIT, &conn);
	if (err == APP_OK && (err = db_begin(conn)) == APP_OK &&
	    (err = session_revoke_owned(conn, ctx->user.id, http_param(ctx, 0))) == APP_OK)
		err = db_commit(conn);
	if (err == APP_OK)
		http_reply_no_content(ctx);
	else
		http_reply_app_error(ctx, err);
	db_pool_release(ctx->app->pool, conn);
}

static void post_password_change(struct http_ctx *ctx)
{
	struct app *app = ctx->app;
	char *values[CHANGE_FIELDS] = {0};
	struct db_conn *conn = NULL;
	struct user user = {0};
	json_t *j_body, *j_errors = NULL;
	char *hash = NULL;
	enum app_err err;

	if (http_json_object_or_reply(ctx, &j_body))
		return;
	j_errors = password_change_read(j_body, values);
	err = db_pool_acquire(app->pool, DB_POOL_WAIT, &conn);
	if (err == APP_OK)
		err = user_find_by_id(conn, ctx->user.id, &user);
	db_pool_release(app->pool, conn);
	conn = NULL;
	if (err != APP_OK)
		goto fail;
	if (values[CHANGE_OLD] && !password_verify(app->hasher, user.password, values[CHANGE_OLD],
						   strlen(values[CHANGE_OLD]), NULL))
		field_error(j_errors, "old_password",
			    "Your old password was entered incorrectly. Please enter it again.");
	if (values[CHANGE_NEW])
		validate_new_password(values[CHANGE_NEW], user.username, user.email, "new_password",
				      j_errors);
	if (http_reply_if_errors(ctx, j_errors)) {
		j_errors = NULL;
		goto out;
	}
	j_errors = NULL;
	if (!(hash = password_hash(app->hasher, values[CHANGE_NEW], strlen(values[CHANGE_NEW])))) {
		err = APP_ERR_INTERNAL;
		goto fail;
	}
	if ((err = db_pool_acquire(app->pool, DB_POOL_WAIT, &conn)) != APP_OK ||
	    (err = db_begin(conn)) != APP_OK ||
	    (err = user_change_password(conn, user.id, hash)) != APP_OK ||
	    (err = db_commit(conn)) != APP_OK)
		goto fail;
	http_reply_json(ctx, 200, json_object());
	goto out;
fail:
	http_reply_app_error(ctx, err);
out:
	db_pool_release(app->pool, conn);
	json_decref(j_errors);
	fields_release(values, CHANGE_FIELDS);
	user_release(&user);
	free(hash);
}

/* Queue the reset email for user; the caller's transaction is open. */
static enum app_err queue_reset_email(struct http_ctx *ctx, struct db_conn *conn,
				      const struct user *user)
{
	char token[RESET_TOKEN_SIZE], digest[65];
	long now = now_seconds();
	char *uid = reset_uid_encode(user->id);
	struct strbuf body = STRBUF_INIT;
	enum app_err err;

	reset_token_make(ctx->app->keys, user, now, token);
	reset_token_digest(token, digest);
	err = reset_record(conn, user->id, digest, now + ctx->app->cfg->password_reset_timeout);
	strbuf_addf(&body,
		    "Someone asked to reset the password of your DevSearch account.\n\n"
		    "POST /api/users/password/reset/confirm with\n"
		    "{\"uid\": \"%s\", \"token\": \"%s\", \"new_password\": \"...\"}\n\n"
		    "uid: %s\ntoken: %s\n",
		    uid, token, uid, token);
	if (err == APP_OK)
		err = email_enqueue(conn, user->email, "DevSearch password reset",
				    strbuf_str(&body), "password_reset");
	strbuf_release(&body);
	free(uid);
	explicit_bzero(token, sizeof(token));
	return err;
}

static void post_password_reset(struct http_ctx *ctx)
{
	struct db_conn *conn = NULL;
	struct user user = {0};
	json_t *j_body;
	char *email = NULL;
	int queued = 0;
	enum app_err err;

	if (http_json_object_or_reply(ctx, &j_body))
		return;
	if (http_reply_if_errors(ctx, password_reset_read(j_body, &email)))
		goto out;
	if ((err = db_pool_acquire(ctx->app->pool, DB_POOL_WAIT, &conn)) != APP_OK ||
	    (err = db_begin(conn)) != APP_OK)
		goto fail;
	err = user_find_by_email(conn, email, &user);
	if (err == APP_OK && (err = queue_reset_email(ctx, conn, &user)) == APP_OK)
		queued = 1;
	/* The same answer whether or not the address is known: no account enumeration. */
	if (err == APP_ERR_NOT_FOUND)
		err = APP_OK;
	if (err != APP_OK || (err = db_commit(conn)) != APP_OK)
		goto fail;
	if (queued)
		metrics_count(ctx->app->metrics, METRIC_EMAILS_QUEUED);
	http_reply_json(ctx, 200, json_pack("{s:s}", "detail", RESET_SENT));
	goto out;
fail:
	http_reply_app_error(ctx, err);
out:
	db_pool_release(ctx->app->pool, conn);
	user_release(&user);
	free(email);
}

static void post_password_confirm(struct http_ctx *ctx)
{
	struct app *app = ctx->app;
	char *values[CONFIRM_FIELDS] = {0};
	struct db_conn *conn = NULL;
	struct user user = {0};
	json_t *j_body, *j_errors = NULL;
	char user_id[37], digest[65];
	char *hash = NULL;
	enum app_err err = APP_OK;

	if (http_json_object_or_reply(ctx, &j_body))
		return;
	j_errors = password_confirm_read(j_body, values);
	if (json_object_size(j_errors) == 0) {
		/* The uid first; the token is only looked at for a real user. */
		if (!reset_uid_decode(values[CONFIRM_UID], user_id)) {
			err = APP_ERR_NOT_FOUND;
		} else if ((err = db_pool_acquire(app->pool, DB_POOL_WAIT, &conn)) == APP_OK) {
			err = user_find_by_id(conn, user_id, &user);
			db_pool_release(app->pool, conn);
			conn = NULL;
		}
		if (err == APP_ERR_NOT_FOUND)
			field_error(j_errors, "uid", "Invalid value.");
		else if (err != APP_OK)
			goto fail;
		else if (!reset_token_check(app->keys, &user, values[CONFIRM_TOKEN], now_seconds(),
					    app->cfg->password_reset_timeout))
			field_error(j_errors, "token", "Invalid or expired token.");
		else
			validate_new_password(values[CONFIRM_PASSWORD], user.username, user.email,
					      "new_password", j_errors);
	}
	if (http_reply_if_errors(ctx, j_errors)) {
		j_errors = NULL;
		goto out;
	}
	j_errors = NULL;
	if (!(hash = password_hash(app->hasher, values[CONFIRM_PASSWORD],
				   strlen(values[CONFIRM_PASSWORD])))) {
		err = APP_ERR_INTERNAL;
		goto fail;
	}
	reset_token_digest(values[CONFIRM_TOKEN], digest);
	if ((err = db_pool_acquire(app->pool, DB_POOL_WAIT, &conn)) != APP_OK ||
	    (err = db_begin(conn)) != APP_OK)
		goto fail;
	err = reset_use(conn, user.id, digest);
	if (err == APP_ERR_NOT_FOUND) {
		db_rollback(conn);
		j_errors = json_object();
		field_error(j_errors, "token", "Invalid or expired token.");
		http_reply_validation(ctx, j_errors);
		j_errors = NULL;
		goto out;
	}
	if (err != APP_OK || (err = user_change_password(conn, user.id, hash)) != APP_OK ||
	    (err = db_commit(conn)) != APP_OK)
		goto fail;
	http_reply_json(ctx, 200, json_object());
	goto out;
fail:
	http_reply_app_error(ctx, err);
out:
	db_pool_release(app->pool, conn);
	json_decref(j_errors);
	fields_release(values, CONFIRM_FIELDS);
	user_release(&user);
	free(hash);
}

static void get_jwks(struct http_ctx *ctx)
{
	http_reply_json(ctx, 200, token_keys_jwks(ctx->app->keys));
}

static const struct route users_table[] = {
	{"GET", "/api/.well-known/jwks.json", get_jwks, ROUTE_NO_AUTH},
	{"POST", "/api/users/register", post_register, ROUTE_PUBLIC},
	{"POST", "/api/users/token", post_token, ROUTE_NO_AUTH | ROUTE_KEEPS_CACHE},
	{"POST", "/api/users/token/refresh", post_refresh, ROUTE_NO_AUTH | ROUTE_KEEPS_CACHE},
	{"POST", "/api/users/token/verify", post_verify, ROUTE_NO_AUTH | ROUTE_KEEPS_CACHE},
	{"POST", "/api/users/token/blacklist", post_blacklist, ROUTE_NO_AUTH | ROUTE_KEEPS_CACHE},
	{"POST", "/api/users/logout-all", post_logout_all, ROUTE_LOGIN | ROUTE_KEEPS_CACHE},
	{"GET", "/api/users/me", get_me, ROUTE_LOGIN},
	{"GET", "/api/users/sessions", get_sessions, ROUTE_LOGIN},
	{"DELETE", "/api/users/sessions/{id}", delete_session, ROUTE_LOGIN | ROUTE_KEEPS_CACHE},
	{"POST", "/api/users/password/change", post_password_change,
	 ROUTE_LOGIN | ROUTE_KEEPS_CACHE},
	{"POST", "/api/users/password/reset", post_password_reset,
	 ROUTE_NO_AUTH | ROUTE_KEEPS_CACHE},
	{"POST", "/api/users/password/reset/confirm", post_password_confirm,
	 ROUTE_NO_AUTH | ROUTE_KEEPS_CACHE},
};

void users_routes(struct router *router)
{
	router_add(router, users_table, sizeof(users_table) / sizeof(users_table[0]));
}
