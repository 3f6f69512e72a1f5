/*
 * Private notes: GET/POST /api/notes and GET/PUT/PATCH/DELETE
 * /api/notes/{id}, all for the owner only (someone else's note is a 404).
 */
#ifndef DEVSEARCH_API_NOTES_H
#define DEVSEARCH_API_NOTES_H

#include "api/http.h"

/* Add the note routes to router. */
void notes_routes(struct router *router);

#endif
