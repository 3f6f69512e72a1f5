/*
 * The data of a Django version's database (../shared/peer-drf's models and
 * migrations) copied into ours: `devsearch import-django`'s SQL. Each table's
 * rows are streamed from the source with COPY into a temporary staging table
 * of the target, then inserted from there with their ids and timestamps, in
 * the order the foreign keys need. Rows whose id is already here are left as
 * they are (a second run copies only what is new); a row the target refuses
 * (a constraint) is set aside with PostgreSQL's reason, and so are the rows
 * that depend on it, so nothing is half-imported.
 */
#ifndef DEVSEARCH_MODELS_DJANGO_IMPORT_H
#define DEVSEARCH_MODELS_DJANGO_IMPORT_H

#include <stddef.h>

#include "core/app.h"

struct db_conn;

/* Users, profiles, skills, friends, tags, projects, project tags, reviews, notes, messages, refresh tokens. */
#define IMPORT_TABLES 11

struct import_table_count {
	const char *name; /* as the report shows it: "users", "project tags", ... */
	long found;       /* rows in the Django database */
	long copied;      /* rows written here */
	long refused;     /* rows set aside: constraint, or a row they depend on */
};

struct import_refusal {
	const char *table;
	char *key;    /* the row's id (or ids, for a relation) */
	char *reason; /* PostgreSQL's message, or the refused row it depends on */
};

/* What an import did (or, rolled back, would do). */
struct import_report {
	struct import_table_count tables[IMPORT_TABLES];
	struct import_refusal *refusals;
	size_t n_refusals;
	long bare_users;         /* users without a profile: one made, as Django's signal would */
	long recounted_projects; /* stored vote counts that disagreed with the reviews */
	long foreign_favorites;  /* favorite notes of another profile's: not carried */
	long dead_tokens;        /* refresh tokens expired or of a deleted user: not needed */
};

/*
 * Copy everything from source (a Django version's database) into target.
 * source must be in a REPEATABLE READ transaction and target in a transaction;
 * the caller commits or rolls back target. Returns APP_OK with *report filled
 * (refused rows do not make it fail), or the error of a statement that failed
 * for another reason (db_last_error() of its connection says which). The
 * caller import_report_release()s the report in every case.
 */
enum app_err django_import(struct db_conn *source, struct db_conn *target,
			   struct import_report *report);

/*
 * The Django tables source lacks, comma-separated in *missing (caller frees;
 * NULL when none).
 */
enum app_err django_import_missing_tables(struct db_conn *source, char **missing);

void import_report_release(struct import_report *report);

#endif
