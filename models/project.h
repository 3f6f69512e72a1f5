/*
 * Projects and reviews in SQL. A set of projects is always read with a fixed
 * number of statements whatever its size (no N+1): the projects (with their
 * owner) in one query, then their tags and their reviews in one query each
 * for the whole set (project_id = ANY($1::uuid[])). serializers/project.c
 * stitches them by project_id. vote_total and vote_ratio are kept by the
 * reviews_count_votes trigger; nothing here computes them.
 */
#ifndef DEVSEARCH_MODELS_PROJECT_H
#define DEVSEARCH_MODELS_PROJECT_H

#include <stddef.h>

#include "models/db.h"

/* Results owned by the struct; release with project_rows_clear(). */
struct project_rows {
	/*
	 * id, title, description, featured_image, demo_link, source_link,
	 * vote_total, vote_ratio, created, owner_id, owner_username, owner_name,
	 * owner_profile_image (owner_* NULL for a project without owner), and in
	 * a list page total_count.
	 */
	PGresult *projects;
	PGresult *tags;    /* project_id, id, name; ordered by project, name, id */
	PGresult *reviews; /* project_id, id, body, value, created, owner_id, owner_username,
			      owner_name; ordered by project, created, id */
};

/* Filters of the project list; NULL or "" means not filtered. Borrowed strings. */
struct project_filter {
	const char *search; /* substring of title, description, owner's name or a tag name */
	const char *tag;    /* a tag's name, case-insensitively */
	const char *owner;  /* a profile id (a canonical UUID, checked by the caller) */
};

/* Which filters a list statement has; project_list_sql() is indexed by them. */
enum project_filter_bits {
	PROJECT_BY_SEARCH = 1,
	PROJECT_BY_TAG = 2,
	PROJECT_BY_OWNER = 4,
};

/*
 * The projects with ids[0..n) (in that order, missing ones left out) with
 * their tags and reviews: 3 statements. On error *out is empty.
 */
enum app_err project_fetch(struct db_conn *conn, const char *const *ids, size_t n,
			   struct project_rows *out);

/*
 * One page of the list ordered by -vote_ratio, -vote_total, title, id:
 * filter, limit and offset (decimal text). rows->projects carries
 * total_count (the number of matching projects) on every row. 3 statements.
 */
enum app_err project_list(struct db_conn *conn, const struct project_filter *filter,
			  const char *limit, const char *offset, struct project_rows *out);

/*
 * The page statement for a set of project_filter_bits, for the tests that
 * look at its plan. Its parameters are, in order, the ILIKE pattern (search),
 * the tag name, the owner id (those of the set), then limit and offset.
 * Borrowed, static.
 */
const char *project_list_sql(unsigned bits);

void project_rows_clear(struct project_rows *rows);

/*
 * Lock project id for a change (FOR NO KEY UPDATE: votes go on meanwhile) in
 * the caller's transaction. APP_OK with owner (37 bytes) set to the owner's
 * profile id, "" for none; APP_ERR_NOT_FOUND if there is no such project.
 */
enum app_err project_lock(struct db_conn *conn, const char *id, char owner[37]);

/* The owner as project_lock gives it, without a lock. */
enum app_err project_owner(struct db_conn *conn, const char *id, char owner[37]);

/* A project's writable fields; NULL means "not given" (update: keep). Borrowed. */
struct project_values {
	const char *title;
	const char *description;
	const char *featured_image;
	const char *demo_link;
	const char *source_link;
};

/* Insert a project owned by owner_id (a profile id); its new id into id (37 bytes). */
enum app_err project_insert(struct db_conn *conn, const char *owner_id,
			    const struct project_values *values, char id[37]);

/* Update the given fields of project id; APP_ERR_NOT_FOUND if it is gone. */
enum app_err project_update(struct db_conn *conn, const char *id,
			    const struct project_values *values);

/*
 * Delete project id (its tags links and reviews go with it); its
 * featured_image URL into *image (new string, caller free()s; "" when none;
 * NULL on error). APP_ERR_NOT_FOUND if gone.
 */
enum app_err project_delete(struct db_conn *conn, const char *id, char **image);

/* The owner's profile id of row (borrowed), "" for a project without owner. */
const char *project_row_owner(const struct project_rows *rows, int row);

/*
 * Record voter_id's vote (value "up" or "down", body) on project_id and read
 * the project back (as project_fetch), in one round trip and one transaction:
 * one review per voter and project, a second vote replaces the first's value
 * and body (INSERT ... ON CONFLICT DO UPDATE, so concurrent first votes of one
 * voter make one review); the trigger updates the counters. Nothing is
 * written on the voter's own project: *voted is then 0, and out->projects
 * holds the project (its owner_id is the voter) or no row if it is gone.
 */
enum app_err project_vote_and_fetch(struct db_conn *conn, const char *project_id,
				    const char *voter_id, const char *value, const char *body,
				    int *voted, struct project_rows *out);

#endif
