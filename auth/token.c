/*
 * Token signing and checking with libjwt 1.10, plus the JWK set; see token.h.
 * Keys are read once at start and never change, so keys are shared by every
 * thread without locking.
 */
#include "auth/token.h"

#include <errno.h>
#include <jwt.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/util.h"

/* Tokens are small; anything longer is not ours and is not parsed. */
#define TOKEN_MAX_LEN 8192
/* Clock skew tolerated for iat in the future. */
#define IAT_LEEWAY 30

struct token_keys {
	jwt_alg_t alg;
	unsigned char *sign_key; /* HS256 secret or private key PEM */
	size_t sign_len;
	unsigned char *verify_key; /* HS256 secret or public key PEM */
	size_t verify_len;
	char kid[64];  /* RFC 7638 thumbprint of the public key; "" with HS256 */
	json_t *j_jwk; /* the public key as a JWK; NULL with HS256 */
};

static unsigned char *read_key_file(const char *path, size_t *len, struct strbuf *errors,
				    const char *setting)
{
	struct strbuf sb = STRBUF_INIT;
	char chunk[4096];
	size_t n;
	FILE *f = fopen(path, "rb");
	if (!f) {
		strbuf_addf(errors, "%s: cannot read \"%s\": %s\n", setting, path, strerror(errno));
		return NULL;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		strbuf_add(&sb, chunk, n);
	fclose(f);
	*len = sb.len;
	return (unsigned char *)strbuf_detach(&sb);
}

static json_t *bn_param_b64(const EVP_PKEY *pkey, const char *name, size_t pad_to)
{
	BIGNUM *bn = NULL;
	json_t *j = NULL;
	if (!EVP_PKEY_get_bn_param(pkey, name, &bn))
		return NULL;
	size_t len = (size_t)BN_num_bytes(bn);
	if (pad_to > len)
		len = pad_to;
	unsigned char *buf = xcalloc(len, 1);
	if (BN_bn2binpad(bn, buf, (int)len) == (int)len) {
		char *b64 = base64url_encode(buf, len);
		j = json_string(b64);
		free(b64);
	}
	free(buf);
	BN_free(bn);
	return j;
}

/* Build the JWK and its RFC 7638 thumbprint from the public key PEM. */
static int make_jwk(struct token_keys *keys, struct strbuf *errors)
{
	BIO *bio = BIO_new_mem_buf(keys->verify_key, (int)keys->verify_len);
	EVP_PKEY *pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	json_t *j_thumb = NULL;
	char *thumb_text = NULL;
	int ret = -1;

	if (!pkey) {
		strbuf_addstr(errors, "JWT_PUBLIC_KEY_FILE: not a PEM public key\n");
		goto out;
	}
	if (keys->alg == JWT_ALG_RS256) {
		json_t *n = bn_param_b64(pkey, OSSL_PKEY_PARAM_RSA_N, 0);
		json_t *e = bn_param_b64(pkey, OSSL_PKEY_PARAM_RSA_E, 0);
		if (!n || !e || EVP_PKEY_get_base_id(pkey) != EVP_PKEY_RSA) {
			json_decref(n);
			json_decref(e);
			strbuf_addstr(errors,
				      "JWT_PUBLIC_KEY_FILE: RS256 needs an RSA public key\n");
			goto out;
		}
		/* Members in lexicographic order, as RFC 7638 asks. */
		j_thumb = json_pack("{s:O,s:s,s:O}", "e", e, "kty", "RSA", "n", n);
		keys->j_jwk = json_pack("{s:s,s:s,s:s,s:o,s:o}", "kty", "RSA", "use", "sig", "alg",
					"RS256", "n", n, "e", e);
	} else {
		json_t *x = bn_param_b64(pkey, OSSL_PKEY_PARAM_EC_PUB_X, 32);
		json_t *y = bn_param_b64(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, 32);
		if (!x || !y || EVP_PKEY_get_base_id(pkey) != EVP_PKEY_EC ||
		    EVP_PKEY_get_bits(pkey) != 256) {
			json_decref(x);
			json_decref(y);
			strbuf_addstr(errors,
				      "JWT_PUBLIC_KEY_FILE: ES256 needs a P-256 public key\n");
			goto out;
		}
		j_thumb =
			json_pack("{s:s,s:s,s:O,s:O}", "crv", "P-256", "kty", "EC", "x", x, "y", y);
		keys->j_jwk = json_pack("{s:s,s:s,s:s,s:s,s:o,s:o}", "kty", "EC", "use", "sig",
					"alg", "ES256", "crv", "P-256", "x", x, "y", y);
	}
	thumb_text = json_dumps(j_thumb, JSON_COMPACT);
	unsigned char digest[32];
	unsigned int digest_len = 0;
	EVP_Digest(thumb_text, strlen(thumb_text), digest, &digest_len, EVP_sha256(), NULL);
	char *kid = base64url_encode(digest, digest_len);
	snprintf(keys->kid, sizeof(keys->kid), "%s", kid);
	free(kid);
	json_object_set_new(keys->j_jwk, "kid", json_string(keys->kid));
	ret = 0;
out:
	free(thumb_text);
	json_decref(j_thumb);
	EVP_PKEY_free(pkey);
	BIO_free(bio);
	return ret;
}

int token_keys_load(const struct config *cfg, struct token_keys **out, struct strbuf *errors)
{
	struct token_keys *keys = xcalloc(1, sizeof(*keys));
	size_t errors_before = errors->len;

	*out = NULL;
	keys->alg = jwt_str_alg(cfg->jwt_algorithm);
	if (keys->alg == JWT_ALG_HS256) {
		if (!cfg->jwt_secret || strlen(cfg->jwt_secret) < 32) {
			strbuf_addstr(errors, "JWT_SECRET: must be at least 32 bytes\n");
			goto out;
		}
		keys->sign_len = keys->verify_len = strlen(cfg->jwt_secret);
		keys->sign_key = (unsigned char *)xstrdup(cfg->jwt_secret);
		keys->verify_key = (unsigned char *)xstrdup(cfg->jwt_secret);
	} else if (keys->alg == JWT_ALG_RS256 || keys->alg == JWT_ALG_ES256) {
		if (!cfg->jwt_private_key_file || !cfg->jwt_public_key_file) {
			strbuf_addstr(
				errors,
				"JWT_PRIVATE_KEY_FILE and JWT_PUBLIC_KEY_FILE: both required\n");
			goto out;
		}
		keys->sign_key = read_key_file(cfg->jwt_private_key_file, &keys->sign_len, errors,
					       "JWT_PRIVATE_KEY_FILE");
		keys->verify_key = read_key_file(cfg->jwt_public_key_file, &keys->verify_len,
						 errors, "JWT_PUBLIC_KEY_FILE");
		if (keys->sign_key && keys->verify_key)
			make_jwk(keys, errors);
	} else {
		strbuf_addf(errors, "JWT_ALGORITHM: unsupported \"%s\"\n", cfg->jwt_algorithm);
	}
	/* A key pair that does not sign and verify together is caught now, not at the first login. */
	if (errors->len == errors_before) {
		struct token_claims probe = {.type = TOKEN_ACCESS, .iat = 1, .exp = 4102444800L};
		struct token_claims back;
		snprintf(probe.user_id, sizeof(probe.user_id),
			 "00000000-0000-4000-8000-000000000000");
		token_new_jti(probe.jti);
		char *text = token_encode(keys, &probe);
		if (!text || token_decode(keys, text, TOKEN_ACCESS, 2, &back) != TOKEN_VALID)
			strbuf_addstr(errors,
				      "JWT keys: a token signed with the private key does not "
				      "verify with the public key\n");
		free(text);
	}
out:
	if (errors->len != errors_before) {
		token_keys_free(keys);
		return -1;
	}
	*out = keys;
	return 0;
}

void token_keys_free(struct token_keys *keys)
{
	if (!keys)
		return;
	if (keys->sign_key)
		explicit_bzero(keys->sign_key, keys->sign_len);
	free(keys->sign_key);
	free(keys->verify_key);
	json_decref(keys->j_jwk);
	free(keys);
}

json_t *token_keys_jwks(const struct token_keys *keys)
{
	json_t *j_keys = json_array();
	if (keys->j_jwk)
		json_array_append(j_keys, keys->j_jwk);
	return json_pack("{s:o}", "keys", j_keys);
}

const unsigned char *token_keys_secret(const struct token_keys *keys, size_t *len)
{
	*len = keys->sign_len;
	return keys->sign_key;
}

void token_new_jti(char out[33])
{
	unsigned char raw[16];
	random_bytes(raw, sizeof(raw));
	hex_encode(raw, sizeof(raw), out);
}

char *token_encode(const struct token_keys *keys, const struct token_claims *claims)
{
	jwt_t *jwt = NULL;
	char *text = NULL, *copy = NULL;

	if (jwt_new(&jwt))
		goto out;
	if (jwt_add_grant(jwt, "token_type", claims->type == TOKEN_ACCESS ? "access" : "refresh") ||
	    jwt_add_grant_int(jwt, "exp", claims->exp) ||
	    jwt_add_grant_int(jwt, "iat", claims->iat) || jwt_add_grant(jwt, "jti", claims->jti) ||
	    jwt_add_grant(jwt, "user_id", claims->user_id) ||
	    jwt_add_grant(jwt, "username", claims->username) ||
	    jwt_add_grant(jwt, "name", claims->name) ||
	    jwt_add_grant_bool(jwt, "is_staff", claims->is_staff))
		goto out;
	if (keys->kid[0] && jwt_add_header(jwt, "kid", keys->kid))
		goto out;
	if (jwt_set_alg(jwt, keys->alg, keys->sign_key, (int)keys->sign_len))
		goto out;
	text = jwt_encode_str(jwt);
	/* libjwt 1.10's strings are free()d with free(); hand out our own copy all the same. */
	if (text)
		copy = xstrdup(text);
out:
	if (!copy)
		log_error("token: cannot sign a token");
	free(text);
	jwt_free(jwt);
	return copy;
}

static int copy_claim(jwt_t *jwt, const char *name, char *dst, size_t size, int required)
{
	const char *value = jwt_get_grant(jwt, name);
	if (!value) {
		dst[0] = '\0';
		return required ? -1 : 0;
	}
	if (strlen(value) >= size)
		return -1;
	memcpy(dst, value, strlen(value) + 1);
	return 0;
}

enum token_result token_decode(const struct token_keys *keys, const char *token,
			       enum token_type want, long now, struct token_claims *claims)
{
	jwt_t *jwt = NULL;
	enum token_result result = TOKEN_INVALID;
	const char *type;
	size_t len = strnlen(token, TOKEN_MAX_LEN + 1);

	memset(claims, 0, sizeof(*claims));
	/* libjwt wants three segments; anything else, or anything huge, is not a token of ours. */
	if (len > TOKEN_MAX_LEN || !strchr(token, '.'))
		goto out;
	if (jwt_decode(&jwt, token, keys->verify_key, (int)keys->verify_len) || !jwt)
		goto out;
	/* Pin the algorithm: no "none", no HS256 token checked with an RSA public key as secret. */
	if (jwt_get_alg(jwt) != keys->alg)
		goto out;
	const char *kid = jwt_get_header(jwt, "kid");
	if (kid && strcmp(kid, keys->kid))
		goto out;
	errno = 0;
	claims->exp = jwt_get_grant_int(jwt, "exp");
	if (errno || claims->exp <= now)
		goto out;
	errno = 0;
	claims->iat = jwt_get_grant_int(jwt, "iat");
	if (errno || claims->iat > now + IAT_LEEWAY)
		goto out;
	type = jwt_get_grant(jwt, "token_type");
	if (!type || (strcmp(type, "access") && strcmp(type, "refresh")))
		goto out;
	claims->type = strcmp(type, "access") ? TOKEN_REFRESH : TOKEN_ACCESS;
	if (copy_claim(jwt, "jti", claims->jti, sizeof(claims->jti), 1) ||
	    copy_claim(jwt, "user_id", claims->user_id, sizeof(claims->user_id), 1) ||
	    !is_uuid(claims->user_id, strlen(claims->user_id)) ||
	    copy_claim(jwt, "username", claims->username, sizeof(claims->username), 0) ||
	    copy_claim(jwt, "name", claims->name, sizeof(claims->name), 0))
		goto out;
	claims->is_staff = jwt_get_grant_bool(jwt, "is_staff") > 0;
	result = claims->type == want ? TOKEN_VALID : TOKEN_WRONG_TYPE;
out:
	jwt_free(jwt);
	return result;
}

const char *token_result_message(enum token_result result)
{
	return result == TOKEN_WRONG_TYPE ? "Token has wrong type" : "Token is invalid or expired";
}
