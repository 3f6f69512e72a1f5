/* Page numbers and links; see pagination.h. */
#include "api/pagination.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void reply_invalid_page(struct http_ctx *ctx)
{
	http_reply_error(ctx, 404, "not_found", "Invalid page.");
}

/* A positive whole number, or -1. */
static long positive(const char *text)
{
	char *end;
	if (!text || !*text)
		return -1;
	long v = strtol(text, &end, 10);
	return *end || v <= 0 ? -1 : v;
}

int page_request_or_reply(struct http_ctx *ctx, struct page_request *page)
{
	const char *number = http_query(ctx, "page");
	long size = positive(http_query(ctx, "page_size"));

	/* As DRF: a bad page_size falls back to the default; a big one is capped. */
	page->size = size < 0 ? PAGE_SIZE_DEFAULT : size > PAGE_SIZE_MAX ? PAGE_SIZE_MAX : size;
	page->number = number ? positive(number) : 1;
	if (page->number < 0 || page->number > 100000000L) {
		reply_invalid_page(ctx);
		return -1;
	}
	snprintf(page->limit, sizeof(page->limit), "%ld", page->size);
	snprintf(page->offset, sizeof(page->offset), "%ld", (page->number - 1) * page->size);
	return 0;
}

int page_check_or_reply(struct http_ctx *ctx, const struct page_request *page, long rows,
			long count)
{
	(void)count;
	if (rows == 0 && page->number > 1) {
		reply_invalid_page(ctx);
		return -1;
	}
	return 0;
}

/* application/x-www-form-urlencoded, as Python's urlencode writes it. */
static void add_encoded(struct strbuf *sb, const char *text)
{
	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		if (isalnum(*p) || strchr("-._~", *p))
			strbuf_addch(sb, (char)*p);
		else if (*p == ' ')
			strbuf_addch(sb, '+');
		else
			strbuf_addf(sb, "%%%02X", *p);
	}
}

static int compare_keys(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The link to page number (no page parameter for page 1); new JSON string. */
static json_t *page_link(struct http_ctx *ctx, long number)
{
	struct strbuf sb = STRBUF_INIT;
	const struct _u_map *query = ctx->req->map_url;
	const char **keys = u_map_enum_keys(query);
	size_t n = 0;
	int first = 1;

	while (keys && keys[n])
		n++;
	/* The request's parameters but its page, plus ours unless it is page 1, sorted by name. */
	const char **sorted = xcalloc(n + 1, sizeof(*sorted));
	size_t m = 0;
	for (size_t i = 0; i < n; i++)
		if (strcmp(keys[i], "page"))
			sorted[m++] = keys[i];
	if (number > 1)
		sorted[m++] = "page";
	qsort(sorted, m, sizeof(*sorted), compare_keys);
	for (size_t i = 0; i < m; i++) {
		strbuf_addch(&sb, first ? '?' : '&');
		first = 0;
		add_encoded(&sb, sorted[i]);
		strbuf_addch(&sb, '=');
		if (!strcmp(sorted[i], "page"))
			strbuf_addf(&sb, "%ld", number);
		else
			add_encoded(&sb, u_map_get(query, sorted[i]));
	}
	free(sorted);
	struct strbuf path = STRBUF_INIT;
	strbuf_addf(&path, "%s%s", ctx->req->url_path, strbuf_str(&sb));
	char *url = http_absolute_url(ctx, strbuf_str(&path));
	json_t *j = json_string(url);
	free(url);
	strbuf_release(&path);
	strbuf_release(&sb);
	return j;
}

json_t *page_envelope(struct http_ctx *ctx, const struct page_request *page, long count,
		      json_t *j_results)
{
	long last = count == 0 ? 1 : (count + page->size - 1) / page->size;
	json_t *j_next = page->number < last ? page_link(ctx, page->number + 1) : json_null();
	json_t *j_prev = page->number > 1 ? page_link(ctx, page->number - 1) : json_null();
	return json_pack("{s:I,s:o,s:o,s:o}", "count", (json_int_t)count, "next", j_next,
			 "previous", j_prev, "results", j_results);
}
