/*
 * Demo data in SQL (`devsearch seed`): users with profiles, skills, projects
 * with tags, reviews (the vote counters follow through their trigger),
 * messages, notes and friends, each kind made by one set-based statement.
 */
#ifndef DEVSEARCH_MODELS_SEED_H
#define DEVSEARCH_MODELS_SEED_H

#include "models/db.h"

/* Rows created, per table. */
struct seed_counts {
	long profiles; /* and as many users */
	long skills;
	long tags; /* new ones: tags already there are reused */
	long projects;
	long project_tags;
	long reviews;
	long messages;
	long notes;
	long friends;
};

/*
 * Insert n profiles (1 <= n) and everything around them, in the caller's
 * transaction. Usernames are "demo<run>_<i>" (i from 1 to n; run keeps
 * repeated seeds apart), emails "<username>@example.com", and every user's
 * password is password_hash (hashed once by the caller). Everything else is
 * drawn from word lists by a hash of i, so the same n gives the same data
 * (and the same counts) whatever run is. Temporary tables and functions are
 * made in the session and gone at commit or rollback (the functions with
 * the session).
 */
enum app_err seed_insert(struct db_conn *conn, const char *run, long n, const char *password_hash,
			 struct seed_counts *out);

#endif
