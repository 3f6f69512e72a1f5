/* The one place that lists the API's modules, in the order GET /api shows them. */
#include "api/routes.h"

#include "api/images.h"
#include "api/media.h"
#include "api/meta.h"
#include "api/users.h"

struct router *routes_build(void)
{
	struct router *router = router_new();
	meta_routes(router);
	users_routes(router);
	/* profiles, account, skills, friends */
	/* projects, tags, votes */
	/* messages, notes, staff */
	images_routes(router);
	media_routes(router);
	return router;
}
