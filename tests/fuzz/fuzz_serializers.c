/*
 * Fuzz target: every request body reader of serializers/ and the password
 * validators. The input is read twice: as the body bytes, parsed the way
 * api/http.c parses them (json_loadb, JSON_DECODE_ANY | JSON_ALLOW_NUL), and
 * as the recipe of a JSON object built from the serializers' own field names
 * with values of every JSON type, so the readers see well-formed bodies with
 * hostile values far more often than random bytes would give them.
 * Everything allocated is freed: LeakSanitizer checks the readers' ownership.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "models/profile.h"
#include "models/project.h"
#include "serializers/admin.h"
#include "serializers/fields.h"
#include "serializers/message.h"
#include "serializers/note.h"
#include "serializers/password.h"
#include "serializers/profile.h"
#include "serializers/project.h"
#include "serializers/skill.h"
#include "serializers/tag.h"
#include "serializers/user.h"
#include "tests/fuzz/fuzz_input.h"

/* Every key some serializer reads, and a few it must ignore. */
static const char *const field_names[] = {
	"username",
	"email",
	"password",
	"name",
	"refresh",
	"token",
	"old_password",
	"new_password",
	"uid",
	"title",
	"body",
	"subject",
	"description",
	"demo_link",
	"source_link",
	"featured_image",
	"tags",
	"value",
	"is_active",
	"is_staff",
	"bio",
	"location",
	"short_intro",
	"birth_date",
	"favorite_note",
	"social_github",
	"social_linkedin",
	"social_twitter",
	"social_website",
	"social_youtube",
	"profile_image",
	"id",
	"created",
	"",
	"unknown",
};
#define N_FIELD_NAMES (sizeof(field_names) / sizeof(field_names[0]))

/* Strings the validators treat specially, mixed into built bodies. */
static const char *const interesting_texts[] = {
	"",
	" ",
	"up",
	"down",
	"true",
	"off",
	"2000-02-29",
	"2100-01-01",
	"0000-00-00",
	"http://example.com/a?b#c",
	"https://[::1]:8000/",
	"user@example.com",
	"a@b",
	"00000000-0000-4000-8000-000000000000",
	"password",
	"12345678",
	"\xc3\xa9t\xc3\xa9",
	"x\xf0\x9f\x98\x80y",
};
#define N_INTERESTING (sizeof(interesting_texts) / sizeof(interesting_texts[0]))

/* Bytes as a JSON string: as given when valid UTF-8 (NULs included), else masked to ASCII. */
static json_t *string_from_bytes(char *s, size_t len)
{
	json_t *j = json_stringn(s, len);
	if (j)
		return j;
	for (size_t i = 0; i < len; i++)
		s[i] &= 0x7f;
	return json_stringn(s, len);
}

static json_t *build_value(struct fuzz_input *in, int depth)
{
	uint8_t kind = fuzz_byte(in);
	size_t len;

	switch (depth > 4 ? kind % 7 : kind % 9) {
	case 0: return json_null();
	case 1: return json_boolean(kind & 0x80);
	case 2: return json_integer((json_int_t)fuzz_u64(in));
	case 3: {
		uint64_t bits = fuzz_u64(in);
		double d;
		memcpy(&d, &bits, sizeof(d));
		json_t *j = json_real(d); /* NULL for NaN and infinities */
		return j ? j : json_real(0.5);
	}
	case 4:
	case 5: {
		char *s = fuzz_text(in, 300, &len);
		json_t *j = string_from_bytes(s, len);
		free(s);
		return j;
	}
	case 6: return json_string(interesting_texts[fuzz_byte(in) % N_INTERESTING]);
	case 7: {
		json_t *j_array = json_array();
		size_t n = fuzz_byte(in) % 24;
		for (size_t i = 0; i < n; i++)
			json_array_append_new(j_array, build_value(in, depth + 1));
		return j_array;
	}
	default: {
		json_t *j_object = json_object();
		size_t n = fuzz_byte(in) % 6;
		for (size_t i = 0; i < n; i++)
			json_object_set_new(j_object, field_names[fuzz_byte(in) % N_FIELD_NAMES],
					    build_value(in, depth + 1));
		return j_object;
	}
	}
}

/* An object of the serializers' keys with values of every type. New reference. */
static json_t *build_body(struct fuzz_input *in)
{
	json_t *j_body = json_object();
	size_t n = fuzz_byte(in) % 12;
	for (size_t i = 0; i < n && in->left > 0; i++)
		json_object_set_new(j_body, field_names[fuzz_byte(in) % N_FIELD_NAMES],
				    build_value(in, 1));
	return j_body;
}

/* What the handler does with a reader's errors: send them as the body. Steals j_errors. */
static void reply_errors(json_t *j_errors)
{
	char *text = json_dumps(j_errors, JSON_COMPACT | JSON_ENCODE_ANY);
	if (!text)
		abort(); /* the errors object must always be serialisable */
	free(text);
	json_decref(j_errors);
}

/* Password rules as registration and password changes run them on accepted values. */
static void check_password(const char *password, const char *username, const char *email)
{
	if (!password)
		return;
	json_t *j_messages = json_array();
	size_t n = password_validate(password, username, email, j_messages);
	if (n != json_array_size(j_messages))
		abort(); /* the count and the messages must agree */
	reply_errors(j_messages);
}

static void read_user_bodies(const json_t *j_body)
{
	char *reg[REG_FIELDS] = {0}, *login[LOGIN_FIELDS] = {0}, *change[CHANGE_FIELDS] = {0};
	char *confirm[CONFIRM_FIELDS] = {0};
	char *value = NULL;

	reply_errors(registration_read(j_body, reg));
	check_password(reg[REG_PASSWORD], reg[REG_USERNAME], reg[REG_EMAIL]);
	fields_release(reg, REG_FIELDS);
	reply_errors(login_read(j_body, login));
	fields_release(login, LOGIN_FIELDS);
	reply_errors(token_field_read(j_body, "refresh", &value));
	free(value);
	value = NULL;
	reply_errors(token_field_read(j_body, "token", &value));
	free(value);
	value = NULL;
	reply_errors(password_change_read(j_body, change));
	check_password(change[CHANGE_NEW], "someone", "someone@example.com");
	fields_release(change, CHANGE_FIELDS);
	reply_errors(password_reset_read(j_body, &value));
	free(value);
	reply_errors(password_confirm_read(j_body, confirm));
	check_password(confirm[CONFIRM_PASSWORD], NULL, NULL);
	fields_release(confirm, CONFIRM_FIELDS);
}

static void read_content_bodies(const json_t *j_body, int partial)
{
	char *msg[MSG_FIELDS] = {0}, *note[NOTE_FIELDS] = {0}, *skill[SKILL_FIELDS] = {0};
	char *vote_value = NULL, *vote_body = NULL, *tag = NULL;
	struct project_input project;
	struct profile_changes changes;
	int is_active, is_staff;

	reply_errors(admin_user_read_body(j_body, &is_active, &is_staff));
	reply_errors(message_read_body(j_body, partial, msg));
	fields_release(msg, MSG_FIELDS);
	reply_errors(note_read_body(j_body, partial, note));
	fields_release(note, NOTE_FIELDS);
	reply_errors(skill_read(j_body, partial, skill));
	fields_release(skill, SKILL_FIELDS);
	reply_errors(project_read(j_body, partial, &project));
	(void)project_input_values(&project);
	project_input_release(&project);
	reply_errors(vote_read(j_body, &vote_value, &vote_body));
	free(vote_value);
	free(vote_body);
	reply_errors(tag_name_read(j_body, &tag));
	free(tag);
	reply_errors(profile_changes_read(j_body, partial, &changes));
	profile_changes_release(&changes);
}

/* Every reader on one body (any JSON value: the readers are only ever given objects). */
static void read_every_body(const json_t *j_body)
{
	if (!json_is_object(j_body))
		return;
	read_user_bodies(j_body);
	read_content_bodies(j_body, 0);
	read_content_bodies(j_body, 1);
}

/* The field validators on every string of the body, as the readers meet them. */
static void check_strings(json_t *j)
{
	const char *key;
	json_t *j_value;
	size_t i;

	if (json_is_string(j)) {
		const char *s = json_string_value(j);
		(void)url_is_valid(s);
		(void)email_is_valid(s);
		(void)username_is_valid(s);
		if (utf8_length(s) > strlen(s))
			abort();
		(void)json_python_type(j);
	} else if (json_is_array(j)) {
		json_array_foreach(j, i, j_value) check_strings(j_value);
	} else if (json_is_object(j)) {
		json_object_foreach((json_t *)j, key, j_value) check_strings(j_value);
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_error_t error;
	struct fuzz_input in = {data, size};

	json_t *j_parsed =
		json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, &error);
	if (j_parsed) {
		read_every_body(j_parsed);
		check_strings(j_parsed);
		json_decref(j_parsed);
	}

	json_t *j_built = build_body(&in);
	read_every_body(j_built);
	check_strings(j_built);
	json_decref(j_built);
	return 0;
}
