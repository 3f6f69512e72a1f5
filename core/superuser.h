/* `devsearch createsuperuser`: a staff user with a profile, from the command line. */
#ifndef DEVSEARCH_SUPERUSER_H
#define DEVSEARCH_SUPERUSER_H

#include "core/config.h"

/*
 * Create the user: --username U --email E, the password from DEVSEARCH_PASSWORD
 * or a prompt without echo (asked twice). Validated like registration.
 * Returns the exit status.
 */
int createsuperuser_command(const struct config *cfg, int argc, char **argv);

#endif
