/*
 * Image request bodies; see image.h. The multipart scanner works on (pointer,
 * length) pairs and never reads outside the body it is given; file contents
 * are never copied. Also the stopgap project JSON of the image upload.
 */
#include "serializers/image.h"

#include <string.h>
#include <strings.h>

#include "core/util.h"
#include "serializers/fields.h"

static int is_space(unsigned char c)
{
	return c == ' ' || c == '\t';
}

static const char *skip_space(const char *p, const char *end)
{
	while (p < end && is_space((unsigned char)*p))
		p++;
	return p;
}

/* 1 if [p, p + len) equals word, ignoring ASCII case. */
static int span_is(const char *p, size_t len, const char *word)
{
	return len == strlen(word) && !strncasecmp(p, word, len);
}

/* The media type of a Content-Type value, trimmed: [*start, *start + *len). */
static void media_type_span(const char *content_type, const char **start, size_t *len)
{
	const char *p = content_type, *end = content_type + strcspn(content_type, ";");
	p = skip_space(p, end);
	while (end > p && is_space((unsigned char)end[-1]))
		end--;
	*start = p;
	*len = (size_t)(end - p);
}

int multipart_is_form_data(const char *content_type)
{
	const char *start;
	size_t len;
	if (!content_type)
		return 0;
	media_type_span(content_type, &start, &len);
	return span_is(start, len, "multipart/form-data");
}

/*
 * Read the next "; name=value" parameter at *pp (before end) of a header
 * value: the name into name, the value (a token, or a quoted-string with its
 * backslash escapes undone) into value. Returns 1 when one was read, 0 at the
 * end of the value, -1 when it is malformed.
 */
static int next_param(const char **pp, const char *end, struct strbuf *name, struct strbuf *value)
{
	const char *p = skip_space(*pp, end), *start;

	if (p == end)
		return 0;
	if (*p != ';')
		return -1;
	p = skip_space(p + 1, end);
	if (p == end)
		return 0; /* a trailing ';' */
	for (start = p; p < end && *p != '=' && *p != ';' && !is_space((unsigned char)*p); p++)
		;
	if (p == start)
		return -1;
	strbuf_reset(name);
	strbuf_add(name, start, (size_t)(p - start));
	strbuf_reset(value);
	p = skip_space(p, end);
	if (p < end && *p == '=') {
		p = skip_space(p + 1, end);
		if (p < end && *p == '"') {
			for (p++; p < end && *p != '"'; p++) {
				if (*p == '\\' && p + 1 < end)
					p++;
				strbuf_addch(value, *p);
			}
			if (p == end)
				return -1; /* no closing quote */
			p++;
		} else {
			for (start = p; p < end && *p != ';' && !is_space((unsigned char)*p); p++)
				;
			strbuf_add(value, start, (size_t)(p - start));
		}
	}
	*pp = p;
	return 1;
}

/* Django's cgi.valid_boundary: 1 to 200 printable ASCII characters, the last not a space. */
static int boundary_is_valid(const struct strbuf *boundary)
{
	if (boundary->len == 0 || boundary->len > 200 || boundary->buf[boundary->len - 1] == ' ')
		return 0;
	for (size_t i = 0; i < boundary->len; i++)
		if (boundary->buf[i] < ' ' || boundary->buf[i] > '~')
			return 0;
	return 1;
}

/* The boundary parameter of content_type into boundary; 0, or -1 if absent or malformed. */
static int read_boundary(const char *content_type, struct strbuf *boundary)
{
	struct strbuf name = STRBUF_INIT;
	const char *p = content_type + strcspn(content_type, ";");
	const char *end = content_type + strlen(content_type);
	int found = 0, rc;

	while ((rc = next_param(&p, end, &name, boundary)) == 1)
		if (span_is(name.buf, name.len, "boundary")) {
			found = 1;
			break;
		}
	strbuf_release(&name);
	if (!found)
		strbuf_reset(boundary);
	return found && boundary_is_valid(boundary) ? 0 : -1;
}

/*
 * The first "\n" + delim in [from, end), as a pointer to the '\n', or NULL.
 * Linear: delim holds no '\n', so a failed comparison never passes the next
 * candidate.
 */
static const unsigned char *find_line_delimiter(const unsigned char *from, const unsigned char *end,
						const struct strbuf *delim)
{
	const unsigned char *p = from;
	while (p < end && (p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		if ((size_t)(end - p - 1) >= delim->len && !memcmp(p + 1, delim->buf, delim->len))
			return p;
		p++;
	}
	return NULL;
}

/*
 * One header line [line, end) of a part. For Content-Disposition, sets
 * *is_file when it is a form-data part named field with a non-empty filename.
 * Returns 0, or -1 when the Content-Disposition value is malformed.
 */
static int read_part_header(const char *line, const char *end, const char *field, int *is_file)
{
	struct strbuf name = STRBUF_INIT, value = STRBUF_INIT;
	const char *colon = memchr(line, ':', (size_t)(end - line)), *p, *type;
	int named = 0, has_filename = 0, rc = 0;

	if (!colon || !span_is(line, (size_t)(colon - line), "Content-Disposition"))
		return 0;
	type = skip_space(colon + 1, end);
	for (p = type; p < end && *p != ';' && !is_space((unsigned char)*p); p++)
		;
	*is_file = 0;
	if (!span_is(type, (size_t)(p - type), "form-data"))
		goto out;
	while ((rc = next_param(&p, end, &name, &value)) == 1) {
		if (span_is(name.buf, name.len, "name"))
			named = value.len == strlen(field) && !memcmp(value.buf, field, value.len);
		else if (span_is(name.buf, name.len, "filename") ||
			 span_is(name.buf, name.len, "filename*"))
			has_filename = value.len > 0;
	}
	*is_file = named && has_filename;
out:
	strbuf_release(&name);
	strbuf_release(&value);
	return rc < 0 ? -1 : 0;
}

enum multipart_result multipart_find_file(const char *content_type, const void *body, size_t len,
					  const char *field, struct multipart_file *out,
					  const char **reason)
{
	const unsigned char *start = body, *end = start + len, *d, *p;
	struct strbuf delim = STRBUF_INIT, boundary = STRBUF_INIT;
	enum multipart_result ret = MULTIPART_MALFORMED;

	memset(out, 0, sizeof(*out));
	*reason = NULL;
	if (!multipart_is_form_data(content_type))
		return MULTIPART_NOT_MULTIPART;
	if (read_boundary(content_type, &boundary)) {
		*reason = boundary.len ? "Invalid boundary in multipart"
				       : "Invalid boundary in multipart: None";
		ret = MULTIPART_BAD_BOUNDARY;
		goto out;
	}
	strbuf_addf(&delim, "--%s", boundary.buf);
	/* The first delimiter opens the body or ends a preamble; without one there are no parts. */
	if (len >= delim.len && !memcmp(start, delim.buf, delim.len)) {
		d = start;
	} else if ((d = find_line_delimiter(start, end, &delim)) != NULL) {
		d++;
	} else {
		ret = MULTIPART_OK;
		goto out;
	}
	for (;;) {
		int is_file = 0;
		p = d + delim.len;
		if (end - p >= 2 && p[0] == '-' && p[1] == '-')
			break; /* the close delimiter; an epilogue may follow */
		while (p < end && is_space(*p))
			p++;
		if (p < end && *p == '\r')
			p++;
		if (p >= end || *p != '\n') {
			*reason = "Missing line break after a boundary";
			goto out;
		}
		p++;
		/* Header lines up to an empty line. */
		for (;;) {
			const unsigned char *nl = memchr(p, '\n', (size_t)(end - p)), *line_end;
			if (!nl) {
				*reason = "The headers of a part are cut short";
				goto out;
			}
			line_end = nl > p && nl[-1] == '\r' ? nl - 1 : nl;
			if (line_end == p) {
				p = nl + 1;
				break;
			}
			if (read_part_header((const char *)p, (const char *)line_end, field,
					     &is_file)) {
				*reason = "Malformed Content-Disposition header";
				goto out;
			}
			p = nl + 1;
		}
		/*
		 * The content runs to the line break before the next delimiter. The
		 * search starts at the empty line's '\n', so an empty content with no
		 * line break of its own is still found.
		 */
		const unsigned char *next = find_line_delimiter(p - 1, end, &delim);
		if (!next) {
			*reason = "The body ends inside a part";
			goto out;
		}
		const unsigned char *content_end = next > p && next[-1] == '\r' ? next - 1 : next;
		if (content_end < p)
			content_end = p;
		if (is_file) {
			out->found = 1;
			out->data = p;
			out->len = (size_t)(content_end - p);
		}
		d = next + 1;
	}
	ret = MULTIPART_OK;
out:
	if (ret != MULTIPART_OK)
		memset(out, 0, sizeof(*out));
	strbuf_release(&delim);
	strbuf_release(&boundary);
	return ret;
}

enum image_type image_sniff(const unsigned char *data, size_t len)
{
	if (len >= 8 && !memcmp(data, "\x89PNG\r\n\x1a\n", 8))
		return IMAGE_PNG;
	if (len >= 3 && data[0] == 0xff && data[1] == 0xd8 && data[2] == 0xff)
		return IMAGE_JPEG;
	if (len >= 6 && (!memcmp(data, "GIF87a", 6) || !memcmp(data, "GIF89a", 6)))
		return IMAGE_GIF;
	if (len >= 12 && !memcmp(data, "RIFF", 4) && !memcmp(data + 8, "WEBP", 4))
		return IMAGE_WEBP;
	return IMAGE_NONE;
}

const char *image_extension(enum image_type type)
{
	switch (type) {
	case IMAGE_PNG: return "png";
	case IMAGE_JPEG: return "jpg";
	case IMAGE_GIF: return "gif";
	case IMAGE_WEBP: return "webp";
	case IMAGE_NONE:
	default: return NULL;
	}
}

const char *image_content_type(const char *name)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
		{"png", "image/png"}, {"jpg", "image/jpeg"},  {"jpeg", "image/jpeg"},
		{"gif", "image/gif"}, {"webp", "image/webp"},
	};
	const char *dot = strrchr(name, '.');
	if (dot && !strchr(dot, '/'))
		for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
			if (!strcasecmp(dot + 1, types[i].ext))
				return types[i].type;
	return "application/octet-stream";
}
