/*
 * `devsearch flushexpiredtokens` (SimpleJWT's command) and the same flush run
 * by `serve` every FLUSH_INTERVAL seconds on a thread of its own. What is
 * deleted is models/flush.h's; here are the lock, the connection and the
 * schedule. Of several servers (and commands) only one flushes at a time,
 * under a PostgreSQL advisory lock; the others skip their turn.
 */
#ifndef DEVSEARCH_CORE_FLUSH_H
#define DEVSEARCH_CORE_FLUSH_H

#include "core/config.h"

/* Rows per statement: each batch is its own short transaction. */
#define FLUSH_BATCH 10000

/*
 * Flush once on DATABASE_DIRECT_URL and print one line with the counts (or
 * that another flush holds the lock: nothing done, exit status 0 too).
 * Returns the exit status: 0, 1 on a database error, 2 for bad arguments.
 */
int flushexpiredtokens_command(const struct config *cfg, int argc, char **argv);

struct flusher;

/*
 * Start the thread that flushes at once and then every FLUSH_INTERVAL
 * seconds, each time on a new connection to DATABASE_DIRECT_URL (the
 * advisory lock needs a session of its own, which a transaction pooler does
 * not give; and a long flush takes no slot from the requests' pool). 0 with
 * *out set (NULL when FLUSH_INTERVAL is 0), or -1 if the thread could not
 * be started. cfg is borrowed and must outlive the flusher.
 */
int flusher_start(const struct config *cfg, struct flusher **out);

/* Stop the thread (a flush under way stops after its current batch) and free. NULL is fine. */
void flusher_stop(struct flusher *flusher);

#endif
