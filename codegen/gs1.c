/* SPDX-License-Identifier: Apache-2.0 */
/* GS1 syntax (gs1.h): the AI table, Digital Link paths and queries. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "yima/err.h"
#include "yima/gs1.h"
#include "yima/validate.h"

#include "err-private.h"

enum { AI_CHECK = 1, AI_DATE = 2, AI_KEY = 4, AI_QUAL = 8 };

/* The AIs yima accepts, with GS1's format for each. */
static const struct ai {
	const char	*ai;
	const char	*title;		/* GS1's data title */
	char		 type;		/* 'N' digits, 'X' character set 82 */
	unsigned char	 min, max;
	int		 flags;
	const char	*quals;		/* a key's qualifiers, in order */
} ais[] = {
	{ "00", "SSCC", 'N', 18, 18, AI_CHECK | AI_KEY, "" },
	{ "01", "GTIN", 'N', 14, 14, AI_CHECK | AI_KEY, "22 10 21" },
	{ "02", "CONTENT", 'N', 14, 14, AI_CHECK, NULL },
	{ "10", "BATCH/LOT", 'X', 1, 20, AI_QUAL, NULL },
	{ "11", "PROD DATE", 'N', 6, 6, AI_DATE, NULL },
	{ "13", "PACK DATE", 'N', 6, 6, AI_DATE, NULL },
	{ "15", "BEST BEFORE or BEST BY", 'N', 6, 6, AI_DATE, NULL },
	{ "16", "SELL BY", 'N', 6, 6, AI_DATE, NULL },
	{ "17", "USE BY or EXPIRY", 'N', 6, 6, AI_DATE, NULL },
	{ "21", "SERIAL", 'X', 1, 20, AI_QUAL, NULL },
	{ "22", "CPV", 'X', 1, 20, AI_QUAL, NULL },
	{ "254", "GLN EXTENSION COMPONENT", 'X', 1, 20, AI_QUAL, NULL },
	{ "37", "COUNT", 'N', 1, 8, 0, NULL },
	{ "3103", "NET WEIGHT (kg)", 'N', 6, 6, 0, NULL },
	{ "3922", "PRICE", 'N', 1, 15, 0, NULL },
	{ "91", "INTERNAL", 'X', 1, 90, 0, NULL },
	{ "92", "INTERNAL", 'X', 1, 90, 0, NULL },
	{ "93", "INTERNAL", 'X', 1, 90, 0, NULL },
	{ "94", "INTERNAL", 'X', 1, 90, 0, NULL },
	{ "95", "INTERNAL", 'X', 1, 90, 0, NULL },
	{ "96", "INTERNAL", 'X', 1, 90, 0, NULL },
	{ "97", "INTERNAL", 'X', 1, 90, 0, NULL },
	{ "98", "INTERNAL", 'X', 1, 90, 0, NULL },
	{ "99", "INTERNAL", 'X', 1, 90, 0, NULL },
	{ "414", "LOC No.", 'N', 13, 13, AI_CHECK | AI_KEY, "254" },
};

static const struct ai *
ai_find(const char *ai, size_t n)
{
	size_t i;

	for (i = 0; i < sizeof(ais) / sizeof(ais[0]); i++)
		if (strlen(ais[i].ai) == n && memcmp(ais[i].ai, ai, n) == 0)
			return &ais[i];
	return NULL;
}

int
yima_gs1_check_digit(const char *digits, size_t n)
{
	size_t i;
	int sum = 0;

	if (n < 2)
		return 0;
	/* Weights 3, 1, 3, ... from the right, the check digit left out. */
	for (i = 0; i < n - 1; i++)
		sum += (digits[n - 2 - i] - '0') * (i % 2 == 0 ? 3 : 1);
	return digits[n - 1] - '0' == (10 - sum % 10) % 10;
}

int
yima_gs1_cset82(const char *s, size_t max)
{
	static const char set82[] = "!\"%&'()*+,-./0123456789:;<=>?"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz";
	size_t n = strlen(s);

	return n >= 1 && n <= max && strspn(s, set82) == n;
}

/* YYMMDD; DD may be 00 (the month's end), as GS1 allows. */
static int
date_ok(const char *s)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };
	int y = (s[0] - '0') * 10 + s[1] - '0';
	int m = (s[2] - '0') * 10 + s[3] - '0';
	int d = (s[4] - '0') * 10 + s[5] - '0';

	if (m < 1 || m > 12)
		return 0;
	if (m == 2 && d == 29 && y % 4 != 0)
		return 0;
	return d <= mdays[m - 1];
}

/* Checks a decoded value against its AI's format; the key's as GTIN-14. */
static int
value_check(const struct ai *a, struct yima_gs1_pair *p, char *why)
{
	size_t n = strlen(p->value);
	char gtin[YIMA_GTIN_LEN + 1];

	/* A GTIN-8, -12 or -13 is padded to 14 in the query; in the path
	 * GS1 wants 14 digits (yima_gs1_dl_parse() says so). */
	if (strcmp(a->ai, "01") == 0 && (n == 8 || n == 12 || n == 13) &&
	    strspn(p->value, "0123456789") == n) {
		memset(gtin, '0', YIMA_GTIN_LEN - n);
		memcpy(gtin + YIMA_GTIN_LEN - n, p->value, n + 1);
		memcpy(p->value, gtin, sizeof(gtin));
		n = YIMA_GTIN_LEN;
	}
	if (a->type == 'N') {
		if (n < a->min || n > a->max || strspn(p->value,
		    "0123456789") != n)
			return yima_why_(why, YIMA_EINVAL, "(%s) %s must be "
			    "%s%u digits%s", a->ai, a->title, a->min < a->max ?
			    "1 to " : "", a->max,
			    strcmp(a->ai, "01") == 0 ? " (or a GTIN-8, -12 or "
			    "-13)" : "");
		if ((a->flags & AI_CHECK) && !yima_gs1_check_digit(p->value,
		    n))
			return yima_why_(why, YIMA_EINVAL, "(%s) %s %s has a "
			    "wrong check digit", a->ai, a->title, p->value);
		if ((a->flags & AI_DATE) && !date_ok(p->value))
			return yima_why_(why, YIMA_EINVAL, "(%s) %s %s is not "
			    "a date YYMMDD", a->ai, a->title, p->value);
		return 0;
	}
	if (!yima_gs1_cset82(p->value, a->max))
		return yima_why_(why, YIMA_EINVAL, "(%s) %s must be 1 to %u "
		    "characters of GS1's character set 82", a->ai, a->title,
		    a->max);
	return 0;
}

static int
hexval(int c)
{
	return isdigit(c) ? c - '0' : tolower(c) - 'a' + 10;
}

/* Percent-decodes p[0..n-1] into out (max characters and a NUL). */
static int
decode(const char *p, size_t n, char *out, size_t max, const char *what,
    char *why)
{
	size_t i, k = 0;

	for (i = 0; i < n; i++) {
		if (k == max)
			return yima_why_(why, YIMA_EINVAL, "Digital Link: %s is "
			    "longer than %zu characters", what, max);
		if (p[i] != '%') {
			out[k++] = p[i];
			continue;
		}
		if (i + 2 >= n || !isxdigit((unsigned char)p[i + 1]) ||
		    !isxdigit((unsigned char)p[i + 2]) ||
		    (p[i + 1] == '0' && p[i + 2] == '0'))
			return yima_why_(why, YIMA_EINVAL, "Digital Link: a bad "
			    "percent escape in %s", what);
		out[k++] = (char)(hexval((unsigned char)p[i + 1]) << 4 |
		    hexval((unsigned char)p[i + 2]));
		i += 2;
	}
	out[k] = '\0';
	return 0;
}

/* A value of AI a from p[0..n-1] into pair, checked. */
static int
take(const struct ai *a, const char *p, size_t n, struct yima_gs1_pair *pair,
    char *why)
{
	char what[48];

	snprintf(what, sizeof(what), "the (%s) value", a->ai);
	snprintf(pair->ai, sizeof(pair->ai), "%s", a->ai);
	if (n == 0)
		return yima_why_(why, YIMA_EINVAL, "Digital Link: %s is empty",
		    what);
	if (decode(p, n, pair->value, a->max, what, why) != 0)
		return YIMA_EINVAL;
	return value_check(a, pair, why);
}

static int
all_digits(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!isdigit((unsigned char)p[i]))
			return 0;
	return n > 0;
}

/* Where AI ai is in the space-separated list quals, or NULL. */
static const char *
qual_in(const char *quals, const char *ai)
{
	size_t n = strlen(ai), k;

	for (; *quals != '\0'; quals += k) {
		quals += strspn(quals, " ");
		k = strcspn(quals, " ");
		if (k == n && memcmp(quals, ai, n) == 0)
			return quals;
	}
	return NULL;
}

/* The query: data attributes by numeric AI, linkType; others ignored. */
static int
query(const char *p, const char *end, const struct ai *key,
    struct yima_gs1_dl *out, char *why)
{
	const char *amp, *eq;
	const struct ai *a;
	size_t kn;

	for (; p < end; p = amp + 1) {
		if ((amp = memchr(p, '&', (size_t)(end - p))) == NULL)
			amp = end;
		if ((eq = memchr(p, '=', (size_t)(amp - p))) == NULL)
			eq = amp;
		kn = (size_t)(eq - p);
		if (kn == 8 && memcmp(p, "linkType", 8) == 0) {
			if (eq == amp || decode(eq + 1, (size_t)(amp - eq - 1),
			    out->link_type, YIMA_GS1_LINKTYPE_MAX, "linkType",
			    why) != 0)
				return yima_why_(why, YIMA_EINVAL, "Digital Link: "
				    "linkType must name a link type");
			out->linkset_asked = strcmp(out->link_type, "all") == 0 ||
			    strcmp(out->link_type, "linkset") == 0;
			continue;
		}
		if (!all_digits(p, kn))
			continue;	/* not GS1's: the target's */
		if ((a = ai_find(p, kn)) == NULL)
			return yima_why_(why, YIMA_EINVAL, "Digital Link: (%.*s) "
			    "is not an AI this resolver accepts", (int)(kn < 8 ?
			    kn : 8), p);
		/* The key's own qualifiers go in the path; for another key
		 * (00 has none) the same AI is a data attribute. */
		if (qual_in(key->quals, a->ai) != NULL)
			return yima_why_(why, YIMA_EINVAL, "Digital Link: (%s) "
			    "%s qualifies (%s): it belongs in the path, not the "
			    "query", a->ai, a->title, key->ai);
		if (strcmp(a->ai, key->ai) == 0 ||
		    yima_gs1_dl_get(out, a->ai) != NULL)
			return yima_why_(why, YIMA_EINVAL, "Digital Link: (%s) "
			    "is given twice", a->ai);
		if (out->nattr == YIMA_GS1_ATTRS_MAX)
			return yima_why_(why, YIMA_EINVAL, "Digital Link: more "
			    "than %d data attributes", YIMA_GS1_ATTRS_MAX);
		if (take(a, eq == amp ? eq : eq + 1, eq == amp ? 0 :
		    (size_t)(amp - eq - 1), &out->attr[out->nattr], why) != 0)
			return YIMA_EINVAL;
		out->nattr++;
	}
	return 0;
}

/* Where the path's primary key starts ("/01/", "/00/", "/414/"), or NULL. */
static const char *
key_start(const char *p, const char *end, const struct ai **key)
{
	const char *q, *seg;
	size_t n;

	for (q = p; q < end; q = seg) {
		seg = q + 1;
		while (seg < end && *seg != '/')
			seg++;
		n = (size_t)(seg - q - 1);
		if (seg < end && all_digits(q + 1, n) &&
		    (*key = ai_find(q + 1, n)) != NULL &&
		    ((*key)->flags & AI_KEY))
			return q;
	}
	return NULL;
}

int
yima_gs1_dl_parse(const char *text, size_t len, struct yima_gs1_dl *out,
    char *why)
{
	const char *p = text, *end, *v, *q, *seg, *order;
	const struct ai *key, *a;
	size_t n;

	memset(out, 0, sizeof(*out));
	if (text == NULL)
		return 1;
	end = text + len;
	while (p < end && isspace((unsigned char)*p))
		p++;
	while (end > p && isspace((unsigned char)end[-1]))
		end--;
	if (end - p >= 8 && strncasecmp(p, "https://", 8) == 0)
		p += 8;
	else if (end - p >= 7 && strncasecmp(p, "http://", 7) == 0)
		p += 7;
	else if (p == end || *p != '/')
		return 1;
	if (p < end && p[0] != '/')	/* past the host */
		while (p < end && *p != '/' && *p != '?' && *p != '#')
			p++;
	if ((v = memchr(p, '#', (size_t)(end - p))) != NULL)
		end = v;
	if ((q = memchr(p, '?', (size_t)(end - p))) != NULL) {
		out->query = q + 1;
		out->query_len = (size_t)(end - q - 1);
		end = q;
	}
	if ((p = key_start(p, end, &key)) == NULL)
		return 1;
	/* /KEY/value, then /AI/value pairs: the key's qualifiers. */
	p += 1 + strlen(key->ai) + 1;
	for (seg = p; seg < end && *seg != '/'; seg++)
		;
	/* In the path a GTIN has 14 digits, zero-padded (GS1 DL 1.2+). */
	if (strcmp(key->ai, "01") == 0 && seg - p != YIMA_GTIN_LEN)
		return yima_why_(why, YIMA_EINVAL, "Digital Link: (01) GTIN in "
		    "the path must be 14 digits (a GTIN-8, -12 or -13 padded "
		    "with zeros), not %d", (int)(seg - p));
	if (take(key, p, (size_t)(seg - p), &out->key, why) != 0)
		return YIMA_EINVAL;
	order = key->quals;
	for (p = seg; p < end; p = seg) {
		for (v = p + 1; v < end && *v != '/'; v++)
			;
		n = (size_t)(v - p - 1);
		if (v == end || !all_digits(p + 1, n))
			return yima_why_(why, YIMA_EINVAL, "Digital Link: the "
			    "path after (%s) must be /AI/value pairs",
			    key->ai);
		if ((a = ai_find(p + 1, n)) == NULL)
			return yima_why_(why, YIMA_EINVAL, "Digital Link: (%.*s) "
			    "is not an AI this resolver accepts", (int)(n < 8 ?
			    n : 8), p + 1);
		/* Each qualifier once, in the key's order. */
		if (!(a->flags & AI_QUAL))
			return yima_why_(why, YIMA_EINVAL, "Digital Link: (%s) "
			    "%s is a data attribute: it goes in the query, not "
			    "the path", a->ai, a->title);
		if ((order = qual_in(order, a->ai)) == NULL)
			return yima_why_(why, YIMA_EINVAL, "Digital Link: (%s) "
			    "is not a key qualifier of (%s) here: %s%s%s", a->ai,
			    key->ai, key->quals[0] ? "they are (" : "it has none",
			    key->quals, key->quals[0] ? "), in this order, each "
			    "once" : "");
		order += strlen(a->ai);
		for (seg = v + 1; seg < end && *seg != '/'; seg++)
			;
		if (take(a, v + 1, (size_t)(seg - v - 1),
		    &out->qual[out->nqual++], why) != 0)
			return YIMA_EINVAL;
	}
	if (out->query != NULL && query(out->query, out->query +
	    out->query_len, key, out, why) != 0)
		return YIMA_EINVAL;
	return 0;
}

const char *
yima_gs1_dl_get(const struct yima_gs1_dl *dl, const char *ai)
{
	size_t i;

	for (i = 0; i < dl->nqual; i++)
		if (strcmp(dl->qual[i].ai, ai) == 0)
			return dl->qual[i].value;
	for (i = 0; i < dl->nattr; i++)
		if (strcmp(dl->attr[i].ai, ai) == 0)
			return dl->attr[i].value;
	return NULL;
}
