/*
 * Skills: create one on the caller's profile; change or delete one as its
 * owner or a staff user. Permissions, status codes and the order of checks
 * (404, then 403, then the body, as DRF) live here; SQL is in
 * models/skill.c, JSON and validation in serializers/skill.c.
 */
#include "api/skills.h"

#include <stdlib.h>
#include <string.h>

#include "models/skill.h"
#include "serializers/fields.h"
#include "serializers/skill.h"

static void reply_name_taken(struct http_ctx *ctx)
{
	http_reply_validation(ctx, json_pack("{s:[s]}", "name", SKILL_NAME_TAKEN));
}

/*
 * Validate the body for owner_id's skill (except_id: the skill being
 * changed, or NULL) in the caller's transaction. Returns APP_OK with the
 * values read, or APP_OK with *replied set after a 400, or an error.
 */
static enum app_err read_skill_or_reply(struct http_ctx *ctx, struct db_conn *conn,
					const char *owner_id, const char *except_id, int partial,
					char **values, int *replied)
{
	json_t *j_body, *j_errors;
	int taken = 0;
	enum app_err err = APP_OK;

	*replied = 0;
	if (http_json_object_or_reply(ctx, &j_body)) {
		*replied = 1;
		return APP_OK;
	}
	j_errors = skill_read(j_body, partial, values);
	if (values[SKILL_NAME])
		err = skill_name_taken(conn, owner_id, values[SKILL_NAME], except_id, &taken);
	if (taken)
		field_error(j_errors, "name", SKILL_NAME_TAKEN);
	if (err == APP_OK && json_object_size(j_errors)) {
		http_reply_validation(ctx, json_incref(j_errors));
		*replied = 1;
	}
	json_decref(j_errors);
	return err;
}

static void post_skill(struct http_ctx *ctx)
{
	char *values[SKILL_FIELDS] = {0};
	struct db_conn *conn = NULL;
	PGresult *res = NULL;
	char *location = NULL;
	int replied;
	enum app_err err;

	if (http_db_or_reply(ctx, &conn))
		return;
	if ((err = db_begin(conn)) != APP_OK ||
	    (err = read_skill_or_reply(ctx, conn, ctx->user.profile_id, NULL, 0, values,
				       &replied)) != APP_OK)
		goto fail;
	if (replied)
		goto out;
	err = skill_insert(conn, ctx->user.profile_id, values[SKILL_NAME],
			   values[SKILL_DESCRIPTION], &res);
	if (err == APP_ERR_CONFLICT) {
		/* The same name added meanwhile: the unique index says what the check said. */
		reply_name_taken(ctx);
		goto out;
	}
	if (err != APP_OK || (err = db_commit(conn)) != APP_OK)
		goto fail;
	struct strbuf path = STRBUF_INIT;
	strbuf_addf(&path, "/api/skills/%s", PQgetvalue(res, 0, 0));
	location = http_absolute_url(ctx, strbuf_str(&path));
	strbuf_release(&path);
	http_set_header(ctx, "Location", location);
	http_reply_json(ctx, 201, skill_to_json(res, 0));
	goto out;
fail:
	http_reply_app_error(ctx, err);
out:
	http_db_release(ctx, conn);
	PQclear(res);
	fields_release(values, SKILL_FIELDS);
	free(location);
}

/*
 * Lock the skill of the path in a new transaction and check the caller may
 * change it. On APP_OK *res is its row (caller PQclear()s).
 */
static enum app_err lock_own_skill(struct http_ctx *ctx, struct db_conn *conn, PGresult **res)
{
	enum app_err err = db_begin(conn);
	if (err == APP_OK)
		err = skill_lock(conn, http_param(ctx, 0), res);
	if (err != APP_OK)
		return err;
	if (!ctx->user.is_staff &&
	    strcmp(PQgetvalue(*res, 0, PQfnumber(*res, "owner_id")), ctx->user.profile_id)) {
		PQclear(*res);
		*res = NULL;
		return APP_ERR_FORBIDDEN;
	}
	return APP_OK;
}

static void update_skill(struct http_ctx *ctx, int partial)
{
	char *values[SKILL_FIELDS] = {0};
	struct db_conn *conn = NULL;
	PGresult *skill = NULL, *res = NULL;
	int replied;
	enum app_err err;

	if (http_db_or_reply(ctx, &conn))
		return;
	if ((err = lock_own_skill(ctx, conn, &skill)) != APP_OK)
		goto fail;
	const char *id = PQgetvalue(skill, 0, 0);
	const char *owner_id = PQgetvalue(skill, 0, PQfnumber(skill, "owner_id"));
	if ((err = read_skill_or_reply(ctx, conn, owner_id, id, partial, values, &replied)) !=
	    APP_OK)
		goto fail;
	if (replied)
		goto out;
	err = skill_update(conn, id, values[SKILL_NAME], values[SKILL_DESCRIPTION], &res);
	if (err == APP_ERR_CONFLICT) {
		reply_name_taken(ctx);
		goto out;
	}
	if (err != APP_OK || (err = db_commit(conn)) != APP_OK)
		goto fail;
	http_reply_json(ctx, 200, skill_to_json(res, 0));
	goto out;
fail:
	http_reply_app_error(ctx, err);
out:
	http_db_release(ctx, conn);
	PQclear(skill);
	PQclear(res);
	fields_release(values, SKILL_FIELDS);
}

static void put_skill(struct http_ctx *ctx)
{
	update_skill(ctx, 0);
}

static void patch_skill(struct http_ctx *ctx)
{
	update_skill(ctx, 1);
}

static void delete_skill(struct http_ctx *ctx)
{
	struct db_conn *conn = NULL;
	PGresult *skill = NULL;
	enum app_err err;

	if (http_db_or_reply(ctx, &conn))
		return;
	if ((err = lock_own_skill(ctx, conn, &skill)) == APP_OK &&
	    (err = skill_delete(conn, PQgetvalue(skill, 0, 0))) == APP_OK)
		err = db_commit(conn);
	if (err == APP_OK)
		http_reply_no_content(ctx);
	else
		http_reply_app_error(ctx, err);
	http_db_release(ctx, conn);
	PQclear(skill);
}

static const struct route skills_table[] = {
	{"POST", "/api/skills", post_skill, ROUTE_LOGIN},
	{"PUT", "/api/skills/{id}", put_skill, ROUTE_LOGIN},
	{"PATCH", "/api/skills/{id}", patch_skill, ROUTE_LOGIN},
	{"DELETE", "/api/skills/{id}", delete_skill, ROUTE_LOGIN},
};

void skills_routes(struct router *router)
{
	router_add(router, skills_table, sizeof(skills_table) / sizeof(skills_table[0]));
}
