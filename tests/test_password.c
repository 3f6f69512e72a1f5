/*
 * Unit tests of auth/password.c (argon2id hashing, Django's hashes, the
 * unknown-user timing, the hashing slots) and serializers/password.c (Django's
 * validators and the common-password list). No server, no database.
 */
#include <argon2.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth/password.h"
#include "core/log.h"
#include "core/util.h"
#include "serializers/common_passwords.h"
#include "serializers/password.h"
#include "support.h"

/* Cheap enough for tests, dear enough to time. */
#define TEST_M 16384
#define TEST_T 2
#define TEST_P 1

static const char PW[] = "correct horse battery staple";

/* A hash of password with the given parameters, made without the hasher (caller free()s). */
static char *hash_with(argon2_type type, uint32_t m, uint32_t t, uint32_t p, const char *password)
{
	const unsigned char salt[16] = "0123456789abcdef";
	size_t len = argon2_encodedlen(t, m, p, sizeof(salt), 32, type);
	char *encoded = xmalloc(len);
	int rc = argon2_hash(t, m, p, password, strlen(password), salt, sizeof(salt), NULL, 32,
			     encoded, len, type, ARGON2_VERSION_13);
	ck_assert_msg(rc == ARGON2_OK, "argon2_hash: %s", argon2_error_message(rc));
	return encoded;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* One password_verify(hasher, encoded, password) in ms. */
static double verify_ms(struct password_hasher *hasher, const char *encoded, const char *password)
{
	double start = now_ms();
	password_verify(hasher, encoded, password, strlen(password), NULL);
	return now_ms() - start;
}

#define TIMED_KINDS 5
#define ROUNDS 5

/*
 * Medians of ROUNDS verifications each: real (right password), wrong password,
 * unknown user, garbage hash, unusable ("!") hash. The kinds take turns in each
 * round, so a load spike from elsewhere hits them all alike.
 */
static void median_verify_ms(struct password_hasher *hasher, const char *encoded,
			     double medians[TIMED_KINDS])
{
	double ms[TIMED_KINDS][ROUNDS];
	for (int r = 0; r < ROUNDS; r++) {
		ms[0][r] = verify_ms(hasher, encoded, PW);
		ms[1][r] = verify_ms(hasher, encoded, "wrong password");
		ms[2][r] = verify_ms(hasher, NULL, PW);
		ms[3][r] = verify_ms(hasher, "garbage", PW);
		ms[4][r] = verify_ms(hasher, "!abc", PW);
	}
	for (int k = 0; k < TIMED_KINDS; k++) {
		qsort(ms[k], ROUNDS, sizeof(ms[k][0]), cmp_double);
		medians[k] = ms[k][ROUNDS / 2];
	}
}

START_TEST(hash_round_trip)
{
	struct password_hasher *hasher = password_hasher_new(TEST_M, TEST_T, TEST_P, 4);
	ck_assert_ptr_nonnull(hasher);
	char *encoded = password_hash(hasher, PW, strlen(PW));
	ck_assert_ptr_nonnull(encoded);
	int rehash = -1;
	ck_assert_int_eq(password_verify(hasher, encoded, PW, strlen(PW), &rehash), 1);
	ck_assert_int_eq(rehash, 0);
	ck_assert_int_eq(password_verify(hasher, encoded, PW, strlen(PW), NULL), 1);

	/* Two hashes of the same password differ by their salt. */
	char *again = password_hash(hasher, PW, strlen(PW));
	ck_assert_str_ne(encoded, again);
	free(again);

	/* (ptr, len): bytes after len do not count; an embedded NUL does. */
	const char with_nul[] = "abc\0def";
	char *nul_hash = password_hash(hasher, with_nul, 7);
	ck_assert_int_eq(password_verify(hasher, nul_hash, with_nul, 7, NULL), 1);
	ck_assert_int_eq(password_verify(hasher, nul_hash, "abc", 3, NULL), 0);
	free(nul_hash);
	char *empty = password_hash(hasher, "", 0);
	ck_assert_int_eq(password_verify(hasher, empty, "", 0, NULL), 1);
	ck_assert_int_eq(password_verify(hasher, empty, "x", 1, NULL), 0);
	free(empty);

	free(encoded);
	password_hasher_free(hasher);
}
END_TEST

START_TEST(wrong_password)
{
	struct password_hasher *hasher = password_hasher_new(TEST_M, TEST_T, TEST_P, 4);
	char *encoded = password_hash(hasher, PW, strlen(PW));
	int rehash = -1;
	ck_assert_int_eq(
		password_verify(hasher, encoded, "correct horse battery stapler", 29, &rehash), 0);
	ck_assert_int_eq(rehash, 0);
	/* A prefix of the password is not the password. */
	ck_assert_int_eq(password_verify(hasher, encoded, PW, strlen(PW) - 1, NULL), 0);
	free(encoded);
	password_hasher_free(hasher);
}
END_TEST

START_TEST(phc_format)
{
	struct password_hasher *hasher = password_hasher_new(TEST_M, TEST_T, TEST_P, 4);
	char *encoded = password_hash(hasher, PW, strlen(PW));
	const char prefix[] = "$argon2id$v=19$m=16384,t=2,p=1$";
	ck_assert_msg(!strncmp(encoded, prefix, strlen(prefix)), "got %s", encoded);
	/* 16-byte salt and 32-byte hash in unpadded base64: 22 and 43 characters. */
	const char *salt = encoded + strlen(prefix);
	const char *dollar = strchr(salt, '$');
	ck_assert_ptr_nonnull(dollar);
	ck_assert_int_eq(dollar - salt, 22);
	ck_assert_int_eq(strlen(dollar + 1), 43);
	free(encoded);
	password_hasher_free(hasher);

	/* Parameters libargon2 rejects, or no slot: no hasher. */
	ck_assert_ptr_null(password_hasher_new(1, TEST_T, TEST_P, 4));
	ck_assert_ptr_null(password_hasher_new(TEST_M, 0, TEST_P, 4));
	ck_assert_ptr_null(password_hasher_new(TEST_M, TEST_T, TEST_P, 0));
}
END_TEST

START_TEST(weaker_hash_needs_rehash)
{
	struct password_hasher *hasher = password_hasher_new(TEST_M, TEST_T, TEST_P, 4);
	int rehash = -1;

	char *weak = hash_with(Argon2_id, 8192, 1, 1, PW);
	ck_assert_int_eq(password_verify(hasher, weak, PW, strlen(PW), &rehash), 1);
	ck_assert_int_eq(rehash, 1);
	/* No rehash when the password is wrong: there is nothing to store. */
	ck_assert_int_eq(password_verify(hasher, weak, "nope", 4, &rehash), 0);
	ck_assert_int_eq(rehash, 0);
	free(weak);

	char *fewer_passes = hash_with(Argon2_id, TEST_M, 1, TEST_P, PW);
	ck_assert_int_eq(password_verify(hasher, fewer_passes, PW, strlen(PW), &rehash), 1);
	ck_assert_int_eq(rehash, 1);
	free(fewer_passes);

	/* argon2i with our parameters: right password, but not argon2id. */
	char *argon2i = hash_with(Argon2_i, TEST_M, TEST_T, TEST_P, PW);
	ck_assert(!strncmp(argon2i, "$argon2i$", 9));
	ck_assert_int_eq(password_verify(hasher, argon2i, PW, strlen(PW), &rehash), 1);
	ck_assert_int_eq(rehash, 1);
	free(argon2i);

	/* Stronger than ours, or ours: keep it. */
	char *stronger = hash_with(Argon2_id, TEST_M * 2, TEST_T + 1, TEST_P + 1, PW);
	ck_assert_int_eq(password_verify(hasher, stronger, PW, strlen(PW), &rehash), 1);
	ck_assert_int_eq(rehash, 0);
	free(stronger);
	char *current = password_hash(hasher, PW, strlen(PW));
	ck_assert_int_eq(password_verify(hasher, current, PW, strlen(PW), &rehash), 1);
	ck_assert_int_eq(rehash, 0);
	free(current);
	password_hasher_free(hasher);
}
END_TEST

START_TEST(django_hash)
{
	struct password_hasher *hasher = password_hasher_new(TEST_M, TEST_T, TEST_P, 4);
	struct strbuf django = STRBUF_INIT;
	int rehash = -1;

	/* Django's Argon2PasswordHasher: "argon2" + the PHC string, even with our parameters. */
	char *phc = password_hash(hasher, PW, strlen(PW));
	strbuf_addf(&django, "argon2%s", phc);
	ck_assert(!strncmp(django.buf, "argon2$argon2id$v=19$m=16384,t=2,p=1$", 37));
	ck_assert_int_eq(password_verify(hasher, django.buf, PW, strlen(PW), &rehash), 1);
	ck_assert_int_eq(rehash, 1);
	ck_assert_int_eq(password_verify(hasher, django.buf, "Correct horse battery staple",
					 strlen(PW), &rehash),
			 0);
	ck_assert_int_eq(rehash, 0);
	free(phc);

	/* Django before 3.2 used argon2i (m=512, t=2, p=2). */
	phc = hash_with(Argon2_i, 512, 2, 2, PW);
	strbuf_reset(&django);
	strbuf_addf(&django, "argon2%s", phc);
	ck_assert_int_eq(password_verify(hasher, django.buf, PW, strlen(PW), &rehash), 1);
	ck_assert_int_eq(rehash, 1);
	free(phc);

	strbuf_release(&django);
	password_hasher_free(hasher);
}
END_TEST

/* 1 if password_verify matches; checks needs_rehash is 1 exactly on a match. */
static int pbkdf2_matches(struct password_hasher *hasher, const char *encoded, const char *password)
{
	int rehash = -1;
	int matched = password_verify(hasher, encoded, password, strlen(password), &rehash);
	ck_assert_msg(rehash == matched, "needs_rehash %d for matched %d: %s", rehash, matched,
		      encoded);
	return matched;
}

/*
 * Django's PBKDF2PasswordHasher. The vectors were computed apart from our code
 * (Python's hashlib.pbkdf2_hmac, base64.b64encode); the first is RFC 7914's
 * PBKDF2-HMAC-SHA256 vector ("passwd", "salt", 1 iteration), cut to 32 bytes.
 */
START_TEST(django_pbkdf2_hash)
{
	struct password_hasher *hasher = password_hasher_new(TEST_M, TEST_T, TEST_P, 2);

	ck_assert_int_eq(
		pbkdf2_matches(hasher,
			       "pbkdf2_sha256$1$salt$VawEblbjCJ/sFpHCJUS2BflBhSFt3gRl5oudV8INrLw=",
			       "passwd"),
		1);
	const char *seasalt =
		"pbkdf2_sha256$1000$seasalt42$k6wEQFthxaYy9P3dh7IyJRtHB3Bk7c+KubZ5aFPyrow=";
	ck_assert_int_eq(pbkdf2_matches(hasher, seasalt, PW), 1);
	ck_assert_int_eq(pbkdf2_matches(hasher, seasalt, "Correct horse battery staple"), 0);
	ck_assert_int_eq(pbkdf2_matches(hasher, seasalt, ""), 0);
	/* UTF-8 password, as Django encodes it. */
	ck_assert_int_eq(
		pbkdf2_matches(
			hasher,
			"pbkdf2_sha256$2$AbCdEf123456$Enjrise9uAcQIpES19wcII9HYNRFeJ0fKYELaeBiqzc=",
			"p\xc3\xa4ssw\xc3\xb6rd"),
		1);
	/* The same hash under another salt or iteration count does not match. */
	ck_assert_int_eq(
		pbkdf2_matches(
			hasher,
			"pbkdf2_sha256$1000$seasalt43$k6wEQFthxaYy9P3dh7IyJRtHB3Bk7c+KubZ5aFPyrow=",
			PW),
		0);
	ck_assert_int_eq(
		pbkdf2_matches(
			hasher,
			"pbkdf2_sha256$999$seasalt42$k6wEQFthxaYy9P3dh7IyJRtHB3Bk7c+KubZ5aFPyrow=",
			PW),
		0);
	password_hasher_free(hasher);
}
END_TEST

START_TEST(django_pbkdf2_malformed)
{
	struct password_hasher *hasher = password_hasher_new(TEST_M, TEST_T, TEST_P, 2);
	static const char *const bad[] = {
		"pbkdf2_sha256$",
		"pbkdf2_sha256$1000",
		"pbkdf2_sha256$1000$seasalt42",
		"pbkdf2_sha256$1000$seasalt42$",
		"pbkdf2_sha256$$seasalt42$k6wEQFthxaYy9P3dh7IyJRtHB3Bk7c+KubZ5aFPyrow=",
		"pbkdf2_sha256$1000$$k6wEQFthxaYy9P3dh7IyJRtHB3Bk7c+KubZ5aFPyrow=",
		"pbkdf2_sha256$-1000$seasalt42$k6wEQFthxaYy9P3dh7IyJRtHB3Bk7c+KubZ5aFPyrow=",
		"pbkdf2_sha256$1e3$seasalt42$k6wEQFthxaYy9P3dh7IyJRtHB3Bk7c+KubZ5aFPyrow=",
		"pbkdf2_sha256$0$seasalt42$k6wEQFthxaYy9P3dh7IyJRtHB3Bk7c+KubZ5aFPyrow=",
		/* too many iterations: refused, not run (it would take hours) */
		"pbkdf2_sha256$4294967295$seasalt42$k6wEQFthxaYy9P3dh7IyJRtHB3Bk7c+KubZ5aFPyrow=",
		"pbkdf2_sha256$99999999999999999999$seasalt42$k6wEQFthxaYy9P3dh7IyJRtHB3Bk7c+"
		"KubZ5aFPyrow=",
		/* base64: unpadded, short, long, a bad character, padding inside */
		"pbkdf2_sha256$1000$seasalt42$k6wEQFthxaYy9P3dh7IyJRtHB3Bk7c+KubZ5aFPyrow",
		"pbkdf2_sha256$1000$seasalt42$k6wEQFthxaYy9P3dh7IyJRtHB3Bk7c+KubZ5aFPyro=",
		"pbkdf2_sha256$1000$seasalt42$k6wEQFthxaYy9P3dh7IyJRtHB3Bk7c+KubZ5aFPyrow==",
		"pbkdf2_sha256$1000$seasalt42$k6wEQFthxaYy9P3dh7IyJRtHB3Bk7c-KubZ5aFPyrow=",
		"pbkdf2_sha256$1000$seasalt42$k6wEQFthxaYy9P3dh7IyJRtHB3Bk7c+KubZ5aFPyr=w=",
		"pbkdf2_sha256$1000$seasalt42$k6wEQFthxaYy9P3dh7IyJRtHB3Bk7c+KubZ5aFPyrow=$",
		"pbkdf2_sha1$1000$seasalt42$k6wEQFthxaYy9P3dh7IyJRtHB3Bk7c+KubZ5aFPyrow=",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		double start = now_ms();
		ck_assert_msg(pbkdf2_matches(hasher, bad[i], PW) == 0, "matched %s", bad[i]);
		ck_assert_msg(now_ms() - start < 5000, "%s took %.0f ms", bad[i], now_ms() - start);
	}
	password_hasher_free(hasher);
}
END_TEST

START_TEST(unusable_hashes_take_as_long)
{
	/* Each garbage hash logs a warning; dozens of them would bury the report. */
	log_set_level(LOG_ERROR);
	struct password_hasher *hasher = password_hasher_new(TEST_M, TEST_T, TEST_P, 4);
	char *encoded = password_hash(hasher, PW, strlen(PW));
	static const char *const unusable[] = {
		"!",
		"!x7cO3QkZ0gHjzqvBo3Jb6rR2tH9xWfO1YyM4aVnP",
		"",
		"garbage",
		"pbkdf2_sha256$260000$abc$def",
		"$argon2d$v=19$m=16384,t=2,p=1$MDEyMzQ1Njc4OWFiY2RlZg$abc",
		"$argon2id$v=19$m=16384,t=2$MDEyMzQ1Njc4OWFiY2RlZg$abc",
		"$argon2id$v=19$m=16384,t=2,p=1$MDEyMzQ1Njc4OWFiY2RlZg$",
		"argon2$argon2id$v=19$m=99999999999,t=2,p=1$MDEy$abc",
		"argon2",
	};
	int rehash = -1;

	ck_assert_int_eq(password_verify(hasher, NULL, PW, strlen(PW), &rehash), 0);
	ck_assert_int_eq(rehash, 0);
	for (size_t i = 0; i < sizeof(unusable) / sizeof(unusable[0]); i++) {
		rehash = -1;
		ck_assert_msg(password_verify(hasher, unusable[i], PW, strlen(PW), &rehash) == 0,
			      "%s", unusable[i]);
		ck_assert_int_eq(rehash, 0);
	}

	/*
	 * Every kind within a factor of 2 of a real verification. The machine is
	 * shared, so a failed comparison is measured again, up to 3 times: an
	 * unknown user answered without hashing is 0 ms every time.
	 */
	static const char *const kinds[TIMED_KINDS] = {"real", "wrong password", "unknown user",
						       "garbage hash", "unusable hash"};
	double medians[TIMED_KINDS];
	int ok = 0, bad = 0;
	for (int attempt = 0; attempt < 3 && !ok; attempt++) {
		median_verify_ms(hasher, encoded, medians);
		ok = 1;
		for (int k = 1; k < TIMED_KINDS; k++) {
			if (medians[k] < 0.5 * medians[0] || medians[k] > 2 * medians[0]) {
				ok = 0;
				bad = k;
			}
		}
	}
	ck_assert_msg(ok, "%s: %.1f ms, real verification: %.1f ms", kinds[bad], medians[bad],
		      medians[0]);
	free(encoded);
	password_hasher_free(hasher);
}
END_TEST

struct verify_job {
	struct password_hasher *hasher;
	const char *encoded;
	int matched;
};

static void *verify_thread(void *arg)
{
	struct verify_job *job = arg;
	job->matched = password_verify(job->hasher, job->encoded, PW, strlen(PW), NULL);
	return NULL;
}

START_TEST(slots_bound_concurrency)
{
	struct password_hasher *hasher = password_hasher_new(TEST_M, TEST_T, TEST_P, 1);
	char *encoded = password_hash(hasher, PW, strlen(PW));
	struct verify_job jobs[4];
	pthread_t threads[4];
	double one = 1e9;

	for (int i = 0; i < 3; i++) {
		double start = now_ms();
		ck_assert_int_eq(password_verify(hasher, encoded, PW, strlen(PW), NULL), 1);
		double ms = now_ms() - start;
		if (ms < one)
			one = ms;
	}
	double start = now_ms();
	for (int i = 0; i < 4; i++) {
		jobs[i] = (struct verify_job){hasher, encoded, 0};
		ck_assert_int_eq(pthread_create(&threads[i], NULL, verify_thread, &jobs[i]), 0);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(threads[i], NULL);
	double all = now_ms() - start;
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(jobs[i].matched, 1);
	ck_assert_msg(all >= 3 * one, "4 verifications with 1 slot took %.1f ms, one takes %.1f ms",
		      all, one);
	free(encoded);
	password_hasher_free(hasher);
}
END_TEST

/* Resident memory of this process, in KiB. */
static long resident_kib(void)
{
	long size = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fscanf(f, "%ld %ld", &size, &resident), 2);
	fclose(f);
	return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

/*
 * AddressSanitizer replaces malloc: its quarantine holds freed blocks (up to
 * 256 MiB) so that late uses are caught, and there are no per-thread glibc
 * arenas. What the test below measures does not exist in that build.
 */
#if defined(__SANITIZE_ADDRESS__)
#define MALLOC_IS_GLIBC 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MALLOC_IS_GLIBC 0
#endif
#endif
#ifndef MALLOC_IS_GLIBC
#define MALLOC_IS_GLIBC 1
#endif

/*
 * argon2's memory stays with the hasher's threads: 8 callers verifying at once
 * with 2 slots keep at most about 2 hashes' worth (each caller thread would
 * keep its own 19 MiB in its malloc arena if it hashed itself). Under
 * AddressSanitizer only the verifications are checked (see MALLOC_IS_GLIBC).
 */
START_TEST(hashing_memory_is_bounded_by_slots)
{
	enum { CALLERS = 8, REAL_M = 19456 };
	struct password_hasher *hasher = password_hasher_new(REAL_M, 2, 1, 2);
	char *encoded = password_hash(hasher, PW, strlen(PW));
	struct verify_job jobs[CALLERS];
	pthread_t threads[CALLERS];

	long before = resident_kib();
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < CALLERS; i++) {
			jobs[i] = (struct verify_job){hasher, encoded, 0};
			ck_assert_int_eq(pthread_create(&threads[i], NULL, verify_thread, &jobs[i]),
					 0);
		}
		for (int i = 0; i < CALLERS; i++) {
			pthread_join(threads[i], NULL);
			ck_assert_int_eq(jobs[i].matched, 1);
		}
	}
	long grown = resident_kib() - before;
	if (MALLOC_IS_GLIBC)
		ck_assert_msg(grown < 3L * REAL_M, "resident memory grew by %ld KiB", grown);
	free(encoded);
	password_hasher_free(hasher);
}
END_TEST

/* The messages password_validate appends, joined by " | ". */
static char *validate(const char *password, const char *username, const char *email)
{
	json_t *j_messages = json_array();
	struct strbuf sb = STRBUF_INIT;
	size_t i, n = password_validate(password, username, email, j_messages);
	json_t *j_message;

	ck_assert_int_eq(n, json_array_size(j_messages));
	json_array_foreach(j_messages, i, j_message)
	{
		strbuf_addf(&sb, "%s%s", i ? " | " : "", json_string_value(j_message));
	}
	json_decref(j_messages);
	return strbuf_detach(&sb);
}

#define ck_assert_validate(password, username, email, expected)                                    \
	do {                                                                                       \
		char *got_ = validate(password, username, email);                                  \
		ck_assert_str_eq(got_, expected);                                                  \
		free(got_);                                                                        \
	} while (0)

#define TOO_SHORT "This password is too short. It must contain at least 8 characters."
#define TOO_COMMON "This password is too common."
#define NUMERIC "This password is entirely numeric."
#define LIKE_USERNAME "The password is too similar to the username."
#define LIKE_EMAIL "The password is too similar to the email address."

START_TEST(validators_as_django)
{
	ck_assert_validate("1234567", "frank", "frank@example.com",
			   TOO_SHORT " | " TOO_COMMON " | " NUMERIC);
	ck_assert_validate("frank@example", "frank", "frank@example.com", LIKE_EMAIL);
	ck_assert_validate("Tr0ub4dor&3-horse", "alice", "alice@example.com", "");
	ck_assert_validate("password", NULL, NULL, TOO_COMMON);

	/* Case and surrounding blanks do not hide a common password. */
	ck_assert_validate("  PassWord\t", NULL, NULL, TOO_COMMON);
	/* Both attributes, in Django's order, one message each. */
	ck_assert_validate("frankfrank", "frankfrank", "frankfrank@example.com",
			   LIKE_USERNAME " | " LIKE_EMAIL);
	/* A part of the email (split on non-word characters) is compared on its own. */
	ck_assert_validate("Example-com", "zed", "someone@example.com", LIKE_EMAIL);
	/* Empty attributes are not compared. */
	ck_assert_validate("frankfrank", "", "", "");
	/* Length counts characters, not bytes: 7 two-byte characters are too short. */
	ck_assert_validate("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", NULL, NULL,
			   TOO_SHORT);
	ck_assert_validate("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", NULL,
			   NULL, "");
	ck_assert_validate("", NULL, NULL, TOO_SHORT);
	ck_assert_validate("90210-90210", NULL, NULL, "");
	ck_assert_validate("9021090210", NULL, NULL, NUMERIC);
	/* Far longer than the attribute (exceeds_maximum_length_ratio): not similar. */
	ck_assert_validate("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "a",
			   NULL, "");
}
END_TEST

static int cmp_entry(const void *key, const void *elem)
{
	return strcmp(key, *(const char *const *)elem);
}

START_TEST(common_password_list)
{
	ck_assert_uint_ge(common_passwords_count, 10000);
	for (size_t i = 1; i < common_passwords_count; i++)
		ck_assert_msg(strcmp(common_passwords[i - 1], common_passwords[i]) < 0,
			      "not sorted at %zu", i);
	ck_assert_ptr_nonnull(bsearch("password", common_passwords, common_passwords_count,
				      sizeof(common_passwords[0]), cmp_entry));
	ck_assert_ptr_nonnull(bsearch("123456", common_passwords, common_passwords_count,
				      sizeof(common_passwords[0]), cmp_entry));
	ck_assert_ptr_null(bsearch("Tr0ub4dor&3-horse", common_passwords, common_passwords_count,
				   sizeof(common_passwords[0]), cmp_entry));
}
END_TEST

Suite *password_suite(void)
{
	Suite *s = suite_create("password");
	TCase *tc = tcase_create("hashing");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, hash_round_trip);
	tcase_add_test(tc, wrong_password);
	tcase_add_test(tc, phc_format);
	tcase_add_test(tc, weaker_hash_needs_rehash);
	tcase_add_test(tc, django_hash);
	tcase_add_test(tc, django_pbkdf2_hash);
	tcase_add_test(tc, django_pbkdf2_malformed);
	tcase_add_test(tc, unusable_hashes_take_as_long);
	tcase_add_test(tc, slots_bound_concurrency);
	tcase_add_test(tc, hashing_memory_is_bounded_by_slots);
	suite_add_tcase(s, tc);
	tc = tcase_create("validation");
	tcase_add_test(tc, validators_as_django);
	tcase_add_test(tc, common_password_list);
	suite_add_tcase(s, tc);
	return s;
}
