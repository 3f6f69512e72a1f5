/*
 * Messages: POST /api/profiles/{id}/messages (anyone; a logged-in sender is
 * named from their profile), GET /api/inbox (the caller's messages, unread
 * first, with unread_count), GET and DELETE /api/inbox/{id} (the recipient
 * only; someone else's message is a 404).
 */
#ifndef DEVSEARCH_API_MESSAGES_H
#define DEVSEARCH_API_MESSAGES_H

#include "api/http.h"

/* Add the message routes to router. */
void messages_routes(struct router *router);

#endif
