/* SPDX-License-Identifier: Apache-2.0 */
/* Trusted proxies: the real client behind nginx, believed only from them. */
#ifndef API_PROXY_H
#define API_PROXY_H

#include <stddef.h>

#define API_PROXIES_MAX	16	/* CIDRs in --trusted-proxy */
#define API_HOPS_MAX	2048	/* forwarding header bytes looked at */

struct api_cidr {
	unsigned char	addr[16];	/* IPv4 as ::ffff:a.b.c.d */
	int		bits;		/* prefix length over the 128 */
};

enum api_proxy_header {
	API_PROXY_XFF,		/* X-Forwarded-For, X-Forwarded-Proto */
	API_PROXY_FORWARDED	/* RFC 7239 Forwarded: for=, proto= */
};

struct api_proxies {
	struct api_cidr		cidr[API_PROXIES_MAX];
	size_t			n;	/* 0: no proxy is trusted */
	enum api_proxy_header	header;
};

/*
 * Parses "CIDR[,CIDR...]" (an address alone is a /32 or /128) into p,
 * keeping p->header. Returns 0 or YIMA_EINVAL with why.
 */
int api_proxies_parse(const char *spec, struct api_proxies *p, char *why);

/* 1 if the textual address lies in one of p's ranges. */
int api_proxies_trust(const struct api_proxies *p, const char *addr);

/*
 * The client behind a trusted peer: hops is the forwarding header's
 * value (the proxies' list, comma-separated, oldest first). Walks it
 * from the right while the hops are trusted proxies and writes the
 * first untrusted address (or the oldest, if all are trusted) to
 * client; an unparsable hop ends the walk. client holds peer on entry
 * and is left alone if nothing in hops can be believed. For the
 * Forwarded header, *https (may be NULL) is set from the newest hop's
 * proto=.
 */
void api_proxy_client(const struct api_proxies *p, const char *hops,
    char *client, size_t len, int *https);

#endif /* API_PROXY_H */
