/* The one place that lists the API's modules, in the order GET /api shows them. */
#include "api/routes.h"

#include "api/admin.h"
#include "api/docs.h"
#include "api/images.h"
#include "api/media.h"
#include "api/messages.h"
#include "api/meta.h"
#include "api/notes.h"
#include "api/profiles.h"
#include "api/projects.h"
#include "api/skills.h"
#include "api/tags.h"
#include "api/users.h"

struct router *routes_build(void)
{
	struct router *router = router_new();
	meta_routes(router);
	users_routes(router);
	profiles_routes(router);
	skills_routes(router);
	projects_routes(router);
	tags_routes(router);
	messages_routes(router);
	notes_routes(router);
	admin_routes(router);
	images_routes(router);
	media_routes(router);
	docs_routes(router);
	return router;
}
