/* weather.c: hourly weather at a place from Open-Meteo's historical
 * weather API, one request per calendar year (UTC) of the range, fetched
 * concurrently through fetch.c and printed as records keyed by the
 * variables' names. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "og.h"

#define NVARS 4
static const char *const variables[NVARS] = {
	"temperature_2m", "shortwave_radiation", "wind_speed_10m",
	"relative_humidity_2m",
};

enum { WAITING, ARRIVED, FAILED };

/* The days [first, last] (days since 1970-01-01, UTC) of one request and
 * its answer. */
struct year {
	int64_t first, last;
	int state;
	int64_t *t;
	double *v[NVARS];
	size_t n;
	const struct og_weather_opts *o;
	const char *place;
};

static int64_t
floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

static void
format_day(char *buf, size_t size, int64_t day)
{
	int64_t y;
	int m, d;

	og_civil_from_days(day, &y, &m, &d);
	snprintf(buf, size, "%04jd-%02d-%02d", (intmax_t)y, m, d);
}

int
og_weather_location(const char *s, double *lat, double *lon)
{
	const char *comma = strchr(s, ',');

	if (!comma || strchr(comma + 1, ','))
		return -1;
	if (og_parse_value(s, comma - s, lat) < 0 ||
	    og_parse_value(comma + 1, strlen(comma + 1), lon) < 0)
		return -1;
	if (!(*lat >= -90 && *lat <= 90 && *lon >= -180 && *lon <= 180))
		return -1;
	*lat += 0.0;	/* -0.0 is 0 */
	*lon += 0.0;
	return 0;
}

/* The element tokens of array a go from a + 1, each at the next of the one
 * before; a value is a number or null. */
static const char *
values(const struct og_json *j, size_t a, size_t n, const char *name,
    double *v, char *why, size_t whysize)
{
	size_t i, e;

	if (!a || j->tok[a].type != OG_JSON_ARRAY) {
		snprintf(why, whysize, "no array hourly.%s in the answer", name);
		return why;
	}
	if (j->tok[a].size != n) {
		snprintf(why, whysize, "hourly.%s has %u values, hourly.time %zu",
		    name, j->tok[a].size, n);
		return why;
	}
	for (i = 0, e = a + 1; i < n; i++, e = j->tok[e].next) {
		if (j->tok[e].type == OG_JSON_NULL)
			v[i] = NAN;
		else if (og_json_double(j, e, &v[i]) < 0 || !isfinite(v[i])) {
			snprintf(why, whysize, "hourly.%s[%zu] is not a number",
			    name, i);
			return why;
		}
	}
	return NULL;
}

/* The answer: {"hourly":{"time":[...],"temperature_2m":[...],...}}, the
 * times whole seconds, increasing, inside the days asked for. */
static const char *
parse(struct year *y, const char *body, size_t len, char *why, size_t whysize)
{
	struct og_json j = { 0 };
	const char *err = NULL;
	size_t pos, h, a, i, e, n = 0;
	int k;

	if ((err = og_json_parse(&j, body, len, &pos))) {
		snprintf(why, whysize, "bad JSON at byte %zu: %s", pos, err);
		err = why;
	} else if (!(h = og_json_member(&j, 0, "hourly")) ||
	    j.tok[h].type != OG_JSON_OBJECT) {
		err = "no object hourly in the answer";
	} else if (!(a = og_json_member(&j, h, "time")) ||
	    j.tok[a].type != OG_JSON_ARRAY) {
		err = "no array hourly.time in the answer";
	} else {
		n = j.tok[a].size;
		y->t = og_reallocarray(NULL, n + 1, sizeof *y->t);
		for (i = 0, e = a + 1; !err && i < n; i++, e = j.tok[e].next) {
			if (og_json_int64(&j, e, &y->t[i]) < 0)
				err = "a time in hourly.time is not whole seconds";
			else if (i > 0 && y->t[i] <= y->t[i - 1])
				err = "the times in hourly.time do not increase";
			else if (y->t[i] < y->first * 86400 ||
			    y->t[i] >= (y->last + 1) * 86400)
				err = "a time in hourly.time is outside the days "
				    "asked for";
		}
		for (k = 0; !err && k < NVARS; k++) {
			y->v[k] = og_reallocarray(NULL, n + 1, sizeof **y->v);
			err = values(&j, og_json_member(&j, h, variables[k]), n,
			    variables[k], y->v[k], why, whysize);
		}
	}
	og_json_free(&j);
	y->n = err ? 0 : n;
	return err;
}

/* An error's reason, as the API gives it, {"error":true,"reason":"..."},
 * after its status: "HTTP 400: reason (after 2 tries)". */
static void
add_reason(struct og_req *r)
{
	struct og_json j = { 0 };
	char reason[160], msg[sizeof r->why + sizeof reason + 32];
	size_t pos, len;
	int n;

	n = snprintf(msg, sizeof msg, "HTTP %ld", r->status);
	if (r->status >= 400 && r->body && strncmp(r->why, msg, n) == 0 &&
	    !og_json_parse(&j, r->body, r->len, &pos) &&
	    og_json_text(&j, og_json_member(&j, 0, "reason"), reason,
	    sizeof reason) == 0) {
		snprintf(msg, sizeof msg, "HTTP %ld: %s%s", r->status, reason,
		    r->why + n);
		len = strlen(msg) < sizeof r->why ? strlen(msg) :
		    sizeof r->why - 1;
		memcpy(r->why, msg, len);
		r->why[len] = '\0';
	}
	og_json_free(&j);
}

static void
done(struct og_req *r)
{
	struct year *y = r->ctx;
	char from[16], to[16], why[256];
	const char *err = NULL;

	if (!r->ok) {
		add_reason(r);
		err = r->why;
	} else {
		err = parse(y, r->body, r->len, why, sizeof why);
	}
	y->state = err ? FAILED : ARRIVED;
	if (err) {
		format_day(from, sizeof from, y->first);
		format_day(to, sizeof to, y->last);
		og_warn("weather at %s from %s to %s: %s", y->place, from, to,
		    err);
	}
}

static void
request(struct og_fetcher *f, struct year *y, long prio)
{
	const struct og_weather_opts *o = y->o;
	char lat[OG_NUMBER_MAX], lon[OG_NUMBER_MAX], from[16], to[16];
	struct og_req r = { 0 };
	size_t n;

	lat[og_format_value(lat, o->lat)] = '\0';
	lon[og_format_value(lon, o->lon)] = '\0';
	format_day(from, sizeof from, y->first);
	format_day(to, sizeof to, y->last);
	n = strlen(o->base) + 512;
	r.url = og_malloc(n);
	snprintf(r.url, n, "%s/v1/archive?latitude=%s&longitude=%s"
	    "&start_date=%s&end_date=%s&hourly=%s,%s,%s,%s&timezone=GMT"
	    "&timeformat=unixtime&wind_speed_unit=ms", o->base, lat, lon, from,
	    to, variables[0], variables[1], variables[2], variables[3]);
	r.accept = "application/json";
	r.prio = prio;
	r.done = done;
	r.ctx = y;
	og_fetch_add(f, &r);
	free(r.url);
}

/* Each variable's records together, in time order: those of the years up
 * to the first that failed. */
static void
print(struct year *years, size_t ny, int64_t start, int64_t end)
{
	size_t i, k, m;
	int v;

	for (v = 0; v < NVARS; v++)
		for (i = 0; i < ny && years[i].state == ARRIVED; i++)
			for (k = 0, m = years[i].n; k < m; k++)
				if (years[i].t[k] >= start && years[i].t[k] < end)
					og_out_record(variables[v],
					    strlen(variables[v]), years[i].t[k],
					    years[i].v[v][k]);
}

int
og_weather_run(const struct og_weather_opts *o)
{
	struct og_fetcher *f;
	struct year *years;
	char place[2 * OG_NUMBER_MAX + 2], day[16];
	int64_t start = o->start, end = o->end, first, last, y0, y1, yr;
	size_t ny, i;
	int m, d, failed = 0, v;

	if (end == INT64_MAX)
		end = time(NULL);
	if (start >= end)
		og_usage_error("-s START must be before -e END");
	first = floor_div(start, 86400);
	last = floor_div(end - 1, 86400);
	og_civil_from_days(first, &y0, &m, &d);
	og_civil_from_days(last, &y1, &m, &d);
	if (y0 < 1 || y1 > 9999)
		og_usage_error("weather only for the years 1 to 9999");
	m = og_format_value(place, o->lat);
	place[m++] = ',';
	place[m + og_format_value(place + m, o->lon)] = '\0';
	ny = y1 - y0 + 1;
	years = og_calloc(ny, sizeof *years);
	f = og_fetch_new(&o->fetch);
	for (i = 0, yr = y0; i < ny; i++, yr++) {
		years[i].first = yr == y0 ? first : og_days_from_civil(yr, 1, 1);
		years[i].last = yr == y1 ? last : og_days_from_civil(yr, 12, 31);
		years[i].o = o;
		years[i].place = place;
		request(f, &years[i], (long)i);
	}
	og_fetch_run(f, NULL, NULL);
	og_fetch_free(f);
	print(years, ny, start, end);
	for (i = 0; i < ny; i++) {
		if (years[i].state != ARRIVED && !failed && !o->quiet &&
		    i + 1 < ny) {
			format_day(day, sizeof day, years[i].first);
			og_warn("weather at %s: records from %s on held back "
			    "until that year can be fetched", place, day);
		}
		failed |= years[i].state != ARRIVED;
		free(years[i].t);
		for (v = 0; v < NVARS; v++)
			free(years[i].v[v]);
	}
	free(years);
	return failed;
}
