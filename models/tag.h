/*
 * Tags in SQL: resolving tag names to tags (matched case-insensitively,
 * created when missing, safe against concurrent creation), a project's set of
 * tags, and the public tag list. Also the ILIKE pattern and text[] helpers the
 * project searches share.
 */
#ifndef DEVSEARCH_MODELS_TAG_H
#define DEVSEARCH_MODELS_TAG_H

#include <stddef.h>

#include "models/db.h"

struct strbuf;

/*
 * Replace project_id's tags by the tags named names[0..n) (trimmed, not blank,
 * no NULs: validated by the caller): each name matches an existing tag
 * case-insensitively or creates one. n == 0 removes every tag. Run it in the
 * caller's transaction, the project's row locked. Concurrent creations of one
 * name make one tag: INSERT ... ON CONFLICT on lower(name), names inserted in
 * one order so that two transactions cannot deadlock on them.
 */
enum app_err tag_set_for_project(struct db_conn *conn, const char *project_id,
				 const char *const *names, size_t n);

/*
 * Add the tag named name (matched or created as above) to project_id, which
 * may already have it. On APP_OK *res is one row (id, name) of the tag; the
 * caller PQclear()s it. Run it in the caller's transaction.
 */
enum app_err tag_add_to_project(struct db_conn *conn, const char *project_id, const char *name,
				PGresult **res);

/* Take tag_id off project_id; APP_ERR_NOT_FOUND if the project did not have it. */
enum app_err tag_remove_from_project(struct db_conn *conn, const char *project_id,
				     const char *tag_id);

/*
 * One page of tags ordered by name, id, with their project counts: rows
 * (id, name, project_count, total_count), total_count being the number of
 * tags matching search (a case-insensitive substring; NULL or "" for all).
 * limit and offset are decimal text. One statement. The caller PQclear()s *res.
 */
enum app_err tag_list(struct db_conn *conn, const char *search, const char *limit,
		      const char *offset, PGresult **res);

#endif
