/*
 * Profiles in SQL, with their relations fetched in one query each for a
 * whole set of profiles (no N+1): skills, projects (id, title) and friends.
 * The serializer stitches them by owner_id.
 */
#ifndef DEVSEARCH_MODELS_PROFILE_H
#define DEVSEARCH_MODELS_PROFILE_H

#include <stddef.h>

#include "models/db.h"

/* Results owned by the struct; release with profile_rows_clear(). */
struct profile_rows {
	PGresult *profiles; /* id, username, email, name, location, ..., created, favorite_note */
	PGresult *skills;   /* owner_id, id, name, description, created */
	PGresult *projects; /* owner_id, id, title */
	PGresult *friends;  /* owner_id, id, username, name */
};

/* The profiles with ids (in that order of rows as given by the ids' order) and their relations. */
enum app_err profile_fetch(struct db_conn *conn, const char *const *ids, size_t n,
			   struct profile_rows *out);
void profile_rows_clear(struct profile_rows *rows);

/* Write "{a,b,c}" for a uuid[] parameter into sb (ids are UUIDs checked by the caller). */
struct strbuf;
void uuid_array_literal(struct strbuf *sb, const char *const *ids, size_t n);

#endif
