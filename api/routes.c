/* The one place that lists the API's modules, in the order GET /api shows them. */
#include "api/routes.h"

#include "api/meta.h"
#include "api/profiles.h"
#include "api/skills.h"
#include "api/users.h"

struct router *routes_build(void)
{
	struct router *router = router_new();
	meta_routes(router);
	users_routes(router);
	profiles_routes(router);
	skills_routes(router);
	/* projects, tags, votes */
	/* messages, notes, staff */
	/* images, media */
	return router;
}
