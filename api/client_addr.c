/*
 * The client address behind trusted proxies; see client_addr.h. Reads only
 * its arguments and the settings.
 */
#include "api/client_addr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "core/util.h"

/* An address: AF_INET (4 bytes used) or AF_INET6, IPv4-mapped IPv6 turned into IPv4. */
struct addr {
	int family;
	unsigned char bytes[16];
};

static void addr_normalise(struct addr *a)
{
	static const unsigned char V4_MAPPED[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	if (a->family == AF_INET6 && !memcmp(a->bytes, V4_MAPPED, sizeof(V4_MAPPED))) {
		a->family = AF_INET;
		memmove(a->bytes, a->bytes + 12, 4);
	}
}

static int addr_from_sockaddr(const struct sockaddr *sa, struct addr *a)
{
	if (!sa)
		return -1;
	if (sa->sa_family == AF_INET) {
		a->family = AF_INET;
		memcpy(a->bytes, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		a->family = AF_INET6;
		memcpy(a->bytes, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, 16);
	} else {
		return -1;
	}
	addr_normalise(a);
	return 0;
}

static size_t colons(const char *text, size_t len)
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++)
		n += text[i] == ':';
	return n;
}

/*
 * One X-Forwarded-For entry, text[0..len) with spaces already trimmed: a bare
 * address, "[v6]" or "[v6]:port", or "a.b.c.d:port" (some proxies add the
 * port). 0, or -1 if it is none of those.
 */
static int addr_parse(const char *text, size_t len, struct addr *a)
{
	char buf[INET6_ADDRSTRLEN + 1];

	if (len && text[0] == '[') {
		const char *close = memchr(text, ']', len);
		if (!close || (close + 1 < text + len && close[1] != ':'))
			return -1;
		text++;
		len = (size_t)(close - text);
	} else if (colons(text, len) == 1) {
		len = (size_t)((const char *)memchr(text, ':', len) - text); /* a.b.c.d:port */
	}
	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, text, len);
	buf[len] = '\0';
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, buf, a->bytes) == 1)
		a->family = AF_INET;
	else if (inet_pton(AF_INET6, buf, a->bytes) == 1)
		a->family = AF_INET6;
	else
		return -1;
	addr_normalise(a);
	return 0;
}

/* The entry that ends right before end in list (start..end), spaces trimmed; *from its start. */
static size_t last_entry(const char *start, const char *end, const char **from)
{
	const char *p = end;
	while (p > start && p[-1] != ',')
		p--;
	*from = p;
	while (*from < end && (**from == ' ' || **from == '\t'))
		(*from)++;
	while (end > *from && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	return (size_t)(end - *from);
}

void client_addr_resolve(const struct config *cfg, const struct sockaddr *peer,
			 const char *forwarded, char out[CLIENT_ADDR_SIZE])
{
	struct addr client, hop;

	if (addr_from_sockaddr(peer, &client)) {
		snprintf(out, CLIENT_ADDR_SIZE, "unknown");
		return;
	}
	if (forwarded && config_proxy_trusted(cfg, client.family, client.bytes)) {
		const char *end = forwarded + strlen(forwarded);
		while (end > forwarded) {
			const char *from;
			size_t len = last_entry(forwarded, end, &from);
			if (addr_parse(from, len, &hop))
				break;
			client = hop;
			if (!config_proxy_trusted(cfg, hop.family, hop.bytes))
				break;
			end = from;
			while (end > forwarded && end[-1] != ',')
				end--;
			if (end > forwarded)
				end--; /* the comma */
		}
	}
	inet_ntop(client.family, client.bytes, out, CLIENT_ADDR_SIZE);
}

int client_addr_peer_trusted(const struct config *cfg, const struct sockaddr *peer)
{
	struct addr a;
	return !addr_from_sockaddr(peer, &a) && config_proxy_trusted(cfg, a.family, a.bytes);
}

/* The first entry of a comma-separated header, spaces trimmed: its length, *from its start. */
static size_t first_entry(const char *header, const char **from)
{
	size_t len = strcspn(header, ",");
	while (len && (*header == ' ' || *header == '\t')) {
		header++;
		len--;
	}
	while (len && (header[len - 1] == ' ' || header[len - 1] == '\t'))
		len--;
	*from = header;
	return len;
}

const char *client_addr_forwarded_proto(const char *header)
{
	const char *from;
	size_t len;

	if (!header)
		return NULL;
	len = first_entry(header, &from);
	if (len == 5 && !strncasecmp(from, "https", 5))
		return "https";
	if (len == 4 && !strncasecmp(from, "http", 4))
		return "http";
	return NULL;
}

char *client_addr_forwarded_host(const char *header)
{
	const char *from;

	if (!header)
		return NULL;
	size_t len = first_entry(header, &from);
	return xstrndup(from, len);
}
