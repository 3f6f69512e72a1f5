/*
 * Django's list of common passwords (its CommonPasswordValidator's default),
 * compiled in from $(BUILD)/gen/common_passwords.c, which
 * scripts/common-passwords.sh generates from Debian's python3-django package.
 * Entries are lowercased, trimmed, unique and sorted bytewise: search them with
 * bsearch() and strcmp(). Read-only, shared by every thread.
 */
#ifndef DEVSEARCH_COMMON_PASSWORDS_H
#define DEVSEARCH_COMMON_PASSWORDS_H

#include <stddef.h>

extern const char *const common_passwords[];
extern const size_t common_passwords_count;

#endif
