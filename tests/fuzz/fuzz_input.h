/*
 * What every fuzz target shares: the libFuzzer entry points and a reader that
 * takes the fuzz input apart into small decisions (a byte, a length, a piece of
 * text), so a target can build structured values (JSON, tokens, paths) from it.
 * An exhausted input reads as zeros, so every decision stays defined.
 */
#ifndef DEVSEARCH_FUZZ_INPUT_H
#define DEVSEARCH_FUZZ_INPUT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

struct fuzz_input {
	const uint8_t *data;
	size_t left;
};

static inline uint8_t fuzz_byte(struct fuzz_input *in)
{
	if (in->left == 0)
		return 0;
	in->left--;
	return *in->data++;
}

static inline uint64_t fuzz_u64(struct fuzz_input *in)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | fuzz_byte(in);
	return v;
}

/* Up to max bytes (a length byte first) as a new NUL-terminated string (free()); *len its length. */
static inline char *fuzz_text(struct fuzz_input *in, size_t max, size_t *len)
{
	size_t n = fuzz_byte(in);
	if (n > max)
		n = max;
	if (n > in->left)
		n = in->left;
	char *s = xmalloc(n + 1);
	memcpy(s, in->data, n);
	s[n] = '\0';
	in->data += n;
	in->left -= n;
	if (len)
		*len = n;
	return s;
}

/* data[0..size) as a new NUL-terminated string (free()); a NUL inside ends it early. */
static inline char *fuzz_cstring(const uint8_t *data, size_t size)
{
	char *s = xmalloc(size + 1);
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

#endif
