/* Password reset tokens; see reset.h. */
#include "auth/reset.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

static void to_base36(long value, char *out, size_t size)
{
	char tmp[32];
	size_t n = 0;
	do {
		int d = (int)(value % 36);
		tmp[n++] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
		value /= 36;
	} while (value > 0 && n < sizeof(tmp));
	size_t i = 0;
	for (; i < n && i + 1 < size; i++)
		out[i] = tmp[n - 1 - i];
	out[i] = '\0';
}

static long from_base36(const char *text, size_t len)
{
	long value = 0;
	if (len == 0 || len > 8)
		return -1;
	for (size_t i = 0; i < len; i++) {
		char c = text[i];
		int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'z' ? c - 'a' + 10 : -1;
		if (d < 0)
			return -1;
		value = value * 36 + d;
	}
	return value;
}

/* The 32 hex digits for user at timestamp ts. */
static void token_mac(const struct token_keys *keys, const struct user *user, long ts, char out[33])
{
	struct strbuf msg = STRBUF_INIT;
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int mac_len = 0;
	size_t key_len;
	const unsigned char *key = token_keys_secret(keys, &key_len);
	char hex[2 * EVP_MAX_MD_SIZE + 1];

	/* Domain-separated from every other use of the key. */
	strbuf_addf(&msg, "devsearch.password_reset|%s|%s|%ld|%ld", user->id, user->password,
		    user->last_login, ts);
	HMAC(EVP_sha256(), key, (int)key_len, (const unsigned char *)msg.buf, msg.len, mac,
	     &mac_len);
	hex_encode(mac, 16, hex);
	memcpy(out, hex, 33);
	explicit_bzero(msg.buf, msg.len);
	strbuf_release(&msg);
}

void reset_token_make(const struct token_keys *keys, const struct user *user, long now,
		      char out[RESET_TOKEN_SIZE])
{
	char ts[16], mac[33];
	to_base36(now, ts, sizeof(ts));
	token_mac(keys, user, now, mac);
	snprintf(out, RESET_TOKEN_SIZE, "%s-%s", ts, mac);
}

int reset_token_check(const struct token_keys *keys, const struct user *user, const char *token,
		      long now, long timeout)
{
	const char *dash = strchr(token, '-');
	char mac[33];
	if (!dash || strlen(dash + 1) != 32)
		return 0;
	long ts = from_base36(token, (size_t)(dash - token));
	if (ts < 0 || ts > now + 60 || now - ts > timeout)
		return 0;
	token_mac(keys, user, ts, mac);
	return CRYPTO_memcmp(mac, dash + 1, 32) == 0;
}

char *reset_uid_encode(const char *user_id)
{
	return base64url_encode((const unsigned char *)user_id, strlen(user_id));
}

int reset_uid_decode(const char *uid, char out[37])
{
	size_t len = 0;
	unsigned char *raw = base64url_decode(uid, &len);
	int ok = raw && is_uuid((const char *)raw, len);
	if (ok)
		memcpy(out, raw, 37);
	free(raw);
	return ok;
}

void reset_token_digest(const char *token, char out[65])
{
	unsigned char digest[32];
	unsigned int len = 0;
	EVP_Digest(token, strlen(token), digest, &len, EVP_sha256(), NULL);
	hex_encode(digest, 32, out);
}
