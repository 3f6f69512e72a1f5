/*
 * The SQL of `devsearch seed`; see seed.h. Every table is filled by one
 * INSERT ... SELECT over generate_series, in the shape of the Django
 * version's `manage.py seed` (its word lists, counts and texts), with
 * pg_temp.seed_rand(i, salt), a hash of the row number, in place of its
 * random draws: the same n gives the same data. Knows nothing of the command
 * line.
 */
#include "models/seed.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Session helpers and the working tables. The lists are the Django
 * version's: 'word' its 37 technology words (the tags, skills, intros and
 * titles), 'first' and 'last' its names, 'city' its locations, 'thing' its
 * kinds of project, 'review' its review bodies.
 * seed_sample(a, b, k), k = 0, 1, 2..., draws distinct words: word number
 * hash(a, b) + k * step, with a step from 1 to 36; 37 being prime, the first
 * 37 are all different.
 */
static const char SQL_SETUP[] =
	"CREATE OR REPLACE FUNCTION pg_temp.seed_rand(a bigint, b bigint) RETURNS integer "
	"LANGUAGE sql IMMUTABLE AS $$ SELECT hashint8(a * 1000003 + b) & 2147483647 $$;\n"
	"CREATE OR REPLACE FUNCTION pg_temp.seed_words(list text) RETURNS text[] "
	"LANGUAGE sql IMMUTABLE AS $$ SELECT CASE list\n"
	" WHEN 'word' THEN ARRAY['rust', 'go', 'python', 'django', 'react', 'vue', 'postgres',"
	"  'redis', 'kafka', 'docker', 'kubernetes', 'linux', 'graphql', 'rest', 'grpc', 'c',"
	"  'cpp', 'java', 'kotlin', 'swift', 'typescript', 'node', 'elixir', 'haskell', 'ml',"
	"  'data', 'devops', 'security', 'cloud', 'aws', 'gcp', 'azure', 'mobile', 'web', 'api',"
	"  'compiler', 'database']\n"
	" WHEN 'first' THEN ARRAY['Ada', 'Alan', 'Grace', 'Linus', 'Ken', 'Dennis', 'Barbara',"
	"  'Margaret', 'Guido', 'Bjarne', 'Anders', 'Rob', 'Edsger', 'Donald', 'Frances', 'John']\n"
	" WHEN 'last' THEN ARRAY['Lovelace', 'Turing', 'Hopper', 'Torvalds', 'Thompson',"
	"  'Ritchie', 'Liskov', 'Hamilton', 'Rossum', 'Stroustrup', 'Hejlsberg', 'Pike',"
	"  'Dijkstra', 'Knuth', 'Allen', 'Backus']\n"
	" WHEN 'city' THEN ARRAY['Berlin', 'Lagos', 'Lima', 'Oslo', 'Pune', 'Austin', '']\n"
	" WHEN 'thing' THEN ARRAY['tool', 'service', 'library', 'app']\n"
	" WHEN 'review' THEN ARRAY['', 'Nice!', 'Needs docs', 'Great work']\n"
	" END $$;\n"
	"CREATE OR REPLACE FUNCTION pg_temp.seed_pick(list text, a bigint, b bigint) RETURNS text "
	"LANGUAGE sql IMMUTABLE AS $$ SELECT (pg_temp.seed_words(list))[1 + "
	"pg_temp.seed_rand(a, b) % cardinality(pg_temp.seed_words(list))] $$;\n"
	"CREATE OR REPLACE FUNCTION pg_temp.seed_sample(a bigint, b bigint, k integer) "
	"RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT (pg_temp.seed_words('word'))[1 + "
	"((pg_temp.seed_rand(a, b)::bigint + k * (1 + pg_temp.seed_rand(a, b + 1) % 36)) % "
	"37)::integer] $$;\n"
	"CREATE TEMP TABLE seed_profiles (i integer PRIMARY KEY, user_id uuid NOT NULL, "
	"profile_id uuid NOT NULL, username text NOT NULL, name text NOT NULL, "
	"created timestamptz NOT NULL) ON COMMIT DROP;\n"
	"CREATE TEMP TABLE seed_projects (n integer PRIMARY KEY, id uuid NOT NULL, "
	"owner_i integer NOT NULL, k integer NOT NULL, created timestamptz NOT NULL) "
	"ON COMMIT DROP;\n"
	"CREATE TEMP TABLE seed_reviews (n integer NOT NULL, voter_i integer NOT NULL, "
	"value text NOT NULL, body text NOT NULL, created timestamptz NOT NULL) ON COMMIT DROP;\n"
	"CREATE TEMP TABLE seed_strides (j integer PRIMARY KEY, s integer NOT NULL) "
	"ON COMMIT DROP;\n";

/*
 * Bulk loading of the trigram (GIN) indexes of the tables seeded in bulk:
 * those made with fastupdate = off take the new entries into their pending
 * list for the length of the seed, merged into the index in sorted batches
 * at the end. Entry by entry, with one WAL record each, they would take most
 * of the seeding time (1.6 GB of WAL for 40,000 projects). ALTER INDEX locks
 * each index, and so every query on its table, until the commit; a rollback
 * undoes it.
 */
static const char SQL_GIN_BULK_ON[] =
	"SET LOCAL gin_pending_list_limit = '1GB';\n"
	"SET LOCAL maintenance_work_mem = '256MB';\n"
	"CREATE TEMP TABLE seed_gin ON COMMIT DROP AS "
	"SELECT x.indexrelid::regclass AS idx FROM pg_index x "
	"JOIN pg_class c ON c.oid = x.indexrelid JOIN pg_am a ON a.oid = c.relam "
	"WHERE a.amname = 'gin' "
	"AND x.indrelid = ANY (ARRAY['users', 'profiles', 'skills', 'projects']::regclass[]) "
	"AND c.reloptions && ARRAY['fastupdate=off', 'fastupdate=false'];\n"
	"DO $$ DECLARE r record; BEGIN FOR r IN SELECT idx FROM seed_gin LOOP "
	"EXECUTE format('ALTER INDEX %s SET (fastupdate = on)', r.idx); END LOOP; END $$;\n";

static const char SQL_GIN_BULK_OFF[] =
	"SELECT gin_clean_pending_list(idx) FROM seed_gin;\n"
	"DO $$ DECLARE r record; BEGIN FOR r IN SELECT idx FROM seed_gin LOOP "
	"EXECUTE format('ALTER INDEX %s SET (fastupdate = off)', r.idx); END LOOP; END $$;\n";

/*
 * $1 n. Steps s coprime to n (1 always among them), numbered from 0: the
 * profiles 1 + (b + k s) mod n for k = 0 .. n - 1 are all different, which
 * draws distinct reviewers and senders the way random.sample() does.
 */
static const char SQL_PLAN_STRIDES[] =
	"INSERT INTO seed_strides (j, s) "
	"SELECT row_number() OVER (ORDER BY s) - 1, s FROM (SELECT DISTINCT s FROM "
	"(SELECT 1 AS s UNION ALL SELECT 1 + pg_temp.seed_rand(j, 1) % $1::integer "
	"FROM generate_series(1, 512) AS j) AS c WHERE gcd(s, $1::integer) = 1) AS d";

/* $1 n, $2 run. Joined within the last two years. */
static const char SQL_PLAN_PROFILES[] =
	"INSERT INTO seed_profiles (i, user_id, profile_id, username, name, created) "
	"SELECT i, gen_random_uuid(), gen_random_uuid(), 'demo' || $2 || '_' || i, "
	"pg_temp.seed_pick('first', i, 1) || ' ' || pg_temp.seed_pick('last', i, 2), "
	"now() - make_interval(secs => 86400 + pg_temp.seed_rand(i, 3) % 63072000) "
	"FROM generate_series(1, $1::integer) AS i";

/* $1 the password hash, the same for everyone. */
static const char SQL_USERS[] =
	"INSERT INTO users (id, username, email, password, date_joined) "
	"SELECT user_id, username, username || '@example.com', $1, created FROM seed_profiles";

/* "Rust and docker developer", "Seeded demo profile. " one to five times. */
static const char SQL_PROFILES[] =
	"INSERT INTO profiles (id, user_id, name, location, short_intro, bio, social_github, "
	"created) "
	"SELECT profile_id, user_id, name, pg_temp.seed_pick('city', i, 4), "
	"initcap(pg_temp.seed_pick('word', i, 5)) || ' and ' || pg_temp.seed_pick('word', i, 6) "
	"|| ' developer', repeat('Seeded demo profile. ', 1 + pg_temp.seed_rand(i, 7) % 5), "
	"'https://github.com/' || username, created "
	"FROM seed_profiles";

/* One to five distinct skills per profile: "Rust", "rust experience". */
static const char SQL_SKILLS[] =
	"INSERT INTO skills (owner_id, name, description, created) "
	"SELECT s.profile_id, initcap(w.word), w.word || ' experience', "
	"least(now(), s.created + make_interval(mins => k)) "
	"FROM seed_profiles s "
	"CROSS JOIN LATERAL generate_series(0, pg_temp.seed_rand(s.i, 10) % 5) AS k "
	"CROSS JOIN LATERAL (SELECT pg_temp.seed_sample(s.i, 11, k) AS word) AS w";

/* One tag per word; existing ones (any case) are kept and used. */
static const char SQL_TAGS[] =
	"INSERT INTO tags (name) SELECT w FROM unnest(pg_temp.seed_words('word')) AS w "
	"ON CONFLICT DO NOTHING";

/* Zero to four projects per profile, numbered n over the whole run and k (from 0) per owner. */
static const char SQL_PLAN_PROJECTS[] =
	"INSERT INTO seed_projects (n, id, owner_i, k, created) "
	"SELECT row_number() OVER (ORDER BY s.i, k), gen_random_uuid(), s.i, k, "
	"least(now(), s.created + make_interval(days => pg_temp.seed_rand(s.i * 8 + k, 21) % 365)) "
	"FROM seed_profiles s "
	"CROSS JOIN LATERAL generate_series(0, pg_temp.seed_rand(s.i, 20) % 5 - 1) AS k";

/*
 * $1 n. Zero to eight distinct reviewers per project, at most n, the owner
 * left out when drawn; two votes in three up. Made before the projects, whose
 * counters are then written once (see SQL_REVIEWS).
 */
static const char SQL_PLAN_REVIEWS[] =
	"INSERT INTO seed_reviews (n, voter_i, value, body, created) "
	"SELECT p.n, v.i, "
	"CASE WHEN pg_temp.seed_rand(p.n * 16 + d, 33) % 3 = 0 THEN 'down' ELSE 'up' END, "
	"pg_temp.seed_pick('review', p.n * 16 + d, 34), "
	"least(now(), p.created + "
	"make_interval(secs => pg_temp.seed_rand(p.n * 16 + d, 35) % 15552000)) "
	"FROM seed_projects p "
	"CROSS JOIN LATERAL generate_series(0, "
	"least($1::integer, pg_temp.seed_rand(p.n, 30) % 9) - 1) AS d "
	"JOIN seed_strides st "
	"ON st.j = pg_temp.seed_rand(p.n, 32) % (SELECT count(*) FROM seed_strides) "
	"JOIN seed_profiles v "
	"ON v.i = 1 + (pg_temp.seed_rand(p.n, 31)::bigint + d * st.s) % $1::integer "
	"WHERE v.i <> p.owner_i";

/*
 * "Rust app 0", "A demo project by Ada Lovelace using go, kafka, ml", the
 * vote counters from the planned reviews.
 */
static const char SQL_PROJECTS[] =
	"INSERT INTO projects (id, owner_id, title, description, source_link, vote_total, "
	"vote_up, created) "
	"SELECT p.id, s.profile_id, "
	"initcap(pg_temp.seed_pick('word', p.n, 22)) || ' ' || pg_temp.seed_pick('thing', p.n, 23) "
	"|| ' ' || p.k, "
	"format('A demo project by %s using %s, %s, %s', s.name, pg_temp.seed_sample(p.n, 24, 0), "
	"pg_temp.seed_sample(p.n, 24, 1), pg_temp.seed_sample(p.n, 24, 2)), "
	"'https://example.com/' || s.username || '/' || p.k, "
	"coalesce(r.total, 0), coalesce(r.up, 0), p.created "
	"FROM seed_projects p JOIN seed_profiles s ON s.i = p.owner_i "
	"LEFT JOIN (SELECT n, count(*) AS total, count(*) FILTER (WHERE value = 'up') AS up "
	"FROM seed_reviews GROUP BY n) AS r ON r.n = p.n";

/* One to four distinct tags per project. */
static const char SQL_PROJECT_TAGS[] =
	"INSERT INTO project_tags (project_id, tag_id) "
	"SELECT p.id, t.id FROM seed_projects p "
	"CROSS JOIN LATERAL generate_series(0, pg_temp.seed_rand(p.n, 25) % 4) AS d "
	"JOIN tags t ON lower(t.name) = pg_temp.seed_sample(p.n, 26, d)";

/*
 * The reviews, with the counting trigger off: the projects already carry
 * their totals, and the trigger's one UPDATE per review (a new row version
 * of the project, with its trigram index entries) would take most of the
 * seeding time. The ALTER locks reviews until the commit, so no other
 * transaction writes a review meanwhile; a rollback undoes it.
 */
static const char SQL_VOTE_TRIGGER_OFF[] =
	"ALTER TABLE reviews DISABLE TRIGGER reviews_count_votes";

static const char SQL_REVIEWS[] =
	"INSERT INTO reviews (owner_id, project_id, body, value, created) "
	"SELECT v.profile_id, p.id, r.body, r.value, r.created "
	"FROM seed_reviews r JOIN seed_projects p ON p.n = r.n "
	"JOIN seed_profiles v ON v.i = r.voter_i";

static const char SQL_VOTE_TRIGGER_ON[] = "ALTER TABLE reviews ENABLE TRIGGER reviews_count_votes";

/* $1 n. Zero to three distinct senders per profile, never itself; half of them read. */
static const char SQL_MESSAGES[] =
	"INSERT INTO messages "
	"(sender_id, recipient_id, name, email, subject, body, is_read, created) "
	"SELECT f.profile_id, r.profile_id, f.name, f.username || '@example.com', 'Hello', "
	"'Hi ' || r.name || '!', pg_temp.seed_rand(r.i * 4 + k, 43) % 2 = 0, "
	"least(now(), greatest(r.created, f.created) + "
	"make_interval(secs => pg_temp.seed_rand(r.i * 4 + k, 44) % 7776000)) "
	"FROM seed_profiles r "
	"CROSS JOIN LATERAL generate_series(0, "
	"least($1::integer, pg_temp.seed_rand(r.i, 40) % 4) - 1) AS k "
	"JOIN seed_strides st "
	"ON st.j = pg_temp.seed_rand(r.i, 42) % (SELECT count(*) FROM seed_strides) "
	"JOIN seed_profiles f "
	"ON f.i = 1 + (pg_temp.seed_rand(r.i, 41)::bigint + k * st.s) % $1::integer "
	"WHERE f.i <> r.i";

/* Zero to three notes per profile: "Note 0", "remember docker". */
static const char SQL_NOTES[] =
	"INSERT INTO notes (owner_id, title, body, created, updated) "
	"SELECT s.profile_id, 'Note ' || k, "
	"'remember ' || pg_temp.seed_pick('word', s.i * 4 + k, 51), t.at, t.at "
	"FROM seed_profiles s "
	"CROSS JOIN LATERAL generate_series(0, pg_temp.seed_rand(s.i, 50) % 4 - 1) AS k "
	"CROSS JOIN LATERAL (SELECT least(now(), s.created + make_interval(days => "
	"pg_temp.seed_rand(s.i * 4 + k, 52) % 365, mins => k)) AS at) AS t";

/* Fresh statistics, so that the first requests after a seed are planned for its data. */
static const char SQL_ANALYZE[] =
	"ANALYZE users, profiles, skills, tags, projects, project_tags, reviews, messages, notes";

/* A step's parameters; P_SCRIPT: a script of several statements, none. */
enum seed_param { P_NONE, P_N, P_N_RUN, P_HASH, P_SCRIPT };

enum app_err seed_insert(struct db_conn *conn, const char *run, long n, const char *password_hash,
			 struct seed_counts *out)
{
	long ignored = 0;
	const struct {
		const char *sql;
		enum seed_param params;
		long *count;
	} steps[] = {
		{SQL_GIN_BULK_ON, P_SCRIPT, &ignored},
		{SQL_PLAN_STRIDES, P_N, &ignored},
		{SQL_PLAN_PROFILES, P_N_RUN, &ignored},
		{SQL_USERS, P_HASH, &ignored},
		{SQL_PROFILES, P_NONE, &out->profiles},
		{SQL_SKILLS, P_NONE, &out->skills},
		{SQL_TAGS, P_NONE, &out->tags},
		{SQL_PLAN_PROJECTS, P_NONE, &ignored},
		{SQL_PLAN_REVIEWS, P_N, &ignored},
		{SQL_PROJECTS, P_NONE, &out->projects},
		{SQL_GIN_BULK_OFF, P_SCRIPT, &ignored},
		{SQL_PROJECT_TAGS, P_NONE, &out->project_tags},
		{SQL_MESSAGES, P_N, &out->messages},
		{SQL_NOTES, P_NONE, &out->notes},
		/* Last, so that reviews stay locked for as short a time as possible. */
		{SQL_VOTE_TRIGGER_OFF, P_NONE, &ignored},
		{SQL_REVIEWS, P_NONE, &out->reviews},
		{SQL_VOTE_TRIGGER_ON, P_NONE, &ignored},
		{SQL_ANALYZE, P_NONE, &ignored},
	};
	char n_text[24];
	enum app_err err;

	memset(out, 0, sizeof(*out));
	snprintf(n_text, sizeof(n_text), "%ld", n);
	if ((err = db_exec_script(conn, SQL_SETUP)) != APP_OK)
		return err;
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		const char *params[2] = {NULL, NULL};
		int nparams = 0;
		PGresult *res = NULL;
		if (steps[i].params == P_SCRIPT) {
			if ((err = db_exec_script(conn, steps[i].sql)) != APP_OK)
				return err;
			continue;
		}
		switch (steps[i].params) {
		case P_N_RUN:
			params[nparams++] = n_text;
			params[nparams++] = run;
			break;
		case P_N: params[nparams++] = n_text; break;
		case P_HASH: params[nparams++] = password_hash; break;
		case P_NONE:
		case P_SCRIPT:
		default: break;
		}
		if ((err = db_exec(conn, steps[i].sql, nparams, params, &res)) != APP_OK)
			return err;
		*steps[i].count = atol(PQcmdTuples(res));
		PQclear(res);
	}
	return APP_OK;
}
