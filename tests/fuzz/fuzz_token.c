/*
 * Fuzz target: token decoding and checking (auth/token.c) for access and
 * refresh tokens with HS256 and ES256 keys (the kid path), the Authorization
 * header's Bearer parsing in front of it (auth/login.c, up to the database),
 * and the password reset tokens and uids (auth/reset.c).
 *
 * Random text almost never gets past a signature, so the input also forges
 * tokens that are correctly signed: HS256 ones byte by byte (header and
 * payload taken from the input as they are), ES256 ones through libjwt with
 * the input's grants and headers. What token_decode accepts must then be
 * well-formed, and must survive a round trip through token_encode.
 *
 * The ES256 key pair is made at start into two temporary files, read by
 * token_keys_load as the server reads its key files, and removed at once.
 */
#include <jansson.h>
#include <jwt.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth/login.h"
#include "auth/reset.h"
#include "auth/token.h"
#include "core/app.h"
#include "core/config.h"
#include "core/log.h"
#include "tests/fuzz/fuzz_input.h"

#define HS_SECRET "fuzz-secret-0123456789abcdefghijklmnopqrstuvwxyz"
/* A fixed "now" within the range the forged claims pick from. */
#define NOW 1700000000L

static struct token_keys *hs_keys, *es_keys;

static void die(const char *what)
{
	fprintf(stderr, "fuzz_token: %s\n", what);
	abort();
}

/* Write the PEM of pkey (private or public) to a new temporary file; its name into path. */
static void write_pem(EVP_PKEY *pkey, int private_key, char path[64])
{
	snprintf(path, 64, "/tmp/devsearch-fuzz-key.XXXXXX");
	int fd = mkstemp(path);
	FILE *f = fd < 0 ? NULL : fdopen(fd, "w");
	if (!f)
		die("cannot make a key file");
	int ok = private_key ? PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL)
			     : PEM_write_PUBKEY(f, pkey);
	fclose(f);
	if (!ok)
		die("cannot write a key file");
}

static struct token_keys *load_keys(char *alg, char *secret, char *private_file, char *public_file)
{
	struct config cfg = {0};
	struct strbuf errors = STRBUF_INIT;
	struct token_keys *keys = NULL;

	cfg.jwt_algorithm = alg;
	cfg.jwt_secret = secret;
	cfg.jwt_private_key_file = private_file;
	cfg.jwt_public_key_file = public_file;
	if (token_keys_load(&cfg, &keys, &errors))
		die(strbuf_str(&errors));
	strbuf_release(&errors);
	return keys;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char private_path[64], public_path[64];
	(void)argc;
	(void)argv;

	/* token_encode logs refusals; a fuzz run would drown in them. */
	log_set_level(LOG_ERROR + 1);
	char hs256[] = "HS256", es256[] = "ES256", secret[] = HS_SECRET;
	hs_keys = load_keys(hs256, secret, NULL, NULL);
	EVP_PKEY *pkey = EVP_EC_gen("P-256");
	if (!pkey)
		die("cannot make a P-256 key");
	write_pem(pkey, 1, private_path);
	write_pem(pkey, 0, public_path);
	EVP_PKEY_free(pkey);
	es_keys = load_keys(es256, NULL, private_path, public_path);
	unlink(private_path);
	unlink(public_path);
	return 0;
}

/* What a valid token's claims must look like, and that they sign and check again. */
static void check_accepted(const struct token_keys *keys, const struct token_claims *claims)
{
	struct token_claims back;

	if (!is_uuid(claims->user_id, strlen(claims->user_id)) || claims->exp <= NOW ||
	    claims->iat > NOW + 30)
		die("an accepted token breaks the claim rules");
	char *again = token_encode(keys, claims);
	if (!again)
		return; /* libjwt refuses some claim text (a NUL in a name): never issued */
	if (token_decode(keys, again, claims->type, NOW, &back) != TOKEN_VALID ||
	    memcmp(claims, &back, sizeof(back)))
		die("an accepted token does not survive a round trip");
	free(again);
}

/* token_decode with both wanted types; a valid answer is checked. */
static void decode_both(const struct token_keys *keys, const char *token)
{
	struct token_claims claims;
	for (int want = TOKEN_ACCESS; want <= TOKEN_REFRESH; want++) {
		enum token_result r = token_decode(keys, token, want, NOW, &claims);
		if (r == TOKEN_VALID)
			check_accepted(keys, &claims);
		else if (r != TOKEN_INVALID && r != TOKEN_WRONG_TYPE)
			die("an unknown result");
		(void)token_result_message(r);
	}
}

/* Raw text: as a token, and as a whole Authorization header (it never reaches the pool). */
static void raw_token(const uint8_t *data, size_t size)
{
	struct app app = {.keys = hs_keys};
	struct auth_user user;
	char *text = fuzz_cstring(data, size);

	decode_both(hs_keys, text);
	decode_both(es_keys, text);
	/* Only a correctly signed, current access token would get to the (absent) pool. */
	enum auth_result r = auth_authenticate(&app, text, NOW, &user);
	if (r == AUTH_OK || r == AUTH_UNAVAILABLE)
		die("a random header got past the token check");
	free(text);
}

/* header.payload signed with the HS256 secret, from raw header and payload bytes. */
static void forged_hs256(struct fuzz_input *in)
{
	size_t header_len, payload_len;
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int mac_len = 0;
	struct strbuf token = STRBUF_INIT;
	char *header = fuzz_text(in, 255, &header_len);
	char *payload;

	/* Half of the time the usual header, so the claims get most of the attention. */
	if (header_len == 0) {
		free(header);
		header = xstrdup("{\"alg\":\"HS256\",\"typ\":\"JWT\"}");
		header_len = strlen(header);
	}
	payload_len = in->left;
	payload = fuzz_cstring(in->data, payload_len);

	char *h64 = base64url_encode((const unsigned char *)header, header_len);
	char *p64 = base64url_encode((const unsigned char *)payload, payload_len);
	strbuf_addf(&token, "%s.%s", h64, p64);
	HMAC(EVP_sha256(), HS_SECRET, (int)strlen(HS_SECRET), (const unsigned char *)token.buf,
	     token.len, mac, &mac_len);
	char *s64 = base64url_encode(mac, mac_len);
	strbuf_addf(&token, ".%s", s64);

	decode_both(hs_keys, token.buf);
	decode_both(es_keys, token.buf);
	/* The same token with its last signature character changed must fail. */
	token.buf[token.len - 1] = token.buf[token.len - 1] == 'A' ? 'B' : 'A';
	struct token_claims claims;
	if (token_decode(hs_keys, token.buf, TOKEN_ACCESS, NOW, &claims) == TOKEN_VALID &&
	    token_decode(hs_keys, token.buf, TOKEN_REFRESH, NOW, &claims) == TOKEN_VALID)
		die("a token with a changed signature was accepted");

	free(h64);
	free(p64);
	free(s64);
	free(header);
	free(payload);
	strbuf_release(&token);
}

/* ES256 tokens signed through libjwt, grants and extra headers from the input. */
static void forged_es256(struct fuzz_input *in)
{
	jwt_t *jwt = NULL;
	char *headers = fuzz_text(in, 200, NULL);
	char *grants = fuzz_cstring(in->data, in->left);
	json_t *j_jwks = token_keys_jwks(es_keys);
	const char *kid = json_string_value(
		json_object_get(json_array_get(json_object_get(j_jwks, "keys"), 0), "kid"));

	if (jwt_new(&jwt))
		goto out;
	(void)jwt_add_headers_json(jwt, headers);
	if (!jwt_get_header(jwt, "kid") && kid)
		(void)jwt_add_header(jwt, "kid", kid);
	(void)jwt_add_grants_json(jwt, grants);
	/* Signed with the server's own private key: only the claims can be wrong. */
	size_t key_len;
	const unsigned char *key = token_keys_secret(es_keys, &key_len);
	if (jwt_set_alg(jwt, JWT_ALG_ES256, key, (int)key_len))
		goto out;
	char *token = jwt_encode_str(jwt);
	if (token) {
		decode_both(es_keys, token);
		decode_both(hs_keys, token);
		free(token);
	}
out:
	jwt_free(jwt);
	json_decref(j_jwks);
	free(headers);
	free(grants);
}

/* Password reset: the uid, the token check against a fixed user, the digest. */
static void reset_tokens(const uint8_t *data, size_t size)
{
	struct user user = {.id = "00000000-0000-4000-8000-000000000001",
			    .password = "argon2$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
			    .last_login = NOW - 100};
	char *text = fuzz_cstring(data, size);
	char id[37], digest[65], made[RESET_TOKEN_SIZE];

	if (reset_uid_decode(text, id) && !is_uuid(id, strlen(id)))
		die("a reset uid decoded to something else than a UUID");
	char *uid = reset_uid_encode(text);
	free(uid);
	/* Only the server's own tokens pass: random text passing is a forgery. */
	if (reset_token_check(hs_keys, &user, text, NOW, 3600))
		die("a reset token the server did not make was accepted");
	reset_token_make(hs_keys, &user, NOW - (long)(size % 4000), made);
	if (reset_token_check(hs_keys, &user, made, NOW, 3600) != (size % 4000 <= 3600))
		die("a reset token the server made is judged wrongly");
	reset_token_digest(text, digest);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in = {data, size};
	if (size == 0)
		return 0;
	switch (fuzz_byte(&in) % 4) {
	case 0: raw_token(in.data, in.left); break;
	case 1: forged_hs256(&in); break;
	case 2: forged_es256(&in); break;
	default: reset_tokens(in.data, in.left); break;
	}
	return 0;
}
