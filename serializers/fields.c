/* Field reading and row values; see fields.h. Messages are DRF's and Django's own words. */
#include "serializers/fields.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

int url_is_valid(const char *url)
{
	const char *host;
	if (!strncasecmp(url, "http://", 7))
		host = url + 7;
	else if (!strncasecmp(url, "https://", 8))
		host = url + 8;
	else
		return 0;
	for (const char *p = url; *p; p++)
		if (is_space((unsigned char)*p) || (unsigned char)*p < 0x20)
			return 0;
	/* Skip user:pass@ and take the host up to a port, path, query or fragment. */
	const char *end = host + strcspn(host, "/?#");
	const char *at = memchr(host, '@', (size_t)(end - host));
	if (at)
		host = at + 1;
	const char *colon = memchr(host, ':', (size_t)(end - host));
	const char *host_end = colon ? colon : end;
	if (host_end == host)
		return 0;
	if (colon) {
		if (colon + 1 == end)
			return 0;
		for (const char *p = colon + 1; p < end; p++)
			if (!isdigit((unsigned char)*p))
				return 0;
	}
	size_t len = (size_t)(host_end - host);
	if (len == 9 && !strncasecmp(host, "localhost", 9))
		return 1;
	/* An IPv4 address or a domain with a dot and a letter TLD. */
	int dots = 0, digits_only = 1;
	for (const char *p = host; p < host_end; p++) {
		if (*p == '.')
			dots++;
		else if (!isdigit((unsigned char)*p))
			digits_only = 0;
	}
	if (digits_only)
		return dots == 3;
	for (const char *p = host; p < host_end;) {
		const char *dot = memchr(p, '.', (size_t)(host_end - p));
		size_t label = (size_t)((dot ? dot : host_end) - p);
		if (!label_ok(p, label))
			return 0;
		p += label + (dot ? 1 : 0);
		if (dot && p == host_end)
			return 0;
	}
	const char *tld = host_end;
	while (tld > host && tld[-1] != '.')
		tld--;
	return dots >= 1 && host_end - tld >= 2 && isalpha((unsigned char)*tld);
}

char *field_url(const json_t *j_body, const struct text_rule *rule, json_t *j_errors, int *present)
{
	char *value = field_text(j_body, rule, j_errors, present);
	if (value && *value && !url_is_valid(value)) {
		field_error(j_errors, rule->name, "Enter a valid URL.");
		free(value);
		return NULL;
	}
	return value;
}

static int date_is_valid(const char *s)
{
	int y, m, d;
	static const int days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return 0;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && !isdigit((unsigned char)s[i]))
			return 0;
	y = atoi(s);
	m = atoi(s + 5);
	d = atoi(s + 8);
	if (y < 1 || m < 1 || m > 12 || d < 1 || d > days[m - 1])
		return 0;
	return !(m == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)));
}

char *field_date(const json_t *j_body, const char *name, int allow_null, json_t *j_errors,
		 int *present)
{
	json_t *j = json_object_get(j_body, name);
	if (present)
		*present = j != NULL;
	if (!j)
		return NULL;
	if (json_is_null(j)) {
		if (!allow_null)
			field_error(j_errors, name, "This field may not be null.");
		return NULL;
	}
	if (!json_is_string(j) || !date_is_valid(json_string_value(j))) {
		field_error(j_errors, name,
			    "Date has wrong format. Use one of these formats instead: YYYY-MM-DD.");
		return NULL;
	}
	return xstrdup(json_string_value(j));
}

int field_bool(const json_t *j_body, const char *name, json_t *j_errors, int *value)
{
	static const char *const truthy[] = {"true", "True", "TRUE", "1", "yes", "Yes", "YES", "on",
					     "On",   "ON",   "y",    "Y", "t",   "T",   NULL};
	static const char *const falsy[] = {"false", "False", "FALSE", "0", "no", "No", "NO", "off",
					    "Off",   "OFF",   "n",     "N", "f",  "F",  NULL};
	json_t *j = json_object_get(j_body, name);
	if (!j)
		return 0;
	if (json_is_null(j)) {
		field_error(j_errors, name, "This field may not be null.");
		return -1;
	}
	if (json_is_boolean(j)) {
		*value = json_is_true(j);
		return 1;
	}
	if (json_is_integer(j) && (json_integer_value(j) == 0 || json_integer_value(j) == 1)) {
		*value = json_integer_value(j) == 1;
		return 1;
	}
	if (json_is_string(j)) {
		for (size_t i = 0; truthy[i]; i++)
			if (!strcmp(json_string_value(j), truthy[i])) {
				*value = 1;
				return 1;
			}
		for (size_t i = 0; falsy[i]; i++)
			if (!strcmp(json_string_value(j), falsy[i])) {
				*value = 0;
				return 1;
			}
	}
	field_error(j_errors, name, "Must be a valid boolean.");
	return -1;
}

char *field_choice(const json_t *j_body, const char *name, int required, const char *const *choices,
		   json_t *j_errors, int *present)
{
	struct text_rule rule = {name, required, 1, 0, 0, 0};
	char *value = field_text(j_body, &rule, j_errors, present);
	if (!value)
		return NULL;
	for (size_t i = 0; choices[i]; i++)
		if (!strcmp(value, choices[i]))
			return value;
	char msg[300];
	snprintf(msg, sizeof(msg), "\"%.200s\" is not a valid choice.", value);
	field_error(j_errors, name, msg);
	free(value);
	return NULL;
}

const char *json_python_type(const json_t *j)
{
	switch (json_typeof(j)) {
	case JSON_OBJECT: return "dict";
	case JSON_STRING: return "str";
	case JSON_INTEGER: return "int";
	case JSON_REAL: return "float";
	case JSON_TRUE:
	case JSON_FALSE: return "bool";
	case JSON_NULL: return "NoneType";
	default: return "list";
	}
}

long field_string_list(const json_t *j_body, const char *name, int required, size_t max_items,
		       const struct text_rule *item_rule, json_t *j_errors, char ***items)
{
	json_t *j = json_object_get(j_body, name);
	*items = NULL;
	if (!j) {
		if (required)
			field_error(j_errors, name, "This field is required.");
		return -1;
	}
	if (json_is_null(j)) {
		field_error(j_errors, name, "This field may not be null.");
		return -1;
	}
	if (!json_is_array(j)) {
		char msg[96];
		snprintf(msg, sizeof(msg), "Expected a list of items but got type \"%s\".",
			 json_python_type(j));
		field_error(j_errors, name, msg);
		return -1;
	}
	size_t n = json_array_size(j);
	if (max_items && n > max_items) {
		char msg[96];
		snprintf(msg, sizeof(msg), "Ensure this field has no more than %zu elements.",
			 max_items);
		field_error(j_errors, name, msg);
		return -1;
	}
	json_t *j_item_errors = json_object();
	char **values = xcalloc(n + 1, sizeof(*values));
	for (size_t i = 0; i < n; i++) {
		char index[24];
		struct text_rule rule = *item_rule;
		json_t *j_wrap = json_object(), *j_errs = json_object();
		snprintf(index, sizeof(index), "%zu", i);
		rule.name = index;
		rule.required = 1;
		json_object_set(j_wrap, index, json_array_get(j, i));
		values[i] = field_text(j_wrap, &rule, j_errs, NULL);
		json_object_update(j_item_errors, j_errs);
		json_decref(j_wrap);
		json_decref(j_errs);
	}
	if (json_object_size(j_item_errors)) {
		json_object_set_new(j_errors, name, j_item_errors);
		fields_release(values, n);
		free(values);
		return -1;
	}
	json_decref(j_item_errors);
	*items = values;
	return (long)n;
}

static int is_atext(unsigned char c)
{
	return isalnum(c) || strchr("!#$%&'*+/=?^_`{|}~-", c) || c >= 0x80;
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

/*
 * The column's number. Not PQfnumber(): it copies and case-folds the name on
 * every call, a malloc per field of every row of every page. Our column names
 * are plain lowercase, so an exact comparison is the same answer.
 */
static int column_number(const PGresult *res, const char *column)
{
	int n = PQnfields(res);
	for (int i = 0; i < n; i++)
		if (!strcmp(PQfname(res, i), column))
			return i;
	return -1;
}

const char *row_value(const PGresult *res, int row, const char *column)
{
	int col = column_number(res, column);
	return col < 0 ? "" : PQgetvalue(res, row, col);
}

/* The field's text, or NULL when it is SQL NULL or there is no such column: one lookup. */
static const char *row_field(const PGresult *res, int row, const char *column)
{
	int col = column_number(res, column);
	return col < 0 || PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

json_t *row_text(const PGresult *res, int row, const char *column)
{
	const char *text = row_field(res, row, column);
	return text ? json_string(text) : json_null();
}

json_t *row_bool(const PGresult *res, int row, const char *column)
{
	const char *text = row_field(res, row, column);
	return text ? json_boolean(text[0] == 't') : json_null();
}

json_t *row_int(const PGresult *res, int row, const char *column)
{
	const char *text = row_field(res, row, column);
	return text ? json_integer(atoll(text)) : json_null();
}

json_t *row_timestamp(const PGresult *res, int row, const char *column)
{
	const char *text = row_field(res, row, column);
	if (!text)
		return json_null();
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
