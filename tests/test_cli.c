/*
 * The devsearch binary as a user runs it: migrations against fresh databases,
 * makemigrations, serve's start-up checks and its graceful stop.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "support.h"

/* A migrations folder: the real 0001 plus two small test migrations. */
struct fixture {
	char dir[64];
	char *db_url;
	char env_db[512];
	char env_dir[128];
	const char *env[4];
};

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

static void copy_file(const char *from_dir, const char *to_dir, const char *name)
{
	char path[512];
	struct strbuf text = STRBUF_INIT;
	char chunk[4096];
	size_t n;
	snprintf(path, sizeof(path), "%s/%s", from_dir, name);
	FILE *f = fopen(path, "r");
	ck_assert_msg(f != NULL, "cannot read %s", path);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		strbuf_add(&text, chunk, n);
	fclose(f);
	write_file(to_dir, name, strbuf_str(&text));
	strbuf_release(&text);
}

static void fixture_init(struct fixture *fx)
{
	const char *sql_dir = test_env("DEVSEARCH_SQL_DIR");
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/devsearch-mig-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(fx->dir));
	copy_file(sql_dir, fx->dir, "0001_initial.up.sql");
	copy_file(sql_dir, fx->dir, "0001_initial.down.sql");
	write_file(fx->dir, "0002_widgets.up.sql", "CREATE TABLE widgets (id int PRIMARY KEY);\n");
	write_file(fx->dir, "0002_widgets.down.sql", "DROP TABLE widgets;\n");
	write_file(fx->dir, "0003_gadgets.up.sql",
		   "CREATE TABLE gadgets (id int PRIMARY KEY);\nINSERT INTO gadgets VALUES (1);\n");
	write_file(fx->dir, "0003_gadgets.down.sql", "DROP TABLE gadgets;\n");
	fx->db_url = test_db_create();
	snprintf(fx->env_db, sizeof(fx->env_db), "DATABASE_URL=%s", fx->db_url);
	snprintf(fx->env_dir, sizeof(fx->env_dir), "MIGRATIONS_DIR=%s", fx->dir);
	fx->env[0] = fx->env_db;
	fx->env[1] = fx->env_dir;
	fx->env[2] = NULL;
}

static void fixture_release(struct fixture *fx)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->dir);
	ck_assert_int_eq(system(cmd), 0);
	free(fx->db_url);
}

/* Run devsearch with the fixture's environment; returns the exit status, output in *out. */
static int run(struct fixture *fx, const char *const *args, struct strbuf *out)
{
	strbuf_reset(out);
	return test_run(args, fx->env, out);
}

static int table_exists(struct fixture *fx, const char *table)
{
	const char *params[] = {table, NULL};
	char *v = test_sql_params(fx->db_url, "SELECT to_regclass($1) IS NOT NULL", params);
	int exists = v && !strcmp(v, "t");
	free(v);
	return exists;
}

static const char *const MIGRATE[] = {"migrate", NULL};
static const char *const SHOW[] = {"showmigrations", NULL};

START_TEST(migrate_forwards_and_show)
{
	struct fixture fx;
	struct strbuf out = STRBUF_INIT;
	fixture_init(&fx);

	ck_assert_int_eq(run(&fx, SHOW, &out), 0);
	ck_assert_str_eq(strbuf_str(&out),
			 "[ ] 0001_initial\n[ ] 0002_widgets\n[ ] 0003_gadgets\n");
	ck_assert_int_eq(run(&fx, MIGRATE, &out), 0);
	ck_assert_ptr_nonnull(strstr(strbuf_str(&out), "Applying 0001_initial... OK"));
	ck_assert_ptr_nonnull(strstr(strbuf_str(&out), "Applying 0003_gadgets... OK"));
	ck_assert(table_exists(&fx, "projects") && table_exists(&fx, "widgets") &&
		  table_exists(&fx, "gadgets"));
	ck_assert_int_eq(run(&fx, SHOW, &out), 0);
	ck_assert_str_eq(strbuf_str(&out),
			 "[X] 0001_initial\n[X] 0002_widgets\n[X] 0003_gadgets\n");
	/* Again: nothing to do. */
	ck_assert_int_eq(run(&fx, MIGRATE, &out), 0);
	ck_assert_ptr_nonnull(strstr(strbuf_str(&out), "No migrations to apply."));
	char *checksum = test_sql_value(
		fx.db_url, "SELECT checksum FROM schema_migrations WHERE name = '0002_widgets'");
	ck_assert_ptr_nonnull(checksum);
	ck_assert_int_eq(strlen(checksum), 64);
	free(checksum);
	fixture_release(&fx);
	strbuf_release(&out);
}
END_TEST

START_TEST(migrate_to_a_target_both_ways)
{
	struct fixture fx;
	struct strbuf out = STRBUF_INIT;
	const char *to_0001[] = {"migrate", "0001", NULL};
	const char *to_0002[] = {"migrate", "0002_widgets", NULL};
	const char *to_zero[] = {"migrate", "zero", NULL};
	const char *to_bad[] = {"migrate", "0042", NULL};
	fixture_init(&fx);

	ck_assert_int_eq(run(&fx, to_0002, &out), 0);
	ck_assert(table_exists(&fx, "widgets") && !table_exists(&fx, "gadgets"));
	ck_assert_int_eq(run(&fx, MIGRATE, &out), 0);
	ck_assert(table_exists(&fx, "gadgets"));

	/* Backwards: the down files of 0003 then 0002, newest first. */
	ck_assert_int_eq(run(&fx, to_0001, &out), 0);
	const char *text = strbuf_str(&out);
	char *gadgets = strstr(text, "Unapplying 0003_gadgets... OK");
	char *widgets = strstr(text, "Unapplying 0002_widgets... OK");
	ck_assert(gadgets && widgets && gadgets < widgets);
	ck_assert(!table_exists(&fx, "widgets") && !table_exists(&fx, "gadgets"));
	ck_assert(table_exists(&fx, "projects"));
	ck_assert_int_eq(run(&fx, SHOW, &out), 0);
	ck_assert_str_eq(strbuf_str(&out),
			 "[X] 0001_initial\n[ ] 0002_widgets\n[ ] 0003_gadgets\n");

	/* All the way down runs 0001's down file too, then back up. */
	ck_assert_int_eq(run(&fx, to_zero, &out), 0);
	ck_assert(!table_exists(&fx, "projects") && !table_exists(&fx, "users"));
	ck_assert_int_eq(run(&fx, MIGRATE, &out), 0);
	ck_assert(table_exists(&fx, "users") && table_exists(&fx, "gadgets"));

	ck_assert_int_eq(run(&fx, to_bad, &out), 1);
	ck_assert_ptr_nonnull(strstr(strbuf_str(&out), "no migration named \"0042\""));
	fixture_release(&fx);
	strbuf_release(&out);
}
END_TEST

START_TEST(migrate_fake_records_without_running)
{
	struct fixture fx;
	struct strbuf out = STRBUF_INIT;
	const char *fake_0001[] = {"migrate", "--fake", "0001", NULL};
	const char *to_0001[] = {"migrate", "0001", NULL};
	fixture_init(&fx);

	ck_assert_int_eq(run(&fx, fake_0001, &out), 0);
	ck_assert_ptr_nonnull(strstr(strbuf_str(&out), "Applying 0001_initial... FAKED"));
	ck_assert(!table_exists(&fx, "users"));
	ck_assert_int_eq(run(&fx, SHOW, &out), 0);
	ck_assert_str_eq(strbuf_str(&out),
			 "[X] 0001_initial\n[ ] 0002_widgets\n[ ] 0003_gadgets\n");

	/* The rest for real, then fake its way back: the tables stay, the records go. */
	ck_assert_int_eq(run(&fx, MIGRATE, &out), 0);
	ck_assert(table_exists(&fx, "widgets"));
	const char *fake_back[] = {"migrate", "--fake", "0001", NULL};
	ck_assert_int_eq(run(&fx, fake_back, &out), 0);
	ck_assert(table_exists(&fx, "widgets") && table_exists(&fx, "gadgets"));
	ck_assert_int_eq(run(&fx, SHOW, &out), 0);
	ck_assert_str_eq(strbuf_str(&out),
			 "[X] 0001_initial\n[ ] 0002_widgets\n[ ] 0003_gadgets\n");
	(void)to_0001;
	fixture_release(&fx);
	strbuf_release(&out);
}
END_TEST

START_TEST(changed_migration_stops_migrate_and_serve)
{
	struct fixture fx;
	struct strbuf out = STRBUF_INIT;
	const char *serve[] = {"serve", "--port", "0", NULL};
	fixture_init(&fx);

	ck_assert_int_eq(run(&fx, MIGRATE, &out), 0);
	write_file(fx.dir, "0002_widgets.up.sql",
		   "CREATE TABLE widgets (id bigint PRIMARY KEY);\n");
	write_file(fx.dir, "0004_more.up.sql", "SELECT 1;\n");
	write_file(fx.dir, "0004_more.down.sql", "SELECT 1;\n");

	ck_assert_int_eq(run(&fx, MIGRATE, &out), 1);
	ck_assert_ptr_nonnull(
		strstr(strbuf_str(&out), "0002_widgets.up.sql has changed since it was applied"));
	ck_assert_ptr_null(strstr(strbuf_str(&out), "Applying 0004_more"));
	ck_assert_int_eq(run(&fx, serve, &out), 1);
	ck_assert_ptr_nonnull(
		strstr(strbuf_str(&out), "0002_widgets.up.sql has changed since it was applied"));
	fixture_release(&fx);
	strbuf_release(&out);
}
END_TEST

START_TEST(serve_refuses_pending_migrations)
{
	struct fixture fx;
	struct strbuf out = STRBUF_INIT;
	const char *serve[] = {"serve", "--port", "0", NULL};
	const char *to_0002[] = {"migrate", "0002", NULL};
	fixture_init(&fx);

	ck_assert_int_eq(run(&fx, to_0002, &out), 0);
	ck_assert_int_eq(run(&fx, serve, &out), 1);
	ck_assert_ptr_nonnull(strstr(
		strbuf_str(&out), "1 migration pending (0003_gadgets); run `devsearch migrate`"));
	fixture_release(&fx);
	strbuf_release(&out);
}
END_TEST

START_TEST(two_migrates_at_once_apply_each_migration_once)
{
	struct fixture fx;
	struct strbuf out_a = STRBUF_INIT, out_b = STRBUF_INIT;
	int fd_a, fd_b;
	fixture_init(&fx);

	for (int round = 0; round < 3; round++) {
		if (round) {
			const char *zero[] = {"migrate", "zero", NULL};
			ck_assert_int_eq(run(&fx, zero, &out_a), 0);
		}
		strbuf_reset(&out_a);
		strbuf_reset(&out_b);
		pid_t a = test_spawn(MIGRATE, fx.env, &fd_a);
		pid_t b = test_spawn(MIGRATE, fx.env, &fd_b);
		ck_assert_int_eq(test_finish(a, fd_a, &out_a), 0);
		ck_assert_int_eq(test_finish(b, fd_b, &out_b), 0);
		/* Every migration applied by exactly one of the two. */
		const char *names[] = {"Applying 0001_initial", "Applying 0002_widgets",
				       "Applying 0003_gadgets"};
		for (size_t i = 0; i < 3; i++) {
			int in_a = strstr(strbuf_str(&out_a), names[i]) != NULL;
			int in_b = strstr(strbuf_str(&out_b), names[i]) != NULL;
			ck_assert_msg(in_a + in_b == 1, "%s ran %d times:\n%s\n---\n%s", names[i],
				      in_a + in_b, strbuf_str(&out_a), strbuf_str(&out_b));
		}
		char *rows = test_sql_value(fx.db_url, "SELECT count(*) FROM schema_migrations");
		ck_assert_str_eq(rows, "3");
		free(rows);
		char *gadgets = test_sql_value(fx.db_url, "SELECT count(*) FROM gadgets");
		ck_assert_str_eq(gadgets, "1");
		free(gadgets);
	}
	fixture_release(&fx);
	strbuf_release(&out_a);
	strbuf_release(&out_b);
}
END_TEST

START_TEST(makemigrations_writes_the_next_pair)
{
	struct fixture fx;
	struct strbuf out = STRBUF_INIT;
	const char *make[] = {"makemigrations", "add_colour", NULL};
	const char *bad[] = {"makemigrations", "Add Colour", NULL};
	char path[256];
	fixture_init(&fx);

	ck_assert_int_eq(run(&fx, make, &out), 0);
	snprintf(path, sizeof(path), "%s/0004_add_colour.up.sql", fx.dir);
	ck_assert_int_eq(access(path, R_OK), 0);
	ck_assert_ptr_nonnull(strstr(strbuf_str(&out), path));
	snprintf(path, sizeof(path), "%s/0004_add_colour.down.sql", fx.dir);
	ck_assert_int_eq(access(path, R_OK), 0);
	ck_assert_int_eq(run(&fx, SHOW, &out), 0);
	ck_assert_ptr_nonnull(strstr(strbuf_str(&out), "[ ] 0004_add_colour\n"));
	/* The empty pair migrates both ways. */
	ck_assert_int_eq(run(&fx, MIGRATE, &out), 0);
	const char *back[] = {"migrate", "0003", NULL};
	ck_assert_int_eq(run(&fx, back, &out), 0);
	ck_assert_int_eq(run(&fx, bad, &out), 2 - 1);
	ck_assert_ptr_nonnull(strstr(strbuf_str(&out), "lowercase letters, digits and _"));
	fixture_release(&fx);
	strbuf_release(&out);
}
END_TEST

START_TEST(list_counts_stay_exact)
{
	struct strbuf out = STRBUF_INIT;
	char *db_url = test_db_create();
	char env_db[512];
	snprintf(env_db, sizeof(env_db), "DATABASE_URL=%s", db_url);
	/* The real migrations folder, with 0002_list_counts. */
	const char *env[] = {env_db, NULL};
	ck_assert_int_eq(test_run(MIGRATE, env, &out), 0);
	const char *statements[] = {
		/* Bulk inserts: one statement, many rows. */
		"INSERT INTO users (username, email, password) SELECT 'u' || g, 'u' || g || "
		"'@x.io', '!' "
		"FROM generate_series(1, 50) g",
		"INSERT INTO profiles (user_id, name) SELECT id, username FROM users",
		"INSERT INTO projects (owner_id, title) SELECT id, 'p' || name FROM profiles",
		"INSERT INTO projects (owner_id, title) SELECT id, 'q' || name FROM profiles LIMIT "
		"7",
		/* Cascades: a user takes its profile; projects stay with no owner. */
		"DELETE FROM users WHERE username IN ('u1', 'u2', 'u3')",
		"DELETE FROM projects WHERE title LIKE 'q%'",
		NULL,
	};
	for (size_t i = 0; statements[i]; i++) {
		const char *none[] = {NULL};
		free(test_sql_params(db_url, statements[i], none));
	}
	const char *none[] = {NULL};
	char *projects = test_sql_params(
		db_url,
		"SELECT (SELECT n FROM row_counts WHERE name = 'projects') = (SELECT count(*) FROM "
		"projects) AND (SELECT n FROM row_counts WHERE name = 'profiles') = (SELECT "
		"count(*) "
		"FROM profiles) AND (SELECT n FROM row_counts WHERE name = 'profiles') = 47",
		none);
	ck_assert_str_eq(projects, "t");
	free(projects);
	free(db_url);
	strbuf_release(&out);
}
END_TEST

START_TEST(help_for_every_command)
{
	struct strbuf out = STRBUF_INIT;
	const char *cmds[] = {"serve", "migrate", "showmigrations", "makemigrations"};
	const char *top[] = {"--help", NULL};
	ck_assert_int_eq(test_run(top, NULL, &out), 0);
	for (size_t i = 0; i < 4; i++) {
		const char *args[] = {cmds[i], "--help", NULL};
		strbuf_reset(&out);
		ck_assert_int_eq(test_run(args, NULL, &out), 0);
		ck_assert_msg(strstr(strbuf_str(&out), cmds[i]) != NULL, "%s", strbuf_str(&out));
	}
	const char *unknown[] = {"frobnicate", NULL};
	ck_assert_int_eq(test_run(unknown, NULL, &out), 2);
	strbuf_release(&out);
}
END_TEST

static int connect_port(int port)
{
	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert(fd >= 0);
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr))) {
		close(fd);
		return -1;
	}
	return fd;
}

static void send_all(int fd, const char *text)
{
	size_t len = strlen(text);
	ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
}

START_TEST(sigterm_finishes_the_request_in_flight)
{
	struct strbuf out = STRBUF_INIT, reply = STRBUF_INIT;
	char port_arg[16], health[64], env_port[32];
	int port = test_free_port(), fd_out;
	struct timespec pause = {0, 300 * 1000 * 1000};
	char chunk[1024];
	ssize_t n;

	snprintf(port_arg, sizeof(port_arg), "%d", port);
	snprintf(env_port, sizeof(env_port), "SHUTDOWN_TIMEOUT=20");
	/* The access log line of the request in flight is part of what is checked. */
	snprintf(health, sizeof(health), "http://127.0.0.1:%d/api/health", port);
	const char *serve[] = {"serve", "--port", port_arg, NULL};
	const char *env[] = {env_port, "LOG_LEVEL=info", NULL};
	pid_t pid = test_spawn(serve, env, &fd_out);
	ck_assert_msg(test_wait_http_ok(health, 20000) == 0, "server did not come up");

	/* A request whose body is still on its way when SIGTERM arrives. */
	int fd = connect_port(port);
	ck_assert(fd >= 0);
	send_all(fd, "POST /api/health HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
		     "Content-Length: 8\r\nConnection: close\r\n\r\n{\"a\":");
	nanosleep(&pause, NULL);
	ck_assert_int_eq(kill(pid, SIGTERM), 0);
	nanosleep(&pause, NULL);

	/* No new connections while it finishes. */
	int late = connect_port(port);
	ck_assert_msg(late < 0, "a new connection was accepted after SIGTERM");

	send_all(fd, " 1}");
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		strbuf_add(&reply, chunk, (size_t)n);
	close(fd);
	ck_assert_msg(!strncmp(strbuf_str(&reply), "HTTP/1.1 405", 12), "reply: %s",
		      strbuf_str(&reply));
	ck_assert_int_eq(test_finish(pid, fd_out, &out), 0);
	ck_assert_ptr_nonnull(strstr(strbuf_str(&out), "finishing in-flight requests"));
	ck_assert_ptr_nonnull(strstr(strbuf_str(&out), "POST /api/health 405"));
	strbuf_release(&out);
	strbuf_release(&reply);
}
END_TEST

Suite *cli_suite(void)
{
	Suite *s = suite_create("cli");
	TCase *tc = tcase_create("migrations");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, migrate_forwards_and_show);
	tcase_add_test(tc, migrate_to_a_target_both_ways);
	tcase_add_test(tc, migrate_fake_records_without_running);
	tcase_add_test(tc, changed_migration_stops_migrate_and_serve);
	tcase_add_test(tc, serve_refuses_pending_migrations);
	tcase_add_test(tc, two_migrates_at_once_apply_each_migration_once);
	tcase_add_test(tc, makemigrations_writes_the_next_pair);
	tcase_add_test(tc, list_counts_stay_exact);
	suite_add_tcase(s, tc);
	tc = tcase_create("commands");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, help_for_every_command);
	tcase_add_test(tc, sigterm_finishes_the_request_in_flight);
	suite_add_tcase(s, tc);
	return s;
}
