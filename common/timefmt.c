/* timefmt.c: Unix seconds, civil dates and ISO 8601 text.
 *
 * Times are Unix seconds UTC everywhere inside og; the local zone (TZ) is
 * consulted only to read arguments and to print with -T. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "og.h"

static int64_t
floordiv(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* Days since 1970-01-01 of a proleptic Gregorian date; the year is counted
 * from March so that the leap day falls at its end. */
int64_t
og_days_from_civil(int64_t y, int m, int d)
{
	int64_t era, year_of_era, day_of_year, day_of_era;
	int march_month = m > 2 ? m - 3 : m + 9;

	if (m <= 2)
		y--;
	era = floordiv(y, 400);
	year_of_era = y - era * 400;
	day_of_year = (153 * march_month + 2) / 5 + d - 1;
	day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 +
	    day_of_year;
	return era * 146097 + day_of_era - 719468;
}

void
og_civil_from_days(int64_t days, int64_t *y, int *m, int *d)
{
	int64_t z = days + 719468, era, day_of_era, year_of_era, day_of_year;
	int march_month;

	era = floordiv(z, 146097);
	day_of_era = z - era * 146097;
	year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36524 -
	    day_of_era / 146096) / 365;
	day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 -
	    year_of_era / 100);
	march_month = (5 * day_of_year + 2) / 153;
	*d = day_of_year - (153 * march_month + 2) / 5 + 1;
	*m = march_month < 10 ? march_month + 3 : march_month - 9;
	*y = year_of_era + era * 400 + (*m <= 2);
}

static int
days_in_month(int64_t y, int m)
{
	static const int len[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : len[m - 1];
}

static int
digits(const char *s, const char *end, int n, int *v)
{
	int i;

	if (end - s < n)
		return -1;
	*v = 0;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		*v = *v * 10 + (s[i] - '0');
	}
	return 0;
}

/* An ISO 8601 offset: Z, +HH, +HHMM or +HH:MM.  Returns its seconds east. */
static int
parse_offset(const char *p, const char *end, int *off)
{
	int sign, hh, mm = 0;

	if (end - p == 1 && (*p == 'Z' || *p == 'z')) {
		*off = 0;
		return 0;
	}
	if (p == end || (*p != '+' && *p != '-'))
		return -1;
	sign = *p++ == '-' ? -1 : 1;
	if (digits(p, end, 2, &hh) < 0)
		return -1;
	p += 2;
	if (p < end && *p == ':')
		p++;
	if (p < end) {
		if (digits(p, end, 2, &mm) < 0)
			return -1;
		p += 2;
	}
	if (p != end || hh > 23 || mm > 59)
		return -1;
	*off = sign * (hh * 3600 + mm * 60);
	return 0;
}

/*
 * YYYY-MM-DD[(T| )HH:MM[:SS]][OFFSET]: the civil fields as seconds since the
 * epoch as if the zone were UTC, and where the offset starts (end if none).
 */
static int
parse_civil(const char *s, const char *end, int64_t *civil, const char **rest,
    int *has_time)
{
	const char *p = s;
	int y, mo, d, h = 0, mi = 0, sec = 0;

	if (digits(p, end, 4, &y) < 0 || end - p < 10 || p[4] != '-' ||
	    digits(p + 5, end, 2, &mo) < 0 || p[7] != '-' ||
	    digits(p + 8, end, 2, &d) < 0)
		return -1;
	p += 10;
	if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
		return -1;
	*has_time = 0;
	if (p < end && (*p == 'T' || *p == 't' || *p == ' ')) {
		if (digits(p + 1, end, 2, &h) < 0 || end - p < 6 || p[3] != ':' ||
		    digits(p + 4, end, 2, &mi) < 0)
			return -1;
		p += 6;
		if (p < end && *p == ':') {
			if (digits(p + 1, end, 2, &sec) < 0)
				return -1;
			p += 3;
		}
		if (h > 23 || mi > 59 || sec > 59)
			return -1;
		*has_time = 1;
	}
	*civil = og_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
	*rest = p;
	return 0;
}

int
og_parse_time_iso(const char *s, size_t len, int64_t *t)
{
	const char *end = s + len, *rest;
	int64_t civil;
	int off, has_time;

	if (parse_civil(s, end, &civil, &rest, &has_time) < 0 || !has_time ||
	    parse_offset(rest, end, &off) < 0)
		return -1;
	*t = civil - off;
	return 0;
}

/*
 * Local civil seconds to UTC.  Of two readings of a repeated hour the first
 * is taken; a time skipped by a clock change is read with the offset in
 * force before it, which gives the instant the clock jumped (as mktime).
 */
int64_t
og_local_to_utc(int64_t civil)
{
	int64_t before = og_local_offset(civil - 86400);
	int64_t after = og_local_offset(civil + 86400);

	if (og_local_offset(civil - before) == before)
		return civil - before;
	if (og_local_offset(civil - after) == after)
		return civil - after;
	return civil - before;
}

int
og_parse_time_arg(const char *s, int64_t *t)
{
	const char *end = s + strlen(s), *rest;
	int64_t civil;
	int off, has_time;

	if (og_parse_int64(s, end - s, t) == 0)
		return 0;
	if (parse_civil(s, end, &civil, &rest, &has_time) < 0)
		return -1;
	if (rest == end) {
		*t = og_local_to_utc(civil);
		return 0;
	}
	if (!has_time || parse_offset(rest, end, &off) < 0)
		return -1;
	*t = civil - off;
	return 0;
}

/*
 * Seconds east of UTC in the local zone at t.  Records come in time order,
 * so the offsets of recently asked hours are kept (once the two ends of the
 * hour agree), a slot per hour modulo HOURS_KEPT.  Converting a local time
 * asks for three hours at once: a day before, a day after and the hour
 * itself.  The first two are 48 hours apart, so HOURS_KEPT must not divide
 * 48, or they take the same slot and push each other out every time.
 */
#define HOURS_KEPT 64
static struct {
	int64_t start, off;	/* start 1: empty */
} hours[HOURS_KEPT] = { [0 ... HOURS_KEPT - 1] = { 1, 0 } };

int64_t
og_local_offset(int64_t t)
{
	struct tm tm;
	time_t tt;
	int64_t start = floordiv(t, 3600) * 3600, off;
	size_t slot = (uint64_t)floordiv(t, 3600) % HOURS_KEPT;

	if (hours[slot].start == start)
		return hours[slot].off;
	tt = (time_t)start;
	if (!localtime_r(&tt, &tm))
		og_die("time %lld out of range", (long long)t);
	off = tm.tm_gmtoff;
	tt = (time_t)(start + 3599);
	if (!localtime_r(&tt, &tm))
		og_die("time %lld out of range", (long long)t);
	if (tm.tm_gmtoff == off) {
		/* no change of offset inside the hour */
		hours[slot].start = start;
		hours[slot].off = off;
		return off;
	}
	tt = (time_t)t;
	localtime_r(&tt, &tm);
	return tm.tm_gmtoff;
}

static char *
put2(char *p, int v)
{
	p[0] = '0' + v / 10;
	p[1] = '0' + v % 10;
	return p + 2;
}

/* 2016-03-27T03:00:00+02:00 in the local zone; Unix seconds outside the
 * years 0 to 9999, where the zone is not even asked (its offsets are
 * within a day, and the C library may know no year so far) */
size_t
og_format_time_iso(char *buf, int64_t t)
{
	int64_t off, local, y, days, secs;
	int m, d, aoff;
	char *p = buf;

	if (t < -62167219200LL - 86400 || t > 253402300800LL + 86400)
		return og_format_int64(buf, t);
	off = og_local_offset(t);
	local = t + off;
	days = floordiv(local, 86400);
	secs = local - days * 86400;
	og_civil_from_days(days, &y, &m, &d);
	if (y < 0 || y > 9999)
		return og_format_int64(buf, t);
	p = put2(p, y / 100);
	p = put2(p, y % 100);
	*p++ = '-';
	p = put2(p, m);
	*p++ = '-';
	p = put2(p, d);
	*p++ = 'T';
	p = put2(p, secs / 3600);
	*p++ = ':';
	p = put2(p, secs / 60 % 60);
	*p++ = ':';
	p = put2(p, secs % 60);
	*p++ = off < 0 ? '-' : '+';
	aoff = off < 0 ? -off : off;
	p = put2(p, aoff / 3600);
	*p++ = ':';
	p = put2(p, aoff / 60 % 60);
	return p - buf;
}

/* An IANA zone name (checked against the zone database, as glibc would
 * silently take an unknown name for UTC) or a POSIX TZ rule. */
static int
zone_known(const char *zone)
{
	const char *dir = getenv("TZDIR");
	char path[512];

	size_t n;

	if (*zone == ':')
		zone++;
	/* a rule: a name of three letters or more, or <...>, then an offset */
	n = *zone == '<' ? strcspn(zone, ">") + 1 : strspn(zone,
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");
	if (n >= 3 && zone[n - 1] != '\0' && (isdigit((unsigned char)zone[n]) ||
	    ((zone[n] == '+' || zone[n] == '-') &&
	    isdigit((unsigned char)zone[n + 1]))))
		return 1;
	if (!dir || !*dir)
		dir = "/usr/share/zoneinfo";
	return *zone && !strstr(zone, "..") && zone[0] != '/' &&
	    (size_t)snprintf(path, sizeof path, "%s/%s", dir, zone) <
	    sizeof path && access(path, R_OK) == 0;
}

static void
zone_changed(void)
{
	tzset();
	for (size_t i = 0; i < HOURS_KEPT; i++)
		hours[i].start = 1;
}

/* -z ZONE */
void
og_set_zone(const char *zone)
{
	if (!zone_known(zone))
		og_usage_error("unknown time zone '%s'", zone);
	if (setenv("TZ", zone, 1) < 0)
		og_die("setenv:");
	zone_changed();
}

/* TZ, as every tool starts: a misspelt zone is an error, not UTC; unset is
 * UTC, as og(7) says, not the machine's /etc/localtime. */
void
og_zone_from_env(void)
{
	const char *tz = getenv("TZ");

	if (tz && *tz && !zone_known(tz))
		og_usage_error("unknown time zone '%s' in TZ", tz);
	if (!tz && setenv("TZ", "UTC", 1) < 0)
		og_die("setenv:");
	zone_changed();
}
