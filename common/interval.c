/* interval.c: bucket intervals, time-of-day windows and profile slots.
 *
 * Fixed intervals (s, min, h) are aligned to the Unix epoch.  Calendar
 * intervals (d, w, mo, y) start at local midnight, so a day is 23 or 25
 * hours long on the days the clock changes. */
#include <string.h>

#include "og.h"

static int64_t
floordiv(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

static int64_t
floormod(int64_t a, int64_t b)
{
	return a - floordiv(a, b) * b;
}

int
og_interval_parse(const char *s, struct og_interval *iv)
{
	static const struct {
		const char *name;
		enum og_unit unit;
		int64_t seconds;
	} units[] = {
		{ "s", OG_SECONDS, 1 }, { "min", OG_SECONDS, 60 },
		{ "h", OG_SECONDS, 3600 }, { "d", OG_DAYS, 1 },
		{ "w", OG_WEEKS, 1 }, { "mo", OG_MONTHS, 1 },
		{ "y", OG_YEARS, 1 },
	};
	const char *p = s;
	int64_t n = 0;
	size_t i;

	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		n = n * 10 + (*p - '0');
		if (n > 1000000000)
			return -1;
	}
	if (n == 0)
		return -1;
	for (i = 0; i < sizeof units / sizeof units[0]; i++) {
		if (strcmp(p, units[i].name) == 0) {
			iv->unit = units[i].unit;
			iv->n = n * units[i].seconds;
			return 0;
		}
	}
	return -1;
}

static int64_t
local_days(int64_t t)
{
	return floordiv(t + og_local_offset(t), 86400);
}

/* The local midnight that starts the calendar bucket holding day 'days'. */
static int64_t
calendar_start_day(const struct og_interval *iv, int64_t days)
{
	int64_t y, months;
	int m, d;

	switch (iv->unit) {
	case OG_DAYS:
		return floordiv(days, iv->n) * iv->n;
	case OG_WEEKS:	/* 1970-01-01 was a Thursday */
		return floordiv(days + 3, 7 * iv->n) * 7 * iv->n - 3;
	case OG_MONTHS:
		og_civil_from_days(days, &y, &m, &d);
		months = floordiv(y * 12 + m - 1, iv->n) * iv->n;
		return og_days_from_civil(floordiv(months, 12),
		    floormod(months, 12) + 1, 1);
	case OG_YEARS:
		og_civil_from_days(days, &y, &m, &d);
		return og_days_from_civil(floordiv(y, iv->n) * iv->n, 1, 1);
	default:
		return days;
	}
}

int64_t
og_interval_start(const struct og_interval *iv, int64_t t)
{
	if (iv->unit == OG_SECONDS)
		return floordiv(t, iv->n) * iv->n;
	return og_local_to_utc(calendar_start_day(iv, local_days(t)) * 86400);
}

int64_t
og_interval_next(const struct og_interval *iv, int64_t start)
{
	int64_t days, y, months;
	int m, d;

	if (iv->unit == OG_SECONDS)
		return start > INT64_MAX - iv->n ? INT64_MAX : start + iv->n;
	days = local_days(start);
	switch (iv->unit) {
	case OG_DAYS:
		days += iv->n;
		break;
	case OG_WEEKS:
		days += 7 * iv->n;
		break;
	case OG_MONTHS:
		og_civil_from_days(days, &y, &m, &d);
		months = y * 12 + m - 1 + iv->n;
		days = og_days_from_civil(floordiv(months, 12),
		    floormod(months, 12) + 1, 1);
		break;
	default:
		og_civil_from_days(days, &y, &m, &d);
		days = og_days_from_civil(y + iv->n, 1, 1);
		break;
	}
	return og_local_to_utc(days * 86400);
}

int64_t
og_time_of_day(int64_t t)
{
	return floormod(t + og_local_offset(t), 86400);
}

static int
parse_hhmm(const char *s, int *sec)
{
	int h, m;

	if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9' ||
	    s[2] != ':' || s[3] < '0' || s[3] > '9' || s[4] < '0' || s[4] > '9')
		return -1;
	h = (s[0] - '0') * 10 + s[1] - '0';
	m = (s[3] - '0') * 10 + s[4] - '0';
	if (h > 24 || m > 59 || (h == 24 && m != 0))
		return -1;
	*sec = h * 3600 + m * 60;
	return 0;
}

int
og_window_parse(const char *s, struct og_window *w)
{
	if (strlen(s) != 11 || s[5] != '-' || parse_hhmm(s, &w->from) < 0 ||
	    parse_hhmm(s + 6, &w->to) < 0 || w->from == w->to)
		return -1;
	return 0;
}

int
og_window_has(const struct og_window *w, int64_t t)
{
	int64_t tod = og_time_of_day(t);

	if (w->from < w->to)
		return tod >= w->from && tod < w->to;
	return tod >= w->from || tod < w->to;
}
