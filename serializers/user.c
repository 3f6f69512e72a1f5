/* User and token bodies; see user.h. The rules mirror the Django version's serializers. */
#include "serializers/user.h"

#include "serializers/profile.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const char INVALID_USERNAME[] = "Enter a valid username. This value may contain only "
				       "letters, numbers, and @/./+/-/_ characters.";
static const char INVALID_EMAIL[] = "Enter a valid email address.";

static const struct text_rule REGISTER_RULES[REG_FIELDS] = {
	[REG_USERNAME] = {"username", 1, 0, 0, 1, 150},
	[REG_EMAIL] = {"email", 1, 0, 0, 1, 254},
	[REG_PASSWORD] = {"password", 1, 0, 0, 0, 4096},
	[REG_NAME] = {"name", 0, 1, 0, 1, 200},
};

static const struct text_rule LOGIN_RULES[LOGIN_FIELDS] = {
	[LOGIN_USERNAME] = {"username", 1, 0, 0, 1, 0},
	[LOGIN_PASSWORD] = {"password", 1, 0, 0, 0, 0},
};

static const struct text_rule CHANGE_RULES[CHANGE_FIELDS] = {
	[CHANGE_OLD] = {"old_password", 1, 0, 0, 0, 4096},
	[CHANGE_NEW] = {"new_password", 1, 0, 0, 0, 4096},
};

static const struct text_rule CONFIRM_RULES[CONFIRM_FIELDS] = {
	[CONFIRM_UID] = {"uid", 1, 0, 0, 1, 200},
	[CONFIRM_TOKEN] = {"token", 1, 0, 0, 1, 200},
	[CONFIRM_PASSWORD] = {"new_password", 1, 0, 0, 0, 4096},
};

/* An invalid value is dropped with its message, as DRF drops a field that failed. */
static void check_value(char **value, int (*valid)(const char *), json_t *j_errors,
			const char *field, const char *message)
{
	if (*value && !valid(*value)) {
		field_error(j_errors, field, message);
		free(*value);
		*value = NULL;
	}
}

json_t *registration_read(const json_t *j_body, char *values[REG_FIELDS])
{
	json_t *j_errors = fields_read(j_body, REGISTER_RULES, REG_FIELDS, values);
	check_value(&values[REG_USERNAME], username_is_valid, j_errors, "username",
		    INVALID_USERNAME);
	check_value(&values[REG_EMAIL], email_is_valid, j_errors, "email", INVALID_EMAIL);
	return j_errors;
}

json_t *login_read(const json_t *j_body, char *values[LOGIN_FIELDS])
{
	return fields_read(j_body, LOGIN_RULES, LOGIN_FIELDS, values);
}

json_t *token_field_read(const json_t *j_body, const char *field, char **value)
{
	struct text_rule rule = {field, 1, 0, 0, 1, 0};
	return fields_read(j_body, &rule, 1, value);
}

json_t *password_change_read(const json_t *j_body, char *values[CHANGE_FIELDS])
{
	return fields_read(j_body, CHANGE_RULES, CHANGE_FIELDS, values);
}

json_t *password_reset_read(const json_t *j_body, char **email)
{
	static const struct text_rule rule = {"email", 1, 0, 0, 1, 254};
	json_t *j_errors = fields_read(j_body, &rule, 1, email);
	check_value(email, email_is_valid, j_errors, "email", INVALID_EMAIL);
	return j_errors;
}

json_t *password_confirm_read(const json_t *j_body, char *values[CONFIRM_FIELDS])
{
	return fields_read(j_body, CONFIRM_RULES, CONFIRM_FIELDS, values);
}

json_t *user_to_json(const struct user *user, json_t *j_profile)
{
	return json_pack("{s:s,s:s,s:s,s:s,s:b,s:o}", "id", user->id, "username", user->username,
			 "email", user->email, "name", user->name, "is_staff", user->is_staff,
			 "profile", j_profile ? j_profile : json_null());
}

json_t *user_from_profile_to_json(const char *user_id, int is_staff,
				  const struct profile_rows *rows, int row)
{
	const PGresult *res = rows->profiles;
	return json_pack("{s:s,s:o,s:o,s:o,s:b,s:o}", "id", user_id, "username",
			 row_text(res, row, "username"), "email", row_text(res, row, "email"),
			 "name", row_text(res, row, "name"), "is_staff", is_staff, "profile",
			 profile_to_json(rows, row, 1));
}
