/*
 * Django's default password validators (see password.h). Pure functions of
 * their arguments and the compiled-in common-password list; no SQL, no I/O.
 * Strings are compared as Python compares str: by code point, after decoding
 * UTF-8 (a byte that is not valid UTF-8 counts as one character of its own, as
 * with Python's surrogateescape).
 */
#include "serializers/password.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "serializers/common_passwords.h"

#define MIN_LENGTH 8
#define MIN_LENGTH_TEXT "8"
#define MAX_SIMILARITY 0.7

/* Code points of invalid bytes: U+DC80..U+DCFF, which valid UTF-8 never yields. */
#define INVALID_BYTE_BASE 0xDC00u

/* s decoded into *out (new array, caller free()s); returns the number of code points. */
static size_t utf8_decode(const char *s, uint32_t **out)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strlen(s), n = 0, i = 0;
	uint32_t *cps = xmalloc((len ? len : 1) * sizeof(*cps));

	while (i < len) {
		unsigned c = p[i];
		size_t need = 0, k;
		uint32_t cp = c, min = 0;
		if (c >= 0xC2 && c <= 0xDF) {
			need = 1;
			cp = c & 0x1F;
			min = 0x80;
		} else if (c >= 0xE0 && c <= 0xEF) {
			need = 2;
			cp = c & 0x0F;
			min = 0x800;
		} else if (c >= 0xF0 && c <= 0xF4) {
			need = 3;
			cp = c & 0x07;
			min = 0x10000;
		} else if (c >= 0x80) {
			cps[n++] = INVALID_BYTE_BASE + c;
			i++;
			continue;
		}
		for (k = 1; k <= need && i + k < len && (p[i + k] & 0xC0) == 0x80; k++)
			cp = (cp << 6) | (p[i + k] & 0x3F);
		if (k <= need || cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
			cps[n++] = INVALID_BYTE_BASE + c;
			i++;
			continue;
		}
		cps[n++] = cp;
		i += need + 1;
	}
	*out = cps;
	return n;
}

/* Append cp as UTF-8 (an invalid byte as itself). */
static void utf8_add(struct strbuf *sb, uint32_t cp)
{
	if (cp >= INVALID_BYTE_BASE + 0x80 && cp <= INVALID_BYTE_BASE + 0xFF) {
		strbuf_addch(sb, (char)(cp - INVALID_BYTE_BASE));
	} else if (cp < 0x80) {
		strbuf_addch(sb, (char)cp);
	} else if (cp < 0x800) {
		strbuf_addch(sb, (char)(0xC0 | (cp >> 6)));
		strbuf_addch(sb, (char)(0x80 | (cp & 0x3F)));
	} else if (cp < 0x10000) {
		strbuf_addch(sb, (char)(0xE0 | (cp >> 12)));
		strbuf_addch(sb, (char)(0x80 | ((cp >> 6) & 0x3F)));
		strbuf_addch(sb, (char)(0x80 | (cp & 0x3F)));
	} else {
		strbuf_addch(sb, (char)(0xF0 | (cp >> 18)));
		strbuf_addch(sb, (char)(0x80 | ((cp >> 12) & 0x3F)));
		strbuf_addch(sb, (char)(0x80 | ((cp >> 6) & 0x3F)));
		strbuf_addch(sb, (char)(0x80 | (cp & 0x3F)));
	}
}

/* Python's str.lower() for ASCII, Latin-1, basic Greek and Cyrillic, Kelvin and Angstrom. */
static uint32_t cp_lower(uint32_t c)
{
	if ((c >= 'A' && c <= 'Z') || (c >= 0xC0 && c <= 0xDE && c != 0xD7) ||
	    (c >= 0x391 && c <= 0x3AB && c != 0x3A2) || (c >= 0x410 && c <= 0x42F))
		return c + 0x20;
	if (c >= 0x400 && c <= 0x40F)
		return c + 0x50;
	if (c == 0x212A)
		return 'k';
	if (c == 0x212B)
		return 0xE5;
	return c;
}

/* Python's str.isspace(), which str.strip() strips. */
static int cp_is_space(uint32_t c)
{
	return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 ||
	       c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 ||
	       c == 0x202F || c == 0x205F || c == 0x3000;
}

/* Python's str.isdigit() for ASCII and the digit sets people type. */
static int cp_is_digit(uint32_t c)
{
	static const uint32_t ranges[][2] = {
		{'0', '9'},       {0xB2, 0xB3},     {0xB9, 0xB9},     {0x660, 0x669},
		{0x6F0, 0x6F9},   {0x966, 0x96F},   {0x2070, 0x2070}, {0x2074, 0x2079},
		{0x2080, 0x2089}, {0x2460, 0x2468}, {0xFF10, 0xFF19},
	};
	for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++)
		if (c >= ranges[i][0] && c <= ranges[i][1])
			return 1;
	return 0;
}

/* Not \W: ASCII letters, digits, underscore, and everything beyond ASCII. */
static int cp_is_word(uint32_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c >= 0x80;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

static int cmp_str(const void *key, const void *elem)
{
	return strcmp(key, *(const char *const *)elem);
}

/* Size of the multiset intersection of two sorted arrays. */
static size_t common_chars(const uint32_t *a, size_t na, const uint32_t *b, size_t nb)
{
	size_t i = 0, j = 0, matches = 0;
	while (i < na && j < nb) {
		if (a[i] < b[j]) {
			i++;
		} else if (a[i] > b[j]) {
			j++;
		} else {
			matches++;
			i++;
			j++;
		}
	}
	return matches;
}

/*
 * Django's UserAttributeSimilarityValidator for one part of a value: skipped
 * when the part is far shorter than the password (exceeds_maximum_length_ratio),
 * else difflib's SequenceMatcher(a=password, b=part).quick_ratio() >= 0.7.
 * pw_sorted is the lowercased password's code points, sorted; scratch holds n.
 */
static int part_too_similar(const uint32_t *pw_sorted, size_t pw_len, const uint32_t *part,
			    size_t n, uint32_t *scratch)
{
	double ratio;
	if (pw_len >= 10 * n && (double)n < MAX_SIMILARITY / 2 * (double)pw_len)
		return 0;
	if (pw_len + n == 0)
		return 1.0 >= MAX_SIMILARITY;
	memcpy(scratch, part, n * sizeof(*part));
	qsort(scratch, n, sizeof(*scratch), cmp_u32);
	ratio = 2.0 * (double)common_chars(pw_sorted, pw_len, scratch, n) / (double)(pw_len + n);
	return ratio >= MAX_SIMILARITY;
}

/* 1 if the password is too similar to value or to one of its re.split(r'\W+') parts. */
static int too_similar(const uint32_t *pw_sorted, size_t pw_len, const char *value)
{
	uint32_t *v = NULL, *scratch = NULL;
	size_t n, i = 0, start = 0;
	int similar = 0;

	n = utf8_decode(value, &v);
	for (size_t k = 0; k < n; k++)
		v[k] = cp_lower(v[k]);
	scratch = xmalloc((n ? n : 1) * sizeof(*scratch));
	/* re.split keeps the empty parts before a leading and after a trailing separator. */
	for (;;) {
		while (i < n && cp_is_word(v[i]))
			i++;
		if (part_too_similar(pw_sorted, pw_len, v + start, i - start, scratch)) {
			similar = 1;
			goto out;
		}
		if (i == n)
			break;
		while (i < n && !cp_is_word(v[i]))
			i++;
		start = i;
	}
	similar = part_too_similar(pw_sorted, pw_len, v, n, scratch);
out:
	free(scratch);
	free(v);
	return similar;
}

/* CommonPasswordValidator: password.lower().strip() is in the list. */
static int is_common(const uint32_t *lower, size_t n)
{
	struct strbuf sb = STRBUF_INIT;
	size_t start = 0, end = n;
	int found;

	while (start < end && cp_is_space(lower[start]))
		start++;
	while (end > start && cp_is_space(lower[end - 1]))
		end--;
	for (size_t i = start; i < end; i++)
		utf8_add(&sb, lower[i]);
	found = bsearch(strbuf_str(&sb), common_passwords, common_passwords_count,
			sizeof(common_passwords[0]), cmp_str) != NULL;
	if (sb.buf)
		explicit_bzero(sb.buf, sb.len);
	strbuf_release(&sb);
	return found;
}

/* Append a new string to j_messages; 1 if it was appended. */
static size_t add_message(json_t *j_messages, const char *text)
{
	return json_array_append_new(j_messages, json_string(text)) == 0 ? 1 : 0;
}

size_t password_validate(const char *password, const char *username, const char *email,
			 json_t *j_messages)
{
	uint32_t *lower = NULL, *sorted = NULL;
	size_t n, count = 0, digits = 0;

	n = utf8_decode(password, &lower);
	for (size_t i = 0; i < n; i++) {
		digits += cp_is_digit(lower[i]);
		lower[i] = cp_lower(lower[i]);
	}
	sorted = xmalloc((n ? n : 1) * sizeof(*sorted));
	memcpy(sorted, lower, n * sizeof(*lower));
	qsort(sorted, n, sizeof(*sorted), cmp_u32);

	if (username && *username && too_similar(sorted, n, username))
		count += add_message(j_messages, "The password is too similar to the username.");
	if (email && *email && too_similar(sorted, n, email))
		count += add_message(j_messages,
				     "The password is too similar to the email address.");
	if (n < MIN_LENGTH)
		count += add_message(j_messages, "This password is too short. It must contain at "
						 "least " MIN_LENGTH_TEXT " characters.");
	if (is_common(lower, n))
		count += add_message(j_messages, "This password is too common.");
	if (n > 0 && digits == n)
		count += add_message(j_messages, "This password is entirely numeric.");

	/* The password's characters, even sorted, are best not left in freed memory. */
	explicit_bzero(lower, n * sizeof(*lower));
	explicit_bzero(sorted, n * sizeof(*sorted));
	free(sorted);
	free(lower);
	return count;
}
