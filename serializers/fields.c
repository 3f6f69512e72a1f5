/* Field reading and row values; see fields.h. Messages are DRF's and Django's own words. */
#include "serializers/fields.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

void field_error(json_t *j_errors, const char *field, const char *message)
{
	json_t *j_list = json_object_get(j_errors, field);
	if (!j_list) {
		j_list = json_array();
		json_object_set_new(j_errors, field, j_list);
	}
	json_array_append_new(j_list, json_string(message));
}

size_t utf8_length(const char *text)
{
	size_t n = 0;
	for (const unsigned char *p = (const unsigned char *)text; *p; p++)
		if ((*p & 0xc0) != 0x80)
			n++;
	return n;
}

static int is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

char *field_text(const json_t *j_body, const struct text_rule *rule, json_t *j_errors, int *present)
{
	json_t *j = json_object_get(j_body, rule->name);
	char buf[64];
	const char *text;
	size_t len;

	if (present)
		*present = j != NULL;
	if (!j) {
		if (rule->required)
			field_error(j_errors, rule->name, "This field is required.");
		return NULL;
	}
	if (json_is_null(j)) {
		if (!rule->allow_null)
			field_error(j_errors, rule->name, "This field may not be null.");
		return NULL;
	}
	/* DRF's CharField takes numbers as their text, and nothing else that is not a string. */
	if (json_is_integer(j)) {
		snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(j));
		text = buf;
		len = strlen(buf);
	} else if (json_is_real(j)) {
		snprintf(buf, sizeof(buf), "%.17g", json_real_value(j));
		text = buf;
		len = strlen(buf);
	} else if (json_is_string(j)) {
		text = json_string_value(j);
		len = json_string_length(j);
	} else {
		field_error(j_errors, rule->name, "Not a valid string.");
		return NULL;
	}
	if (memchr(text, '\0', len)) {
		field_error(j_errors, rule->name, "Null characters are not allowed.");
		return NULL;
	}
	if (rule->trim) {
		while (len && is_space((unsigned char)*text)) {
			text++;
			len--;
		}
		while (len && is_space((unsigned char)text[len - 1]))
			len--;
	}
	char *value = xstrndup(text, len);
	int blank = 1;
	for (size_t i = 0; i < len && blank; i++)
		blank = is_space((unsigned char)value[i]);
	if (blank && !rule->allow_blank) {
		field_error(j_errors, rule->name, "This field may not be blank.");
		free(value);
		return NULL;
	}
	if (rule->max_length && utf8_length(value) > rule->max_length) {
		char msg[96];
		snprintf(msg, sizeof(msg), "Ensure this field has no more than %zu characters.",
			 rule->max_length);
		field_error(j_errors, rule->name, msg);
		free(value);
		return NULL;
	}
	return value;
}

json_t *fields_read(const json_t *j_body, const struct text_rule *rules, size_t n, char **values)
{
	json_t *j_errors = json_object();
	for (size_t i = 0; i < n; i++)
		values[i] = field_text(j_body, &rules[i], j_errors, NULL);
	return j_errors;
}

void fields_release(char **values, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (values[i])
			explicit_bzero(values[i], strlen(values[i]));
		free(values[i]);
		values[i] = NULL;
	}
}

static int is_atext(unsigned char c)
{
	return isalnum(c) || strchr("!#$%&'*+/=?^_`{|}~-", c) || c >= 0x80;
}

/* One domain label: letters, digits, hyphens, not starting or ending with a hyphen. */
static int label_ok(const char *s, size_t len)
{
	if (len == 0 || len > 63 || s[0] == '-' || s[len - 1] == '-')
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && (unsigned char)s[i] < 0x80)
			return 0;
	return 1;
}

int email_is_valid(const char *email)
{
	const char *at = strrchr(email, '@');
	if (!at || at == email || strlen(email) > 254)
		return 0;
	/* Local part: dot-separated atoms, no leading, trailing or doubled dots. */
	for (const char *p = email; p < at; p++) {
		if (*p == '.') {
			if (p == email || p[1] == '.' || p + 1 == at)
				return 0;
		} else if (!is_atext((unsigned char)*p)) {
			return 0;
		}
	}
	/* Domain: at least two labels, the last one not all digits. */
	const char *domain = at + 1;
	const char *last = strrchr(domain, '.');
	if (!last)
		return 0;
	for (const char *p = domain; *p;) {
		size_t len = strcspn(p, ".");
		if (!label_ok(p, len))
			return 0;
		p += len;
		if (*p == '.')
			p++;
		else
			break;
	}
	if (domain[strlen(domain) - 1] == '.')
		return 0;
	int all_digits = 1;
	for (const char *p = last + 1; *p; p++)
		all_digits &= isdigit((unsigned char)*p) != 0;
	return !all_digits && strlen(last + 1) >= 2;
}

int username_is_valid(const char *username)
{
	if (!*username)
		return 0;
	for (const unsigned char *p = (const unsigned char *)username; *p; p++)
		if (!isalnum(*p) && !strchr("@.+-_", *p) && *p < 0x80)
			return 0;
	return 1;
}

const char *row_value(const PGresult *res, int row, const char *column)
{
	int col = PQfnumber(res, column);
	return col < 0 ? "" : PQgetvalue(res, row, col);
}

static int row_is_null(const PGresult *res, int row, const char *column)
{
	int col = PQfnumber(res, column);
	return col < 0 || PQgetisnull(res, row, col);
}

json_t *row_text(const PGresult *res, int row, const char *column)
{
	return row_is_null(res, row, column) ? json_null()
					     : json_string(row_value(res, row, column));
}

json_t *row_bool(const PGresult *res, int row, const char *column)
{
	return row_is_null(res, row, column) ? json_null()
					     : json_boolean(row_value(res, row, column)[0] == 't');
}

json_t *row_int(const PGresult *res, int row, const char *column)
{
	return row_is_null(res, row, column) ? json_null()
					     : json_integer(atoll(row_value(res, row, column)));
}

json_t *row_timestamp(const PGresult *res, int row, const char *column)
{
	if (row_is_null(res, row, column))
		return json_null();
	const char *text = row_value(res, row, column);
	size_t len = strlen(text);
	/* "....ss.000000Z" -> "....ssZ", as Python's isoformat() writes a whole second. */
	if (len > 8 && !strcmp(text + len - 8, ".000000Z")) {
		char *copy = xstrndup(text, len - 8);
		json_t *j = json_pack("s++", copy, "Z", "");
		free(copy);
		return j;
	}
	return json_string(text);
}
