/*
 * `devsearch seed` against fresh databases: the shape of the data is the
 * Django version's `manage.py seed` (per profile 1-5 skills, 0-4 projects,
 * 0-3 notes, 0-3 messages received; per project 1-4 tags out of its 37 words
 * and 0-8 reviews, two in three up; its texts), vote counters equal to the
 * reviews, nobody reviewing their own project or writing to themselves, the
 * same data for the same N, the demo password, the schema left as it was,
 * the time taken, and the arguments.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/password.h"
#include "core/seed.h"
#include "support.h"

/* The Django version's seed words (users/management/commands/seed.py), as a text[]. */
static const char PEER_WORDS[] =
	"{rust,go,python,django,react,vue,postgres,redis,kafka,docker,kubernetes,linux,"
	"graphql,rest,grpc,c,cpp,java,kotlin,swift,typescript,node,elixir,haskell,ml,"
	"data,devops,security,cloud,aws,gcp,azure,mobile,web,api,compiler,database}";
#define PEER_WORD_COUNT 37

/* The number just before " word" in a seed summary line. */
static long summary_count(const char *line, const char *word)
{
	char needle[64];
	snprintf(needle, sizeof(needle), " %s", word);
	const char *p = strstr(line, needle);
	ck_assert_msg(p != NULL, "no \"%s\" in %s", word, line);
	while (p > line && p[-1] >= '0' && p[-1] <= '9')
		p--;
	return atol(p);
}

/* The number sql (with $1 = param, or no parameter when NULL) answers on url. */
static long db_long(const char *url, const char *sql, const char *param)
{
	const char *params[] = {param, NULL};
	char *value = test_sql_params(url, sql, params);
	long n = value ? atol(value) : -1;
	free(value);
	return n;
}

static double db_double(const char *url, const char *sql, const char *param)
{
	const char *params[] = {param, NULL};
	char *value = test_sql_params(url, sql, params);
	ck_assert_msg(value != NULL, "no value: %s", sql);
	double d = strtod(value, NULL);
	free(value);
	return d;
}

/* "DATABASE_URL=<a fresh, migrated database>" in env_db; the URL itself is returned (free()). */
static char *fresh_db(char *env_db, size_t size)
{
	char *url = test_db_create();
	const char *args[] = {"migrate", NULL};
	snprintf(env_db, size, "DATABASE_URL=%s", url);
	const char *env[] = {env_db, NULL};
	struct strbuf out = STRBUF_INIT;
	ck_assert_msg(test_run(args, env, &out) == 0, "migrate: %s", strbuf_str(&out));
	strbuf_release(&out);
	return url;
}

/* Run `seed --profiles n`; its output line in out. Returns the milliseconds taken. */
static double run_seed(const char *env_db, const char *n, struct strbuf *out)
{
	const char *args[] = {"seed", "--profiles", n, NULL};
	const char *env[] = {env_db, NULL};
	double started = now_ms();
	strbuf_reset(out);
	ck_assert_msg(test_run(args, env, out) == 0, "seed failed: %s", strbuf_str(out));
	return now_ms() - started;
}

/* The summary's words and the tables they count. */
/* The summary line's words and the statement counting each (whole, fixed statements). */
static const struct {
	const char *word, *table, *count_sql;
} COUNTS[] = {
	{"profiles", "profiles", "SELECT count(*) FROM profiles"},
	{"skills", "skills", "SELECT count(*) FROM skills"},
	{"projects", "projects", "SELECT count(*) FROM projects"},
	{"project tags", "project_tags", "SELECT count(*) FROM project_tags"},
	{"new tags", "tags", "SELECT count(*) FROM tags"},
	{"reviews", "reviews", "SELECT count(*) FROM reviews"},
	{"messages", "messages", "SELECT count(*) FROM messages"},
	{"notes", "notes", "SELECT count(*) FROM notes"},
};

/*
 * Children per parent row: "min-max/distinct values" and their mean. With
 * hundreds of parents every count of the range occurs.
 */
static void check_per_parent(const char *url, const char *parent, const char *child, const char *fk,
			     const char *range, double mean_lo, double mean_hi)
{
	char sql[512];
	snprintf(sql, sizeof(sql),
		 "SELECT min(c) || '-' || max(c) || '/' || count(DISTINCT c) || ' ' || avg(c) "
		 "FROM (SELECT count(x.%s) AS c FROM %s p LEFT JOIN %s x ON x.%s = p.id "
		 "GROUP BY p.id) AS t",
		 fk, parent, child, fk);
	char *value = test_sql_value(url, sql);
	ck_assert_ptr_nonnull(value);
	char *space = strchr(value, ' ');
	ck_assert_ptr_nonnull(space);
	*space = '\0';
	double mean = strtod(space + 1, NULL);
	ck_assert_msg(!strcmp(value, range), "%s per %s: %s, not %s", child, parent, value, range);
	ck_assert_msg(mean >= mean_lo && mean <= mean_hi, "%s per %s: mean %.2f", child, parent,
		      mean);
	free(value);
}

/*
 * The database at url holds exactly one seed of n profiles (n in the
 * hundreds at least), summarised by line: check its shape against the
 * Django version's.
 */
static void check_shape(const char *url, long n, const char *line)
{
	ck_assert_int_eq(summary_count(line, "profiles"), n);
	for (size_t i = 0; i < sizeof(COUNTS) / sizeof(COUNTS[0]); i++)
		ck_assert_int_eq(db_long(url, COUNTS[i].count_sql, NULL),
				 summary_count(line, COUNTS[i].word));
	ck_assert_int_eq(db_long(url, "SELECT count(*) FROM users", NULL), n);
	ck_assert_int_eq(summary_count(line, "new tags"), PEER_WORD_COUNT);

	/* Counts per profile and per project within the Django version's ranges. */
	check_per_parent(url, "profiles", "skills", "owner_id", "1-5/5", 2.8, 3.2);
	check_per_parent(url, "profiles", "projects", "owner_id", "0-4/5", 1.85, 2.15);
	check_per_parent(url, "profiles", "notes", "owner_id", "0-3/4", 1.35, 1.65);
	check_per_parent(url, "profiles", "messages", "recipient_id", "0-3/4", 1.35, 1.65);
	check_per_parent(url, "projects", "project_tags", "project_id", "1-4/4", 2.35, 2.65);
	check_per_parent(url, "projects", "reviews", "project_id", "0-8/9", 3.7, 4.3);

	/* Two votes in three up (a quarter down would be 75 %); half the messages read. */
	double up = db_double(url,
			      "SELECT 100.0 * count(*) FILTER (WHERE value = 'up') / count(*) "
			      "FROM reviews",
			      NULL);
	ck_assert_msg(up >= 60 && up <= 73, "%.1f %% of the reviews up", up);
	double read = db_double(url,
				"SELECT 100.0 * count(*) FILTER (WHERE is_read) / count(*) "
				"FROM messages",
				NULL);
	ck_assert_msg(read >= 35 && read <= 65, "%.1f %% of the messages read", read);

	/* Tags and skills only from the word list, every word used. */
	ck_assert_int_eq(db_long(url, "SELECT count(*) FROM tags WHERE NOT name = ANY ($1::text[])",
				 PEER_WORDS),
			 0);
	ck_assert_int_eq(db_long(url,
				 "SELECT count(DISTINCT t.name) FROM project_tags pt "
				 "JOIN tags t ON t.id = pt.tag_id WHERE t.name = ANY ($1::text[])",
				 PEER_WORDS),
			 PEER_WORD_COUNT);
	ck_assert_int_eq(
		db_long(url,
			"SELECT count(*) FROM skills WHERE NOT lower(name) = ANY ($1::text[]) "
			"OR name <> initcap(name) "
			"OR description <> lower(name) || ' experience'",
			PEER_WORDS),
		0);

	/* The vote counters are the reviews; nobody reviews their own project. */
	ck_assert_int_eq(db_long(url,
				 "SELECT count(*) FROM projects p LEFT JOIN (SELECT project_id, "
				 "count(*) AS total, count(*) FILTER (WHERE value = 'up') AS up "
				 "FROM reviews GROUP BY project_id) r ON r.project_id = p.id "
				 "WHERE p.vote_total <> coalesce(r.total, 0) "
				 "OR p.vote_up <> coalesce(r.up, 0)",
				 NULL),
			 0);
	ck_assert_int_eq(db_long(url,
				 "SELECT count(*) FROM reviews r JOIN projects p ON p.id = "
				 "r.project_id WHERE r.owner_id = p.owner_id",
				 NULL),
			 0);
	ck_assert_int_eq(db_long(url,
				 "SELECT count(*) FROM reviews WHERE NOT body = ANY "
				 "('{\"\",Nice!,\"Needs docs\",\"Great work\"}'::text[])",
				 NULL),
			 0);

	/* Messages from distinct other profiles, written as the Django version writes them. */
	ck_assert_int_eq(db_long(url,
				 "SELECT count(*) - count(DISTINCT (sender_id, recipient_id)) "
				 "FROM messages",
				 NULL),
			 0);
	ck_assert_int_eq(db_long(url,
				 "SELECT count(*) FROM messages m "
				 "JOIN profiles s ON s.id = m.sender_id "
				 "JOIN users su ON su.id = s.user_id "
				 "JOIN profiles r ON r.id = m.recipient_id "
				 "WHERE m.sender_id = m.recipient_id OR m.name <> s.name "
				 "OR m.email <> su.email OR m.subject <> 'Hello' "
				 "OR m.body <> 'Hi ' || r.name || '!'",
				 NULL),
			 0);

	/* Profiles, projects and notes: the Django version's texts. */
	ck_assert_int_eq(
		db_long(url,
			"SELECT count(*) FROM profiles p JOIN users u ON u.id = p.user_id "
			"WHERE p.name !~ '^[A-Z][a-z]+ [A-Z][a-z]+$' "
			"OR NOT p.location = ANY ('{Berlin,Lagos,Lima,Oslo,Pune,Austin,\"\"}') "
			"OR p.short_intro !~ '^[A-Z][a-z]* and [a-z]+ developer$' "
			"OR p.bio !~ '^(Seeded demo profile\\. ){1,5}$' "
			"OR p.social_github <> 'https://github.com/' || u.username "
			"OR u.email <> u.username || '@example.com'",
			NULL),
		0);
	ck_assert_int_gt(db_long(url, "SELECT count(DISTINCT name) FROM profiles", NULL), 100);
	ck_assert_int_eq(
		db_long(url,
			"SELECT count(*) FROM projects j JOIN profiles p ON p.id = j.owner_id "
			"JOIN users u ON u.id = p.user_id "
			"WHERE j.title !~ '^[A-Z][a-z]* (tool|service|library|app) [0-3]$' "
			"OR j.description !~ ('^A demo project by ' || p.name || "
			"' using [a-z]+, [a-z]+, [a-z]+$') "
			"OR j.source_link <> 'https://example.com/' || u.username || '/' || "
			"split_part(j.title, ' ', 3) OR j.demo_link <> ''",
			NULL),
		0);
	ck_assert_int_eq(db_long(url,
				 "SELECT count(*) FROM notes WHERE title !~ '^Note [0-2]$' "
				 "OR NOT substr(body, 10) = ANY ($1::text[]) "
				 "OR left(body, 9) <> 'remember '",
				 PEER_WORDS),
			 0);

	/* One password hash for everyone: the demo password. */
	ck_assert_int_eq(db_long(url, "SELECT count(DISTINCT password) FROM users", NULL), 1);
	char *hash = test_sql_value(url, "SELECT password FROM users LIMIT 1");
	struct password_hasher *hasher = password_hasher_new(19456, 2, 1, 1);
	ck_assert_ptr_nonnull(hasher);
	ck_assert_int_eq(password_verify(hasher, hash, SEED_PASSWORD, strlen(SEED_PASSWORD), NULL),
			 1);
	password_hasher_free(hasher);
	free(hash);

	/* The schema as the migration made it: vote trigger on, trigram indexes without fastupdate. */
	ck_assert_int_eq(db_long(url,
				 "SELECT count(*) FROM pg_trigger WHERE tgname = "
				 "'reviews_count_votes' AND tgenabled = 'O'",
				 NULL),
			 1);
	ck_assert_int_eq(db_long(url,
				 "SELECT count(*) FROM pg_class c JOIN pg_am a ON a.oid = c.relam "
				 "WHERE a.amname = 'gin' "
				 "AND NOT coalesce(c.reloptions @> '{fastupdate=off}', false)",
				 NULL),
			 0);
}

static const char SQL_SEEDED_DIGEST[] =
	"SELECT md5(string_agg(concat_ws('|', p.name, p.location, p.short_intro, p.bio, "
	"(SELECT string_agg(s.name, ',' ORDER BY s.name) FROM skills s WHERE s.owner_id = p.id), "
	"(SELECT string_agg(concat_ws(':', j.title, j.description, j.vote_total, j.vote_up, "
	"(SELECT string_agg(t.name, ',' ORDER BY t.name) FROM project_tags pt "
	"JOIN tags t ON t.id = pt.tag_id WHERE pt.project_id = j.id)), ',' ORDER BY j.title) "
	"FROM projects j WHERE j.owner_id = p.id), "
	"(SELECT string_agg(n.title || n.body, ',' ORDER BY n.title) FROM notes n "
	"WHERE n.owner_id = p.id)), "
	"'|' ORDER BY split_part(u.username, '_', 2)::int)) "
	"FROM profiles p JOIN users u ON u.id = p.user_id WHERE u.username LIKE $1";

/* A review added after a seed moves the counters: the trigger is back. */
static const char SQL_ONE_MORE_REVIEW[] =
	"INSERT INTO reviews (owner_id, project_id, value) "
	"SELECT f.id, p.id, 'up' FROM projects p CROSS JOIN LATERAL (SELECT id FROM profiles f "
	"WHERE f.id <> p.owner_id AND NOT EXISTS (SELECT 1 FROM reviews r WHERE r.project_id = "
	"p.id AND r.owner_id = f.id) LIMIT 1) AS f LIMIT 1 RETURNING project_id";

START_TEST(seed_has_the_django_shape)
{
	char env_db[512], run[16], run2[16], like[32];
	char *url = fresh_db(env_db, sizeof(env_db));
	struct strbuf out = STRBUF_INIT, first = STRBUF_INIT;

	double ms = run_seed(env_db, "500", &out);
	ck_assert_msg(ms < 10000, "seeding 500 profiles took %.0f ms", ms);
	const char *line = strbuf_str(&out);
	ck_assert_msg(sscanf(line, "Seeded run %6s", run) == 1, "%s", line);
	check_shape(url, 500, line);
	snprintf(like, sizeof(like), "demo%s\\_%%", run);
	char *digest = test_sql_params(url, SQL_SEEDED_DIGEST, (const char *const[]){like, NULL});

	/* Again: another run, the same data and counts; the tags exist already. */
	strbuf_add(&first, out.buf, out.len);
	run_seed(env_db, "500", &out);
	line = strbuf_str(&out);
	ck_assert_int_eq(sscanf(line, "Seeded run %6s", run2), 1);
	ck_assert_str_ne(run, run2);
	for (size_t i = 0; i < sizeof(COUNTS) / sizeof(COUNTS[0]); i++)
		if (strcmp(COUNTS[i].word, "new tags"))
			ck_assert_int_eq(summary_count(line, COUNTS[i].word),
					 summary_count(strbuf_str(&first), COUNTS[i].word));
	ck_assert_int_eq(summary_count(line, "new tags"), 0);
	snprintf(like, sizeof(like), "demo%s\\_%%", run2);
	char *digest2 = test_sql_params(url, SQL_SEEDED_DIGEST, (const char *const[]){like, NULL});
	ck_assert_str_eq(digest, digest2);
	ck_assert_int_eq(db_long(url, "SELECT count(*) FROM profiles", NULL), 1000);
	ck_assert_int_eq(db_long(url, "SELECT count(*) FROM tags", NULL), PEER_WORD_COUNT);

	char *project = test_sql_value(url, SQL_ONE_MORE_REVIEW);
	ck_assert_ptr_nonnull(project);
	ck_assert_int_eq(db_long(url,
				 "SELECT count(*) FROM projects p WHERE p.vote_total <> (SELECT "
				 "count(*) FROM reviews r WHERE r.project_id = p.id)",
				 NULL),
			 0);

	free(project);
	free(digest);
	free(digest2);
	strbuf_release(&out);
	strbuf_release(&first);
	free(url);
}
END_TEST

/* The benchmark's smaller size, well under its 30 s budget; the same shape. */
START_TEST(seed_2000_profiles_quickly)
{
	char env_db[512];
	char *url = fresh_db(env_db, sizeof(env_db));
	struct strbuf out = STRBUF_INIT;

	double ms = run_seed(env_db, "2000", &out);
	ck_assert_msg(ms < 15000, "seeding 2000 profiles took %.0f ms", ms);
	check_shape(url, 2000, strbuf_str(&out));
	strbuf_release(&out);
	free(url);
}
END_TEST

/* One, two and three profiles: nobody to review or write to but the others. */
START_TEST(seed_few_profiles)
{
	char env_db[512];
	char *url = fresh_db(env_db, sizeof(env_db));
	struct strbuf out = STRBUF_INIT;

	run_seed(env_db, "1", &out);
	ck_assert_int_eq(summary_count(strbuf_str(&out), "profiles"), 1);
	ck_assert_int_eq(summary_count(strbuf_str(&out), "reviews"), 0);
	ck_assert_int_eq(summary_count(strbuf_str(&out), "messages"), 0);
	run_seed(env_db, "2", &out);
	run_seed(env_db, "3", &out);
	ck_assert_int_eq(db_long(url, "SELECT count(*) FROM profiles", NULL), 6);
	ck_assert_int_eq(db_long(url,
				 "SELECT count(*) FROM reviews r JOIN projects p ON p.id = "
				 "r.project_id WHERE r.owner_id = p.owner_id",
				 NULL),
			 0);
	ck_assert_int_eq(
		db_long(url, "SELECT count(*) FROM messages WHERE sender_id = recipient_id", NULL),
		0);
	ck_assert_int_eq(db_long(url,
				 "SELECT count(*) FROM projects p WHERE p.vote_total <> (SELECT "
				 "count(*) FROM reviews r WHERE r.project_id = p.id)",
				 NULL),
			 0);
	strbuf_release(&out);
	free(url);
}
END_TEST

START_TEST(seed_arguments)
{
	const char *bad[][4] = {{"seed", "--profiles", "0", NULL},
				{"seed", "--profiles", "x", NULL},
				{"seed", "--profiles", NULL, NULL},
				{"seed", "--profiles", "1000001", NULL},
				{"seed", "200", NULL, NULL}};
	struct strbuf out = STRBUF_INIT;
	/* Refused before any connection is made. */
	const char *env[] = {"DATABASE_URL=postgresql:///nowhere?host=/nonexistent", NULL};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_int_eq(test_run(bad[i], env, NULL), 2);
	const char *help[] = {"seed", "--help", NULL};
	ck_assert_int_eq(test_run(help, env, &out), 0);
	ck_assert_ptr_nonnull(strstr(strbuf_str(&out), "devsearch-demo-pass"));
	strbuf_release(&out);
}
END_TEST

Suite *seed_suite(void)
{
	Suite *s = suite_create("seed");
	TCase *tc = tcase_create("seed");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, seed_has_the_django_shape);
	tcase_add_test(tc, seed_2000_profiles_quickly);
	tcase_add_test(tc, seed_few_profiles);
	tcase_add_test(tc, seed_arguments);
	suite_add_tcase(s, tc);
	return s;
}
