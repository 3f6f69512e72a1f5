/*
 * Password hashing: argon2id (libargon2) in PHC strings, verification of our
 * hashes and of those imported from the Django version (argon2, pbkdf2_sha256), and a bound on how
 * many hashes run at once. Thread-safe: one hasher serves every request.
 */
#ifndef DEVSEARCH_AUTH_PASSWORD_H
#define DEVSEARCH_AUTH_PASSWORD_H

#include <stddef.h>

struct password_hasher;

/*
 * A hasher making new hashes with memory_kib KiB, time_cost passes and
 * parallelism lanes (the settings ARGON2_MEMORY_COST, ARGON2_TIME_COST,
 * ARGON2_PARALLELISM). At most `slots` hashes or verifications run at once
 * (PASSWORD_HASH_SLOTS), each on a thread of the hasher; the others wait in
 * turn, so a burst of logins cannot exhaust memory (argon2's memory stays
 * with those threads, not with every HTTP thread that served a login). Computes one hash at start (the dummy that unknown
 * users are checked against), so it takes as long as one login.
 * Returns a new hasher (caller password_hasher_free()s), or NULL, logged,
 * when libargon2 rejects the parameters or slots is 0.
 */
struct password_hasher *password_hasher_new(unsigned memory_kib, unsigned time_cost,
					    unsigned parallelism, unsigned slots);

/* Free the hasher; NULL is fine. No hash may be running on it. */
void password_hasher_free(struct password_hasher *hasher);

/*
 * Hash the len bytes at password (not NUL-terminated; may contain any byte)
 * with the hasher's parameters and a fresh 16-byte salt from getrandom():
 * "$argon2id$v=19$m=...,t=...,p=...$salt$hash" with a 32-byte hash.
 * Returns a new string, caller free()s; NULL on failure (logged).
 * Blocks while every slot is busy.
 */
char *password_hash(struct password_hasher *hasher, const char *password, size_t len);

/*
 * 1 if the len bytes at password match encoded, else 0. encoded (borrowed) is
 * what the user row stores:
 * - a PHC string of argon2id or argon2i ("$argon2id$v=19$m=...,t=...,p=...$salt$hash");
 * - Django's form, the same prefixed with "argon2" ("argon2$argon2id$v=19$..."), so
 *   users imported from the Django version keep their passwords;
 * - Django's "pbkdf2_sha256$<iterations>$<salt>$<base64 hash>" (PBKDF2-HMAC-SHA256
 *   through OpenSSL on the hasher's threads, constant-time compare); iteration
 *   counts of 0 or above 10,000,000 are refused unhashed (logged) as unusable;
 * - NULL (no such user), or unusable (Django's "!"-prefixed unusable password,
 *   anything unparseable): then one verification with the hasher's own parameters
 *   is still spent, against the dummy hash, and 0 is returned, so a login takes
 *   the same time whether or not the username exists.
 * needs_rehash may be NULL; else it is set to 0, or to 1 when the password
 * matched and the stored hash is weaker than new ones (its m, t or p below the
 * hasher's, an argon2 version before 1.3, not argon2id) or in a Django form.
 * The caller then stores password_hash() of the same password, as Django
 * upgrades hashes at login. Blocks while every slot is busy.
 */
int password_verify(struct password_hasher *hasher, const char *encoded, const char *password,
		    size_t len, int *needs_rehash);

#endif
