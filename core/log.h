/*
 * Log lines on stderr: "2026-11-21T10:14:18.123Z LEVEL message". One write per
 * line, so lines of concurrent threads never interleave.
 */
#ifndef DEVSEARCH_LOG_H
#define DEVSEARCH_LOG_H

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

__attribute__((format(printf, 2, 3))) void log_msg(enum log_level level, const char *fmt, ...);

/*
 * Drop lines below level from now on. Called once at start, before any thread
 * exists (the LOG_LEVEL setting); the default is LOG_INFO.
 */
void log_set_level(enum log_level level);

/* "debug", "info", "warn", "error" -> level; -1 if none of them. */
int log_level_parse(const char *name);

#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
