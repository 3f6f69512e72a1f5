/* A Django version's data copied into ours, in SQL; see django_import.h. */
#include "models/django_import.h"

#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "models/db.h"

/*
 * Every staging table starts with these: the row's number in the source's
 * order, why it was refused (NULL: it was not) and whether it was written here.
 */
#define STAGED "n bigserial PRIMARY KEY, refused text, inserted boolean NOT NULL DEFAULT false, "

/* The staged rows an insert takes: those numbered $1 to $2 that are not refused. */
#define TAKEN(s) " WHERE " s ".refused IS NULL AND " s ".n BETWEEN $1 AND $2 "

/* Refuse the rows of child whose col points at a refused row of parent. */
#define CASCADE(child, col, parent, what)                                                          \
	"UPDATE " child " c SET refused = 'its " what " ' || p.id || ' was refused' FROM " parent  \
	" p WHERE p.id = c." col " AND p.refused IS NOT NULL AND c.refused IS NULL"

/* The bookkeeping statements of a staging table t, whose rows the report names by key. */
#define STAGING(t, key)                                                                            \
	.refuse = "UPDATE " t " SET refused = $2 WHERE n = $1",                                    \
	.counts = "SELECT count(*), count(*) FILTER (WHERE inserted), "                            \
		  "count(*) FILTER (WHERE refused IS NOT NULL) FROM " t,                           \
	.refused_rows = "SELECT " key ", refused FROM " t " WHERE refused IS NOT NULL ORDER BY n"

/* Mark the staged rows an insert wrote (its RETURNING id). */
#define MARK_INSERTED(t)                                                                           \
	" RETURNING id) UPDATE " t " s SET inserted = true FROM ins WHERE s.id = ins.id"

/* One table: staged from the source, then inserted here. */
struct import_step {
	const char *name;
	const char *create;     /* the staging table, dropped at the end of the transaction */
	const char *copy_out;   /* run on the source */
	const char *copy_in;    /* into the staging table */
	const char *cascade[2]; /* refuse rows whose parent was refused; NULL: none */
	const char *insert;     /* the staged rows numbered $1 to $2 */
	const char *around[2];  /* scripts run before and after the insert; NULL: none */
	/* what this table needs once its rows are in, for the report; NULL: nothing */
	enum app_err (*after)(struct db_conn *source, struct db_conn *target,
			      struct import_report *report);
	const char *refuse; /* $1: n, $2: reason */
	const char *counts; /* found, inserted, refused */
	const char *refused_rows;
};

static enum app_err after_profiles(struct db_conn *source, struct db_conn *target,
				   struct import_report *report);
static enum app_err after_reviews(struct db_conn *source, struct db_conn *target,
				  struct import_report *report);
static enum app_err after_notes(struct db_conn *source, struct db_conn *target,
				struct import_report *report);
static enum app_err after_tokens(struct db_conn *source, struct db_conn *target,
				 struct import_report *report);

/* Each SQL text laid out by hand, one clause a line where it helps. */
/* clang-format off */
static const struct import_step STEPS[IMPORT_TABLES] = {
	{
		.name = "users",
		.create = "CREATE TEMP TABLE dj_users (" STAGED
			  "id uuid, password text, last_login timestamptz, is_superuser boolean, "
			  "username text, first_name text, last_name text, email text, "
			  "is_staff boolean, is_active boolean, date_joined timestamptz) "
			  "ON COMMIT DROP",
		.copy_out = "COPY (SELECT id, password, last_login, is_superuser, username, "
			    "first_name, last_name, email, is_staff, is_active, date_joined "
			    "FROM users_user ORDER BY date_joined, id) TO STDOUT",
		.copy_in = "COPY dj_users (id, password, last_login, is_superuser, username, "
			   "first_name, last_name, email, is_staff, is_active, date_joined) "
			   "FROM STDIN",
		.insert =
			"WITH ins AS (INSERT INTO users (id, username, email, password, "
			"is_active, is_staff, is_superuser, date_joined, last_login) "
			"SELECT s.id, s.username, s.email, s.password, s.is_active, s.is_staff, "
			"s.is_superuser, s.date_joined, s.last_login FROM dj_users s" TAKEN("s")
			"ORDER BY s.n ON CONFLICT (id) DO NOTHING" MARK_INSERTED("dj_users"),
		STAGING("dj_users", "id::text"),
	},
	{
		.name = "profiles",
		.create = "CREATE TEMP TABLE dj_profiles (" STAGED
			  "id uuid, user_id uuid, name text, location text, short_intro text, "
			  "bio text, profile_image text, social_github text, social_twitter text, "
			  "social_linkedin text, social_youtube text, social_website text, "
			  "birth_date date, is_active boolean, created timestamptz, "
			  "favorite_note_id uuid) ON COMMIT DROP",
		.copy_out = "COPY (SELECT id, user_id, name, location, short_intro, bio, "
			    "profile_image, social_github, social_twitter, social_linkedin, "
			    "social_youtube, social_website, birth_date, is_active, created, "
			    "favorite_note_id FROM users_profile ORDER BY created, id) TO STDOUT",
		.copy_in = "COPY dj_profiles (id, user_id, name, location, short_intro, bio, "
			   "profile_image, social_github, social_twitter, social_linkedin, "
			   "social_youtube, social_website, birth_date, is_active, created, "
			   "favorite_note_id) FROM STDIN",
		.cascade = {CASCADE("dj_profiles", "user_id", "dj_users", "user")},
		.insert =
			"WITH ins AS (INSERT INTO profiles (id, user_id, name, location, "
			"short_intro, bio, profile_image, social_github, social_twitter, "
			"social_linkedin, social_youtube, social_website, birth_date, is_active, "
			"created) SELECT s.id, s.user_id, s.name, s.location, s.short_intro, "
			"s.bio, s.profile_image, s.social_github, s.social_twitter, "
			"s.social_linkedin, s.social_youtube, s.social_website, s.birth_date, "
			"s.is_active, s.created FROM dj_profiles s" TAKEN("s")
			"ORDER BY s.n ON CONFLICT (id) DO NOTHING" MARK_INSERTED("dj_profiles"),
		.after = after_profiles,
		STAGING("dj_profiles", "id::text"),
	},
	{
		.name = "skills",
		.create = "CREATE TEMP TABLE dj_skills (" STAGED
			  "id uuid, owner_id uuid, name text, description text, "
			  "created timestamptz) ON COMMIT DROP",
		.copy_out = "COPY (SELECT id, owner_id, name, description, created FROM "
			    "users_skill ORDER BY created, id) TO STDOUT",
		.copy_in = "COPY dj_skills (id, owner_id, name, description, created) FROM STDIN",
		.cascade = {CASCADE("dj_skills", "owner_id", "dj_profiles", "owner, profile")},
		.insert =
			"WITH ins AS (INSERT INTO skills (id, owner_id, name, description, "
			"created) SELECT s.id, s.owner_id, s.name, s.description, s.created "
			"FROM dj_skills s" TAKEN("s")
			"ORDER BY s.n ON CONFLICT (id) DO NOTHING" MARK_INSERTED("dj_skills"),
		STAGING("dj_skills", "id::text"),
	},
	{
		/*
		 * Django keeps no date for a friendship: the friend's profile's
		 * creation stands in, which also lists friends in the order the
		 * Django version does (by the friend profile's created, id).
		 */
		.name = "friends",
		.create = "CREATE TEMP TABLE dj_friends (" STAGED
			  "from_profile_id uuid, to_profile_id uuid) ON COMMIT DROP",
		.copy_out = "COPY (SELECT from_profile_id, to_profile_id FROM "
			    "users_profile_friends ORDER BY id) TO STDOUT",
		.copy_in = "COPY dj_friends (from_profile_id, to_profile_id) FROM STDIN",
		.cascade = {CASCADE("dj_friends", "from_profile_id", "dj_profiles", "profile"),
			    CASCADE("dj_friends", "to_profile_id", "dj_profiles",
				    "friend, profile")},
		.insert =
			"WITH ins AS (INSERT INTO friends (profile_id, friend_id, created) "
			"SELECT s.from_profile_id, s.to_profile_id, "
			"coalesce((SELECT p.created FROM profiles p WHERE p.id = s.to_profile_id), "
			"now()) FROM dj_friends s" TAKEN("s")
			"ORDER BY s.n ON CONFLICT (profile_id, friend_id) DO NOTHING "
			"RETURNING profile_id, friend_id) "
			"UPDATE dj_friends s SET inserted = true FROM ins "
			"WHERE s.from_profile_id = ins.profile_id AND s.to_profile_id = ins.friend_id",
		STAGING("dj_friends", "from_profile_id || ' -> ' || to_profile_id"),
	},
	{
		.name = "tags",
		.create = "CREATE TEMP TABLE dj_tags (" STAGED
			  "id uuid, name text, created timestamptz) ON COMMIT DROP",
		.copy_out =
			"COPY (SELECT id, name, created FROM projects_tag ORDER BY created, id) "
			"TO STDOUT",
		.copy_in = "COPY dj_tags (id, name, created) FROM STDIN",
		.insert =
			"WITH ins AS (INSERT INTO tags (id, name, created) "
			"SELECT s.id, s.name, s.created FROM dj_tags s" TAKEN("s")
			"ORDER BY s.n ON CONFLICT (id) DO NOTHING" MARK_INSERTED("dj_tags"),
		STAGING("dj_tags", "id::text"),
	},
	{
		/* The vote counters are the reviews trigger's: they come with the reviews. */
		.name = "projects",
		.create = "CREATE TEMP TABLE dj_projects (" STAGED
			  "id uuid, owner_id uuid, title text, description text, "
			  "featured_image text, demo_link text, source_link text, "
			  "vote_total integer, vote_ratio integer, created timestamptz) "
			  "ON COMMIT DROP",
		.copy_out = "COPY (SELECT id, owner_id, title, description, featured_image, "
			    "demo_link, source_link, vote_total, vote_ratio, created FROM "
			    "projects_project ORDER BY created, id) TO STDOUT",
		.copy_in = "COPY dj_projects (id, owner_id, title, description, featured_image, "
			   "demo_link, source_link, vote_total, vote_ratio, created) FROM STDIN",
		.cascade = {CASCADE("dj_projects", "owner_id", "dj_profiles", "owner, profile")},
		.insert =
			"WITH ins AS (INSERT INTO projects (id, owner_id, title, description, "
			"featured_image, demo_link, source_link, created) SELECT s.id, "
			"s.owner_id, s.title, s.description, s.featured_image, s.demo_link, "
			"s.source_link, s.created FROM dj_projects s" TAKEN("s")
			"ORDER BY s.n ON CONFLICT (id) DO NOTHING" MARK_INSERTED("dj_projects"),
		STAGING("dj_projects", "id::text"),
	},
	{
		.name = "project tags",
		.create = "CREATE TEMP TABLE dj_project_tags (" STAGED
			  "project_id uuid, tag_id uuid) ON COMMIT DROP",
		.copy_out = "COPY (SELECT project_id, tag_id FROM projects_project_tags "
			    "ORDER BY id) TO STDOUT",
		.copy_in = "COPY dj_project_tags (project_id, tag_id) FROM STDIN",
		.cascade = {CASCADE("dj_project_tags", "project_id", "dj_projects", "project"),
			    CASCADE("dj_project_tags", "tag_id", "dj_tags", "tag")},
		.insert =
			"WITH ins AS (INSERT INTO project_tags (project_id, tag_id) "
			"SELECT s.project_id, s.tag_id FROM dj_project_tags s" TAKEN("s")
			"ORDER BY s.n ON CONFLICT (project_id, tag_id) DO NOTHING "
			"RETURNING project_id, tag_id) "
			"UPDATE dj_project_tags s SET inserted = true FROM ins "
			"WHERE s.project_id = ins.project_id AND s.tag_id = ins.tag_id",
		STAGING("dj_project_tags", "project_id || ' -> ' || tag_id"),
	},
	{
		.name = "reviews",
		.create = "CREATE TEMP TABLE dj_reviews (" STAGED
			  "id uuid, owner_id uuid, project_id uuid, body text, value text, "
			  "created timestamptz) ON COMMIT DROP",
		.copy_out = "COPY (SELECT id, owner_id, project_id, body, value, created FROM "
			    "projects_review ORDER BY created, id) TO STDOUT",
		.copy_in = "COPY dj_reviews (id, owner_id, project_id, body, value, created) "
			   "FROM STDIN",
		.cascade = {CASCADE("dj_reviews", "owner_id", "dj_profiles", "owner, profile"),
			    CASCADE("dj_reviews", "project_id", "dj_projects", "project")},
		.insert =
			"WITH ins AS (INSERT INTO reviews (id, owner_id, project_id, body, value, "
			"created) SELECT s.id, s.owner_id, s.project_id, s.body, s.value, "
			"s.created FROM dj_reviews s" TAKEN("s")
			"ORDER BY s.n ON CONFLICT (id) DO NOTHING" MARK_INSERTED("dj_reviews"),
		/*
		 * The counting trigger's one UPDATE per review (a new version of the
		 * project row, with its trigram index entries) would take most of
		 * the import: off meanwhile, then the same increments once per
		 * project. The ALTER locks reviews until the commit, as seed does.
		 */
		.around = {"ALTER TABLE reviews DISABLE TRIGGER reviews_count_votes",
			   "ALTER TABLE reviews ENABLE TRIGGER reviews_count_votes; "
			   "UPDATE projects p SET vote_total = p.vote_total + c.total, "
			   "vote_up = p.vote_up + c.up FROM (SELECT project_id, count(*) AS total, "
			   "count(*) FILTER (WHERE value = 'up') AS up FROM dj_reviews "
			   "WHERE inserted GROUP BY project_id) c WHERE p.id = c.project_id"},
		.after = after_reviews,
		STAGING("dj_reviews", "id::text"),
	},
	{
		.name = "notes",
		.create = "CREATE TEMP TABLE dj_notes (" STAGED
			  "id uuid, owner_id uuid, title text, body text, created timestamptz, "
			  "updated timestamptz) ON COMMIT DROP",
		.copy_out = "COPY (SELECT id, owner_id, title, body, created, updated FROM "
			    "users_note ORDER BY created, id) TO STDOUT",
		.copy_in = "COPY dj_notes (id, owner_id, title, body, created, updated) FROM STDIN",
		.cascade = {CASCADE("dj_notes", "owner_id", "dj_profiles", "owner, profile")},
		.insert =
			"WITH ins AS (INSERT INTO notes (id, owner_id, title, body, created, "
			"updated) SELECT s.id, s.owner_id, s.title, s.body, s.created, s.updated "
			"FROM dj_notes s" TAKEN("s")
			"ORDER BY s.n ON CONFLICT (id) DO NOTHING" MARK_INSERTED("dj_notes"),
		.after = after_notes,
		STAGING("dj_notes", "id::text"),
	},
	{
		.name = "messages",
		.create = "CREATE TEMP TABLE dj_messages (" STAGED
			  "id uuid, sender_id uuid, recipient_id uuid, name text, email text, "
			  "subject text, body text, is_read boolean, created timestamptz) "
			  "ON COMMIT DROP",
		.copy_out = "COPY (SELECT id, sender_id, recipient_id, name, email, subject, body, "
			    "is_read, created FROM users_message ORDER BY created, id) TO STDOUT",
		.copy_in = "COPY dj_messages (id, sender_id, recipient_id, name, email, subject, "
			   "body, is_read, created) FROM STDIN",
		.cascade = {CASCADE("dj_messages", "recipient_id", "dj_profiles",
				    "recipient, profile"),
			    CASCADE("dj_messages", "sender_id", "dj_profiles", "sender, profile")},
		.insert =
			"WITH ins AS (INSERT INTO messages (id, sender_id, recipient_id, name, "
			"email, subject, body, is_read, created) SELECT s.id, s.sender_id, "
			"s.recipient_id, s.name, s.email, s.subject, s.body, s.is_read, s.created "
			"FROM dj_messages s" TAKEN("s")
			"ORDER BY s.n ON CONFLICT (id) DO NOTHING" MARK_INSERTED("dj_messages"),
		STAGING("dj_messages", "id::text"),
	},
	{
		/*
		 * Live refresh tokens only (an expired one is refused anyway); each
		 * becomes a login session of its own, ended at once when Django
		 * had blacklisted the token, so that it stays refused here.
		 */
		.name = "refresh tokens",
		.create = "CREATE TEMP TABLE dj_tokens (" STAGED
			  "jti text, user_id uuid, created_at timestamptz, expires_at timestamptz, "
			  "blacklisted_at timestamptz, "
			  "session_id uuid NOT NULL DEFAULT gen_random_uuid()) ON COMMIT DROP",
		.copy_out = "COPY (SELECT o.jti, o.user_id, o.created_at, o.expires_at, "
			    "b.blacklisted_at FROM token_blacklist_outstandingtoken o "
			    "LEFT JOIN token_blacklist_blacklistedtoken b ON b.token_id = o.id "
			    "WHERE o.user_id IS NOT NULL AND o.expires_at > now() ORDER BY o.id) "
			    "TO STDOUT",
		.copy_in = "COPY dj_tokens (jti, user_id, created_at, expires_at, blacklisted_at) "
			   "FROM STDIN",
		.cascade = {CASCADE("dj_tokens", "user_id", "dj_users", "user")},
		.insert =
			"WITH todo AS (SELECT s.* FROM dj_tokens s" TAKEN("s")
			"AND NOT EXISTS (SELECT 1 FROM refresh_tokens r WHERE r.jti = s.jti)), "
			"sessions AS (INSERT INTO login_sessions (id, user_id, created, last_used, "
			"revoked_at) SELECT session_id, user_id, created_at, created_at, "
			"blacklisted_at FROM todo), "
			"tokens AS (INSERT INTO refresh_tokens (jti, user_id, session_id, created, "
			"expires_at) SELECT jti, user_id, session_id, created_at, expires_at "
			"FROM todo RETURNING jti), "
			"blacklist AS (INSERT INTO blacklisted_tokens (jti, blacklisted_at) "
			"SELECT jti, blacklisted_at FROM todo WHERE blacklisted_at IS NOT NULL) "
			"UPDATE dj_tokens s SET inserted = true FROM tokens WHERE s.jti = tokens.jti",
		.after = after_tokens,
		STAGING("dj_tokens", "jti"),
	},
};
/* clang-format on */

/* Users Django made without a profile (its signal makes one): given one here. */
static const char SQL_BARE_USERS[] =
	"INSERT INTO profiles (user_id, name, created) "
	"SELECT u.id, left(coalesce(nullif(btrim(u.first_name || ' ' || u.last_name), ''), "
	"u.username), 200), u.date_joined FROM dj_users u "
	"WHERE u.inserted AND NOT EXISTS (SELECT 1 FROM profiles p WHERE p.user_id = u.id)";
/* Projects whose stored counters disagree with their reviews (now counted from them). */
static const char SQL_RECOUNTED[] =
	"SELECT count(*) FROM dj_projects s JOIN projects p ON p.id = s.id WHERE s.inserted "
	"AND (p.vote_total <> s.vote_total OR p.vote_ratio <> s.vote_ratio)";
/* A favorite note is carried only when it is the profile's own (our foreign key). */
static const char SQL_FAVORITES[] =
	"UPDATE profiles p SET favorite_note_id = s.favorite_note_id FROM dj_profiles s "
	"WHERE p.id = s.id AND s.inserted AND s.favorite_note_id IS NOT NULL AND EXISTS "
	"(SELECT 1 FROM notes n WHERE n.id = s.favorite_note_id AND n.owner_id = s.id)";
static const char SQL_FOREIGN_FAVORITES[] =
	"SELECT count(*) FROM dj_profiles s WHERE s.inserted AND s.favorite_note_id IS NOT NULL "
	"AND NOT EXISTS (SELECT 1 FROM notes n WHERE n.id = s.favorite_note_id "
	"AND n.owner_id = s.id)";
static const char SQL_DEAD_TOKENS[] = "SELECT count(*) FROM token_blacklist_outstandingtoken "
				      "WHERE user_id IS NULL OR expires_at <= now()";
static const char SQL_MISSING_TABLES[] =
	"SELECT string_agg(t, ', ' ORDER BY t) FROM unnest($1::text[]) t "
	"WHERE to_regclass(t) IS NULL";
static const char DJANGO_TABLES[] =
	"{users_user,users_profile,users_skill,users_profile_friends,projects_tag,"
	"projects_project,projects_project_tags,projects_review,users_note,users_message,"
	"token_blacklist_outstandingtoken,token_blacklist_blacklistedtoken}";

/* The first column of a one-row result as a number. */
static enum app_err query_count(struct db_conn *conn, const char *sql, long *out)
{
	PGresult *res = NULL;
	enum app_err err = db_exec(conn, sql, 0, NULL, &res);
	if (err == APP_OK)
		*out = strtol(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return err;
}

/* How many rows a write touched. */
static enum app_err exec_count(struct db_conn *conn, const char *sql, long *out)
{
	PGresult *res = NULL;
	enum app_err err = db_exec(conn, sql, 0, NULL, &res);
	if (err == APP_OK)
		*out = strtol(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	return err;
}

/* A row the target refused: set aside with PostgreSQL's reason. */
static int is_refusal(enum app_err err)
{
	return err == APP_ERR_CONFLICT || err == APP_ERR_INVALID;
}

/*
 * Why the target refused a row (caller frees): PostgreSQL's message and detail,
 * without a "Failing row contains (...)" detail, which would print the row
 * (a password hash among others).
 */
static char *refusal_reason(const struct db_conn *target)
{
	char *reason = xstrdup(db_last_error(target));
	char *row = strstr(reason, " Failing row contains");
	if (row)
		*row = '\0';
	return reason;
}

/*
 * Insert the staged rows numbered lo to hi, in a savepoint. When the target
 * refuses one, the savepoint is rolled back and each half is tried on its
 * own, down to single rows, which are marked refused with the reason: k bad
 * rows among n cost about 2 k log2(n) statements, not n.
 */
static enum app_err insert_range(struct db_conn *target, const struct import_step *step, long lo,
				 long hi)
{
	char from[24], to[24];
	snprintf(from, sizeof(from), "%ld", lo);
	snprintf(to, sizeof(to), "%ld", hi);
	const char *range[] = {from, to};
	enum app_err err = db_exec_script(target, "SAVEPOINT import_rows");

	if (err == APP_OK)
		err = db_exec(target, step->insert, 2, range, NULL);
	if (err == APP_OK)
		return db_exec_script(target, "RELEASE SAVEPOINT import_rows");
	if (!is_refusal(err))
		return err;
	char *reason = refusal_reason(target);
	const char *refusal[] = {from, reason};
	err = db_exec_script(target, "ROLLBACK TO SAVEPOINT import_rows; "
				     "RELEASE SAVEPOINT import_rows");
	if (err == APP_OK && lo == hi)
		err = db_exec(target, step->refuse, 2, refusal, NULL);
	if (err == APP_OK && lo < hi) {
		long mid = lo + (hi - lo) / 2;
		err = insert_range(target, step, lo, mid);
		if (err == APP_OK)
			err = insert_range(target, step, mid + 1, hi);
	}
	free(reason);
	return err;
}

static enum app_err count_step(struct db_conn *target, const struct import_step *step,
			       struct import_table_count *count)
{
	PGresult *res = NULL;
	enum app_err err = db_exec(target, step->counts, 0, NULL, &res);
	if (err == APP_OK) {
		count->found = strtol(PQgetvalue(res, 0, 0), NULL, 10);
		count->copied = strtol(PQgetvalue(res, 0, 1), NULL, 10);
		count->refused = strtol(PQgetvalue(res, 0, 2), NULL, 10);
	}
	PQclear(res);
	return err;
}

/* Stage one table from the source, refuse what depends on refused rows, insert the rest. */
static enum app_err run_step(struct db_conn *source, struct db_conn *target,
			     const struct import_step *step)
{
	long rows;
	enum app_err err = db_exec_script(target, step->create);

	if (err == APP_OK)
		err = db_copy(source, step->copy_out, target, step->copy_in, &rows);
	for (size_t i = 0; err == APP_OK && i < 2 && step->cascade[i]; i++)
		err = db_exec(target, step->cascade[i], 0, NULL, NULL);
	if (err == APP_OK && step->around[0])
		err = db_exec_script(target, step->around[0]);
	if (err == APP_OK && rows > 0)
		err = insert_range(target, step, 1, rows);
	if (err == APP_OK && step->around[1])
		err = db_exec_script(target, step->around[1]);
	return err;
}

/* What only some tables need, once their step has run. */
static enum app_err after_profiles(struct db_conn *source, struct db_conn *target,
				   struct import_report *report)
{
	(void)source;
	return exec_count(target, SQL_BARE_USERS, &report->bare_users);
}

static enum app_err after_reviews(struct db_conn *source, struct db_conn *target,
				  struct import_report *report)
{
	(void)source;
	return query_count(target, SQL_RECOUNTED, &report->recounted_projects);
}

static enum app_err after_notes(struct db_conn *source, struct db_conn *target,
				struct import_report *report)
{
	long set;
	enum app_err err = exec_count(target, SQL_FAVORITES, &set);

	(void)source;
	if (err == APP_OK)
		err = query_count(target, SQL_FOREIGN_FAVORITES, &report->foreign_favorites);
	return err;
}

static enum app_err after_tokens(struct db_conn *source, struct db_conn *target,
				 struct import_report *report)
{
	(void)target;
	return query_count(source, SQL_DEAD_TOKENS, &report->dead_tokens);
}

/* Append the refused rows of one step to the report. */
static enum app_err list_refusals(struct db_conn *target, const struct import_step *step,
				  struct import_report *report)
{
	PGresult *res = NULL;
	enum app_err err = db_exec(target, step->refused_rows, 0, NULL, &res);
	if (err != APP_OK)
		return err;
	size_t n = (size_t)PQntuples(res);
	if (n) {
		report->refusals = xrealloc(report->refusals,
					    (report->n_refusals + n) * sizeof(*report->refusals));
		for (size_t i = 0; i < n; i++) {
			struct import_refusal *r = &report->refusals[report->n_refusals++];
			r->table = step->name;
			r->key = xstrdup(PQgetvalue(res, (int)i, 0));
			r->reason = xstrdup(PQgetvalue(res, (int)i, 1));
		}
	}
	PQclear(res);
	return APP_OK;
}

enum app_err django_import(struct db_conn *source, struct db_conn *target,
			   struct import_report *report)
{
	enum app_err err = APP_OK;

	memset(report, 0, sizeof(*report));
	for (size_t i = 0; i < IMPORT_TABLES; i++)
		report->tables[i].name = STEPS[i].name;
	for (size_t i = 0; err == APP_OK && i < IMPORT_TABLES; i++) {
		err = run_step(source, target, &STEPS[i]);
		if (err == APP_OK && STEPS[i].after)
			err = STEPS[i].after(source, target, report);
	}
	for (size_t i = 0; err == APP_OK && i < IMPORT_TABLES; i++) {
		err = count_step(target, &STEPS[i], &report->tables[i]);
		if (err == APP_OK && report->tables[i].refused)
			err = list_refusals(target, &STEPS[i], report);
	}
	return err;
}

enum app_err django_import_missing_tables(struct db_conn *source, char **missing)
{
	PGresult *res = NULL;
	const char *params[] = {DJANGO_TABLES};
	enum app_err err = db_exec(source, SQL_MISSING_TABLES, 1, params, &res);

	*missing = NULL;
	if (err == APP_OK && !PQgetisnull(res, 0, 0))
		*missing = xstrdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return err;
}

void import_report_release(struct import_report *report)
{
	for (size_t i = 0; i < report->n_refusals; i++) {
		free(report->refusals[i].key);
		free(report->refusals[i].reason);
	}
	free(report->refusals);
	memset(report, 0, sizeof(*report));
}
