/*
 * `devsearch import-django` against a database shaped as the Django version's
 * (its tables and the columns the import reads, built here): everything
 * copied with its ids, timestamps and relations; a dry run and a second run
 * writing nothing; refused rows reported with their reason and the rows that
 * depend on them, and nothing written unless --skip-refused; live and
 * blacklisted refresh tokens; the arguments. tests/django/run.sh runs it
 * against the real Django version.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/db.h"
#include "support.h"

/* The Django version's tables (users and projects apps, SimpleJWT's blacklist), the columns read. */
static const char DJANGO_SCHEMA[] =
	"CREATE TABLE users_user (id uuid PRIMARY KEY, password varchar(128) NOT NULL, "
	"last_login timestamptz, is_superuser boolean NOT NULL, username varchar(150) NOT NULL "
	"UNIQUE, first_name varchar(150) NOT NULL, last_name varchar(150) NOT NULL, "
	"email varchar(254) NOT NULL, is_staff boolean NOT NULL, is_active boolean NOT NULL, "
	"date_joined timestamptz NOT NULL);"
	"CREATE TABLE users_profile (id uuid PRIMARY KEY, user_id uuid NOT NULL UNIQUE "
	"REFERENCES users_user, name varchar(200) NOT NULL, username varchar(150) NOT NULL, "
	"email varchar(254) NOT NULL, location varchar(200) NOT NULL, short_intro varchar(200) "
	"NOT NULL, bio text NOT NULL, profile_image varchar(2000) NOT NULL, social_github "
	"varchar(2000) NOT NULL, social_twitter varchar(2000) NOT NULL, social_linkedin "
	"varchar(2000) NOT NULL, social_youtube varchar(2000) NOT NULL, social_website "
	"varchar(2000) NOT NULL, birth_date date, is_active boolean NOT NULL, created "
	"timestamptz NOT NULL, favorite_note_id uuid);"
	"CREATE TABLE users_skill (id uuid PRIMARY KEY, owner_id uuid NOT NULL REFERENCES "
	"users_profile, name varchar(200) NOT NULL, description text NOT NULL, created "
	"timestamptz NOT NULL);"
	"CREATE TABLE users_profile_friends (id serial PRIMARY KEY, from_profile_id uuid NOT NULL "
	"REFERENCES users_profile, to_profile_id uuid NOT NULL REFERENCES users_profile);"
	"CREATE TABLE users_note (id uuid PRIMARY KEY, owner_id uuid NOT NULL REFERENCES "
	"users_profile, title varchar(200) NOT NULL, body text NOT NULL, created timestamptz NOT "
	"NULL, updated timestamptz NOT NULL);"
	"ALTER TABLE users_profile ADD FOREIGN KEY (favorite_note_id) REFERENCES users_note;"
	"CREATE TABLE users_message (id uuid PRIMARY KEY, sender_id uuid REFERENCES users_profile, "
	"recipient_id uuid NOT NULL REFERENCES users_profile, name varchar(200) NOT NULL, email "
	"varchar(254) NOT NULL, subject varchar(200) NOT NULL, body text NOT NULL, is_read "
	"boolean NOT NULL, created timestamptz NOT NULL);"
	"CREATE TABLE projects_tag (id uuid PRIMARY KEY, name varchar(200) NOT NULL, created "
	"timestamptz NOT NULL);"
	"CREATE TABLE projects_project (id uuid PRIMARY KEY, owner_id uuid REFERENCES "
	"users_profile, title varchar(200) NOT NULL, description text NOT NULL, featured_image "
	"varchar(2000) NOT NULL, demo_link varchar(2000) NOT NULL, source_link varchar(2000) NOT "
	"NULL, vote_total integer NOT NULL, vote_ratio integer NOT NULL, created timestamptz NOT "
	"NULL);"
	"CREATE TABLE projects_project_tags (id serial PRIMARY KEY, project_id uuid NOT NULL "
	"REFERENCES projects_project, tag_id uuid NOT NULL REFERENCES projects_tag);"
	"CREATE TABLE projects_review (id uuid PRIMARY KEY, owner_id uuid NOT NULL REFERENCES "
	"users_profile, project_id uuid NOT NULL REFERENCES projects_project, body text NOT NULL, "
	"value varchar(4) NOT NULL, created timestamptz NOT NULL);"
	"CREATE TABLE token_blacklist_outstandingtoken (id bigserial PRIMARY KEY, token text NOT "
	"NULL, created_at timestamptz, expires_at timestamptz NOT NULL, user_id uuid REFERENCES "
	"users_user, jti varchar(255) NOT NULL UNIQUE);"
	"CREATE TABLE token_blacklist_blacklistedtoken (id bigserial PRIMARY KEY, blacklisted_at "
	"timestamptz NOT NULL, token_id bigint NOT NULL UNIQUE REFERENCES "
	"token_blacklist_outstandingtoken);"
	"SELECT 1";

#define ALICE "a0000000-0000-4000-8000-000000000001"
#define BOB "b0000000-0000-4000-8000-000000000002"
#define CAROL "c0000000-0000-4000-8000-000000000003"
#define ALICE_P "a1000000-0000-4000-8000-000000000001"
#define BOB_P "b1000000-0000-4000-8000-000000000002"
#define NOTE "e0000000-0000-4000-8000-000000000001"
#define PROJECT "f0000000-0000-4000-8000-000000000001"

/*
 * Alice and Bob with profiles, Carol without one (and, like Bob, no email);
 * Bob's favorite note is Alice's; a friendship, a skill each, a tag, Alice's
 * project with stored counters that disagree with its one review (Bob's up
 * vote), a note, a message, and Alice's refresh tokens: live, blacklisted,
 * expired.
 */
static const char DJANGO_ROWS[] =
	"INSERT INTO users_user VALUES "
	"('" ALICE "', 'argon2$argon2id$v=19$m=102400,t=2,p=8$c2FsdA$aGFzaA', "
	"'2026-03-04 05:06:07.123456+00', false, 'alice', 'Alice', 'A', 'alice@example.com', "
	"false, true, '2026-01-02 03:04:05.654321+00'),"
	"('" BOB "', 'pbkdf2_sha256$600000$salt$aGFzaA==', NULL, false, 'bob', '', '', '', "
	"true, true, '2026-01-03 00:00:00+00'),"
	"('" CAROL "', '!unusable', NULL, true, 'carol', 'Carol', 'Jones', '', true, false, "
	"'2026-01-04 00:00:00+00');"
	"INSERT INTO users_profile VALUES "
	"('" ALICE_P "', '" ALICE "', 'Alice A', 'alice', 'alice@example.com', 'Oslo', 'hi', "
	"'bio', 'profiles/a.png', 'https://github.com/a', '', '', '', '', '1990-05-06', true, "
	"'2026-01-02 03:04:06+00', NULL),"
	"('" BOB_P "', '" BOB "', 'Bob', 'bob', '', '', '', '', '', '', '', '', '', '', NULL, "
	"true, '2026-01-03 00:00:01+00', NULL);"
	"INSERT INTO users_note VALUES ('" NOTE "', '" ALICE_P "', 'A note', 'body', "
	"'2026-02-01 00:00:00+00', '2026-02-02 00:00:00+00');"
	"UPDATE users_profile SET favorite_note_id = '" NOTE "';"
	"INSERT INTO users_skill VALUES "
	"('d0000000-0000-4000-8000-000000000001', '" ALICE_P "', 'C', 'systems', "
	"'2026-02-01 00:00:00+00'),"
	"('d0000000-0000-4000-8000-000000000002', '" BOB_P "', 'Go', '', "
	"'2026-02-01 00:00:00+00');"
	"INSERT INTO users_profile_friends (from_profile_id, to_profile_id) VALUES "
	"('" ALICE_P "', '" BOB_P "');"
	"INSERT INTO projects_tag VALUES ('90000000-0000-4000-8000-000000000001', 'rust', "
	"'2026-02-01 00:00:00+00');"
	"INSERT INTO projects_project VALUES ('" PROJECT "', '" ALICE_P "', 'Kernel', 'desc', '', "
	"'https://demo', '', 5, 40, '2026-02-03 00:00:00+00');"
	"INSERT INTO projects_project_tags (project_id, tag_id) VALUES "
	"('" PROJECT "', '90000000-0000-4000-8000-000000000001');"
	"INSERT INTO projects_review VALUES ('70000000-0000-4000-8000-000000000001', '" BOB_P "', "
	"'" PROJECT "', 'nice', 'up', '2026-02-04 00:00:00+00');"
	"INSERT INTO users_message VALUES ('60000000-0000-4000-8000-000000000001', '" BOB_P "', "
	"'" ALICE_P "', 'Bob', 'bob@example.com', 'Hello', 'Hi Alice', false, "
	"'2026-02-05 00:00:00+00');"
	"INSERT INTO token_blacklist_outstandingtoken (token, created_at, expires_at, user_id, "
	"jti) "
	"VALUES ('t1', now(), now() + interval '1 day', '" ALICE "', 'live-a'),"
	"('t2', now(), now() + interval '1 day', '" ALICE "', 'black-a'),"
	"('t3', now() - interval '2 days', now() - interval '1 day', '" ALICE "', 'old-a');"
	"INSERT INTO token_blacklist_blacklistedtoken (blacklisted_at, token_id) "
	"SELECT now(), id FROM token_blacklist_outstandingtoken WHERE jti = 'black-a';"
	"SELECT 1";

/* Every table the import writes, summed into one line, to see that nothing changed. */
static const char SQL_ALL_COUNTS[] =
	"SELECT (SELECT count(*) FROM users) || ' ' || (SELECT count(*) FROM profiles) || ' ' || "
	"(SELECT count(*) FROM skills) || ' ' || (SELECT count(*) FROM friends) || ' ' || "
	"(SELECT count(*) FROM tags) || ' ' || (SELECT count(*) FROM projects) || ' ' || "
	"(SELECT count(*) FROM project_tags) || ' ' || (SELECT count(*) FROM reviews) || ' ' || "
	"(SELECT count(*) FROM notes) || ' ' || (SELECT count(*) FROM messages) || ' ' || "
	"(SELECT count(*) FROM login_sessions) || ' ' || (SELECT count(*) FROM refresh_tokens) "
	"|| ' ' || (SELECT count(*) FROM blacklisted_tokens)";

struct import_fixture {
	char *django_url;
	char *target_url;
	char env_db[1024];
};

/* A Django-shaped database with rows (extra_sql after them, if any) and a fresh migrated one. */
static void fixture_open(struct import_fixture *fx, const char *extra_sql)
{
	struct strbuf out = STRBUF_INIT;
	fx->django_url = test_db_create();
	free(test_sql_value(fx->django_url, DJANGO_SCHEMA));
	free(test_sql_value(fx->django_url, DJANGO_ROWS));
	if (extra_sql)
		free(test_sql_value(fx->django_url, extra_sql));
	fx->target_url = test_db_create();
	snprintf(fx->env_db, sizeof(fx->env_db), "DATABASE_URL=%s", fx->target_url);
	const char *args[] = {"migrate", NULL};
	const char *env[] = {fx->env_db, NULL};
	ck_assert_msg(test_run(args, env, &out) == 0, "migrate: %s", strbuf_str(&out));
	strbuf_release(&out);
}

static void fixture_close(struct import_fixture *fx)
{
	free(fx->django_url);
	free(fx->target_url);
}

/* Run import-django --from the fixture's Django database, with up to two more flags. */
static int run_import(struct import_fixture *fx, const char *flag1, const char *flag2,
		      struct strbuf *out)
{
	const char *args[] = {"import-django", "--from", fx->django_url, flag1, flag2, NULL};
	const char *env[] = {fx->env_db, NULL};
	strbuf_reset(out);
	return test_run(args, env, out);
}

/* sql's one value on the target, compared with want. */
static void expect_value(struct import_fixture *fx, const char *sql, const char *want)
{
	char *value = test_sql_value(fx->target_url, sql);
	ck_assert_msg(value && !strcmp(value, want), "%s: \"%s\", not \"%s\"", sql,
		      value ? value : "(none)", want);
	free(value);
}

static void expect_output(const struct strbuf *out, const char *text)
{
	ck_assert_msg(strstr(strbuf_str(out), text) != NULL, "no \"%s\" in:\n%s", text,
		      strbuf_str(out));
}

START_TEST(test_import_dry_run_writes_nothing)
{
	struct import_fixture fx;
	struct strbuf out = STRBUF_INIT;
	fixture_open(&fx, NULL);
	char *before = test_sql_value(fx.target_url, SQL_ALL_COUNTS);

	ck_assert_msg(run_import(&fx, "--dry-run", NULL, &out) == 0, "%s", strbuf_str(&out));
	expect_output(&out, "to copy");
	expect_output(&out, "Dry run");
	expect_value(&fx, SQL_ALL_COUNTS, before);
	free(before);
	strbuf_release(&out);
	fixture_close(&fx);
}
END_TEST

START_TEST(test_import_copies_ids_times_relations)
{
	struct import_fixture fx;
	struct strbuf out = STRBUF_INIT;
	fixture_open(&fx, NULL);

	ck_assert_msg(run_import(&fx, NULL, NULL, &out) == 0, "%s", strbuf_str(&out));
	/* Ids, timestamps to the microsecond, hashes as they were. */
	expect_value(
		&fx,
		"SELECT username || ' ' || email || ' ' || " DB_RFC3339(
			"date_joined") " || ' ' || " DB_RFC3339("last_login") " || ' ' || password "
									      "FROM users "
									      "WHERE id = '" ALICE
									      "'",
		"alice alice@example.com 2026-01-02T03:04:05.654321Z 2026-03-04T05:06:07.123456Z "
		"argon2$argon2id$v=19$m=102400,t=2,p=8$c2FsdA$aGFzaA");
	expect_value(&fx,
		     "SELECT is_staff || ' ' || is_superuser || ' ' || is_active FROM users "
		     "WHERE id = '" CAROL "'",
		     "true true false");
	/* Two users without an email: the blank one is not unique. */
	expect_value(&fx, "SELECT count(*) FROM users WHERE email = ''", "2");
	expect_value(&fx,
		     "SELECT name || ' ' || location || ' ' || profile_image || ' ' || birth_date "
		     "|| ' ' || " DB_RFC3339("created") " FROM profiles WHERE id = '" ALICE_P "'",
		     "Alice A Oslo profiles/a.png 1990-05-06 2026-01-02T03:04:06.000000Z");
	/* Carol had no profile: she has one now, named as Django's signal would. */
	expect_value(&fx, "SELECT name FROM profiles WHERE user_id = '" CAROL "'", "Carol Jones");
	expect_output(&out, "1 users had no profile");
	/* A favorite note is carried when it is the profile's own. */
	expect_value(&fx, "SELECT favorite_note_id FROM profiles WHERE id = '" ALICE_P "'", NOTE);
	expect_value(&fx, "SELECT favorite_note_id IS NULL FROM profiles WHERE id = '" BOB_P "'",
		     "t");
	expect_output(&out, "1 favorite notes were not carried");
	/* The friendship dates from the friend's profile. */
	expect_value(&fx,
		     "SELECT f.created = p.created FROM friends f JOIN profiles p ON p.id = "
		     "f.friend_id WHERE f.profile_id = '" ALICE_P "' AND f.friend_id = '" BOB_P "'",
		     "t");
	expect_value(&fx, "SELECT count(*) FROM project_tags WHERE project_id = '" PROJECT "'",
		     "1");
	/* Vote counters from the reviews, not from the stored numbers. */
	expect_value(&fx,
		     "SELECT vote_total || ' ' || vote_ratio FROM projects WHERE id = '" PROJECT
		     "'",
		     "1 100");
	expect_output(&out, "1 projects had stored vote counts");
	expect_value(&fx,
		     "SELECT sender_id || ' ' || recipient_id || ' ' || " DB_RFC3339(
			     "created") " FROM messages",
		     BOB_P " " ALICE_P " 2026-02-05T00:00:00.000000Z");
	expect_value(&fx, "SELECT " DB_RFC3339("updated") " FROM notes WHERE id = '" NOTE "'",
		     "2026-02-02T00:00:00.000000Z");
	/* Live tokens carried, the blacklisted one in an ended session, the expired one not. */
	expect_value(&fx, "SELECT string_agg(jti, ',' ORDER BY jti) FROM refresh_tokens",
		     "black-a,live-a");
	expect_value(&fx, "SELECT string_agg(jti, ',') FROM blacklisted_tokens", "black-a");
	expect_value(&fx,
		     "SELECT string_agg(t.jti || ':' || (s.revoked_at IS NOT NULL), ',' ORDER BY "
		     "t.jti) FROM refresh_tokens t JOIN login_sessions s ON s.id = t.session_id "
		     "AND s.user_id = t.user_id",
		     "black-a:true,live-a:false");
	expect_output(&out, "1 refresh tokens were expired");
	expect_value(&fx, SQL_ALL_COUNTS, "3 3 2 1 1 1 1 1 1 1 2 2 1");

	/* Again: nothing new, nothing changed. */
	ck_assert_msg(run_import(&fx, NULL, NULL, &out) == 0, "%s", strbuf_str(&out));
	expect_output(&out, "0 rows copied");
	expect_value(&fx, SQL_ALL_COUNTS, "3 3 2 1 1 1 1 1 1 1 2 2 1");
	strbuf_release(&out);
	fixture_close(&fx);
}
END_TEST

/*
 * A username already taken here by another account, and a blank skill name:
 * both refused, with what depends on them; nothing written, or the rest with
 * --skip-refused.
 */
START_TEST(test_import_refused_rows)
{
	struct import_fixture fx;
	struct strbuf out = STRBUF_INIT;
	fixture_open(&fx, "UPDATE users_skill SET name = '   ' WHERE owner_id = '" ALICE_P "';"
			  "SELECT 1");
	free(test_sql_value(fx.target_url,
			    "INSERT INTO users (username, email, password) VALUES ('BOB', "
			    "'other@example.com', 'x'); SELECT 1"));
	char *before = test_sql_value(fx.target_url, SQL_ALL_COUNTS);

	ck_assert_int_eq(run_import(&fx, NULL, NULL, &out), 1);
	expect_output(&out, "refused: users " BOB ": duplicate key value");
	expect_output(&out, "refused: profiles " BOB_P ": its user " BOB " was refused");
	expect_output(&out, "refused: skills d0000000-0000-4000-8000-000000000001: new row");
	expect_output(&out, "its owner, profile " BOB_P " was refused");
	expect_output(&out, "Nothing was written");
	/* PostgreSQL's "Failing row contains (...)" would print whole rows, hashes included. */
	ck_assert_msg(!strstr(strbuf_str(&out), "Failing row"), "%s", strbuf_str(&out));
	expect_value(&fx, SQL_ALL_COUNTS, before);

	ck_assert_msg(run_import(&fx, "--skip-refused", NULL, &out) == 0, "%s", strbuf_str(&out));
	expect_value(&fx, "SELECT count(*) FROM users WHERE id IN ('" ALICE "', '" CAROL "')", "2");
	expect_value(&fx, "SELECT count(*) FROM profiles WHERE id = '" BOB_P "'", "0");
	expect_value(&fx, "SELECT count(*) FROM skills", "0");
	/* Bob's review and message went with him; Alice's project stands, without his vote. */
	expect_value(&fx, "SELECT vote_total FROM projects WHERE id = '" PROJECT "'", "0");
	expect_value(&fx, "SELECT count(*) FROM messages", "0");
	expect_value(&fx, "SELECT count(*) FROM friends", "0");
	free(before);
	strbuf_release(&out);
	fixture_close(&fx);
}
END_TEST

START_TEST(test_import_arguments)
{
	struct import_fixture fx;
	struct strbuf out = STRBUF_INIT;
	fixture_open(&fx, NULL);
	const char *env[] = {fx.env_db, NULL};

	const char *no_from[] = {"import-django", "--dry-run", NULL};
	ck_assert_int_eq(test_run(no_from, env, &out), 2);
	expect_output(&out, "--from DJANGO_DATABASE_URL is required");
	strbuf_reset(&out);
	const char *unknown[] = {"import-django", "--from", fx.django_url, "--force", NULL};
	ck_assert_int_eq(test_run(unknown, env, &out), 2);
	/* Our own database is no Django one. */
	strbuf_reset(&out);
	const char *ours[] = {"import-django", "--from", fx.target_url, NULL};
	ck_assert_int_eq(test_run(ours, env, &out), 1);
	expect_output(&out, "not the Django version's (tables missing: ");
	strbuf_reset(&out);
	const char *help[] = {"import-django", "--help", NULL};
	ck_assert_int_eq(test_run(help, env, &out), 0);
	expect_output(&out, "--skip-refused");
	strbuf_release(&out);
	fixture_close(&fx);
}
END_TEST

Suite *import_suite(void)
{
	Suite *s = suite_create("import");
	TCase *tc = tcase_create("import-django");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_import_dry_run_writes_nothing);
	tcase_add_test(tc, test_import_copies_ids_times_relations);
	tcase_add_test(tc, test_import_refused_rows);
	tcase_add_test(tc, test_import_arguments);
	suite_add_tcase(s, tc);
	return s;
}
