/* ISO-8601 durations and UTC timestamps. */
#include <stdio.h>
#include <string.h>

#include "internal.h"

#define DUR_MAX ((int64_t)1 << 50) /* ~35 million years: plenty */

static int
isdigit_(char c)
{
	return c >= '0' && c <= '9';
}

/* PnYnMnWnDTnHnMnS (Y=365d, M=30d); fractional seconds are truncated. */
int64_t
cfg_parse_duration(const char *s)
{
	static const char date_units[] = "YMWD";
	static const int64_t date_secs[] = { 365 * 86400, 30 * 86400, 7 * 86400,
		86400 };
	static const char time_units[] = "HMS";
	static const int64_t time_secs[] = { 3600, 60, 1 };
	const char *units = date_units;
	const int64_t *secs = date_secs;
	int64_t total = 0;
	int in_time = 0, any = 0, anytime = 0;
	size_t last = 0;

	if (s == NULL || *s++ != 'P')
		return -1;
	while (*s) {
		int64_t v = 0;
		int digits = 0, frac = 0;
		const char *u;

		if (*s == 'T') {
			if (in_time)
				return -1;
			in_time = 1;
			units = time_units;
			secs = time_secs;
			last = 0;
			s++;
			continue;
		}
		while (isdigit_(*s)) {
			if (v > DUR_MAX)
				return -1;
			v = v * 10 + (*s++ - '0');
			digits++;
		}
		if ((*s == '.' || *s == ',') && digits > 0) {
			s++;
			while (isdigit_(*s)) {
				s++;
				frac++;
			}
			if (frac == 0)
				return -1;
		}
		if (digits == 0 || *s == '\0' ||
		    (u = strchr(units, *s)) == NULL)
			return -1;
		if (frac > 0 && *s != 'S')
			return -1;
		if ((size_t)(u - units) + 1 <= last)
			return -1;
		last = (size_t)(u - units) + 1;
		if (v > DUR_MAX / secs[u - units])
			return -1;
		total += v * secs[u - units];
		if (total > DUR_MAX)
			return -1;
		any = 1;
		if (in_time)
			anytime = 1;
		s++;
	}
	if (!any || (in_time && !anytime))
		return -1;
	return total;
}

static int
num(const char **p, int n, int *out)
{
	int v = 0, i;

	for (i = 0; i < n; i++) {
		if (!isdigit_((*p)[i]))
			return -1;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Hinnant). */
static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static int
days_in_month(int y, int m)
{
	static const int dm[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30,
		31 };
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : dm[m - 1];
}

/* YYYY-MM-DDTHH:MM:SS[.f...](Z|+HH:MM|-HH:MM|+HHMM); years 1970..9999. */
int64_t
cfg_parse_timestamp(const char *s)
{
	int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
	int64_t t;

	if (s == NULL)
		return -1;
	if (num(&s, 4, &y) || *s++ != '-' || num(&s, 2, &mo) || *s++ != '-' ||
	    num(&s, 2, &d))
		return -1;
	if (*s != 'T' && *s != 't' && *s != ' ')
		return -1;
	s++;
	if (num(&s, 2, &h) || *s++ != ':' || num(&s, 2, &mi) || *s++ != ':' ||
	    num(&s, 2, &sec))
		return -1;
	if (*s == '.' || *s == ',') {
		int nf = 0;

		s++;
		while (isdigit_(*s)) {
			s++;
			nf++;
		}
		if (nf == 0 || nf > 9)
			return -1;
	}
	if (*s == 'Z' || *s == 'z') {
		s++;
	} else if (*s == '+' || *s == '-') {
		sign = *s++ == '-' ? -1 : 1;
		if (num(&s, 2, &oh))
			return -1;
		if (*s == ':')
			s++;
		if (num(&s, 2, &om) || oh > 23 || om > 59)
			return -1;
	} else {
		return -1;
	}
	if (*s != '\0')
		return -1;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 ||
	    d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 60)
		return -1;
	if (sec == 60)
		sec = 59; /* leap second: clamp */
	t = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 +
	    mi * 60 + sec;
	t -= (int64_t)sign * (oh * 3600 + om * 60);
	return t < 0 ? -1 : t;
}

/* Canonical ISO-8601 duration for a number of seconds ("PT0S" for 0). */
void
cfg_format_duration(int64_t s, char *buf, size_t len)
{
	int64_t d = s / 86400, h = s % 86400 / 3600, m = s % 3600 / 60,
	        sec = s % 60;
	int off;

	if (s <= 0) {
		snprintf(buf, len, "PT0S");
		return;
	}
	off = snprintf(buf, len, "P");
	if (d)
		off += snprintf(
		    buf + off, len - (size_t)off, "%lldD", (long long)d);
	if (h || m || sec)
		off += snprintf(buf + off, len - (size_t)off, "T");
	if (h)
		off += snprintf(
		    buf + off, len - (size_t)off, "%lldH", (long long)h);
	if (m)
		off += snprintf(
		    buf + off, len - (size_t)off, "%lldM", (long long)m);
	if (sec)
		snprintf(buf + off, len - (size_t)off, "%lldS", (long long)sec);
}
