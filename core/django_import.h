/* `devsearch import-django`: a Django version's data copied into this database. */
#ifndef DEVSEARCH_CORE_DJANGO_IMPORT_H
#define DEVSEARCH_CORE_DJANGO_IMPORT_H

#include "core/config.h"

/*
 * Copy users, profiles, skills, friends, tags, projects, reviews, notes,
 * messages and live refresh tokens from the database of --from into
 * DATABASE_URL's, in one transaction, and print what was copied. --dry-run
 * rolls back and prints what would be. Refused rows roll everything back
 * unless --skip-refused. Returns the exit status: 0 done, 1 failed or rows
 * refused, 2 bad arguments.
 */
int import_django_command(const struct config *cfg, int argc, char **argv);

#endif
