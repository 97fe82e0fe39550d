/* SPDX-License-Identifier: Apache-2.0 */
/* Checks for batch attributes: GTIN, dates, lot and line texts. */
#ifndef YIMA_VALIDATE_H
#define YIMA_VALIDATE_H

#define YIMA_GTIN_LEN	14
#define YIMA_LOT_MAX	20	/* GS1 AI (10) */
#define YIMA_LINE_MAX	32

/*
 * Checks a GTIN-8, -12, -13 or -14 (digits only, valid GS1 check digit)
 * and writes it as 14 digits, zero-padded, to out (15 bytes).
 * Returns 0 or YIMA_EINVAL with why.
 */
int yima_gtin_normalize(const char *s, char out[YIMA_GTIN_LEN + 1], char *why);

/*
 * Parses a calendar date "YYYY-MM-DD" (years 2000-2199, real days).
 * *days (may be NULL) receives days since 1970-01-01, for comparisons.
 * Returns 0 or YIMA_EINVAL with why.
 */
int yima_date_parse(const char *s, long *days, char *why);

/*
 * Checks a lot or line text: 1..max characters of the GS1 AI encodable
 * character set 82 except '"' and ',' (so it is safe in CSV and JSON).
 * what names the field in why. Returns 0 or YIMA_EINVAL.
 */
int yima_text_check(const char *s, int max, const char *what, char *why);

#endif /* YIMA_VALIDATE_H */
