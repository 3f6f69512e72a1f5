/*
 * Profiles and their relations in SQL; see profile.h. Every statement is a
 * static string with $n placeholders; no JSON, no HTTP here.
 */
#include "models/profile.h"

#include <stdlib.h>
#include <string.h>

#include "core/util.h"

static const char SQL_PROFILES[] =
	"SELECT p.id, u.username, u.email, p.name, p.location, p.short_intro, p.bio, "
	"p.profile_image, p.social_github, p.social_twitter, p.social_linkedin, p.social_youtube, "
	"p.social_website, to_char(p.birth_date, 'YYYY-MM-DD') AS birth_date, "
	"p.is_active, " DB_RFC3339(
		"p.created") " AS created, p.favorite_note_id AS favorite_note "
			     "FROM unnest($1::uuid[]) WITH ORDINALITY AS wanted(id, n) "
			     "JOIN profiles p ON p.id = wanted.id JOIN users u ON u.id = p.user_id "
			     "ORDER BY wanted.n";
static const char SQL_SKILLS[] = "SELECT owner_id, id, name, description, " DB_RFC3339(
	"created") " AS created "
		   "FROM skills WHERE owner_id = ANY($1::uuid[]) ORDER BY owner_id, created, id";
static const char SQL_PROJECTS[] =
	"SELECT owner_id, id, title FROM projects WHERE owner_id = ANY($1::uuid[]) "
	"ORDER BY owner_id, vote_ratio DESC, vote_total DESC, title, id";
static const char SQL_FRIENDS[] =
	"SELECT f.profile_id AS owner_id, p.id, u.username, p.name FROM friends f "
	"JOIN profiles p ON p.id = f.friend_id JOIN users u ON u.id = p.user_id "
	"WHERE f.profile_id = ANY($1::uuid[]) ORDER BY f.profile_id, f.created, p.id";

/*
 * The list: every profile, or those matching a search. The search is a UNION
 * of one branch per trigram index (name, short_intro, skill names), so that
 * each branch is an index scan rather than a read of the whole table (an OR
 * across the columns would be one filter over every row); UNION keeps each
 * profile once. count(*) OVER () gives the total with the page, in one query.
 */
/* The count is the trigger-kept row_counts row (0002): no counting per request. */
static const char SQL_LIST_ALL[] =
	"SELECT id, (SELECT n FROM row_counts WHERE name = 'profiles') AS total_count "
	"FROM profiles ORDER BY created, id LIMIT $1 OFFSET $2";
static const char SQL_LIST_SEARCH[] =
	"SELECT m.id, count(*) OVER () AS total_count FROM ("
	"SELECT p.id, p.created FROM profiles p WHERE p.name ILIKE $1 "
	"UNION "
	"SELECT p.id, p.created FROM profiles p WHERE p.short_intro ILIKE $1 "
	"UNION "
	"SELECT p.id, p.created FROM skills s JOIN profiles p ON p.id = s.owner_id "
	"WHERE s.name ILIKE $1"
	") m ORDER BY m.created, m.id LIMIT $2 OFFSET $3";
static const char SQL_BRIEF[] = "SELECT p.id, u.username, p.name FROM profiles p "
				"JOIN users u ON u.id = p.user_id WHERE p.id = $1";
static const char SQL_FRIEND_ADD[] = "INSERT INTO friends (profile_id, friend_id) VALUES ($1, $2) "
				     "ON CONFLICT DO NOTHING RETURNING friend_id";
static const char SQL_FRIEND_REMOVE[] =
	"DELETE FROM friends WHERE profile_id = $1 AND friend_id = $2";
static const char SQL_IDENTITY_TAKEN[] =
	"SELECT EXISTS (SELECT 1 FROM users WHERE lower(username) = lower($2) AND id <> $1), "
	"EXISTS (SELECT 1 FROM users WHERE lower(email) = lower($3) AND email <> '' AND id <> $1)";
static const char SQL_NOTE_IS_OWN[] =
	"SELECT EXISTS (SELECT 1 FROM notes WHERE id = $1 AND owner_id = $2)";
static const char SQL_UPDATE_USER[] = "UPDATE users SET username = coalesce($2, username), "
				      "email = coalesce($3, email) WHERE id = $1";
/* NULL leaves a column as it is; the nullable ones have a flag ($12, $15) instead. */
static const char SQL_UPDATE_PROFILE[] =
	"UPDATE profiles SET name = coalesce($2, name), location = coalesce($3, location), "
	"short_intro = coalesce($4, short_intro), bio = coalesce($5, bio), "
	"profile_image = coalesce($6, profile_image), "
	"social_github = coalesce($7, social_github), "
	"social_twitter = coalesce($8, social_twitter), "
	"social_linkedin = coalesce($9, social_linkedin), "
	"social_youtube = coalesce($10, social_youtube), "
	"social_website = coalesce($11, social_website), "
	"birth_date = CASE WHEN $12::boolean THEN $13::date ELSE birth_date END, "
	"is_active = coalesce($14::boolean, is_active), "
	"favorite_note_id = CASE WHEN $15::boolean THEN $16::uuid ELSE favorite_note_id END "
	"WHERE id = $1";
/*
 * The user row before the profile row: the order in which an update of both
 * and the account delete's cascade take them, so none of them deadlock.
 */
static const char SQL_LOCK_USER[] = "SELECT id FROM users WHERE id = $1 FOR NO KEY UPDATE";
static const char SQL_LOCK_PROFILE_IMAGE[] =
	"SELECT profile_image FROM profiles WHERE user_id = $1 FOR NO KEY UPDATE";
/* The profile, its relations and its logins go with the user (ON DELETE rules of 0001). */
static const char SQL_DELETE_USER[] = "DELETE FROM users WHERE id = $1";

void uuid_array_literal(struct strbuf *sb, const char *const *ids, size_t n)
{
	strbuf_addch(sb, '{');
	for (size_t i = 0; i < n; i++)
		strbuf_addf(sb, "%s%s", i ? "," : "", ids[i]);
	strbuf_addch(sb, '}');
}

enum app_err profile_fetch(struct db_conn *conn, const char *const *ids, size_t n,
			   struct profile_rows *out)
{
	struct strbuf array = STRBUF_INIT;
	enum app_err err;

	memset(out, 0, sizeof(*out));
	uuid_array_literal(&array, ids, n);
	const char *params[] = {strbuf_str(&array)};
	/* The four are independent: one round trip. */
	const struct db_statement batch[] = {
		{SQL_PROFILES, 1, params, &out->profiles},
		{SQL_SKILLS, 1, params, &out->skills},
		{SQL_PROJECTS, 1, params, &out->projects},
		{SQL_FRIENDS, 1, params, &out->friends},
	};
	err = db_exec_many(conn, batch, sizeof(batch) / sizeof(batch[0]));
	strbuf_release(&array);
	return err;
}

void profile_rows_clear(struct profile_rows *rows)
{
	PQclear(rows->profiles);
	PQclear(rows->skills);
	PQclear(rows->projects);
	PQclear(rows->friends);
	memset(rows, 0, sizeof(*rows));
}

enum app_err profile_list_page(struct db_conn *conn, const char *pattern, const char *limit,
			       const char *offset, PGresult **res)
{
	if (!pattern) {
		const char *params[] = {limit, offset};
		return db_exec(conn, SQL_LIST_ALL, 2, params, res);
	}
	const char *params[] = {pattern, limit, offset};
	return db_exec(conn, SQL_LIST_SEARCH, 3, params, res);
}

const char *profile_search_sql(void)
{
	return SQL_LIST_SEARCH;
}

enum app_err profile_brief(struct db_conn *conn, const char *id, PGresult **res)
{
	const char *params[] = {id};
	enum app_err err = db_exec(conn, SQL_BRIEF, 1, params, res);
	if (err == APP_OK && PQntuples(*res) == 0) {
		PQclear(*res);
		*res = NULL;
		err = APP_ERR_NOT_FOUND;
	}
	return err;
}

enum app_err profile_friend_add(struct db_conn *conn, const char *profile_id, const char *friend_id,
				int *created)
{
	PGresult *res = NULL;
	const char *params[] = {profile_id, friend_id};
	enum app_err err = db_exec(conn, SQL_FRIEND_ADD, 2, params, &res);
	*created = err == APP_OK && PQntuples(res) == 1;
	PQclear(res);
	return err;
}

enum app_err profile_friend_remove(struct db_conn *conn, const char *profile_id,
				   const char *friend_id)
{
	const char *params[] = {profile_id, friend_id};
	return db_exec(conn, SQL_FRIEND_REMOVE, 2, params, NULL);
}

void profile_changes_init(struct profile_changes *changes)
{
	memset(changes, 0, sizeof(*changes));
	changes->is_active = -1;
}

void profile_changes_release(struct profile_changes *changes)
{
	for (size_t i = 0; i < PROFILE_TEXT_FIELDS; i++)
		free(changes->text[i]);
	free(changes->username);
	free(changes->email);
	free(changes->birth_date);
	free(changes->favorite_note);
	profile_changes_init(changes);
}

enum app_err profile_identity_taken(struct db_conn *conn, const char *user_id, const char *username,
				    const char *email, int *username_taken, int *email_taken)
{
	PGresult *res = NULL;
	const char *params[] = {user_id, username, email};
	enum app_err err = db_exec(conn, SQL_IDENTITY_TAKEN, 3, params, &res);
	*username_taken = err == APP_OK && PQgetvalue(res, 0, 0)[0] == 't';
	*email_taken = err == APP_OK && PQgetvalue(res, 0, 1)[0] == 't';
	PQclear(res);
	return err;
}

enum app_err profile_note_is_own(struct db_conn *conn, const char *profile_id, const char *note_id,
				 int *own)
{
	PGresult *res = NULL;
	const char *params[] = {note_id, profile_id};
	enum app_err err = db_exec(conn, SQL_NOTE_IS_OWN, 2, params, &res);
	*own = err == APP_OK && PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	return err;
}

enum app_err profile_update(struct db_conn *conn, const char *user_id, const char *profile_id,
			    const struct profile_changes *changes, const char **conflict)
{
	const char *params[16];
	enum app_err err = APP_OK;

	*conflict = NULL;
	if (changes->username || changes->email) {
		const char *user_params[] = {user_id, changes->username, changes->email};
		err = db_exec(conn, SQL_UPDATE_USER, 3, user_params, NULL);
		if (err == APP_ERR_CONFLICT)
			*conflict =
				strstr(db_last_constraint(conn), "email") ? "email" : "username";
		if (err != APP_OK)
			return err;
	}
	params[0] = profile_id;
	for (size_t i = 0; i < PROFILE_TEXT_FIELDS; i++)
		params[1 + i] = changes->text[i];
	params[11] = changes->set_birth_date ? "true" : "false";
	params[12] = changes->birth_date;
	params[13] = changes->is_active < 0 ? NULL : changes->is_active ? "true" : "false";
	params[14] = changes->set_favorite_note ? "true" : "false";
	params[15] = changes->favorite_note;
	err = db_exec(conn, SQL_UPDATE_PROFILE, 16, params, NULL);
	if (err == APP_ERR_INVALID && strstr(db_last_constraint(conn), "favorite_note"))
		*conflict = "favorite_note";
	return err;
}

enum app_err profile_lock_image(struct db_conn *conn, const char *user_id, char **image)
{
	const char *params[] = {user_id};
	PGresult *profile = NULL;
	/* One round trip; run in order, so the locks are taken in order. */
	const struct db_statement batch[] = {
		{SQL_LOCK_USER, 1, params, NULL},
		{SQL_LOCK_PROFILE_IMAGE, 1, params, &profile},
	};
	enum app_err err = db_exec_many(conn, batch, 2);

	*image = NULL;
	if (err == APP_OK && PQntuples(profile) != 1)
		err = APP_ERR_NOT_FOUND;
	if (err == APP_OK)
		*image = xstrdup(PQgetvalue(profile, 0, 0));
	PQclear(profile);
	return err;
}

enum app_err profile_delete_account(struct db_conn *conn, const char *user_id)
{
	PGresult *res = NULL;
	const char *params[] = {user_id};
	enum app_err err = db_exec(conn, SQL_DELETE_USER, 1, params, &res);
	if (err == APP_OK && strcmp(PQcmdTuples(res), "1"))
		err = APP_ERR_NOT_FOUND;
	PQclear(res);
	return err;
}
