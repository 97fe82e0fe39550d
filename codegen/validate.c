/* SPDX-License-Identifier: Apache-2.0 */
/* Checks for batch attributes: GTIN, dates, lot and line texts. */
#include <string.h>

#include "yima/err.h"
#include "yima/validate.h"

#include "err-private.h"

int
yima_gtin_normalize(const char *s, char out[YIMA_GTIN_LEN + 1], char *why)
{
	size_t n = strlen(s), i;
	int sum = 0, d, check;

	if (n != 8 && n != 12 && n != 13 && n != 14)
		return yima_why_(why, YIMA_EINVAL,
		    "GTIN must have 8, 12, 13 or 14 digits (got %zu)", n);
	if (strspn(s, "0123456789") != n)
		return yima_why_(why, YIMA_EINVAL, "GTIN must be digits only");
	memset(out, '0', YIMA_GTIN_LEN - n);
	memcpy(out + YIMA_GTIN_LEN - n, s, n + 1);
	/* GS1 mod-10: weights 3,1,3,... from the right, check digit excluded. */
	for (i = 0; i < YIMA_GTIN_LEN - 1; i++) {
		d = out[YIMA_GTIN_LEN - 2 - i] - '0';
		sum += (i % 2 == 0) ? 3 * d : d;
	}
	check = (10 - sum % 10) % 10;
	if (out[YIMA_GTIN_LEN - 1] - '0' != check)
		return yima_why_(why, YIMA_EINVAL,
		    "GTIN %s has a wrong check digit (expected %d)", s, check);
	return 0;
}

static int
leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian). */
static long
days_from_civil(int y, int m, int d)
{
	int era, yoe, doy, doe;

	y -= m <= 2;
	era = y / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return (long)era * 146097 + doe - 719468;
}

int
yima_date_parse(const char *s, long *days, char *why)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };
	int y, m, d, i, max;

	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		goto bad;
	for (i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			goto bad;
	y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 +
	    (s[3] - '0');
	m = (s[5] - '0') * 10 + (s[6] - '0');
	d = (s[8] - '0') * 10 + (s[9] - '0');
	if (y < 2000 || y > 2199 || m < 1 || m > 12)
		goto bad;
	max = mdays[m - 1] + (m == 2 && leap(y));
	if (d < 1 || d > max)
		goto bad;
	if (days != NULL)
		*days = days_from_civil(y, m, d);
	return 0;
bad:
	return yima_why_(why, YIMA_EINVAL,
	    "'%.16s' is not a date YYYY-MM-DD between 2000 and 2199", s);
}

int
yima_text_check(const char *s, int max, const char *what, char *why)
{
	/* GS1 CSET 82 without '"' and ','. */
	static const char allowed[] = "!%&'()*+-./0123456789:;<=>?"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz";
	size_t n = strlen(s);

	if (n == 0 || n > (size_t)max)
		return yima_why_(why, YIMA_EINVAL,
		    "%s must have 1 to %d characters", what, max);
	if (strspn(s, allowed) != n)
		return yima_why_(why, YIMA_EINVAL,
		    "%s may hold only letters, digits and !%%&'()*+-./:;<=>?_ "
		    "(no spaces, quotes or commas)", what);
	return 0;
}
