/* SPDX-License-Identifier: Apache-2.0 */
/* Trusted proxies: the real client behind nginx, believed only from them. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "yima/err.h"

#include "../codegen/err-private.h"
#include "proxy.h"

/* A textual IPv4 or IPv6 address as 16 bytes; 0, or -1. */
static int
addr16(const char *s, unsigned char out[16])
{
	unsigned char v4[4];

	if (inet_pton(AF_INET, s, v4) == 1) {
		memset(out, 0, 10);
		out[10] = out[11] = 0xff;
		memcpy(out + 12, v4, 4);
		return 0;
	}
	return inet_pton(AF_INET6, s, out) == 1 ? 0 : -1;
}

static int
in_cidr(const struct api_cidr *c, const unsigned char a[16])
{
	int full = c->bits / 8, rest = c->bits % 8;
	unsigned char mask;

	if (memcmp(c->addr, a, (size_t)full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	mask = (unsigned char)(0xff << (8 - rest));
	return (c->addr[full] & mask) == (a[full] & mask);
}

int
api_proxies_parse(const char *spec, struct api_proxies *p, char *why)
{
	char buf[64], *slash, *end;
	const char *s = spec, *comma;
	struct api_cidr *c;
	unsigned char v4[4];
	size_t n;
	long bits;
	int is4;

	p->n = 0;
	for (;;) {
		comma = strchr(s, ',');
		n = comma != NULL ? (size_t)(comma - s) : strlen(s);
		if (n == 0 || n >= sizeof(buf) || p->n == API_PROXIES_MAX)
			goto bad;
		memcpy(buf, s, n);
		buf[n] = '\0';
		if ((slash = strchr(buf, '/')) != NULL)
			*slash = '\0';
		is4 = inet_pton(AF_INET, buf, v4) == 1;
		c = &p->cidr[p->n];
		if (addr16(buf, c->addr) != 0)
			goto bad;
		bits = is4 ? 32 : 128;
		if (slash != NULL) {
			bits = strtol(slash + 1, &end, 10);
			if (slash[1] == '\0' || *end != '\0' || bits < 0 ||
			    bits > (is4 ? 32 : 128) || !isdigit(
			    (unsigned char)slash[1]))
				goto bad;
		}
		c->bits = (int)bits + (is4 ? 96 : 0);
		p->n++;
		if (comma == NULL)
			return 0;
		s = comma + 1;
	}
bad:
	p->n = 0;
	return yima_why_(why, YIMA_EINVAL, "--trusted-proxy takes up to %d "
	    "addresses or CIDRs, comma-separated (127.0.0.1/32,::1)",
	    API_PROXIES_MAX);
}

int
api_proxies_trust(const struct api_proxies *p, const char *addr)
{
	unsigned char a[16];
	size_t i;

	if (p->n == 0 || addr16(addr, a) != 0)
		return 0;
	for (i = 0; i < p->n; i++)
		if (in_cidr(&p->cidr[i], a))
			return 1;
	return 0;
}

/*
 * A node of a hop list in place: "1.2.3.4", "1.2.3.4:80", "[::1]:80",
 * "::1", optionally quoted. The address is left in s; 0, or -1.
 */
static int
node_addr(char *s)
{
	unsigned char a[16];
	char *p, *colon;
	size_t n;

	while (*s == ' ' || *s == '\t')
		memmove(s, s + 1, strlen(s));
	n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
		s[n - 1] = '\0';
		memmove(s, s + 1, n - 1);
	}
	if (s[0] == '[') {
		if ((p = strchr(s, ']')) == NULL)
			return -1;
		*p = '\0';
		memmove(s, s + 1, strlen(s + 1) + 1);
	} else if ((colon = strchr(s, ':')) != NULL &&
	    strchr(colon + 1, ':') == NULL)
		*colon = '\0';	/* IPv4 with a port */
	return addr16(s, a);
}

/* In a Forwarded element, the value of param (for, proto) or NULL. */
static char *
param(char *elem, const char *name)
{
	size_t n = strlen(name);
	char *p, *save = NULL;

	for (p = strtok_r(elem, ";", &save); p != NULL;
	    p = strtok_r(NULL, ";", &save)) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (strncasecmp(p, name, n) == 0 && p[n] == '=')
			return p + n + 1;
	}
	return NULL;
}

void
api_proxy_client(const struct api_proxies *p, const char *hops,
    char *client, size_t len, int *https)
{
	char buf[API_HOPS_MAX + 1], elem[256], tmp[256], *e, *v;
	size_t n;
	int newest = 1;

	if (hops == NULL)
		return;
	/* Only the newest bytes matter: the proxies' own are at the end. */
	n = strlen(hops);
	if (n > API_HOPS_MAX)
		hops += n - API_HOPS_MAX;
	snprintf(buf, sizeof(buf), "%s", hops);
	for (;;) {
		e = strrchr(buf, ',');
		v = e != NULL ? e + 1 : buf;
		if (strlen(v) >= sizeof(elem))
			return;	/* no address is that long */
		memcpy(elem, v, strlen(v) + 1);
		v = elem;
		if (p->header == API_PROXY_FORWARDED) {
			if (newest && https != NULL) {
				memcpy(tmp, elem, strlen(elem) + 1);
				if ((v = param(tmp, "proto")) != NULL)
					*https = strncasecmp(v, "https", 5) ==
					    0 || strncasecmp(v, "\"https", 6) ==
					    0;
			}
			if ((v = param(elem, "for")) == NULL)
				return;
		}
		newest = 0;
		if (node_addr(v) != 0 || strlen(v) >= len)
			return;
		snprintf(client, len, "%s", v);
		if (!api_proxies_trust(p, client) || e == NULL)
			return;
		*e = '\0';
	}
}
