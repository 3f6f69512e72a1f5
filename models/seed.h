/*
 * Demo data in SQL (`devsearch seed`), in the shape of the Django version's
 * `manage.py seed`: users with profiles, skills, projects with tags, reviews
 * (with the projects' vote counters), messages and notes, each kind made by
 * one set-based statement.
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
};

/*
 * Insert n profiles (1 <= n) and everything around them, in the caller's
 * transaction. Usernames are "demo<run>_<i>" (i from 1 to n; run keeps
 * repeated seeds apart), emails "<username>@example.com", and every user's
 * password is password_hash (hashed once by the caller). Per profile: 1-5
 * skills, 0-4 projects, 0-3 notes, 0-3 messages received from distinct other
 * profiles; per project 1-4 tags out of the Django version's 37 words and
 * 0-8 reviews by distinct other profiles, two in three up, its vote_total and
 * vote_up equal to them. Everything is drawn by a hash of the row numbers, so
 * the same n gives the same data (and the same counts) whatever run is.
 * Takes an exclusive lock on reviews until the transaction ends (the vote
 * trigger is off while the reviews go in, then on again) and ANALYZEs the
 * tables. Temporary tables and functions are made in the session and gone
 * at commit or rollback (the functions with the session).
 */
enum app_err seed_insert(struct db_conn *conn, const char *run, long n, const char *password_hash,
			 struct seed_counts *out);

#endif
