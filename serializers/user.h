/*
 * Request bodies of the user and token endpoints, validated as DRF and
 * SimpleJWT do (every field error of a body at once), and the user JSON.
 * Each *_read function fills values[] (release with fields_release) and
 * returns the errors object (new reference; empty when valid).
 */
#ifndef DEVSEARCH_SERIALIZERS_USER_H
#define DEVSEARCH_SERIALIZERS_USER_H

#include <jansson.h>

#include "models/profile.h"
#include "models/user.h"
#include "serializers/fields.h"

enum { REG_USERNAME, REG_EMAIL, REG_PASSWORD, REG_NAME, REG_FIELDS };
/* {username, email, password, name?}: field rules only; taken names and password rules come after. */
json_t *registration_read(const json_t *j_body, char *values[REG_FIELDS]);

enum { LOGIN_USERNAME, LOGIN_PASSWORD, LOGIN_FIELDS };
json_t *login_read(const json_t *j_body, char *values[LOGIN_FIELDS]);

/* A body with one token field (refresh or token). */
json_t *token_field_read(const json_t *j_body, const char *field, char **value);

enum { CHANGE_OLD, CHANGE_NEW, CHANGE_FIELDS };
json_t *password_change_read(const json_t *j_body, char *values[CHANGE_FIELDS]);

/* {email} of a reset request. */
json_t *password_reset_read(const json_t *j_body, char **email);

enum { CONFIRM_UID, CONFIRM_TOKEN, CONFIRM_PASSWORD, CONFIRM_FIELDS };
json_t *password_confirm_read(const json_t *j_body, char *values[CONFIRM_FIELDS]);

/* {id, username, email, name, is_staff, profile}; steals j_profile. New reference. */
json_t *user_to_json(const struct user *user, json_t *j_profile);

/*
 * The same object for user user_id from its profile's rows alone (they carry
 * username, email and name): users/me needs no read of the user besides the
 * access check's. New reference.
 */
json_t *user_from_profile_to_json(const char *user_id, int is_staff,
				  const struct profile_rows *rows, int row);

#endif
