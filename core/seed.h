/* `devsearch seed [--profiles N]`: demo data for trying the API and for benchmarks. */
#ifndef DEVSEARCH_CORE_SEED_H
#define DEVSEARCH_CORE_SEED_H

#include "core/config.h"

/* The password every seeded user gets. */
#define SEED_PASSWORD "devsearch-demo-pass"

/*
 * Seed N profiles (--profiles, default 50) and their skills, projects, tags,
 * reviews, messages and notes (the Django version's `manage.py seed`) in one
 * transaction, then print a one-line summary. Returns the exit status (2 for bad arguments).
 */
int seed_command(const struct config *cfg, int argc, char **argv);

#endif
