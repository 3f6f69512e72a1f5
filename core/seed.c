/*
 * `devsearch seed`: arguments, the one password hash, the transaction and
 * the summary line. The rows themselves are models/seed.c's.
 */
#include "core/seed.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/password.h"
#include "core/util.h"
#include "models/seed.h"

#define SEED_DEFAULT_PROFILES 50
#define SEED_MAX_PROFILES 1000000

/* --profiles N; 0, or -1 with a message on bad arguments. */
static int parse_args(int argc, char **argv, long *profiles)
{
	*profiles = SEED_DEFAULT_PROFILES;
	for (int i = 0; i < argc; i++) {
		char *end;
		if (strcmp(argv[i], "--profiles") || i + 1 == argc) {
			fprintf(stderr, "usage: devsearch seed [--profiles N]\n");
			return -1;
		}
		*profiles = strtol(argv[++i], &end, 10);
		if (*end || end == argv[i] || *profiles < 1 || *profiles > SEED_MAX_PROFILES) {
			fprintf(stderr, "error: --profiles takes a number from 1 to %d\n",
				SEED_MAX_PROFILES);
			return -1;
		}
	}
	return 0;
}

int seed_command(const struct config *cfg, int argc, char **argv)
{
	struct password_hasher *hasher = NULL;
	struct db_conn *conn = NULL;
	struct seed_counts counts;
	unsigned char run_bytes[3];
	char run[7], *hash = NULL;
	long profiles;
	double started = now_ms();
	enum app_err err;
	int ret = 1;

	if (parse_args(argc, argv, &profiles))
		return 2;
	/* Hashed once for every user: argon2 per user would make seeding take minutes. */
	hasher = password_hasher_new((unsigned)cfg->argon2_memory_kib,
				     (unsigned)cfg->argon2_time_cost,
				     (unsigned)cfg->argon2_parallelism, 1);
	if (!hasher || !(hash = password_hash(hasher, SEED_PASSWORD, strlen(SEED_PASSWORD))))
		goto out;
	if (db_conn_open(cfg->database_direct_url, &conn) != APP_OK) {
		fprintf(stderr, "error: cannot connect to the database (check DATABASE_URL)\n");
		goto out;
	}
	/* The run name keeps the usernames of repeated seeds apart. */
	random_bytes(run_bytes, sizeof(run_bytes));
	hex_encode(run_bytes, sizeof(run_bytes), run);
	err = db_begin(conn);
	if (err == APP_OK)
		err = seed_insert(conn, run, profiles, hash, &counts);
	if (err == APP_OK)
		err = db_commit(conn);
	if (err != APP_OK) {
		fprintf(stderr, "error: seeding failed, nothing was written (see the log above)\n");
		goto out;
	}
	printf("Seeded run %s in %.1f s: %ld profiles (demo%s_1 to demo%s_%ld, password \"%s\"), "
	       "%ld skills, %ld projects, %ld project tags, %ld new tags, %ld reviews, "
	       "%ld messages, %ld notes.\n",
	       run, (now_ms() - started) / 1000.0, counts.profiles, run, run, profiles,
	       SEED_PASSWORD, counts.skills, counts.projects, counts.project_tags, counts.tags,
	       counts.reviews, counts.messages, counts.notes);
	ret = 0;
out:
	if (conn)
		db_rollback(conn);
	db_conn_free(conn);
	password_hasher_free(hasher);
	free(hash);
	return ret;
}
