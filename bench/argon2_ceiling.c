/*
 * The login ceiling of `make bench`: how many argon2id hashes per second this
 * machine computes with nothing else running, THREADS threads hashing side by
 * side with the costs the servers use. A login costs one such hash on either
 * server, so this bounds POST /api/users/token for both. libargon2 is the
 * library the server links; nothing else of the server is involved.
 *
 *   argon2_ceiling SECONDS THREADS   (costs from ARGON2_TIME_COST,
 *                                     ARGON2_MEMORY_COST, ARGON2_PARALLELISM)
 *
 * Prints one JSON object: {"hashes_per_s", "ms_per_hash", "threads", ...}.
 */
#include <argon2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct worker {
	pthread_t thread;
	double seconds;
	unsigned t_cost, m_cost, parallelism;
	long hashes;
	int failed;
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static unsigned env_cost(const char *name, unsigned fallback)
{
	const char *v = getenv(name);
	return v && *v ? (unsigned)strtoul(v, NULL, 10) : fallback;
}

static void *hash_until_time_is_up(void *arg)
{
	struct worker *w = arg;
	static const char password[] = "devsearch-demo-pass";
	unsigned char salt[16], hash[32];
	double end = now_s() + w->seconds;

	memset(salt, 0x5a, sizeof(salt));
	while (now_s() < end) {
		salt[0]++; /* not that it matters to the cost */
		if (argon2id_hash_raw(w->t_cost, w->m_cost, w->parallelism, password,
				      sizeof(password) - 1, salt, sizeof(salt), hash,
				      sizeof(hash)) != ARGON2_OK) {
			w->failed = 1;
			break;
		}
		w->hashes++;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s SECONDS THREADS\n", argv[0]);
		return 2;
	}
	double seconds = atof(argv[1]);
	int threads = atoi(argv[2]);
	if (seconds <= 0 || threads < 1 || threads > 256) {
		fprintf(stderr, "argon2_ceiling: SECONDS > 0 and 1 <= THREADS <= 256\n");
		return 2;
	}
	struct worker *workers = calloc((size_t)threads, sizeof(*workers));
	if (!workers)
		return 1;
	double start = now_s();
	for (int i = 0; i < threads; i++) {
		workers[i].seconds = seconds;
		workers[i].t_cost = env_cost("ARGON2_TIME_COST", 2);
		workers[i].m_cost = env_cost("ARGON2_MEMORY_COST", 19456);
		workers[i].parallelism = env_cost("ARGON2_PARALLELISM", 1);
		if (pthread_create(&workers[i].thread, NULL, hash_until_time_is_up, &workers[i])) {
			fprintf(stderr, "argon2_ceiling: cannot start a thread\n");
			return 1;
		}
	}
	long hashes = 0;
	int failed = 0;
	for (int i = 0; i < threads; i++) {
		pthread_join(workers[i].thread, NULL);
		hashes += workers[i].hashes;
		failed |= workers[i].failed;
	}
	double elapsed = now_s() - start;
	if (failed || hashes == 0) {
		fprintf(stderr, "argon2_ceiling: hashing failed\n");
		return 1;
	}
	printf("{\"hashes_per_s\": %.1f, \"ms_per_hash\": %.2f, \"threads\": %d, \"seconds\": "
	       "%.1f, "
	       "\"time_cost\": %u, \"memory_cost_kib\": %u, \"parallelism\": %u}\n",
	       (double)hashes / elapsed, elapsed * 1000.0 * threads / (double)hashes, threads,
	       elapsed, workers[0].t_cost, workers[0].m_cost, workers[0].parallelism);
	free(workers);
	return 0;
}
