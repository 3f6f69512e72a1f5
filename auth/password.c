/*
 * Password hashes (see password.h): argon2id through libargon2 on the
 * hasher's own threads (as many as slots: they bound concurrent hashing), and
 * the dummy verification for unknown users.
 * Knows nothing of users, requests or SQL; never logs a password or a hash.
 */
#include "auth/password.h"

#include <argon2.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "core/log.h"
#include "core/util.h"

#define SALT_LEN 16
#define HASH_LEN 32

/* Django's Argon2PasswordHasher prefixes the PHC string with its name. */
static const char DJANGO_PREFIX[] = "argon2";

/*
 * One hashing to do on a hasher thread: the caller's stack holds it until
 * done. Hashing runs on the hasher's own threads, not the callers': argon2
 * mallocs its memory (19 MiB by default) and glibc keeps it in the calling
 * thread's arena afterwards, so with hashing on any of N HTTP threads the
 * server would keep N times that; on the hasher's threads it keeps at most
 * slots times that.
 */
struct hash_job {
	enum { JOB_VERIFY, JOB_HASH } kind;
	const char *password;
	size_t len;
	const char *phc;     /* JOB_VERIFY */
	argon2_type type;    /* JOB_VERIFY */
	const uint8_t *salt; /* JOB_HASH */
	char *encoded;       /* JOB_HASH: out, encoded_len bytes */
	size_t encoded_len;
	int rc; /* libargon2's result code */
	int done;
	pthread_cond_t finished;
	struct hash_job *next;
};

struct password_hasher {
	uint32_t memory_kib;
	uint32_t time_cost;
	uint32_t parallelism;
	/* The queue of jobs, served by nthreads threads (the configured slots). */
	pthread_mutex_t lock;
	pthread_cond_t work;
	struct hash_job *head, *tail;
	int stopping;
	pthread_t *threads;
	unsigned nthreads;
	int sync_ready; /* lock and work are initialised */
	/* A hash of a random password with our parameters, for NULL/unusable hashes. */
	char *dummy;
};

/* What password_verify needs to know of a PHC string. */
struct phc_params {
	argon2_type type;
	uint32_t version;
	uint32_t memory_kib;
	uint32_t time_cost;
	uint32_t parallelism;
};

static int run_job(const struct password_hasher *hasher, struct hash_job *job)
{
	if (job->kind == JOB_VERIFY)
		return argon2_verify(job->phc, job->password, job->len, job->type);
	return argon2id_hash_encoded(hasher->time_cost, hasher->memory_kib, hasher->parallelism,
				     job->password, job->len, job->salt, SALT_LEN, HASH_LEN,
				     job->encoded, job->encoded_len);
}

static void *hasher_thread(void *arg)
{
	struct password_hasher *hasher = arg;

	pthread_mutex_lock(&hasher->lock);
	for (;;) {
		while (!hasher->head && !hasher->stopping)
			pthread_cond_wait(&hasher->work, &hasher->lock);
		struct hash_job *job = hasher->head;
		if (!job)
			break; /* stopping, and nothing left to do */
		hasher->head = job->next;
		if (!hasher->head)
			hasher->tail = NULL;
		pthread_mutex_unlock(&hasher->lock);
		int rc = run_job(hasher, job);
		pthread_mutex_lock(&hasher->lock);
		job->rc = rc;
		job->done = 1;
		pthread_cond_signal(&job->finished);
	}
	pthread_mutex_unlock(&hasher->lock);
	return NULL;
}

/* Queue job and wait until a hasher thread has run it; its result code. */
static int run_on_hasher(struct password_hasher *hasher, struct hash_job *job)
{
	job->done = 0;
	job->next = NULL;
	pthread_cond_init(&job->finished, NULL);
	pthread_mutex_lock(&hasher->lock);
	if (hasher->tail)
		hasher->tail->next = job;
	else
		hasher->head = job;
	hasher->tail = job;
	pthread_cond_signal(&hasher->work);
	while (!job->done)
		pthread_cond_wait(&job->finished, &hasher->lock);
	pthread_mutex_unlock(&hasher->lock);
	pthread_cond_destroy(&job->finished);
	return job->rc;
}

/* Fill buf with len bytes from the kernel's CSPRNG; 0, or -1 with errno set. */
static int fill_random(void *buf, size_t len)
{
	unsigned char *p = buf;
	while (len > 0) {
		ssize_t n = getrandom(p, len, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Skip the literal lit at *s; 0, or -1 (and *s unchanged) if it is not there. */
static int skip_literal(const char **s, const char *lit)
{
	size_t n = strlen(lit);
	if (strncmp(*s, lit, n) != 0)
		return -1;
	*s += n;
	return 0;
}

/* A decimal number fitting uint32_t; 0, or -1 if there is none or it is too big. */
static int parse_u32(const char **s, uint32_t *out)
{
	const char *p = *s;
	uint64_t v = 0;
	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (uint64_t)(*p - '0');
		if (v > UINT32_MAX)
			return -1;
	}
	*out = (uint32_t)v;
	*s = p;
	return 0;
}

/* One or more characters of the (unpadded) base64 alphabet. */
static int skip_base64(const char **s)
{
	const char *p = *s;
	while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
	       *p == '+' || *p == '/')
		p++;
	if (p == *s)
		return -1;
	*s = p;
	return 0;
}

/*
 * Parse "$argon2id$v=19$m=M,t=T,p=P$salt$hash" (or $argon2i$; without "v=" the
 * version is 1.0, as libargon2 reads it). 0, or -1 if s is not of that form.
 */
static int phc_parse(const char *s, struct phc_params *out)
{
	if (skip_literal(&s, "$argon2id$") == 0)
		out->type = Argon2_id;
	else if (skip_literal(&s, "$argon2i$") == 0)
		out->type = Argon2_i;
	else
		return -1;
	out->version = ARGON2_VERSION_10;
	if (skip_literal(&s, "v=") == 0 &&
	    (parse_u32(&s, &out->version) < 0 || skip_literal(&s, "$") < 0))
		return -1;
	if (skip_literal(&s, "m=") < 0 || parse_u32(&s, &out->memory_kib) < 0 ||
	    skip_literal(&s, ",t=") < 0 || parse_u32(&s, &out->time_cost) < 0 ||
	    skip_literal(&s, ",p=") < 0 || parse_u32(&s, &out->parallelism) < 0 ||
	    skip_literal(&s, "$") < 0 || skip_base64(&s) < 0 || skip_literal(&s, "$") < 0 ||
	    skip_base64(&s) < 0 || *s != '\0')
		return -1;
	return 0;
}

/* argon2_verify on a hasher thread; libargon2's result code. */
static int verify_on_hasher(struct password_hasher *hasher, const char *phc, const char *password,
			    size_t len, argon2_type type)
{
	struct hash_job job = {
		.kind = JOB_VERIFY, .password = password, .len = len, .phc = phc, .type = type};
	return run_on_hasher(hasher, &job);
}

/* Spend one verification with our parameters; the result does not matter. */
static void verify_dummy(struct password_hasher *hasher, const char *password, size_t len)
{
	(void)verify_on_hasher(hasher, hasher->dummy, password, len, Argon2_id);
}

/*
 * Log a stored hash we cannot use, naming only its algorithm ("pbkdf2_sha256"),
 * never the rest: the column might even hold something secret.
 */
static void log_unusable(const char *encoded)
{
	const char *name = encoded[0] == '$' ? encoded + 1 : encoded;
	size_t n = strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_-");
	if (n > 0 && n <= 32 && name[n] == '$')
		log_warn("password_verify: cannot use a stored password hash of kind \"%.*s\"",
			 (int)n, name);
	else
		log_warn("password_verify: cannot use a stored password hash of unknown kind");
}

struct password_hasher *password_hasher_new(unsigned memory_kib, unsigned time_cost,
					    unsigned parallelism, unsigned slots)
{
	struct password_hasher *hasher = NULL, *ret = NULL;
	unsigned char secret[16];

	if (slots == 0) {
		log_error("password hasher: at least one hashing slot is needed");
		goto out;
	}
	hasher = xcalloc(1, sizeof(*hasher));
	hasher->memory_kib = memory_kib;
	hasher->time_cost = time_cost;
	hasher->parallelism = parallelism;
	if (pthread_mutex_init(&hasher->lock, NULL) != 0) {
		log_error("password hasher: cannot create a mutex");
		goto out;
	}
	if (pthread_cond_init(&hasher->work, NULL) != 0) {
		log_error("password hasher: cannot create a condition variable");
		pthread_mutex_destroy(&hasher->lock);
		goto out;
	}
	hasher->sync_ready = 1;
	hasher->threads = xcalloc(slots, sizeof(*hasher->threads));
	for (; hasher->nthreads < slots; hasher->nthreads++)
		if (pthread_create(&hasher->threads[hasher->nthreads], NULL, hasher_thread,
				   hasher) != 0) {
			log_error("password hasher: cannot start a hashing thread");
			goto out;
		}

	if (fill_random(secret, sizeof(secret)) < 0) {
		log_error("password hasher: getrandom failed: %s", strerror(errno));
		goto out;
	}
	hasher->dummy = password_hash(hasher, (const char *)secret, sizeof(secret));
	if (!hasher->dummy) {
		log_error("password hasher: cannot hash with m=%u KiB, t=%u, p=%u", memory_kib,
			  time_cost, parallelism);
		goto out;
	}
	ret = hasher;
	hasher = NULL;
out:
	explicit_bzero(secret, sizeof(secret));
	password_hasher_free(hasher);
	return ret;
}

void password_hasher_free(struct password_hasher *hasher)
{
	if (!hasher)
		return;
	if (hasher->sync_ready) {
		pthread_mutex_lock(&hasher->lock);
		hasher->stopping = 1;
		pthread_cond_broadcast(&hasher->work);
		pthread_mutex_unlock(&hasher->lock);
		for (unsigned i = 0; i < hasher->nthreads; i++)
			pthread_join(hasher->threads[i], NULL);
		pthread_cond_destroy(&hasher->work);
		pthread_mutex_destroy(&hasher->lock);
	}
	free(hasher->threads);
	free(hasher->dummy);
	free(hasher);
}

char *password_hash(struct password_hasher *hasher, const char *password, size_t len)
{
	unsigned char salt[SALT_LEN];
	char *encoded = NULL, *ret = NULL;
	size_t encoded_len;
	int rc;

	if (fill_random(salt, sizeof(salt)) < 0) {
		log_error("password_hash: getrandom failed: %s", strerror(errno));
		goto out;
	}
	encoded_len = argon2_encodedlen(hasher->time_cost, hasher->memory_kib, hasher->parallelism,
					SALT_LEN, HASH_LEN, Argon2_id);
	encoded = xmalloc(encoded_len);
	struct hash_job job = {.kind = JOB_HASH,
			       .password = password,
			       .len = len,
			       .salt = salt,
			       .encoded = encoded,
			       .encoded_len = encoded_len};
	rc = run_on_hasher(hasher, &job);
	if (rc != ARGON2_OK) {
		log_error("password_hash: argon2id failed: %s", argon2_error_message(rc));
		goto out;
	}
	ret = encoded;
	encoded = NULL;
out:
	free(encoded);
	return ret;
}

int password_verify(struct password_hasher *hasher, const char *encoded, const char *password,
		    size_t len, int *needs_rehash)
{
	const char *phc = encoded;
	struct phc_params params;
	int django = 0, matched = 0, rc;

	if (needs_rehash)
		*needs_rehash = 0;
	if (encoded && strncmp(encoded, DJANGO_PREFIX, strlen(DJANGO_PREFIX)) == 0 &&
	    encoded[strlen(DJANGO_PREFIX)] == '$') {
		django = 1;
		phc = encoded + strlen(DJANGO_PREFIX);
	}
	if (!phc || phc_parse(phc, &params) < 0) {
		/* Unknown user, Django's unusable "!..." password, or something else. */
		if (encoded && encoded[0] != '!')
			log_unusable(encoded);
		verify_dummy(hasher, password, len);
		goto out;
	}
	rc = verify_on_hasher(hasher, phc, password, len, params.type);
	if (rc == ARGON2_VERIFY_MISMATCH)
		goto out;
	if (rc != ARGON2_OK) {
		/* Rejected before hashing (say, a short salt): spend the time anyway. */
		log_warn("password_verify: stored argon2 hash unusable: %s",
			 argon2_error_message(rc));
		verify_dummy(hasher, password, len);
		goto out;
	}
	matched = 1;
	if (needs_rehash)
		*needs_rehash = django || params.type != Argon2_id ||
				params.version < ARGON2_VERSION_13 ||
				params.memory_kib < hasher->memory_kib ||
				params.time_cost < hasher->time_cost ||
				params.parallelism < hasher->parallelism;
out:
	return matched;
}
