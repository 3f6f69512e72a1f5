/* Bookkeeping of password reset tokens: issued (by digest) and used once. */
#ifndef DEVSEARCH_MODELS_RESET_H
#define DEVSEARCH_MODELS_RESET_H

#include "models/db.h"

/* Record an issued token's digest for user_id, valid until expires_at (Unix seconds). */
enum app_err reset_record(struct db_conn *conn, const char *user_id, const char *digest,
			  long expires_at);

/*
 * Mark the token used, in the caller's transaction. APP_ERR_NOT_FOUND if it
 * was never issued to user_id, was used already or has expired.
 */
enum app_err reset_use(struct db_conn *conn, const char *user_id, const char *digest);

#endif
