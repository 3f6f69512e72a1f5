/*
 * Image uploads as request bodies: finding the file field of a
 * multipart/form-data body (RFC 7578) without copying it, telling the image
 * type from the file's first bytes, and the content type of a stored name.
 * Also, for now, the project JSON the project image upload answers with.
 * No SQL, no HTTP.
 */
#ifndef DEVSEARCH_SERIALIZERS_IMAGE_H
#define DEVSEARCH_SERIALIZERS_IMAGE_H

#include <jansson.h>
#include <stddef.h>

#include "models/image.h"

/* The largest image accepted (the Django version's MAX_IMAGE_BYTES). */
#define IMAGE_MAX_BYTES (5L * 1024 * 1024)

enum multipart_result {
	MULTIPART_OK,            /* parsed; out->found tells whether the field was there */
	MULTIPART_NOT_MULTIPART, /* the media type is not multipart/form-data: 415 */
	MULTIPART_BAD_BOUNDARY,  /* no usable boundary parameter: 400 parse error */
	MULTIPART_MALFORMED,     /* a part is cut short or its headers are broken: 400 */
};

/* A file part of the body. data is borrowed from the body passed in. */
struct multipart_file {
	int found;
	const unsigned char *data;
	size_t len;
};

/*
 * Find the file part named field in a multipart/form-data body of len bytes
 * whose Content-Type header is content_type. As Django's request.FILES: only
 * parts with a non-empty filename are files (a plain field of that name does
 * not count) and the last such part wins. The client's file name itself is
 * never used. Reads only body[0..len). On MULTIPART_BAD_BOUNDARY and
 * MULTIPART_MALFORMED, *reason (static text) says why.
 */
enum multipart_result multipart_find_file(const char *content_type, const void *body, size_t len,
					  const char *field, struct multipart_file *out,
					  const char **reason);

/* 1 if content_type's media type is multipart/form-data (any case, parameters ignored). */
int multipart_is_form_data(const char *content_type);

enum image_type { IMAGE_NONE, IMAGE_PNG, IMAGE_JPEG, IMAGE_GIF, IMAGE_WEBP };

/* The type of an image from its magic bytes (PNG, JPEG, GIF87a/89a, WebP), or IMAGE_NONE. */
enum image_type image_sniff(const unsigned char *data, size_t len);

/* The extension stored files of type get, without the dot ("png", "jpg", "gif", "webp"). */
const char *image_extension(enum image_type type);

/*
 * The Content-Type to serve a stored file name with, from its extension
 * ("image/png"...); "application/octet-stream" for anything else. Static text.
 */
const char *image_content_type(const char *name);

#endif
