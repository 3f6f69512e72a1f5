/*
 * Skills in SQL: a profile's named skills, unique per profile whatever the
 * case (the skills_owner_name_lower_key index). Rows come back as PGresults
 * with the columns id, owner_id, name, description, created (RFC 3339 text);
 * serializers/skill.h turns them into JSON. No JSON, no HTTP here.
 */
#ifndef DEVSEARCH_MODELS_SKILL_H
#define DEVSEARCH_MODELS_SKILL_H

#include "models/db.h"

/*
 * The skill id, row-locked for the caller's transaction. On APP_OK *res
 * (caller PQclear()s) has one row; APP_ERR_NOT_FOUND if there is none.
 */
enum app_err skill_lock(struct db_conn *conn, const char *id, PGresult **res);

/*
 * *taken is 1 if owner_id has a skill named name (case-insensitively) other
 * than except_id (NULL: any).
 */
enum app_err skill_name_taken(struct db_conn *conn, const char *owner_id, const char *name,
			      const char *except_id, int *taken);

/*
 * Insert a skill of owner_id; *res (caller PQclear()s) is the new row.
 * APP_ERR_CONFLICT if the owner has that name already (a race lost).
 */
enum app_err skill_insert(struct db_conn *conn, const char *owner_id, const char *name,
			  const char *description, PGresult **res);

/*
 * Change name and/or description (NULL: left as it is); *res (caller
 * PQclear()s) is the row after. APP_ERR_CONFLICT as for skill_insert,
 * APP_ERR_NOT_FOUND if the skill is gone.
 */
enum app_err skill_update(struct db_conn *conn, const char *id, const char *name,
			  const char *description, PGresult **res);

/* Delete the skill; APP_ERR_NOT_FOUND if it is gone. */
enum app_err skill_delete(struct db_conn *conn, const char *id);

#endif
