/* Line-at-a-time logging to stderr; see log.h. */
#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static const char *const level_names[] = {"DEBUG", "INFO", "WARN", "ERROR"};

/* A setting: written once at start, before threads exist; read-only afterwards. */
static enum log_level min_level = LOG_INFO;

void log_set_level(enum log_level level)
{
	min_level = level;
}

int log_level_parse(const char *name)
{
	for (int i = 0; i < 4; i++)
		if (!strcasecmp(name, level_names[i]))
			return i;
	return -1;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	char line[2048];
	struct timespec ts;
	struct tm tm;
	size_t n;
	va_list ap;

	if (level < min_level)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
	n += (size_t)snprintf(line + n, sizeof(line) - n, ".%03ldZ %s ", ts.tv_nsec / 1000000L,
			      level_names[level]);
	va_start(ap, fmt);
	int m = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		m = 0;
	n += (size_t)m;
	if (n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	/* libpq's messages span lines; a log entry must not. */
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == ' '))
		n--;
	for (size_t i = 0; i < n; i++)
		if (line[i] == '\n' || line[i] == '\t')
			line[i] = ' ';
	line[n++] = '\n';
	/* A failed log write has nowhere better to be reported. */
	if (write(STDERR_FILENO, line, n) < 0)
		return;
}
