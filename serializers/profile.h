/*
 * Profiles: rows (with skills, projects and friends) to the JSON of API.md,
 * and request bodies of PUT/PATCH /api/account to a struct profile_changes
 * with DRF's rules and messages. No SQL: checks that need the database
 * (username/email taken, favorite_note owned) are the handler's, with the
 * messages below.
 */
#ifndef DEVSEARCH_SERIALIZERS_PROFILE_H
#define DEVSEARCH_SERIALIZERS_PROFILE_H

#include <jansson.h>

#include "models/profile.h"

#define PROFILE_USERNAME_TAKEN "A user with that username already exists."
#define PROFILE_EMAIL_TAKEN "A user with that email already exists."

/*
 * The profile at row of rows->profiles, with its relations; email only when
 * include_email (the caller's own profile). New reference.
 */
json_t *profile_to_json(const struct profile_rows *rows, int row, int include_email);

/* {id, username, name} of row of res (models/profile.h's profile_brief). New reference. */
json_t *profile_brief_to_json(const PGresult *res, int row);

/*
 * Read the writable fields of j_body (borrowed) into *changes (initialised
 * here; release with profile_changes_release): name (required unless
 * partial, never blank), username, email, location, short_intro, bio, the
 * URL fields, birth_date (nullable, not in the future), is_active and
 * favorite_note (a UUID or null; its ownership is for the caller to check).
 * Read-only and unknown keys are ignored. Returns the errors object (new
 * reference), empty if every field is valid; a wrong field is left NULL/unset.
 */
json_t *profile_changes_read(const json_t *j_body, int partial, struct profile_changes *changes);

/* Add DRF's message for a favorite_note that is not one of the caller's notes. */
void profile_favorite_note_missing(json_t *j_errors, const char *note_id);

#endif
