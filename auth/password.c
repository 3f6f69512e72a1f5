/*
 * Password hashes (see password.h): argon2id through libargon2 on the
 * hasher's own threads (as many as slots: they bound concurrent hashing),
 * Django's pbkdf2_sha256 through OpenSSL on the same threads, and the dummy
 * verification for unknown users.
 * Knows nothing of users, requests or SQL; never logs a password or a hash.
 */
#include "auth/password.h"

#include <argon2.h>
#include <errno.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
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

/* Django's PBKDF2PasswordHasher: "pbkdf2_sha256$<iterations>$<salt>$<base64 hash>". */
static const char PBKDF2_PREFIX[] = "pbkdf2_sha256$";
#define PBKDF2_KEY_LEN 32
#define PBKDF2_B64_LEN 44 /* standard base64 of 32 bytes, one '=' of padding */
/*
 * Django 5 stores 720000 to 1200000 iterations; far more in a stored hash is
 * a mistake or a trap (each login would burn seconds of a hashing slot).
 */
#define PBKDF2_MAX_ITERATIONS 10000000u
#define PBKDF2_MAX_SALT_LEN 128

struct pbkdf2_params;

/*
 * One hashing to do on a hasher thread: the caller's stack holds it until
 * done. Hashing runs on the hasher's own threads, not the callers': argon2
 * mallocs its memory (19 MiB by default) and glibc keeps it in the calling
 * thread's arena afterwards, so with hashing on any of N HTTP threads the
 * server would keep N times that; on the hasher's threads it keeps at most
 * slots times that.
 */
struct hash_job {
	enum { JOB_VERIFY, JOB_HASH, JOB_PBKDF2 } kind;
	const char *password;
	size_t len;
	const char *phc;     /* JOB_VERIFY */
	argon2_type type;    /* JOB_VERIFY */
	const uint8_t *salt; /* JOB_HASH */
	char *encoded;       /* JOB_HASH: out, encoded_len bytes */
	size_t encoded_len;
	const struct pbkdf2_params *pbkdf2; /* JOB_PBKDF2 */
	unsigned char *key;                 /* JOB_PBKDF2: out, PBKDF2_KEY_LEN bytes */
	int rc; /* libargon2's result code; JOB_PBKDF2: 0, or -1 if OpenSSL failed */
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

/* What password_verify needs to know of a pbkdf2_sha256 string; salt points into it. */
struct pbkdf2_params {
	uint32_t iterations;
	const char *salt;
	size_t salt_len;
	unsigned char hash[PBKDF2_KEY_LEN];
};

static int run_job(const struct password_hasher *hasher, struct hash_job *job)
{
	if (job->kind == JOB_PBKDF2)
		return PKCS5_PBKDF2_HMAC(job->password, (int)job->len,
					 (const unsigned char *)job->pbkdf2->salt,
					 (int)job->pbkdf2->salt_len, (int)job->pbkdf2->iterations,
					 EVP_sha256(), PBKDF2_KEY_LEN, job->key) == 1
			       ? 0
			       : -1;
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

static int is_base64_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '/';
}

/*
 * Parse Django's "pbkdf2_sha256$<iterations>$<salt>$<base64 of 32 bytes>".
 * 0, or -1 if s is not of that form, with *why saying what is wrong (for the
 * log: it names no part of the hash). Iterations must be 1..PBKDF2_MAX_ITERATIONS.
 */
static int pbkdf2_parse(const char *s, struct pbkdf2_params *out, const char **why)
{
	unsigned char raw[PBKDF2_KEY_LEN + 1]; /* EVP_DecodeBlock counts the padding byte too */
	const char *end;

	*why = "malformed";
	if (skip_literal(&s, PBKDF2_PREFIX) < 0 || parse_u32(&s, &out->iterations) < 0 ||
	    skip_literal(&s, "$") < 0) {
		*why = "malformed or too large iteration count";
		return -1;
	}
	if (out->iterations == 0 || out->iterations > PBKDF2_MAX_ITERATIONS) {
		*why = "iteration count out of bounds";
		return -1;
	}
	end = strchr(s, '$');
	if (!end || end == s || (size_t)(end - s) > PBKDF2_MAX_SALT_LEN)
		return -1;
	out->salt = s;
	out->salt_len = (size_t)(end - s);
	s = end + 1;
	if (strlen(s) != PBKDF2_B64_LEN || s[PBKDF2_B64_LEN - 1] != '=') {
		*why = "bad base64 hash";
		return -1;
	}
	for (int i = 0; i < PBKDF2_B64_LEN - 1; i++)
		if (!is_base64_char(s[i])) {
			*why = "bad base64 hash";
			return -1;
		}
	if (EVP_DecodeBlock(raw, (const unsigned char *)s, PBKDF2_B64_LEN) != PBKDF2_KEY_LEN + 1) {
		*why = "bad base64 hash";
		return -1;
	}
	memcpy(out->hash, raw, PBKDF2_KEY_LEN);
	return 0;
}

/*
 * PBKDF2-HMAC-SHA256 of password with params on a hasher thread, compared in
 * constant time: 1 on a match, 0 on a mismatch, -1 if OpenSSL failed (logged).
 */
static int pbkdf2_verify_on_hasher(struct password_hasher *hasher,
				   const struct pbkdf2_params *params, const char *password,
				   size_t len)
{
	unsigned char key[PBKDF2_KEY_LEN];
	struct hash_job job = {
		.kind = JOB_PBKDF2, .password = password, .len = len, .pbkdf2 = params, .key = key};
	int ret;

	if (run_on_hasher(hasher, &job) != 0) {
		log_error("password_verify: PBKDF2 failed in OpenSSL");
		ret = -1;
	} else {
		ret = CRYPTO_memcmp(key, params->hash, PBKDF2_KEY_LEN) == 0;
	}
	explicit_bzero(key, sizeof(key));
	return ret;
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

/*
 * password_verify for Django's "pbkdf2_sha256$..." (encoded has that prefix).
 * A match always needs a rehash: new hashes are argon2id.
 */
static int verify_pbkdf2(struct password_hasher *hasher, const char *encoded, const char *password,
			 size_t len, int *needs_rehash)
{
	struct pbkdf2_params params;
	const char *why;
	int matched = 0;

	if (pbkdf2_parse(encoded, &params, &why) < 0) {
		log_warn("password_verify: stored pbkdf2_sha256 hash unusable: %s", why);
		verify_dummy(hasher, password, len);
		goto out;
	}
	if (len > INT_MAX) {
		/* OpenSSL takes an int length; no serializer lets such a password through. */
		verify_dummy(hasher, password, len);
		goto out;
	}
	matched = pbkdf2_verify_on_hasher(hasher, &params, password, len) == 1;
	if (matched && needs_rehash)
		*needs_rehash = 1;
out:
	return matched;
}

int password_verify(struct password_hasher *hasher, const char *encoded, const char *password,
		    size_t len, int *needs_rehash)
{
	const char *phc = encoded;
	struct phc_params params;
	int django = 0, matched = 0, rc;

	if (needs_rehash)
		*needs_rehash = 0;
	if (encoded && strncmp(encoded, PBKDF2_PREFIX, strlen(PBKDF2_PREFIX)) == 0)
		return verify_pbkdf2(hasher, encoded, password, len, needs_rehash);
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
