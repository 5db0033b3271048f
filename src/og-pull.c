/* og-pull: fetch sensor data from the Flukso API, live from a
 * Fluksometer's MQTT broker, or weather. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "og.h"

static const char usage_text[] =
    "usage: og-pull [-kqSv] [-m tmpo|api] [-u BASEURL] [-s START] [-e END] [-r RES]\n"
    "               [-U UNIT] [-j N] [-R RID] [-t SECONDS] [-K TOKENFILE]\n"
    "       og-pull -m mqtt -u mqtt[s]://HOST[:PORT] [-kqSv] [-i CLIENTID]\n"
    "               [-t SECONDS] [-K LOGINFILE]\n"
    "       og-pull -m weather -L LAT,LON -s START [-e END] [-kqv] [-u BASEURL]\n"
    "               [-j N] [-t SECONDS]\n"
    "Read SENSOR TAB TOKEN [TAB SINCE] lines on stdin; print their records.\n"
    "  -K FILE   tokens from FILE (SENSOR TOKEN lines, mode 0600); stdin\n"
    "            then has SENSOR [TAB SINCE] lines\n"
    "  -m MODE   tmpo (raw blocks, default), api (averaged values), mqtt\n"
    "            (live from a broker: the sensors on stdin, or every one) or\n"
    "            weather (hourly weather at -L from Open-Meteo; no input)\n"
    "  -i ID     mqtt: client id of a persistent session (QoS 1)\n"
    "  -L LAT,LON  the place of -m weather, in degrees\n"
    "  -u URL    API base URL (default $OG_API_URL or https://api.flukso.net;\n"
    "            weather: $OG_WEATHER_URL or https://archive-api.open-meteo.com)\n"
    "  -s START  only records from START on    -e END  only before END\n"
    "  -r RES    api resolution: minute 15min hour day week month year\n"
    "  -U UNIT   api unit: watt kwhperyear lpermin lperday m3peryear\n"
    "  -j N      concurrent connections (default 8)\n"
    "  -R RID    tmpo recycle id (default: the highest)\n"
    "  -S        strict: no salvage of blocks old firmware compacted wrongly\n"
    "  -t SEC    give up a try after SEC seconds (default 60); mqtt: stop\n"
    "            after SEC seconds without a message (default never)\n"
    "  -k        do not verify https or mqtts certificates\n"
    "  -q        quiet    -v  verbose\n"
    "  -h  this help    -V  version\n";

/* The sensor API stamps each value with the end of its interval; records
 * are stamped with the start, as og-metric's buckets are. */
static const struct {
	const char *name;
	int64_t seconds;
} resolutions[] = {
	{ "minute", 60 }, { "15min", 900 }, { "hour", 3600 },
	{ "day", 86400 }, { "week", 604800 }, { "month", 2592000 },
	{ "year", 31536000 }, { NULL, 0 },
};

static struct og_sync *puller;
static struct og_creds creds;	/* -K */
static const char *tokfile;
static int mqtt;		/* -m mqtt */
static const char *client_id;	/* -i */
static int64_t start = INT64_MIN, end = INT64_MAX;
static int weather, located;	/* -m weather, -L */
static double lat, lon;

static int
unit_ok(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > 64)
		return 0;
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_')
			return 0;
	return 1;
}

/* Reports what is wrong with an input line; 1. */
static int bad(struct og_reader *rd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
bad(struct og_reader *rd, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		og_die("out of memory");
	va_end(ap);
	og_warn("%s:%ju: %s", rd->name, rd->lineno, msg);
	free(msg);
	return 1;
}

/* One line SENSOR<TAB>TOKEN[<TAB>SINCE], or with -K SENSOR[<TAB>SINCE]:
 * added, or reported (never with its token) and 1 returned. */
static int
add_sensor(struct og_reader *rd, char *line, size_t len)
{
	char *tab = memchr(line, '\t', len), *since = NULL;
	const char *tok;
	int64_t t = start;

	if (!tab && !tokfile)
		return bad(rd, "expected SENSOR TAB TOKEN [TAB SINCE]");
	if (tokfile)
		since = tab ? tab + 1 : NULL;
	else if ((since = memchr(tab + 1, '\t', line + len - tab - 1)))
		*since++ = '\0';
	if (!og_tmpo_sensor_ok(line, tab ? (size_t)(tab - line) : len))
		return bad(rd, "bad sensor id (expected 32 hex digits)");
	if (tab)
		*tab = '\0';
	tok = tokfile ? og_cred_find(&creds, line) : tab + 1;
	if (!tok)
		return bad(rd, "%s: no token in %s", line, tokfile);
	if (!tokfile && !og_token_ok(tok, strlen(tok)))
		return bad(rd, "%s: bad token", line);
	if (since && og_parse_int64(since, strlen(since), &t) < 0)
		return bad(rd, "%s: bad time '%s'", line, since);
	if (og_sync_add(puller, line, tok, t, end) < 0)
		return bad(rd, "%s: sensor given twice", line);
	if (!tokfile)
		explicit_bzero(tab + 1, strlen(tab + 1));
	return 0;
}

/* -m mqtt: SENSOR[<TAB>TOKEN...], the token not needed. */
static int
add_live(struct og_reader *rd, char *line, size_t len, struct og_mqtt *q)
{
	size_t n = strcspn(line, "\t");

	explicit_bzero(line + n, len - n);
	if (!og_tmpo_sensor_ok(line, n))
		return bad(rd, "bad sensor id (expected 32 hex digits)");
	if (og_mqtt_add(q, line) < 0)
		return bad(rd, "%s: sensor given twice", line);
	return 0;
}

/* The lines of stdin; with -m mqtt, none when it is a terminal. */
static int
read_sensors(struct og_mqtt *q)
{
	struct og_reader rd;
	char *line;
	size_t len;
	int failed = 0;

	if (q && isatty(0))
		return 0;
	og_reader_open(&rd, NULL);
	while ((line = og_read_line(&rd, &len)))
		if (len > 0)
			failed |= q ? add_live(&rd, line, len, q) :
			    add_sensor(&rd, line, len);
	og_reader_close(&rd);
	return failed;
}

static int64_t
time_arg(const char *s)
{
	int64_t t;

	if (og_parse_time_arg(s, &t) < 0)
		og_usage_error("bad time '%s'", s);
	return t;
}

static double
env_number(const char *name, double def, double min, double max)
{
	const char *s = getenv(name);
	double v;

	if (!s || !*s)
		return def;
	if (og_parse_value(s, strlen(s), &v) < 0 || !(v >= min && v <= max))
		og_die("bad %s '%s'", name, s);
	return v;
}

/* Tokens travel in a header: in clear only to this machine.  Weather
 * needs none, and a self-hosted Open-Meteo may well speak plain http. */
static void
check_base(const char *url)
{
	const char *host;
	size_t n;

	if (strncasecmp(url, "https://", 8) == 0)
		return;
	if (strncasecmp(url, "http://", 7) != 0) {
		og_warn("%s: not an http or https URL", url);
		exit(OG_EXIT_USAGE);
	}
	if (weather)
		return;
	host = url + 7;
	n = strcspn(host, "/:?#");
	if ((n == 9 && strncmp(host, "127.0.0.1", 9) == 0) ||
	    (n == 9 && strncasecmp(host, "localhost", 9) == 0) ||
	    strncmp(host, "[::1]", 5) == 0)
		return;
	og_warn("%s: plain http only to this machine (127.0.0.1, localhost, "
	    "[::1]); use https", url);
	exit(OG_EXIT_USAGE);
}

static char *
base_url(const char *url)
{
	char *base;
	size_t i;

	check_base(url);
	base = og_strdup(url);
	for (i = strlen(base); i > 0 && base[i - 1] == '/'; i--)
		base[i - 1] = '\0';
	return base;
}

static void
check_options(struct og_sync_opts *o, const char *mode)
{
	const char *e;
	size_t i;

	if (strcmp(mode, "tmpo") == 0)
		o->api = 0;
	else if (strcmp(mode, "api") == 0)
		o->api = 1;
	else if (strcmp(mode, "mqtt") == 0)
		mqtt = 1;
	else if (strcmp(mode, "weather") == 0)
		weather = 1;
	else
		og_usage(usage_text, OG_EXIT_USAGE);
	if (weather && !located)
		og_usage_error("-m weather needs -L LAT,LON");
	if (weather && start == INT64_MIN)
		og_usage_error("-m weather needs -s START");
	if (!weather && located)
		og_usage_error("-L needs -m weather");
	if (mqtt && (start != INT64_MIN || end != INT64_MAX || o->unit ||
	    o->rid != -1 || strcmp(o->res, "minute") != 0 || o->fetch.jobs != 8))
		og_usage_error("-s, -e, -r, -U, -j and -R are not for -m mqtt");
	if (mqtt) {
		if (!o->base)
			o->base = "";
		return;
	}
	if (client_id)
		og_usage_error("-i CLIENTID is for -m mqtt");
	if (!o->fetch.timeout)
		o->fetch.timeout = 60;
	for (i = 0; resolutions[i].name; i++)
		if (strcmp(o->res, resolutions[i].name) == 0)
			o->res_seconds = resolutions[i].seconds;
	if (!o->res_seconds)
		og_usage_error("bad -r '%s': minute 15min hour day week month year",
		    o->res);
	if (o->unit && !unit_ok(o->unit, strlen(o->unit)))
		og_usage_error("bad -U '%s'", o->unit);
	if (start != INT64_MIN && end != INT64_MAX && start >= end)
		og_usage_error("-s START must be before -e END");
	e = getenv(weather ? "OG_WEATHER_URL" : "OG_API_URL");
	if (!o->base)
		o->base = e && *e ? e : weather ?
		    "https://archive-api.open-meteo.com" : "https://api.flukso.net";
	o->base = base_url(o->base);
	o->fetch.verbose = o->verbose;
	o->fetch.tries = env_number("OG_PULL_TRIES", 5, 1, 100);
	o->fetch.backoff = env_number("OG_PULL_BACKOFF", 1, 0, 3600);
	o->fetch.backoff_max = 60 > o->fetch.backoff ? 60 : o->fetch.backoff;
	o->progress = !o->quiet && !o->verbose && isatty(2);
}

static void
options(int argc, char *argv[], struct og_sync_opts *o)
{
	const char *mode = "tmpo";
	int64_t n;
	int c;

	while ((c = getopt_long(argc, argv, "e:hi:j:K:kL:m:qR:r:Ss:t:U:u:Vv",
	    og_long_options, NULL)) != -1) {
		switch (c) {
		case 'h':
			og_usage(usage_text, 0);
		case 'V':
			og_version();
		case 'e':
			end = time_arg(optarg);
			break;
		case 'i':
			client_id = optarg;
			break;
		case 'j':
			if (og_parse_int64(optarg, strlen(optarg), &n) < 0 ||
			    n < 1 || n > 64)
				og_usage_error("bad -j '%s': 1 to 64", optarg);
			o->fetch.jobs = n;
			break;
		case 'K':
			tokfile = optarg;
			break;
		case 'k':
			o->fetch.insecure = 1;
			break;
		case 'L':
			if (og_weather_location(optarg, &lat, &lon) < 0)
				og_usage_error("bad -L '%s': LAT,LON in degrees, "
				    "latitude -90 to 90, longitude -180 to 180",
				    optarg);
			located = 1;
			break;
		case 'm':
			mode = optarg;
			break;
		case 'q':
			o->quiet = 1;
			o->verbose = 0;
			break;
		case 'R':
			if (og_parse_int64(optarg, strlen(optarg), &o->rid) < 0 ||
			    o->rid < 0)
				og_usage_error("bad -R '%s': a recycle id, 0 or more",
				    optarg);
			break;
		case 'r':
			o->res = optarg;
			break;
		case 'S':
			o->strict = 1;
			break;
		case 's':
			start = time_arg(optarg);
			break;
		case 't':
			if (og_parse_value(optarg, strlen(optarg),
			    &o->fetch.timeout) < 0 || !(o->fetch.timeout > 0 &&
			    o->fetch.timeout <= 86400))
				og_usage_error("bad -t '%s': seconds, more than 0 and"
				    " at most 86400", optarg);
			break;
		case 'U':
			o->unit = optarg;
			break;
		case 'u':
			o->base = optarg;
			break;
		case 'v':
			o->verbose = 1;
			o->quiet = 0;
			break;
		default:
			og_usage(usage_text, OG_EXIT_USAGE);
		}
	}
	if (optind != argc)
		og_usage(usage_text, OG_EXIT_USAGE);
	check_options(o, mode);
}

/* A line of the -K file. */
static const char *
check_cred(const char *sensor, const char *token)
{
	if (!og_tmpo_sensor_ok(sensor, strlen(sensor)))
		return "bad sensor id (expected 32 hex digits)";
	if (!og_token_ok(token, strlen(token)))
		return "expected SENSOR TOKEN";
	return NULL;
}

/* The -K file of -m mqtt: one line USER PASSWORD. */
static const char *
check_login(const char *user, const char *password)
{
	(void)user;
	return *password ? NULL : "expected USER PASSWORD";
}

/* -m mqtt: the sensors on stdin, or every one, live until a signal. */
static int
pull_live(const struct og_sync_opts *o)
{
	struct og_mqtt_opts mo = { o->base, client_id, o->fetch.timeout,
	    env_number("OG_PULL_BACKOFF", 1, 0, 3600), o->fetch.insecure,
	    o->strict, o->quiet, o->verbose };
	static struct og_mqtt *q;	/* static: reachable if og_die ends it */
	const char *why;
	int failed;

	if (tokfile) {
		og_cred_read(&creds, tokfile, check_login);
		if (creds.n != 1)
			og_die("%s: expected one line USER PASSWORD", tokfile);
	}
	if (!(q = og_mqtt_new(&mo, &why)))
		og_usage_error("bad -u for -m mqtt: %s", why);
	if (tokfile)
		og_mqtt_login(q, creds.c[0].name, creds.c[0].secret);
	og_cred_free(&creds);
	failed = read_sensors(q);
	failed |= og_mqtt_run(q);
	og_mqtt_free(q);
	og_out_close();
	return failed ? OG_EXIT_DATA : 0;
}

int
main(int argc, char *argv[])
{
	struct og_sync_opts o = { .fetch = { 8, 5, 0, 0, 0, 1, 60 },
	    .rid = -1, .res = "minute" };
	struct og_weather_opts w;
	int failed;

	og_setprog(argv[0]);
	options(argc, argv, &o);
	if (mqtt)
		return pull_live(&o);
	if (weather) {
		w = (struct og_weather_opts){ o.fetch, o.base, lat, lon, start,
		    end, o.quiet };
		failed = og_weather_run(&w);
	} else {
		puller = og_sync_new(&o);
		if (tokfile)
			og_cred_read(&creds, tokfile, check_cred);
		failed = read_sensors(NULL);
		og_cred_free(&creds);
		failed |= og_sync_run(puller);
		og_sync_free(puller);
	}
	free((char *)o.base);
	og_out_close();
	return failed ? OG_EXIT_DATA : 0;
}
