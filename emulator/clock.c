/* Emulator time: ISO 8601 formatting and parsing, durations. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "emu.h"

int64_t
clock_real_ticks(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * EMU_TICKS_PER_SEC + ts.tv_nsec / 100;
}

static void
iso_base(int64_t ticks, char buf[40], int64_t *frac)
{
	time_t s = (time_t)(ticks / EMU_TICKS_PER_SEC);
	struct tm tm;

	*frac = ticks % EMU_TICKS_PER_SEC;
	if (*frac < 0) {
		*frac += EMU_TICKS_PER_SEC;
		s--;
	}
	gmtime_r(&s, &tm);
	strftime(buf, 40, "%Y-%m-%dT%H:%M:%S", &tm);
}

void
clock_iso(int64_t ticks, char buf[40])
{
	int64_t frac;
	size_t n;

	iso_base(ticks, buf, &frac);
	n = strlen(buf);
	snprintf(buf + n, 40 - n, ".%07lldZ", (long long)frac);
}

void
clock_iso_sec(int64_t ticks, char buf[40])
{
	int64_t frac;

	iso_base(ticks, buf, &frac);
	strcat(buf, "Z");
}

static int
digits(const char **p, int n, int *out)
{
	int v = 0, i;

	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -1;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

int
clock_parse_iso(const char *s, int64_t *ticks)
{
	struct tm tm;
	int y, mo, d, h = 0, mi = 0, se = 0, oh, om, sign;
	int64_t frac = 0, scale = EMU_TICKS_PER_SEC / 10, t;
	time_t secs;

	if (s == NULL)
		return -1;
	memset(&tm, 0, sizeof(tm));
	if (digits(&s, 4, &y) < 0 || *s++ != '-' || digits(&s, 2, &mo) < 0 ||
	    *s++ != '-' || digits(&s, 2, &d) < 0)
		return -1;
	if (*s == 'T' || *s == 't' || *s == ' ') {
		s++;
		if (digits(&s, 2, &h) < 0 || *s++ != ':' ||
		    digits(&s, 2, &mi) < 0)
			return -1;
		if (*s == ':') {
			s++;
			if (digits(&s, 2, &se) < 0)
				return -1;
			if (*s == '.') {
				s++;
				if (!isdigit((unsigned char)*s))
					return -1;
				for (; isdigit((unsigned char)*s); s++) {
					frac += (*s - '0') * scale;
					scale /= 10;
				}
			}
		}
	}
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
	    se > 60)
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	if ((secs = timegm(&tm)) == (time_t)-1)
		return -1;
	t = (int64_t)secs * EMU_TICKS_PER_SEC + frac;
	if (*s == 'Z' || *s == 'z')
		s++;
	else if (*s == '+' || *s == '-') {
		sign = *s++ == '+' ? 1 : -1;
		if (digits(&s, 2, &oh) < 0)
			return -1;
		if (*s == ':')
			s++;
		if (digits(&s, 2, &om) < 0)
			return -1;
		t -= sign * ((int64_t)oh * 3600 + om * 60) * EMU_TICKS_PER_SEC;
	}
	if (*s != '\0')
		return -1;
	*ticks = t;
	return 0;
}

int
clock_parse_duration(const char *s, int64_t *ticks)
{
	int64_t total = 0;
	double v;
	char *end;
	bool timepart = false, any = false;

	if (s == NULL || (*s != 'P' && *s != 'p'))
		return -1;
	s++;
	while (*s != '\0') {
		if (*s == 'T' || *s == 't') {
			if (timepart)
				return -1;
			timepart = true;
			s++;
			if (*s == '\0')
				return -1;
			continue;
		}
		if (!isdigit((unsigned char)*s))
			return -1;
		v = strtod(s, &end);
		if (end == s || v < 0)
			return -1;
		s = end;
		switch (*s) {
		case 'Y':
			if (timepart)
				return -1;
			v *= 365 * 86400.0;
			break;
		case 'M':
			v *= timepart ? 60.0 : 30 * 86400.0;
			break;
		case 'W':
			if (timepart)
				return -1;
			v *= 7 * 86400.0;
			break;
		case 'D':
			if (timepart)
				return -1;
			v *= 86400.0;
			break;
		case 'H':
			if (!timepart)
				return -1;
			v *= 3600.0;
			break;
		case 'S':
			if (!timepart)
				return -1;
			break;
		default:
			return -1;
		}
		s++;
		any = true;
		total += (int64_t)(v * EMU_TICKS_PER_SEC);
	}
	if (!any)
		return -1;
	*ticks = total;
	return 0;
}
