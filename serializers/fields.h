/*
 * Field-level building blocks of every serializer: reading one field of a
 * request body the way DRF's CharField/EmailField do (required, null, blank,
 * whitespace trimming, max length, NUL characters, wrong type), collecting
 * errors per field, and turning PostgreSQL row values into JSON values.
 * No SQL, no HTTP.
 */
#ifndef DEVSEARCH_SERIALIZERS_FIELDS_H
#define DEVSEARCH_SERIALIZERS_FIELDS_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stddef.h>

/* How a text field is read. */
struct text_rule {
	const char *name;
	int required;
	int allow_blank;
	int allow_null;
	int trim;          /* DRF's trim_whitespace (default on; off for passwords) */
	size_t max_length; /* in characters; 0 for none */
};

/* Add message to j_errors[field] (a list, created on first use). */
void field_error(json_t *j_errors, const char *field, const char *message);

/*
 * Read one text field of j_body by rule. Returns a new string (caller
 * free()s) with the value (trimmed when asked), or NULL when it is absent,
 * null or wrong; in the wrong cases a message is added to j_errors. *present
 * (may be NULL) tells whether the key was in the body at all.
 */
char *field_text(const json_t *j_body, const struct text_rule *rule, json_t *j_errors,
		 int *present);

/*
 * Read every rule of rules[0..n) from j_body into values[i] (new strings or
 * NULL; release with fields_release). Returns the errors object (new
 * reference): empty when every field is valid.
 */
json_t *fields_read(const json_t *j_body, const struct text_rule *rules, size_t n, char **values);
void fields_release(char **values, size_t n);

/*
 * A text field that must be an http(s) URL when not blank ("Enter a valid
 * URL."), as Django's URLValidator(schemes=["http", "https"]).
 */
char *field_url(const json_t *j_body, const struct text_rule *rule, json_t *j_errors, int *present);

/*
 * A date "YYYY-MM-DD" (a real calendar date). Returns a new string, or NULL
 * when absent, null (allowed only if allow_null) or wrong (message added).
 */
char *field_date(const json_t *j_body, const char *name, int allow_null, json_t *j_errors,
		 int *present);

/*
 * A boolean as DRF's BooleanField reads it (true/false, 1/0, "true"/"false",
 * "yes"/"no", "on"/"off", "1"/"0"...). Returns 1 with *value set when present
 * and valid, 0 when absent, -1 when null or wrong (message added).
 */
int field_bool(const json_t *j_body, const char *name, json_t *j_errors, int *value);

/* One of choices (NULL-terminated), else "\"x\" is not a valid choice.". New string or NULL. */
char *field_choice(const json_t *j_body, const char *name, int required, const char *const *choices,
		   json_t *j_errors, int *present);

/*
 * A list of strings, each read by item_rule (its name is ignored), at most
 * max_items. Item errors are keyed by index as DRF does:
 * {"tags": {"1": ["This field may not be blank."]}}. Returns the count with
 * *items a new array of new strings (free with fields_release + free), or -1
 * when absent (with "This field is required." if required) or wrong.
 */
long field_string_list(const json_t *j_body, const char *name, int required, size_t max_items,
		       const struct text_rule *item_rule, json_t *j_errors, char ***items);

/* Python's name for the type of a JSON value ("dict", "list", "str", "int", ...), as DRF says it. */
const char *json_python_type(const json_t *j);

/* Django's URLValidator for http and https, near enough: 1 if valid. */
int url_is_valid(const char *url);

/* Django's EmailValidator, near enough: 1 if valid. */
int email_is_valid(const char *email);
/* Django's UnicodeUsernameValidator: letters, digits and @ . + - _; 1 if valid. */
int username_is_valid(const char *username);
/* Number of Unicode code points of UTF-8 text. */
size_t utf8_length(const char *text);

/* Row value helpers: column by name; SQL NULL becomes JSON null. New references. */
json_t *row_text(const PGresult *res, int row, const char *column);
json_t *row_bool(const PGresult *res, int row, const char *column);
json_t *row_int(const PGresult *res, int row, const char *column);
/*
 * A timestamp column rendered by SQL as "YYYY-MM-DDTHH:MM:SS.ffffffZ", as DRF
 * writes it: a fraction of zero is left out ("...:05Z").
 */
json_t *row_timestamp(const PGresult *res, int row, const char *column);
/* The column's text, borrowed from res ("" for NULL). */
const char *row_value(const PGresult *res, int row, const char *column);

#endif
