/*
 * The SQL of `devsearch seed`; see seed.h. Every table is filled by one
 * INSERT ... SELECT over generate_series, picking words from the lists below
 * with pg_temp.seed_rand(i, salt), a hash of the row number: no randomness
 * but the run name and the ids, so benchmarks can rely on the shape of the
 * data. Knows nothing of the command line.
 */
#include "models/seed.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Session helpers and the working tables. seed_pick(list, a, b, k) is word
 * number (hash(a, b) + 7k) of a list: for k = 0, 1, 2... it gives distinct
 * words as long as the list's length is not a multiple of 7 (the 41 tech
 * words make distinct skills and tags per profile and project).
 */
static const char SQL_SETUP[] =
	"CREATE OR REPLACE FUNCTION pg_temp.seed_rand(a bigint, b bigint) RETURNS integer "
	"LANGUAGE sql IMMUTABLE AS $$ SELECT hashint8(a * 1000003 + b) & 2147483647 $$;\n"
	"CREATE OR REPLACE FUNCTION pg_temp.seed_words(list text) RETURNS text[] "
	"LANGUAGE sql IMMUTABLE AS $$ SELECT CASE list\n"
	" WHEN 'tech' THEN ARRAY['Rust', 'Go', 'Python', 'Django', 'React', 'PostgreSQL',"
	"  'Redis', 'Kafka', 'Docker', 'Kubernetes', 'Linux', 'GraphQL', 'gRPC', 'C', 'C++',"
	"  'Java', 'Kotlin', 'Swift', 'TypeScript', 'Node.js', 'Elixir', 'Haskell',"
	"  'Machine Learning', 'DevOps', 'Security', 'AWS', 'GCP', 'Azure', 'Flutter', 'Vue',"
	"  'Svelte', 'Terraform', 'Ansible', 'SQLite', 'MongoDB', 'Elasticsearch', 'Ruby',"
	"  'Rails', 'PHP', 'Scala', 'WebAssembly']\n"
	" WHEN 'first' THEN ARRAY['Ada', 'Alan', 'Grace', 'Linus', 'Ken', 'Dennis', 'Barbara',"
	"  'Margaret', 'Guido', 'Bjarne', 'Anders', 'Rob', 'Edsger', 'Donald', 'Frances', 'John',"
	"  'Aisha', 'Chidi', 'Mei', 'Hiroshi', 'Priya', 'Arjun', 'Sofia', 'Mateo', 'Lucia',"
	"  'Olga', 'Ivan', 'Fatima', 'Omar', 'Leila', 'Noah', 'Emma', 'Liam', 'Ines', 'Yuki',"
	"  'Kwame', 'Zara', 'Diego', 'Elena', 'Tomás', 'Nadia', 'Sven', 'Ingrid', 'Amara',"
	"  'Ravi', 'Chen', 'Hana', 'Pedro']\n"
	" WHEN 'last' THEN ARRAY['Lovelace', 'Turing', 'Hopper', 'Torvalds', 'Thompson',"
	"  'Ritchie', 'Liskov', 'Hamilton', 'van Rossum', 'Stroustrup', 'Hejlsberg', 'Pike',"
	"  'Dijkstra', 'Knuth', 'Allen', 'Backus', 'Okafor', 'Nakamura', 'Sharma', 'Silva',"
	"  'García', 'Rossi', 'Ivanova', 'Haddad', 'Nguyen', 'Kim', 'Müller', 'Dubois', 'Jensen',"
	"  'Mensah', 'Kowalski', 'Novak', 'Costa', 'Ahmed', 'Tanaka', 'Fischer', 'Moreau',"
	"  'Lindqvist', 'Adeyemi', 'Petrov']\n"
	" WHEN 'city' THEN ARRAY['Berlin', 'Lagos', 'Lima', 'Oslo', 'Pune', 'Austin', 'Lyon',"
	"  'Nairobi', 'Toronto', 'Kyoto', 'São Paulo', 'Warsaw', 'Melbourne', 'Dublin', 'Seoul',"
	"  'Remote', '']\n"
	" WHEN 'role' THEN ARRAY['Backend', 'Frontend', 'Full-stack', 'Mobile', 'Data',"
	"  'Platform', 'Embedded', 'Security', 'Game', 'Machine learning', 'Site reliability',"
	"  'Cloud']\n"
	" WHEN 'bio_open' THEN ARRAY['Developer and occasional speaker.',"
	"  'Self-taught programmer turned team lead.', 'Former physicist, now writing code.',"
	"  'Open-source maintainer in my free time.', 'I like small tools that do one thing well.',"
	"  'Consultant helping teams ship faster.']\n"
	" WHEN 'bio_close' THEN ARRAY['Happy to chat about side projects.',"
	"  'Currently looking for a new challenge.', 'Mentoring juniors on weekends.',"
	"  'Writing a book about it, slowly.', 'Ask me about testing.', '']\n"
	" WHEN 'skill_note' THEN ARRAY['', 'Since 2014', 'Daily at work', 'Side projects',"
	"  'In production for years', 'Learning it now', 'Taught a workshop',"
	"  'Open-source contributor']\n"
	" WHEN 'adjective' THEN ARRAY['Tiny', 'Fast', 'Open', 'Simple', 'Smart', 'Secure',"
	"  'Distributed', 'Minimal', 'Realtime', 'Portable', 'Lazy', 'Friendly']\n"
	" WHEN 'thing' THEN ARRAY['tool', 'service', 'library', 'app', 'dashboard', 'API', 'bot',"
	"  'CLI', 'engine', 'framework', 'plugin', 'scheduler', 'cache', 'tracker', 'editor',"
	"  'compiler']\n"
	" WHEN 'purpose' THEN ARRAY['for tracking expenses', 'to search job offers',"
	"  'for home automation', 'to monitor servers', 'for sharing recipes',"
	"  'to learn languages', 'for booking meeting rooms', 'to visualise metrics',"
	"  'for managing notes', 'to benchmark databases', 'for code review', 'to plan trips']\n"
	" WHEN 'status' THEN ARRAY['Used daily by a small team.', 'Work in progress.',"
	"  'Contributions welcome.', 'Started as a weekend hack.', 'Now in its third rewrite.',"
	"  '']\n"
	" WHEN 'review' THEN ARRAY['', 'Nice!', 'Needs docs', 'Great work',"
	"  'Clean code, easy to follow.', 'Could use more tests.', 'Exactly what I needed.',"
	"  'The README helped a lot.', 'Works well on Linux.', 'Fast and simple.']\n"
	" WHEN 'subject' THEN ARRAY['Hello', 'Question about your project', 'Collaboration?',"
	"  'Job opportunity', 'Thanks!', 'Meetup next week', 'Code review request',"
	"  'Conference talk']\n"
	" WHEN 'message' THEN ARRAY['I enjoyed your last project. Would you like to work "
	"together?',"
	"  'could you tell me how you set up the tests?', 'we are hiring, are you interested?',"
	"  'thanks for the help last week!', 'are you coming to the meetup on Thursday?',"
	"  'I opened a pull request, have a look when you can.']\n"
	" WHEN 'note_title' THEN ARRAY['Ideas', 'Reading list', 'Talk outline', 'Todo',"
	"  'Interview prep', 'Bugs to fix', 'Conference notes', 'Side project plan']\n"
	" WHEN 'note_body' THEN ARRAY['Try the new release before upgrading production.',"
	"  'Read the paper on consensus again.', 'Ask for feedback on the API design.',"
	"  'Write more tests for the parser.', '']\n"
	" END $$;\n"
	"CREATE OR REPLACE FUNCTION pg_temp.seed_pick(list text, a bigint, b bigint, "
	"k integer DEFAULT 0) RETURNS text LANGUAGE sql IMMUTABLE AS $$ "
	"SELECT (pg_temp.seed_words(list))[1 + ((pg_temp.seed_rand(a, b)::bigint + 7 * k) "
	"% cardinality(pg_temp.seed_words(list)))::integer] $$;\n"
	"CREATE TEMP TABLE seed_profiles (i integer PRIMARY KEY, user_id uuid NOT NULL, "
	"profile_id uuid NOT NULL, username text NOT NULL, name text NOT NULL, "
	"created timestamptz NOT NULL) ON COMMIT DROP;\n"
	"CREATE TEMP TABLE seed_projects (n integer PRIMARY KEY, id uuid NOT NULL, "
	"owner_i integer NOT NULL, nth integer NOT NULL) ON COMMIT DROP;\n";

/* $1 n, $2 run. Joined within the last two years. */
static const char SQL_PLAN_PROFILES[] =
	"INSERT INTO seed_profiles (i, user_id, profile_id, username, name, created) "
	"SELECT i, gen_random_uuid(), gen_random_uuid(), 'demo' || $2 || '_' || i, "
	"pg_temp.seed_pick('first', i, 1) || ' ' || pg_temp.seed_pick('last', i, 2), "
	"now() - make_interval(secs => pg_temp.seed_rand(i, 3) % 63072000) "
	"FROM generate_series(1, $1::integer) AS i";

/* $1 the password hash, the same for everyone. */
static const char SQL_USERS[] =
	"INSERT INTO users (id, username, email, password, date_joined) "
	"SELECT user_id, username, username || '@example.com', $1, created FROM seed_profiles";

/* The intro's technologies are the profile's first skills. */
static const char SQL_PROFILES[] =
	"INSERT INTO profiles (id, user_id, name, location, short_intro, bio, social_github, "
	"social_website, created) "
	"SELECT profile_id, user_id, name, pg_temp.seed_pick('city', i, 4), "
	"format('%s developer: %s, %s and %s', pg_temp.seed_pick('role', i, 5), "
	"pg_temp.seed_pick('tech', i, 6, 0), pg_temp.seed_pick('tech', i, 6, 1), "
	"pg_temp.seed_pick('tech', i, 6, 2)), "
	"format('%s I have been writing software for %s years, lately mostly %s. %s', "
	"pg_temp.seed_pick('bio_open', i, 7), 2 + pg_temp.seed_rand(i, 8) % 20, "
	"pg_temp.seed_pick('tech', i, 6, 0), pg_temp.seed_pick('bio_close', i, 9)), "
	"'https://github.com/' || username, "
	"CASE WHEN pg_temp.seed_rand(i, 10) % 3 = 0 THEN 'https://' || username || '.dev' "
	"ELSE '' END, created "
	"FROM seed_profiles";

/* One to five distinct skills per profile. */
static const char SQL_SKILLS[] =
	"INSERT INTO skills (owner_id, name, description, created) "
	"SELECT s.profile_id, pg_temp.seed_pick('tech', s.i, 6, k), "
	"pg_temp.seed_pick('skill_note', s.i * 8 + k, 11), s.created + make_interval(mins => k) "
	"FROM seed_profiles s CROSS JOIN LATERAL generate_series(0, pg_temp.seed_rand(s.i, 12) % "
	"5) "
	"AS k";

/* One tag per tech word, lowercase; existing ones (any case) are kept. */
static const char SQL_TAGS[] =
	"INSERT INTO tags (name) SELECT lower(w) FROM unnest(pg_temp.seed_words('tech')) AS w "
	"ON CONFLICT DO NOTHING";

/* Zero to four projects per profile, numbered n over the whole run. */
static const char SQL_PLAN_PROJECTS[] =
	"INSERT INTO seed_projects (n, id, owner_i, nth) "
	"SELECT row_number() OVER (ORDER BY s.i, k), gen_random_uuid(), s.i, k "
	"FROM seed_profiles s CROSS JOIN LATERAL generate_series(1, pg_temp.seed_rand(s.i, 13) % "
	"5) "
	"AS k";

static const char SQL_PROJECTS[] =
	"INSERT INTO projects (id, owner_id, title, description, demo_link, source_link, created) "
	"SELECT p.id, s.profile_id, w.adjective || ' ' || w.tech || ' ' || w.thing, "
	"format('A %s %s %s, built with %s and %s. %s', lower(w.adjective), w.thing, w.purpose, "
	"w.tech, w.tech2, w.status), "
	"CASE WHEN pg_temp.seed_rand(p.n, 20) % 3 = 0 THEN '' "
	"ELSE 'https://' || s.username || '.example.com/' || p.nth END, "
	"'https://github.com/' || s.username || '/' || "
	"lower(replace(w.tech, ' ', '-')) || '-' || lower(w.thing), "
	"least(now(), s.created + make_interval(days => pg_temp.seed_rand(p.n, 21) % 365)) "
	"FROM seed_projects p JOIN seed_profiles s ON s.i = p.owner_i "
	"CROSS JOIN LATERAL (SELECT pg_temp.seed_pick('adjective', p.n, 14) AS adjective, "
	"pg_temp.seed_pick('tech', p.n, 15, 0) AS tech, pg_temp.seed_pick('tech', p.n, 15, 1) AS "
	"tech2, "
	"pg_temp.seed_pick('thing', p.n, 16) AS thing, pg_temp.seed_pick('purpose', p.n, 17) AS "
	"purpose, "
	"pg_temp.seed_pick('status', p.n, 18) AS status) AS w";

/* One to four tags per project, the first the technology in its title. */
static const char SQL_PROJECT_TAGS[] =
	"INSERT INTO project_tags (project_id, tag_id) "
	"SELECT p.id, t.id FROM seed_projects p "
	"CROSS JOIN LATERAL generate_series(0, pg_temp.seed_rand(p.n, 22) % 4) AS k "
	"JOIN tags t ON lower(t.name) = lower(pg_temp.seed_pick('tech', p.n, 15, k)) "
	"ON CONFLICT DO NOTHING";

/* $1 n. Up to eight voters per project (a repeated draw is skipped), never its owner; a quarter vote down. */
static const char SQL_REVIEWS[] =
	"INSERT INTO reviews (owner_id, project_id, body, value, created) "
	"SELECT v.profile_id, p.id, pg_temp.seed_pick('review', p.n * 16 + k, 24), "
	"CASE WHEN pg_temp.seed_rand(p.n * 16 + k, 25) % 4 = 0 THEN 'down' ELSE 'up' END, "
	"now() - make_interval(secs => pg_temp.seed_rand(p.n * 16 + k, 26) % 15552000) "
	"FROM seed_projects p "
	"CROSS JOIN LATERAL generate_series(1, pg_temp.seed_rand(p.n, 23) % 9) AS k "
	"JOIN seed_profiles v ON v.i = 1 + pg_temp.seed_rand(p.n * 16 + k, 27) % $1::integer "
	"WHERE v.i <> p.owner_i ON CONFLICT DO NOTHING";

/* $1 n. Up to three messages received per profile; half of them read. */
static const char SQL_MESSAGES[] =
	"INSERT INTO messages (sender_id, recipient_id, name, email, subject, body, is_read, "
	"created) "
	"SELECT f.profile_id, r.profile_id, f.name, f.username || '@example.com', "
	"pg_temp.seed_pick('subject', r.i * 8 + k, 31), "
	"format('Hi %s, %s', split_part(r.name, ' ', 1), "
	"pg_temp.seed_pick('message', r.i * 8 + k, 32)), "
	"pg_temp.seed_rand(r.i * 8 + k, 33) % 2 = 0, "
	"now() - make_interval(secs => pg_temp.seed_rand(r.i * 8 + k, 34) % 7776000) "
	"FROM seed_profiles r "
	"CROSS JOIN LATERAL generate_series(1, pg_temp.seed_rand(r.i, 30) % 4) AS k "
	"JOIN seed_profiles f ON f.i = 1 + pg_temp.seed_rand(r.i * 8 + k, 35) % $1::integer "
	"WHERE f.i <> r.i";

/* Zero to three notes per profile. */
static const char SQL_NOTES[] =
	"INSERT INTO notes (owner_id, title, body, created, updated) "
	"SELECT s.profile_id, pg_temp.seed_pick('note_title', s.i, 40, k), "
	"pg_temp.seed_pick('note_body', s.i * 4 + k, 41), t.at, t.at "
	"FROM seed_profiles s "
	"CROSS JOIN LATERAL generate_series(1, pg_temp.seed_rand(s.i, 42) % 4) AS k "
	"CROSS JOIN LATERAL (SELECT now() - make_interval(secs => "
	"pg_temp.seed_rand(s.i * 4 + k, 43) % 7776000) AS at) AS t";

/* $1 n. Up to three friends per profile (one-way, as the API makes them). */
static const char SQL_FRIENDS[] =
	"INSERT INTO friends (profile_id, friend_id) "
	"SELECT s.profile_id, f.profile_id FROM seed_profiles s "
	"CROSS JOIN LATERAL generate_series(1, pg_temp.seed_rand(s.i, 50) % 4) AS k "
	"JOIN seed_profiles f ON f.i = 1 + pg_temp.seed_rand(s.i * 8 + k, 51) % $1::integer "
	"WHERE f.i <> s.i ON CONFLICT DO NOTHING";

enum seed_param { P_NONE, P_N, P_N_RUN, P_HASH };

enum app_err seed_insert(struct db_conn *conn, const char *run, long n, const char *password_hash,
			 struct seed_counts *out)
{
	long ignored = 0;
	const struct {
		const char *sql;
		enum seed_param params;
		long *count;
	} steps[] = {
		{SQL_PLAN_PROFILES, P_N_RUN, &ignored},
		{SQL_USERS, P_HASH, &ignored},
		{SQL_PROFILES, P_NONE, &out->profiles},
		{SQL_SKILLS, P_NONE, &out->skills},
		{SQL_TAGS, P_NONE, &out->tags},
		{SQL_PLAN_PROJECTS, P_NONE, &ignored},
		{SQL_PROJECTS, P_NONE, &out->projects},
		{SQL_PROJECT_TAGS, P_NONE, &out->project_tags},
		{SQL_REVIEWS, P_N, &out->reviews},
		{SQL_MESSAGES, P_N, &out->messages},
		{SQL_NOTES, P_NONE, &out->notes},
		{SQL_FRIENDS, P_N, &out->friends},
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
		switch (steps[i].params) {
		case P_N_RUN:
			params[nparams++] = n_text;
			params[nparams++] = run;
			break;
		case P_N: params[nparams++] = n_text; break;
		case P_HASH: params[nparams++] = password_hash; break;
		case P_NONE:
		default: break;
		}
		if ((err = db_exec(conn, steps[i].sql, nparams, params, &res)) != APP_OK)
			return err;
		*steps[i].count = atol(PQcmdTuples(res));
		PQclear(res);
	}
	return APP_OK;
}
