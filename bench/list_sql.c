/*
 * Prints the SQL that one unfiltered `GET /api/projects?page=N` runs, for the
 * database ceiling of `make bench` (a pgbench script). api/projects.c's
 * get_projects() calls project_list() with no filter: the page statement
 * (project_list_sql(0), parameters $1 = limit, $2 = offset), then
 * fetch_relations(): SQL_TAGS and SQL_REVIEWS, each with $1 = the page's ids
 * as a uuid[] literal. models/project.c is included, not linked, so the text
 * printed is the server's own and cannot drift from a copy. Not part of the
 * server.
 *
 * Output: four lines, each one statement (none contains a newline):
 * list, tags, reviews, and the detail's project by id array (project_fetch()
 * sends it with tags and reviews: the detail's database ceiling).
 */
#include "models/project.c"

static int print_statement(const char *sql)
{
	if (strchr(sql, '\n')) {
		fprintf(stderr,
			"list_sql: a statement spans lines; bench/run.sh expects one each\n");
		return -1;
	}
	return printf("%s\n", sql) < 0 ? -1 : 0;
}

int main(void)
{
	if (print_statement(project_list_sql(0)) || print_statement(SQL_TAGS) ||
	    print_statement(SQL_REVIEWS) || print_statement(SQL_BY_IDS))
		return 1;
	return fflush(stdout) ? 1 : 0;
}
