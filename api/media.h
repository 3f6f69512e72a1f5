/* GET /media/{path}: the stored uploads, served from MEDIA_ROOT (see models/media.h). */
#ifndef DEVSEARCH_API_MEDIA_H
#define DEVSEARCH_API_MEDIA_H

#include "api/http.h"

void media_routes(struct router *router);

#endif
