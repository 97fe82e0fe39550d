/* SPDX-License-Identifier: Apache-2.0 */
/*
 * GS1 syntax as the GS1 Digital Link URI standard writes it: the AIs yima
 * accepts (their formats, check digits, dates and character sets), a
 * primary key and its key qualifiers in the path, in their order, and
 * data attributes in the query. What is not valid GS1 is refused with a
 * reason naming the AI and the rule.
 */
#ifndef YIMA_GS1_H
#define YIMA_GS1_H

#include <stddef.h>

#define YIMA_GS1_VALUE_MAX	90	/* the longest value yima accepts */
#define YIMA_GS1_QUALS_MAX	3	/* (01): 22, 10, 21 */
#define YIMA_GS1_ATTRS_MAX	8	/* data attributes in the query */
#define YIMA_GS1_LINKTYPE_MAX	64

struct yima_gs1_pair {
	char	ai[5];
	char	value[YIMA_GS1_VALUE_MAX + 1];	/* percent-decoded */
};

/* A parsed Digital Link URI (or its path). */
struct yima_gs1_dl {
	struct yima_gs1_pair key;	/* 01 (as GTIN-14), 00 or 414 */
	struct yima_gs1_pair qual[YIMA_GS1_QUALS_MAX];
	size_t	nqual;
	struct yima_gs1_pair attr[YIMA_GS1_ATTRS_MAX];
	size_t	nattr;
	char	link_type[YIMA_GS1_LINKTYPE_MAX + 1];	/* "" when none */
	int	linkset_asked;		/* linkType=all or linkset */
	/* The query after '?' (NULL: none) as sent, to pass on. */
	const char *query;
	size_t	query_len;
};

/* Whether digits[0..n-1] end in their GS1 mod-10 check digit: 1 or 0. */
int yima_gs1_check_digit(const char *digits, size_t n);

/*
 * Whether s is 1..max characters of GS1's AI encodable character set 82
 * (the set of AIs 10, 21 and 22): 1 or 0.
 */
int yima_gs1_cset82(const char *s, size_t max);

/*
 * Parses a Digital Link URI (http or https, host in any case, a custom
 * path allowed before the primary key) or its path alone, with its query.
 * Returns 0 with out filled, 1 when the text holds no primary key path
 * (not a Digital Link URI at all), or YIMA_EINVAL with why naming what
 * breaks GS1's syntax.
 */
int yima_gs1_dl_parse(const char *text, size_t len, struct yima_gs1_dl *out,
    char *why);

/* The value of a key qualifier or data attribute, or NULL. */
const char *yima_gs1_dl_get(const struct yima_gs1_dl *dl, const char *ai);

#endif /* YIMA_GS1_H */
