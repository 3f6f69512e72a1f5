/* Profiles and their relations in SQL; see profile.h. */
#include "models/profile.h"

#include <string.h>

#include "core/util.h"

#define RFC3339(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"

static const char SQL_PROFILES[] =
	"SELECT p.id, u.username, u.email, p.name, p.location, p.short_intro, p.bio, "
	"p.profile_image, p.social_github, p.social_twitter, p.social_linkedin, p.social_youtube, "
	"p.social_website, to_char(p.birth_date, 'YYYY-MM-DD') AS birth_date, "
	"p.is_active, " RFC3339(
		"p.created") " AS created, p.favorite_note_id AS favorite_note "
			     "FROM unnest($1::uuid[]) WITH ORDINALITY AS wanted(id, n) "
			     "JOIN profiles p ON p.id = wanted.id JOIN users u ON u.id = p.user_id "
			     "ORDER BY wanted.n";
static const char SQL_SKILLS[] = "SELECT owner_id, id, name, description, " RFC3339(
	"created") " AS created "
		   "FROM skills WHERE owner_id = ANY($1::uuid[]) ORDER BY owner_id, created, id";
static const char SQL_PROJECTS[] =
	"SELECT owner_id, id, title FROM projects WHERE owner_id = ANY($1::uuid[]) "
	"ORDER BY owner_id, vote_ratio DESC, vote_total DESC, title, id";
static const char SQL_FRIENDS[] =
	"SELECT f.profile_id AS owner_id, p.id, u.username, p.name FROM friends f "
	"JOIN profiles p ON p.id = f.friend_id JOIN users u ON u.id = p.user_id "
	"WHERE f.profile_id = ANY($1::uuid[]) ORDER BY f.profile_id, f.created, p.id";

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
	err = db_exec(conn, SQL_PROFILES, 1, params, &out->profiles);
	if (err == APP_OK)
		err = db_exec(conn, SQL_SKILLS, 1, params, &out->skills);
	if (err == APP_OK)
		err = db_exec(conn, SQL_PROJECTS, 1, params, &out->projects);
	if (err == APP_OK)
		err = db_exec(conn, SQL_FRIENDS, 1, params, &out->friends);
	if (err != APP_OK)
		profile_rows_clear(out);
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
