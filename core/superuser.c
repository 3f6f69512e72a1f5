/*
 * createsuperuser: argument and password handling for a terminal; the
 * checks are the registration's (serializers/) and the insert is models/.
 */
#include "core/superuser.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "auth/password.h"
#include "models/user.h"
#include "serializers/password.h"
#include "serializers/user.h"

/* Read a line from the terminal without echo; new string or NULL. */
static char *prompt_password(const char *prompt)
{
	struct termios old, quiet;
	char line[4097];
	int tty = isatty(STDIN_FILENO);

	fputs(prompt, stderr);
	if (tty && tcgetattr(STDIN_FILENO, &old) == 0) {
		quiet = old;
		quiet.c_lflag &= (tcflag_t)~ECHO;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	}
	char *got = fgets(line, sizeof(line), stdin);
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	if (!got)
		return NULL;
	line[strcspn(line, "\r\n")] = '\0';
	char *copy = xstrdup(line);
	explicit_bzero(line, sizeof(line));
	return copy;
}

static char *read_password(void)
{
	const char *env = getenv("DEVSEARCH_PASSWORD");
	if (env && *env)
		return xstrdup(env);
	char *first = prompt_password("Password: ");
	char *second = first ? prompt_password("Password (again): ") : NULL;
	if (!first || !second || strcmp(first, second)) {
		fprintf(stderr, "error: %s\n",
			first && second ? "the passwords do not match" : "no password given");
		free(first);
		free(second);
		return NULL;
	}
	free(second);
	return first;
}

/* Print every message of j_errors as "field: message" lines. */
static void print_errors(json_t *j_errors)
{
	const char *field;
	json_t *j_list, *j_msg;
	size_t i;
	json_object_foreach(j_errors, field, j_list) json_array_foreach(j_list, i, j_msg)
		fprintf(stderr, "error: %s: %s\n", field, json_string_value(j_msg));
}

int createsuperuser_command(const struct config *cfg, int argc, char **argv)
{
	const char *username = NULL, *email = NULL, *conflict = NULL;
	char *values[REG_FIELDS] = {0};
	char *password = NULL, *hash = NULL;
	struct password_hasher *hasher = NULL;
	struct db_conn *conn = NULL;
	struct user user = {0};
	json_t *j_body = NULL, *j_errors = NULL;
	int ret = 1;

	for (int i = 0; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--username"))
			username = argv[i + 1];
		else if (!strcmp(argv[i], "--email"))
			email = argv[i + 1];
	}
	if (!username || !email || argc != 4) {
		fprintf(stderr, "usage: devsearch createsuperuser --username U --email E\n");
		return 2;
	}
	if (!(password = read_password()))
		goto out;
	j_body = json_pack("{s:s,s:s,s:s}", "username", username, "email", email, "password",
			   password);
	j_errors = registration_read(j_body, values);
	if (json_object_size(j_errors) == 0) {
		json_t *j_messages = json_array();
		if (password_validate(password, values[REG_USERNAME], values[REG_EMAIL],
				      j_messages))
			json_object_set(j_errors, "password", j_messages);
		json_decref(j_messages);
	}
	if (json_object_size(j_errors)) {
		print_errors(j_errors);
		goto out;
	}
	hasher = password_hasher_new((unsigned)cfg->argon2_memory_kib,
				     (unsigned)cfg->argon2_time_cost,
				     (unsigned)cfg->argon2_parallelism, 1);
	if (!(hash = password_hash(hasher, password, strlen(password))))
		goto out;
	if (db_conn_open(cfg->database_direct_url, &conn) != APP_OK) {
		fprintf(stderr, "error: cannot connect to the database (check DATABASE_URL)\n");
		goto out;
	}
	enum app_err err = db_begin(conn);
	if (err == APP_OK)
		err = user_create(conn, values[REG_USERNAME], values[REG_EMAIL], hash,
				  values[REG_USERNAME], 1, &user, &conflict);
	if (err == APP_OK)
		err = db_commit(conn);
	if (err == APP_ERR_CONFLICT) {
		fprintf(stderr, "error: %s: a user with that %s already exists\n", conflict,
			conflict);
		goto out;
	}
	if (err != APP_OK) {
		fprintf(stderr, "error: the user could not be created (see the log above)\n");
		goto out;
	}
	printf("Superuser %s created.\n", user.username);
	ret = 0;
out:
	if (conn)
		db_rollback(conn);
	db_conn_free(conn);
	password_hasher_free(hasher);
	fields_release(values, REG_FIELDS);
	user_release(&user);
	json_decref(j_body);
	json_decref(j_errors);
	if (password)
		explicit_bzero(password, strlen(password));
	free(password);
	free(hash);
	return ret;
}
