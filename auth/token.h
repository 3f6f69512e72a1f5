/*
 * JSON Web Tokens as SimpleJWT makes them: HS256 with JWT_SECRET by default,
 * RS256/ES256 with a key pair; claims token_type, exp, iat, jti, user_id,
 * username, name, is_staff. libjwt's jwt_decode checks only the signature;
 * token_decode() also pins the algorithm, and checks exp, iat and the type.
 * No I/O beyond reading key files at start; no database.
 */
#ifndef DEVSEARCH_AUTH_TOKEN_H
#define DEVSEARCH_AUTH_TOKEN_H

#include <jansson.h>

#include "core/config.h"

enum token_type { TOKEN_ACCESS, TOKEN_REFRESH };

/* What a token says. Strings are fixed-size copies, so claims own nothing. */
struct token_claims {
	enum token_type type;
	char jti[33];     /* 32 lowercase hex digits */
	char user_id[37]; /* the user's UUID */
	long iat;
	long exp;
	char username[151];
	char name[201];
	int is_staff;
};

enum token_result {
	TOKEN_VALID,
	TOKEN_INVALID, /* malformed, bad signature, other algorithm, expired: "Token is invalid or expired" */
	TOKEN_WRONG_TYPE, /* "Token has wrong type" */
};

struct token_keys;

/*
 * Load the signing and verifying keys the settings name. 0 with *out set
 * (caller token_keys_free()s), or -1 with one line per problem in errors.
 */
int token_keys_load(const struct config *cfg, struct token_keys **out, struct strbuf *errors);
void token_keys_free(struct token_keys *keys);

/* The public keys as a JWK set ({"keys": []} with HS256); new reference. */
json_t *token_keys_jwks(const struct token_keys *keys);

/*
 * The server's own signing secret (the HS256 secret or the private key), for
 * other MACs the server makes (password reset tokens). Borrowed.
 */
const unsigned char *token_keys_secret(const struct token_keys *keys, size_t *len);

/* A fresh random jti (32 hex digits) into out. */
void token_new_jti(char out[33]);

/* Sign claims; a new string the caller free()s, or NULL (logged). */
char *token_encode(const struct token_keys *keys, const struct token_claims *claims);

/*
 * Check token and fill claims. want is the type the caller needs. now is the
 * current Unix time. A token whose type is not want is TOKEN_WRONG_TYPE only
 * once everything else about it is valid.
 */
enum token_result token_decode(const struct token_keys *keys, const char *token,
			       enum token_type want, long now, struct token_claims *claims);

/* The message SimpleJWT gives for a result. */
const char *token_result_message(enum token_result result);

#endif
