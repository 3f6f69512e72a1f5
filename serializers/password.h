/*
 * Password rules: Django's four default password validators, worded as in
 * Django 3.2, so clients of the Django version see the same messages.
 */
#ifndef DEVSEARCH_SERIALIZERS_PASSWORD_H
#define DEVSEARCH_SERIALIZERS_PASSWORD_H

#include <jansson.h>
#include <stddef.h>

/*
 * Check password (UTF-8, NUL-terminated) against, in Django's order:
 * - UserAttributeSimilarityValidator: "The password is too similar to the username."
 *   and "... to the email address." (at most one message each);
 * - MinimumLengthValidator: "This password is too short. It must contain at least
 *   8 characters." (counted in code points);
 * - CommonPasswordValidator: "This password is too common." (serializers/common_passwords.h);
 * - NumericPasswordValidator: "This password is entirely numeric."
 * and append to the JSON array j_messages (borrowed) one new string per failed
 * rule. username and email (borrowed) may be NULL or empty: that attribute is
 * then not compared. Returns how many messages were appended (0: acceptable).
 *
 * Case folding and "digit" follow Python for ASCII, Latin-1, basic Greek and
 * Cyrillic and the common digit sets; other scripts compare as written.
 */
size_t password_validate(const char *password, const char *username, const char *email,
			 json_t *j_messages);

#endif
