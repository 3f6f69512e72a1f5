/*
 * Who the client of a request is: the TCP peer, or, when the peer is one of
 * TRUSTED_PROXIES, the address its proxies wrote in X-Forwarded-For; and the
 * scheme and host such a proxy says the client used (X-Forwarded-Proto,
 * X-Forwarded-Host). Pure functions of their arguments; knows nothing of ulfius.
 */
#ifndef DEVSEARCH_API_CLIENT_ADDR_H
#define DEVSEARCH_API_CLIENT_ADDR_H

#include "core/config.h"

/* Room for any address as text (an IPv6 address is at most 45 characters) and its NUL. */
#define CLIENT_ADDR_SIZE 64

/*
 * The client's address as text into out. peer is the TCP peer (NULL, or not
 * AF_INET/AF_INET6: "unknown"); forwarded is the X-Forwarded-For header
 * (NULL: none). When the peer is trusted, the entries of forwarded are read
 * from the right, each proxy having appended the address it was called from:
 * the first one that is not itself trusted is the client. An entry that is
 * not an address (a name, "unknown", garbage) ends the walk: the client is
 * then the last trusted hop, never a value that hop may have been handed.
 * When every entry is trusted, the left-most one is the client. Addresses are
 * written as inet_ntop() writes them (IPv4-mapped IPv6 as IPv4).
 */
struct sockaddr;
void client_addr_resolve(const struct config *cfg, const struct sockaddr *peer,
			 const char *forwarded, char out[CLIENT_ADDR_SIZE]);

/* 1 if peer (NULL, or not AF_INET/AF_INET6: never) is one of TRUSTED_PROXIES. */
int client_addr_peer_trusted(const struct config *cfg, const struct sockaddr *peer);

/*
 * The scheme an X-Forwarded-Proto header names (NULL: none): "http" or
 * "https" (static strings) when its first comma-separated entry, spaces
 * trimmed, is one of them in any case; NULL for anything else. The caller
 * asks only of a trusted peer's header.
 */
const char *client_addr_forwarded_proto(const char *header);

/*
 * The first comma-separated entry of an X-Forwarded-Host header, spaces
 * trimmed, as a new string (caller free()s; "" if that entry is empty), or
 * NULL when header is NULL. Not validated: the caller checks it as a Host.
 */
char *client_addr_forwarded_host(const char *header);

#endif
