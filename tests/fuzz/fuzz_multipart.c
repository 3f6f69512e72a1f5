/*
 * Fuzz target: the multipart/form-data parser of image uploads
 * (serializers/image.c's multipart_find_file, as api/images.c calls it) and
 * the image sniffing of the part it finds. The input is a Content-Type header
 * value up to the first newline, then the body. The body is copied into a
 * buffer of exactly its size, so AddressSanitizer sees any read past it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serializers/image.h"
#include "tests/fuzz/fuzz_input.h"

/* Longest Content-Type value taken from the input; the server's headers are bounded too. */
#define MAX_CONTENT_TYPE 512

static void die(const char *what)
{
	fprintf(stderr, "fuzz_multipart: %s\n", what);
	abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *newline =
		memchr(data, '\n', size < MAX_CONTENT_TYPE ? size : MAX_CONTENT_TYPE);
	size_t ct_len = newline ? (size_t)(newline - data) : 0;
	size_t body_len = newline ? size - ct_len - 1 : size;
	char *content_type =
		newline ? fuzz_cstring(data, ct_len) : xstrdup("multipart/form-data; boundary=b");
	unsigned char *body = xmalloc(body_len ? body_len : 1);
	struct multipart_file file;
	const char *reason = NULL;

	memcpy(body, data + (size - body_len), body_len);
	(void)multipart_is_form_data(content_type);
	enum multipart_result r =
		multipart_find_file(content_type, body, body_len, "image", &file, &reason);
	switch (r) {
	case MULTIPART_OK:
		if (file.found) {
			if (file.data < body || file.len > body_len ||
			    file.data + file.len > body + body_len)
				die("the file part lies outside the body");
			(void)image_extension(image_sniff(file.data, file.len));
		}
		break;
	case MULTIPART_BAD_BOUNDARY:
	case MULTIPART_MALFORMED:
		if (!reason)
			die("a refusal without a reason");
		break;
	case MULTIPART_NOT_MULTIPART:
		if (multipart_is_form_data(content_type))
			die("multipart/form-data called not multipart");
		break;
	default: die("an unknown result");
	}
	(void)image_content_type(content_type);
	(void)image_sniff(body, body_len);
	free(body);
	free(content_type);
	return 0;
}
