/*
 * IANA time zones for `schedule` conditions, read from the TZif files in
 * /usr/share/zoneinfo at load time (this is the only file config/ reads
 * besides the one it is asked to parse). Evaluation then converts `now` to
 * local time with the zone's transitions and its POSIX TZ footer rule, with
 * no clock reads, no TZ environment and no libc locale state.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define TZ_DIR      "/usr/share/zoneinfo"
#define TZ_MAX_SIZE (256 * 1024)

struct tz_rule {
	int kind; /* 'M', 'J' or 'n' */
	int m, w, d, day;
	int32_t time; /* seconds after local midnight */
};

struct cfg_tz {
	size_t ntimes;
	int64_t *times;
	uint8_t *idx;
	size_t ntypes;
	int32_t *utoff;
	/* footer */
	int has_rule, has_dst;
	int32_t std_off, dst_off; /* seconds east of UTC */
	struct tz_rule start, end;
};

static int64_t
be(const unsigned char *p, int n)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < n; i++)
		v = (v << 8) | p[i];
	if (n == 4)
		return (int32_t)(uint32_t)v;
	return (int64_t)v;
}

static const char *
tz_name(const char **p)
{
	const char *s = *p;

	if (*s == '<') {
		while (*s && *s != '>')
			s++;
		if (*s != '>')
			return NULL;
		*p = s + 1;
		return *p;
	}
	while ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z'))
		s++;
	if (s - *p < 3)
		return NULL;
	*p = s;
	return s;
}

/* [+-]hh[:mm[:ss]] -> seconds */
static int
tz_hms(const char **p, int32_t *out, int maxh)
{
	const char *s = *p;
	int sign = 1, h = 0, m = 0, sec = 0, nd = 0;

	if (*s == '+' || *s == '-')
		sign = *s++ == '-' ? -1 : 1;
	while (*s >= '0' && *s <= '9' && nd < 3) {
		h = h * 10 + (*s++ - '0');
		nd++;
	}
	if (nd == 0 || h > maxh)
		return -1;
	if (*s == ':') {
		s++;
		if (!(s[0] >= '0' && s[0] <= '9' && s[1] >= '0' && s[1] <= '9'))
			return -1;
		m = (s[0] - '0') * 10 + (s[1] - '0');
		s += 2;
		if (*s == ':') {
			s++;
			if (!(s[0] >= '0' && s[0] <= '9' && s[1] >= '0' &&
			        s[1] <= '9'))
				return -1;
			sec = (s[0] - '0') * 10 + (s[1] - '0');
			s += 2;
		}
	}
	*out = sign * (h * 3600 + m * 60 + sec);
	*p = s;
	return 0;
}

static int
tz_int(const char **p, int *out)
{
	int v = 0, nd = 0;

	while (**p >= '0' && **p <= '9' && nd < 4) {
		v = v * 10 + (*(*p)++ - '0');
		nd++;
	}
	*out = v;
	return nd ? 0 : -1;
}

static int
tz_rule_parse(const char **p, struct tz_rule *r)
{
	r->time = 7200;
	if (**p == 'M') {
		(*p)++;
		r->kind = 'M';
		if (tz_int(p, &r->m) || *(*p)++ != '.' || tz_int(p, &r->w) ||
		    *(*p)++ != '.' || tz_int(p, &r->d))
			return -1;
		if (r->m < 1 || r->m > 12 || r->w < 1 || r->w > 5 || r->d > 6)
			return -1;
	} else if (**p == 'J') {
		(*p)++;
		r->kind = 'J';
		if (tz_int(p, &r->day) || r->day < 1 || r->day > 365)
			return -1;
	} else {
		r->kind = 'n';
		if (tz_int(p, &r->day) || r->day > 365)
			return -1;
	}
	if (**p == '/') {
		(*p)++;
		if (tz_hms(p, &r->time, 167))
			return -1;
	}
	return 0;
}

/* Parse a POSIX TZ string such as "CET-1CEST,M3.5.0,M10.5.0/3". */
static int
tz_footer(struct cfg_tz *tz, const char *s)
{
	int32_t off;

	if (*s == '\0')
		return 0;
	if (tz_name(&s) == NULL || tz_hms(&s, &off, 24))
		return -1;
	tz->std_off = -off;
	tz->has_rule = 1;
	if (*s == '\0')
		return 0;
	if (tz_name(&s) == NULL)
		return -1;
	tz->has_dst = 1;
	tz->dst_off = tz->std_off + 3600;
	if (*s != ',' && *s != '\0') {
		if (tz_hms(&s, &off, 24))
			return -1;
		tz->dst_off = -off;
	}
	if (*s != ',')
		return -1; /* DST without rules: unsupported */
	s++;
	if (tz_rule_parse(&s, &tz->start) || *s++ != ',' ||
	    tz_rule_parse(&s, &tz->end) || *s != '\0')
		return -1;
	return 0;
}

static int64_t
days_civil(int64_t y, unsigned m, unsigned d)
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

static int64_t
year_of(int64_t t)
{
	int64_t z = (t >= 0 ? t : t - 86399) / 86400 + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	unsigned m = mp < 10 ? mp + 3 : mp - 9;

	return (int64_t)yoe + era * 400 + (m <= 2);
}

static int
leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Local-time seconds (since the epoch, in the zone) when a rule fires. */
static int64_t
rule_local(const struct tz_rule *r, int64_t y)
{
	static const int dim[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30,
		31 };
	int64_t days;

	if (r->kind == 'M') {
		int64_t first = days_civil(y, (unsigned)r->m, 1);
		int wd = (int)(((first % 7) + 11) % 7); /* 0 = Sunday */
		int n = dim[r->m - 1] + (r->m == 2 && leap(y));
		int day = 1 + (r->d - wd + 7) % 7 + (r->w - 1) * 7;

		while (day > n)
			day -= 7;
		days = first + day - 1;
	} else if (r->kind == 'J') {
		days = days_civil(y, 1, 1) + r->day - 1;
		if (leap(y) && r->day >= 60)
			days++;
	} else {
		days = days_civil(y, 1, 1) + r->day;
	}
	return days * 86400 + r->time;
}

int32_t
cfg_tz_offset(const struct cfg_tz *tz, int64_t t)
{
	size_t lo, hi;

	if (tz->ntimes > 0 && t < tz->times[0])
		return tz->utoff[0];
	if (tz->ntimes > 0 &&
	    (t < tz->times[tz->ntimes - 1] || !tz->has_rule)) {
		lo = 0;
		hi = tz->ntimes; /* find last transition <= t */
		while (hi - lo > 1) {
			size_t mid = (lo + hi) / 2;

			if (tz->times[mid] <= t)
				lo = mid;
			else
				hi = mid;
		}
		return tz->utoff[tz->idx[lo]];
	}
	if (!tz->has_rule)
		return tz->ntypes ? tz->utoff[0] : 0;
	if (!tz->has_dst)
		return tz->std_off;
	{
		int64_t y = year_of(t + tz->std_off);
		int64_t start = rule_local(&tz->start, y) - tz->std_off;
		int64_t end = rule_local(&tz->end, y) - tz->dst_off;
		int dst;

		if (start < end)
			dst = t >= start && t < end;
		else
			dst = !(t >= end && t < start);
		return dst ? tz->dst_off : tz->std_off;
	}
}

void
cfg_tz_free(struct cfg_tz *tz)
{
	if (tz == NULL)
		return;
	free(tz->times);
	free(tz->idx);
	free(tz->utoff);
	free(tz);
}

static int
valid_name(const char *n)
{
	const char *p;

	if (*n == '\0' || *n == '/' || strstr(n, "..") != NULL ||
	    strlen(n) > 128)
		return 0;
	for (p = n; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		        (*p >= '0' && *p <= '9') || strchr("/_+-", *p)))
			return 0;
	return 1;
}

/* Load zone `name`; NULL with a static message in *err. */
struct cfg_tz *
cfg_tz_load(const char *name, const char **err)
{
	char path[256], foot[128];
	unsigned char *buf = NULL;
	const unsigned char *p, *end;
	struct cfg_tz *tz = NULL;
	size_t len, i, timecnt, typecnt, charcnt, leapcnt, isstd, isut;
	int tsize = 4;
	FILE *f = NULL;

	*err = "unknown time zone";
	if (!valid_name(name))
		return NULL;
	snprintf(path, sizeof(path), "%s/%s", TZ_DIR, name);
	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	if ((buf = malloc(TZ_MAX_SIZE)) == NULL)
		goto fail;
	len = fread(buf, 1, TZ_MAX_SIZE, f);
	*err = "bad time zone file";
	if (len < 44 || memcmp(buf, "TZif", 4) != 0)
		goto fail;
	p = buf;
	end = buf + len;
	for (;;) {
		isut = (size_t)be(p + 20, 4);
		isstd = (size_t)be(p + 24, 4);
		leapcnt = (size_t)be(p + 28, 4);
		timecnt = (size_t)be(p + 32, 4);
		typecnt = (size_t)be(p + 36, 4);
		charcnt = (size_t)be(p + 40, 4);
		if (timecnt > 10000 || typecnt == 0 || typecnt > 256 ||
		    charcnt > 10000 || leapcnt > 10000 || isut > 256 ||
		    isstd > 256)
			goto fail;
		len = 44 + timecnt * (size_t)tsize + timecnt + typecnt * 6 +
		      charcnt + leapcnt * (size_t)(tsize + 4) + isstd + isut;
		if ((size_t)(end - p) < len)
			goto fail;
		if (tsize == 4 && buf[4] >= '2') {
			p += len;
			tsize = 8;
			if (end - p < 44 || memcmp(p, "TZif", 4) != 0)
				goto fail;
			continue;
		}
		break;
	}
	if ((tz = calloc(1, sizeof(*tz))) == NULL)
		goto fail;
	tz->ntimes = timecnt;
	tz->ntypes = typecnt;
	tz->times = calloc(timecnt + 1, sizeof(*tz->times));
	tz->idx = calloc(timecnt + 1, 1);
	tz->utoff = calloc(typecnt, sizeof(*tz->utoff));
	if (!tz->times || !tz->idx || !tz->utoff)
		goto fail;
	{
		const unsigned char *q = p + 44;

		for (i = 0; i < timecnt; i++, q += tsize)
			tz->times[i] = be(q, tsize);
		for (i = 0; i < timecnt; i++, q++) {
			if (*q >= typecnt)
				goto fail;
			tz->idx[i] = *q;
		}
		for (i = 0; i < typecnt; i++, q += 6)
			tz->utoff[i] = (int32_t)be(q, 4);
		p += len;
	}
	if (tsize == 8) {
		const unsigned char *nl;

		if (p >= end || *p != '\n')
			goto fail;
		p++;
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL || (size_t)(nl - p) >= sizeof(foot))
			goto fail;
		memcpy(foot, p, (size_t)(nl - p));
		foot[nl - p] = '\0';
		if (tz_footer(tz, foot) < 0) {
			*err = "unsupported time zone rule";
			goto fail;
		}
	}
	free(buf);
	fclose(f);
	*err = NULL;
	return tz;
fail:
	cfg_tz_free(tz);
	free(buf);
	if (f)
		fclose(f);
	return NULL;
}
