/*
 * The test runner: every suite in one Check runner, so `make test` ends with
 * one summary line. scripts/test.sh has started the cluster and migrated the
 * shared test database.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>

#include "support.h"

int main(void)
{
	if (!getenv("DEVSEARCH_BIN") || !getenv("DATABASE_URL")) {
		fprintf(stderr, "run the tests with `make test`: it sets up the database\n");
		return 1;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	SRunner *runner = srunner_create(unit_suite());
	srunner_add_suite(runner, db_suite());
	srunner_add_suite(runner, topology_suite());
	srunner_add_suite(runner, http_suite());
	srunner_add_suite(runner, cli_suite());
	srunner_add_suite(runner, password_suite());
	srunner_add_suite(runner, email_suite());
	srunner_add_suite(runner, auth_suite());
	srunner_add_suite(runner, profiles_suite());
	srunner_add_suite(runner, projects_suite());
	srunner_add_suite(runner, messages_suite());
	srunner_add_suite(runner, images_suite());
	srunner_add_suite(runner, seed_suite());
	srunner_add_suite(runner, import_suite());
	srunner_add_suite(runner, cache_suite());
	srunner_add_suite(runner, compress_suite());
	srunner_add_suite(runner, security_suite());
	srunner_add_suite(runner, faults_suite());
	srunner_add_suite(runner, metrics_suite());
	srunner_add_suite(runner, ratelimit_suite());
	srunner_add_suite(runner, logs_suite());
	srunner_add_suite(runner, flush_suite());
	srunner_run_all(runner, CK_NORMAL);
	int failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	curl_global_cleanup();
	return failed ? 1 : 0;
}
