/* The image upload routes of API.md's "Images": PUT /api/account/image and PUT /api/projects/{id}/image. */
#ifndef DEVSEARCH_API_IMAGES_H
#define DEVSEARCH_API_IMAGES_H

#include "api/http.h"

void images_routes(struct router *router);

#endif
