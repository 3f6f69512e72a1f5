/*
 * The HTTP ceiling of `make bench`: libmicrohttpd set up as core/server.c sets
 * it up for the API (poll, internal thread pool, same connection timeout),
 * answering every GET with one constant body (a real list page saved from the
 * API). No routing, no JSON, no database: what is left is MHD and the kernel.
 * Not part of the server; only bench/run.sh starts it.
 *
 *   ceiling_http PORT BODY_FILE [THREADS]   (THREADS default 2)
 *
 * Listens on 127.0.0.1 only. Prints one line once it listens, then serves
 * until SIGINT or SIGTERM.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The whole file in a new malloc()ed buffer (caller frees); NULL on failure. */
static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL, *ret = NULL;
	long size;

	if (!f)
		goto out;
	if (fseek(f, 0, SEEK_END) || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET))
		goto out;
	if (!(buf = malloc((size_t)size + 1)))
		goto out;
	if (fread(buf, 1, (size_t)size, f) != (size_t)size)
		goto out;
	*len = (size_t)size;
	ret = buf;
	buf = NULL;
out:
	free(buf);
	if (f)
		fclose(f);
	return ret;
}

/* A whole number from lo to hi, or -1. */
static long parse_number(const char *text, long lo, long hi)
{
	char *end;
	errno = 0;
	long n = strtol(text, &end, 10);
	if (errno || end == text || *end || n < lo || n > hi)
		return -1;
	return n;
}

/* Every GET gets the shared response (MHD counts its references itself). */
static enum MHD_Result answer(void *cls, struct MHD_Connection *connection, const char *url,
			      const char *method, const char *version, const char *upload_data,
			      size_t *upload_data_size, void **con_cls)
{
	struct MHD_Response *response = cls;
	(void)url;
	(void)version;
	(void)upload_data;
	(void)con_cls;
	if (strcmp(method, MHD_HTTP_METHOD_GET) || *upload_data_size)
		return MHD_NO;
	return MHD_queue_response(connection, MHD_HTTP_OK, response);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	fputs("ceiling_http: ", stderr);
	vfprintf(stderr, fmt, ap);
}

int main(int argc, char **argv)
{
	struct MHD_Response *response = NULL;
	struct MHD_Daemon *daemon = NULL;
	struct sockaddr_in addr;
	sigset_t signals;
	char *body = NULL;
	size_t len = 0;
	long port, threads = 2;
	int sig, ret = 1;

	if (argc < 3 || argc > 4 || (port = parse_number(argv[1], 1, 65535)) < 0 ||
	    (argc == 4 && (threads = parse_number(argv[3], 1, 64)) < 0)) {
		fprintf(stderr, "usage: %s PORT BODY_FILE [THREADS]\n", argv[0]);
		return 2;
	}
	if (!(body = read_file(argv[2], &len))) {
		fprintf(stderr, "ceiling_http: cannot read \"%s\": %s\n", argv[2], strerror(errno));
		goto out;
	}
	response = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_PERSISTENT);
	if (!response || MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE,
						 "application/json") != MHD_YES) {
		fprintf(stderr, "ceiling_http: cannot create the response\n");
		goto out;
	}

	/* Blocked here, so MHD's threads inherit the mask and sigwait() gets them. */
	sigemptyset(&signals);
	sigaddset(&signals, SIGINT);
	sigaddset(&signals, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &signals, NULL);

	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_port = htons((uint16_t)port);
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	struct MHD_OptionItem options[] = {
		{MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)mhd_log, NULL},
		{MHD_OPTION_SOCK_ADDR, 0, &addr},
		{MHD_OPTION_THREAD_POOL_SIZE, (intptr_t)threads, NULL},
		{MHD_OPTION_CONNECTION_TIMEOUT, 60, NULL},
		{MHD_OPTION_END, 0, NULL},
	};
	daemon = MHD_start_daemon(MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG,
				  (uint16_t)port, NULL, NULL, answer, response, MHD_OPTION_ARRAY,
				  options, MHD_OPTION_END);
	if (!daemon) {
		fprintf(stderr, "ceiling_http: cannot listen on 127.0.0.1:%ld\n", port);
		goto out;
	}
	printf("ceiling_http: serving %zu bytes on 127.0.0.1:%ld with %ld threads\n", len, port,
	       threads);
	fflush(stdout);
	if (sigwait(&signals, &sig) == 0)
		ret = 0;
out:
	if (daemon)
		MHD_stop_daemon(daemon);
	if (response)
		MHD_destroy_response(response);
	free(body);
	return ret;
}
