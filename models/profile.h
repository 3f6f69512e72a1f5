/*
 * Profiles in SQL: the relations of a whole set of profiles fetched in one
 * query each (no N+1): skills, projects (id, title) and friends, stitched by
 * the serializer by owner_id; the searchable, paginated list; the caller's own
 * account (update, delete) and friends. Username and email live on users:
 * changing them on a profile updates the user row.
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

/*
 * One page of profile ids in list order (created, id): every profile when
 * pattern is NULL, else those whose name, short_intro or one skill's name
 * matches pattern (from profile_search_pattern), each once. limit and offset
 * are decimal text. On APP_OK *res (caller PQclear()s) has the columns id and
 * total_count (the number of matching profiles, on every row). One statement.
 */
enum app_err profile_list_page(struct db_conn *conn, const char *pattern, const char *limit,
			       const char *offset, PGresult **res);

/* The text of the search statement ($1 pattern, $2 limit, $3 offset), for EXPLAIN in tests. */
const char *profile_search_sql(void);

/*
 * The short form of one profile: on APP_OK *res (caller PQclear()s) has one
 * row id, username, name; APP_ERR_NOT_FOUND if there is no such profile.
 */
enum app_err profile_brief(struct db_conn *conn, const char *id, PGresult **res);

/* Add friend_id to profile_id's friends; *created is 1 if it was not there yet. */
enum app_err profile_friend_add(struct db_conn *conn, const char *profile_id, const char *friend_id,
				int *created);
/* Remove friend_id from profile_id's friends (fine if it was not there). */
enum app_err profile_friend_remove(struct db_conn *conn, const char *profile_id,
				   const char *friend_id);

/* The text columns of a profile a client may change, in SQL parameter order. */
enum profile_text {
	PROFILE_NAME,
	PROFILE_LOCATION,
	PROFILE_SHORT_INTRO,
	PROFILE_BIO,
	PROFILE_IMAGE,
	PROFILE_GITHUB,
	PROFILE_TWITTER,
	PROFILE_LINKEDIN,
	PROFILE_YOUTUBE,
	PROFILE_WEBSITE,
	PROFILE_TEXT_FIELDS
};

/*
 * What an update changes. Every string is owned by the struct (release with
 * profile_changes_release); NULL means "left as it is", except for the two
 * nullable fields, whose set_ flag says whether they change (to NULL or not).
 */
struct profile_changes {
	char *text[PROFILE_TEXT_FIELDS];
	char *username;
	char *email;
	int set_birth_date;
	char *birth_date; /* YYYY-MM-DD or NULL */
	int is_active;    /* -1 unchanged, else 0 or 1 */
	int set_favorite_note;
	char *favorite_note; /* note id or NULL */
};

void profile_changes_init(struct profile_changes *changes);
void profile_changes_release(struct profile_changes *changes);

/*
 * Whether username and email (each may be NULL: not asked) belong to a user
 * other than user_id, case-insensitively; each flag 0 or 1.
 */
enum app_err profile_identity_taken(struct db_conn *conn, const char *user_id, const char *username,
				    const char *email, int *username_taken, int *email_taken);

/* *own is 1 if note_id (a UUID) is one of profile_id's notes. */
enum app_err profile_note_is_own(struct db_conn *conn, const char *profile_id, const char *note_id,
				 int *own);

/*
 * Apply changes to the profile and its user (username, email), in the
 * caller's transaction. On APP_ERR_CONFLICT *conflict is "username" or
 * "email" (taken meanwhile); on APP_ERR_INVALID it is "favorite_note" when
 * the note is gone meanwhile, else NULL.
 */
enum app_err profile_update(struct db_conn *conn, const char *user_id, const char *profile_id,
			    const struct profile_changes *changes, const char **conflict);

/*
 * Lock user_id's user row, then its profile row (FOR NO KEY UPDATE, in the
 * caller's transaction), and read the profile's image URL into *image (new
 * string, caller free()s; "" when none; NULL on error). For a change that
 * lets go of the image: the URL read is the last one until the commit.
 * APP_ERR_NOT_FOUND if either row is gone.
 */
enum app_err profile_lock_image(struct db_conn *conn, const char *user_id, char **image);

/*
 * Delete the user, and with it (the schema's cascades) its profile, skills,
 * reviews, notes, friendships, received messages and logins; its projects
 * and sent messages stay without owner/sender. APP_ERR_NOT_FOUND if gone.
 */
enum app_err profile_delete_account(struct db_conn *conn, const char *user_id);

#endif
