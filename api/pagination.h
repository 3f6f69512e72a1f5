/*
 * DRF's PageNumberPagination: ?page=N&page_size=M (default 20, at most 100),
 * {"count", "next", "previous", "results"} with absolute next/previous links
 * that keep the other query parameters, sorted by name, and drop page=1.
 */
#ifndef DEVSEARCH_API_PAGINATION_H
#define DEVSEARCH_API_PAGINATION_H

#include "api/http.h"

#define PAGE_SIZE_DEFAULT 20
#define PAGE_SIZE_MAX 100

struct page_request {
	long number; /* 1-based */
	long size;
	char limit[24]; /* size and offset as text, ready for LIMIT $n OFFSET $m */
	char offset[24];
};

/* Read ?page and ?page_size; a page that is not a positive number: 404 "Invalid page.", -1. */
int page_request_or_reply(struct http_ctx *ctx, struct page_request *page);

/*
 * After the page query (which returned rows rows with count in total): a page
 * past the end is 404 "Invalid page." (replied, -1); page 1 may be empty.
 */
int page_check_or_reply(struct http_ctx *ctx, const struct page_request *page, long rows,
			long count);

/* The envelope; steals j_results. New reference. */
json_t *page_envelope(struct http_ctx *ctx, const struct page_request *page, long count,
		      json_t *j_results);

#endif
