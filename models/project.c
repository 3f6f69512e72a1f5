/*
 * Projects and reviews in SQL; see project.h. Every statement is a static
 * string with $n placeholders; the list's filters choose one of eight static
 * statements rather than growing SQL at run time. No JSON here.
 */
#include "models/project.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "models/profile.h"
#include "models/tag.h"

/* Timestamps as DRF writes them. */
#define PROJECT_CREATED DB_RFC3339("p.created") " AS created"
#define REVIEW_CREATED DB_RFC3339("r.created") " AS created"

#define PROJECT_COLUMNS                                                                            \
	"p.id, p.title, p.description, p.featured_image, p.demo_link, p.source_link, "             \
	"p.vote_total, p.vote_ratio, " PROJECT_CREATED ", o.id AS owner_id, "                      \
	"u.username AS owner_username, o.name AS owner_name, "                                     \
	"o.profile_image AS owner_profile_image"

#define PROJECT_OWNER_JOIN                                                                         \
	" LEFT JOIN profiles o ON o.id = p.owner_id LEFT JOIN users u ON u.id = o.user_id"

/*
 * The list. Search is the union of four index scans (trigram indexes on
 * projects.title, projects.description, profiles.name, tags.name), each
 * project once; the ids come as an array, so the projects themselves are
 * fetched through their primary key, never by scanning the table.
 */
#define BY_SEARCH(n)                                                                               \
	"p.id = ANY (ARRAY("                                                                       \
	"SELECT id FROM projects WHERE title ILIKE " n                                             \
	" UNION SELECT id FROM projects WHERE description ILIKE " n                                \
	" UNION SELECT sp.id FROM profiles so JOIN projects sp ON sp.owner_id = so.id"             \
	" WHERE so.name ILIKE " n " UNION SELECT spt.project_id FROM tags st"                      \
	" JOIN project_tags spt ON spt.tag_id = st.id WHERE st.name ILIKE " n "))"
#define BY_TAG(n)                                                                                  \
	"p.id = ANY (ARRAY(SELECT tpt.project_id FROM tags tt"                                     \
	" JOIN project_tags tpt ON tpt.tag_id = tt.id WHERE lower(tt.name) = lower(" n ")))"
#define BY_OWNER(n) "p.owner_id = " n "::uuid"

#define LIST(where, limit, offset)                                                                 \
	"SELECT " PROJECT_COLUMNS                                                                  \
	", count(*) OVER () AS total_count FROM projects p" PROJECT_OWNER_JOIN where               \
	" ORDER BY p.vote_ratio DESC, p.vote_total DESC, p.title, p.id LIMIT " limit               \
	" OFFSET " offset

/*
 * Unfiltered, the page's ids come straight off the sort-order index and only
 * those rows are joined; the count is the trigger-kept row_counts row (0002).
 */
#define LIST_ALL                                                                                   \
	"SELECT " PROJECT_COLUMNS ", (SELECT n FROM row_counts WHERE name = 'projects')"           \
	" AS total_count FROM (SELECT id FROM projects"                                            \
	" ORDER BY vote_ratio DESC, vote_total DESC, title, id LIMIT $1 OFFSET $2) page"           \
	" JOIN projects p ON p.id = page.id" PROJECT_OWNER_JOIN                                    \
	" ORDER BY p.vote_ratio DESC, p.vote_total DESC, p.title, p.id"

/* Indexed by enum project_filter_bits. */
static const char *const SQL_LIST[8] = {
	LIST_ALL,
	LIST(" WHERE " BY_SEARCH("$1"), "$2", "$3"),
	LIST(" WHERE " BY_TAG("$1"), "$2", "$3"),
	LIST(" WHERE " BY_SEARCH("$1") " AND " BY_TAG("$2"), "$3", "$4"),
	LIST(" WHERE " BY_OWNER("$1"), "$2", "$3"),
	LIST(" WHERE " BY_SEARCH("$1") " AND " BY_OWNER("$2"), "$3", "$4"),
	LIST(" WHERE " BY_TAG("$1") " AND " BY_OWNER("$2"), "$3", "$4"),
	LIST(" WHERE " BY_SEARCH("$1") " AND " BY_TAG("$2") " AND " BY_OWNER("$3"), "$4", "$5"),
};

static const char SQL_BY_IDS[] =
	"SELECT " PROJECT_COLUMNS " FROM unnest($1::uuid[]) WITH ORDINALITY AS wanted(id, n) "
	"JOIN projects p ON p.id = wanted.id" PROJECT_OWNER_JOIN " ORDER BY wanted.n";

static const char SQL_TAGS[] =
	"SELECT pt.project_id, t.id, t.name FROM project_tags pt JOIN tags t ON t.id = pt.tag_id "
	"WHERE pt.project_id = ANY ($1::uuid[]) ORDER BY pt.project_id, t.name, t.id";

/*
 * Each review's owner through its primary key: as a plain join, the generic
 * plan of a prepared statement (which cannot size "= ANY ($1)") hash-joins a
 * scan of every profile, a cost that grows with the site. OFFSET 0 keeps the
 * lateral subquery from being flattened back into that join.
 */
static const char SQL_REVIEWS[] =
	"SELECT r.project_id, r.id, r.body, r.value, " REVIEW_CREATED ", o.id AS owner_id, "
	"o.username AS owner_username, o.name AS owner_name FROM reviews r "
	"CROSS JOIN LATERAL (SELECT po.id, uo.username, po.name FROM profiles po "
	"JOIN users uo ON uo.id = po.user_id WHERE po.id = r.owner_id OFFSET 0) o "
	"WHERE r.project_id = ANY ($1::uuid[]) ORDER BY r.project_id, r.created, r.id";

static const char SQL_LOCK[] = "SELECT owner_id FROM projects WHERE id = $1 FOR NO KEY UPDATE";
static const char SQL_OWNER[] = "SELECT owner_id FROM projects WHERE id = $1";

static const char SQL_INSERT[] =
	"INSERT INTO projects (owner_id, title, description, featured_image, demo_link, "
	"source_link) VALUES ($1, $2, coalesce($3, ''), coalesce($4, ''), coalesce($5, ''), "
	"coalesce($6, '')) RETURNING id";

static const char SQL_UPDATE[] =
	"UPDATE projects SET title = coalesce($2, title), description = coalesce($3, description), "
	"featured_image = coalesce($4, featured_image), demo_link = coalesce($5, demo_link), "
	"source_link = coalesce($6, source_link) WHERE id = $1 RETURNING id";

static const char SQL_DELETE[] = "DELETE FROM projects WHERE id = $1 RETURNING featured_image";

/*
 * Through projects: a project deleted meanwhile inserts nothing (404, not an
 * FK error), nor does one owned by the voter (403).
 */
static const char SQL_VOTE[] =
	"INSERT INTO reviews (owner_id, project_id, value, body) "
	"SELECT $2::uuid, p.id, $3, $4 FROM projects p "
	"WHERE p.id = $1 AND p.owner_id IS DISTINCT FROM $2::uuid "
	"ON CONFLICT ON CONSTRAINT reviews_one_per_owner_project "
	"DO UPDATE SET value = EXCLUDED.value, body = EXCLUDED.body RETURNING id";

const char *project_list_sql(unsigned bits)
{
	return SQL_LIST[bits & 7];
}

void project_rows_clear(struct project_rows *rows)
{
	PQclear(rows->projects);
	PQclear(rows->tags);
	PQclear(rows->reviews);
	memset(rows, 0, sizeof(*rows));
}

/* Tags and reviews of the projects in out->projects, one query each. */
static enum app_err fetch_relations(struct db_conn *conn, struct project_rows *out)
{
	struct strbuf array = STRBUF_INIT;
	int n = PQntuples(out->projects);
	int col = PQfnumber(out->projects, "id");
	const char **ids = xcalloc((size_t)n + 1, sizeof(*ids));
	enum app_err err;

	for (int i = 0; i < n; i++)
		ids[i] = PQgetvalue(out->projects, i, col);
	uuid_array_literal(&array, ids, (size_t)n);
	const char *params[] = {strbuf_str(&array)};
	const struct db_statement batch[] = {
		{SQL_TAGS, 1, params, &out->tags},
		{SQL_REVIEWS, 1, params, &out->reviews},
	};
	err = db_exec_many(conn, batch, 2);
	strbuf_release(&array);
	free(ids);
	return err;
}

enum app_err project_fetch(struct db_conn *conn, const char *const *ids, size_t n,
			   struct project_rows *out)
{
	struct strbuf array = STRBUF_INIT;
	enum app_err err;

	memset(out, 0, sizeof(*out));
	uuid_array_literal(&array, ids, n);
	const char *params[] = {strbuf_str(&array)};
	/* The ids are known: the projects and their relations in one round trip. */
	const struct db_statement batch[] = {
		{SQL_BY_IDS, 1, params, &out->projects},
		{SQL_TAGS, 1, params, &out->tags},
		{SQL_REVIEWS, 1, params, &out->reviews},
	};
	err = db_exec_many(conn, batch, 3);
	if (err != APP_OK)
		project_rows_clear(out);
	strbuf_release(&array);
	return err;
}

enum app_err project_list(struct db_conn *conn, const struct project_filter *filter,
			  const char *limit, const char *offset, struct project_rows *out)
{
	struct strbuf pattern = STRBUF_INIT;
	const char *params[5];
	unsigned bits = 0;
	int n = 0;
	enum app_err err;

	memset(out, 0, sizeof(*out));
	if (filter->search && *filter->search) {
		db_like_pattern(&pattern, filter->search);
		params[n++] = strbuf_str(&pattern);
		bits |= PROJECT_BY_SEARCH;
	}
	if (filter->tag && *filter->tag) {
		params[n++] = filter->tag;
		bits |= PROJECT_BY_TAG;
	}
	if (filter->owner && *filter->owner) {
		params[n++] = filter->owner;
		bits |= PROJECT_BY_OWNER;
	}
	params[n++] = limit;
	params[n++] = offset;
	err = db_exec(conn, SQL_LIST[bits], n, params, &out->projects);
	if (err == APP_OK)
		err = fetch_relations(conn, out);
	if (err != APP_OK)
		project_rows_clear(out);
	strbuf_release(&pattern);
	return err;
}

/* The owner column of a one-row result into owner ("" for NULL); NOT_FOUND without a row. */
static enum app_err read_owner(struct db_conn *conn, const char *sql, const char *id,
			       char owner[37])
{
	PGresult *res = NULL;
	const char *params[] = {id};
	enum app_err err = db_exec(conn, sql, 1, params, &res);

	owner[0] = '\0';
	if (err == APP_OK && PQntuples(res) == 0)
		err = APP_ERR_NOT_FOUND;
	if (err == APP_OK && !PQgetisnull(res, 0, 0))
		snprintf(owner, 37, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	return err;
}

enum app_err project_lock(struct db_conn *conn, const char *id, char owner[37])
{
	return read_owner(conn, SQL_LOCK, id, owner);
}

enum app_err project_owner(struct db_conn *conn, const char *id, char owner[37])
{
	return read_owner(conn, SQL_OWNER, id, owner);
}

enum app_err project_insert(struct db_conn *conn, const char *owner_id,
			    const struct project_values *values, char id[37])
{
	PGresult *res = NULL;
	const char *params[] = {
		owner_id,          values->title,      values->description, values->featured_image,
		values->demo_link, values->source_link};
	enum app_err err = db_exec(conn, SQL_INSERT, 6, params, &res);
	if (err == APP_OK)
		snprintf(id, 37, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	return err;
}

/* Run a statement that RETURNING one row per affected project; none is NOT_FOUND. */
static enum app_err exec_one_row(struct db_conn *conn, const char *sql, int n,
				 const char *const *params)
{
	PGresult *res = NULL;
	enum app_err err = db_exec(conn, sql, n, params, &res);
	if (err == APP_OK && PQntuples(res) == 0)
		err = APP_ERR_NOT_FOUND;
	PQclear(res);
	return err;
}

enum app_err project_update(struct db_conn *conn, const char *id,
			    const struct project_values *values)
{
	const char *params[] = {id,
				values->title,
				values->description,
				values->featured_image,
				values->demo_link,
				values->source_link};
	return exec_one_row(conn, SQL_UPDATE, 6, params);
}

enum app_err project_delete(struct db_conn *conn, const char *id, char **image)
{
	const char *params[] = {id};
	PGresult *res = NULL;
	enum app_err err = db_exec(conn, SQL_DELETE, 1, params, &res);

	*image = NULL;
	if (err == APP_OK && PQntuples(res) == 0)
		err = APP_ERR_NOT_FOUND;
	if (err == APP_OK)
		*image = xstrdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return err;
}

enum app_err project_vote_and_fetch(struct db_conn *conn, const char *project_id,
				    const char *voter_id, const char *value, const char *body,
				    int *voted, struct project_rows *out)
{
	PGresult *vote = NULL;
	struct strbuf array = STRBUF_INIT;
	const char *vote_params[] = {project_id, voter_id, value, body};

	memset(out, 0, sizeof(*out));
	uuid_array_literal(&array, &project_id, 1);
	const char *params[] = {strbuf_str(&array)};
	/* Later statements of a batch see the earlier ones' writes: the new counters. */
	const struct db_statement batch[] = {
		{SQL_VOTE, 4, vote_params, &vote},
		{SQL_BY_IDS, 1, params, &out->projects},
		{SQL_TAGS, 1, params, &out->tags},
		{SQL_REVIEWS, 1, params, &out->reviews},
	};
	enum app_err err = db_exec_many(conn, batch, 4);
	*voted = err == APP_OK && PQntuples(vote) == 1;
	PQclear(vote);
	strbuf_release(&array);
	return err;
}

const char *project_row_owner(const struct project_rows *rows, int row)
{
	return PQgetvalue(rows->projects, row, PQfnumber(rows->projects, "owner_id"));
}
