/* Skills: request bodies to values (DRF's SkillSerializer rules) and rows to JSON. No SQL. */
#ifndef DEVSEARCH_SERIALIZERS_SKILL_H
#define DEVSEARCH_SERIALIZERS_SKILL_H

#include <jansson.h>
#include <libpq-fe.h>

enum skill_field { SKILL_NAME, SKILL_DESCRIPTION, SKILL_FIELDS };

/* The duplicate-name message, for the handler's check and for a lost race. */
#define SKILL_NAME_TAKEN "You already have a skill with this name."

/*
 * Read name (required unless partial; not blank; at most 200 characters) and
 * description (optional, may be blank) of j_body (borrowed) into
 * values[SKILL_FIELDS] (new strings, NULL when absent or wrong; release with
 * fields_release). Returns the errors object (new reference), empty if none.
 */
json_t *skill_read(const json_t *j_body, int partial, char **values);

/* {id, name, description, created} of row of res (columns of models/skill.h). New reference. */
json_t *skill_to_json(const PGresult *res, int row);

#endif
