/* og-metric: resample, aggregate and combine records. */
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "og.h"

#define AGG_MAX 32

static const char usage_format[] =
    "usage: og-metric [-dDruT] [-i INTERVAL] [-a AGG] [-g SECONDS] [-F RATE]\n"
    "                 [-w HH:MM-HH:MM] [-z ZONE] [-P INTERVAL]\n"
    "                 [-M META [-x NAME=EXPR]...] [--partial] [--merge]\n"
    "                 [--hdd BASES] [--cdd BASES] [FILE...]\n"
    "Turn records into metrics; with no INTERVAL, pass records through checked.\n"
    "  -i INTERVAL  buckets: Ns Nmin Nh (fixed), Nd Nw Nmo Ny (calendar, local)\n"
    "  -a AGG       %s (comma-separated)\n"
    "  -d           input is a counter that only rises: a fall is a reset\n"
    "               (with -M, gridNet counters are read as with -D)\n"
    "  -D           input is a reversible counter: a fall is export\n"
    "  -F RATE      fastest fall, units an hour, still export (default 100000)\n"
    "  -g SECONDS   longest gap -d interpolates across (default: any)\n"
    "  -r           per-bucket quantity to an average rate (per hour; l per minute)\n"
    "  -u           input in any order: hold every bucket to the end\n"
    "  -w HH:MM-HH:MM  keep samples in this local time-of-day window\n"
    "  -P INTERVAL  profile: aggregate per local time of day\n"
    "  -M META      sensor sheet (og-meta output) for site metrics, -r units, -d\n"
    "  -x NAME=EXPR site metric, e.g. siteCons=gridNet+gridImport+pvProd-gridExport+gridCons\n"
    "  -z ZONE      time zone for calendar buckets, windows and -T (default TZ)\n"
    "  -T           print times as ISO 8601 in the local zone\n"
    "  --partial    write mergeable partial state\n"
    "  --merge      read partial state (from --partial with the same options)\n"
    "  --hdd BASES, --cdd BASES  heating, cooling degree days, e.g. 13,16.5 (-i 1d)\n"
    "  -h  this help    -V  version\n";

static char usage_text[sizeof usage_format + 128];

static const struct option long_options[] = {
	{ "partial", no_argument, NULL, 'p' },
	{ "merge", no_argument, NULL, 'm' },
	{ "hdd", required_argument, NULL, 'H' },
	{ "cdd", required_argument, NULL, 'C' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

/* What the command line asks for. */
struct options {
	const char *interval, *profile, *window, *agglist, *metapath;
	const char *gap, *max_fall;
	int increasing, reversible, merge;
};

static struct og_agg *aggs;
static size_t naggs;
static int partial, rate, counter;
static struct og_meta meta;
static int have_meta;
static struct og_sites sites;
static struct og_expr *exprs;
static size_t nexprs;
static struct og_degday degday;
static int degdays;

static struct og_sensor *
sensor_of(struct og_series *k)
{
	static struct og_series *last;
	static struct og_sensor *found;

	if (!have_meta)
		return NULL;
	if (k != last) {
		last = k;
		found = og_meta_find(&meta, k->key, k->keylen);
	}
	return found;
}

/* -d with a sheet: a gridNet meter is reversible ("total", not
 * "total_increasing", in Home Assistant's words) */
static int
grid_net(void *ctx, struct og_series *k)
{
	struct og_sensor *sn = sensor_of(k);

	(void)ctx;
	return sn && strcmp(sn->category, "gridNet") == 0;
}

static int
always(void *ctx, struct og_series *k)
{
	(void)ctx;
	(void)k;
	return 1;
}

/* -r: a quantity per bucket over the hours (or, for sensors the sheet
 * gives in liters, the minutes) it covers: a counter's bucket covers the
 * time its readings span, any other bucket its whole length */
static double
rate_of(double v, struct og_sensor *sn, struct og_state *s)
{
	double unit = sn && strcmp(sn->unit, "l") == 0 ? 60 : 3600;
	int64_t length = counter ? s->covered : s->end - s->start;

	if (length <= 0)
		return NAN;
	return v / ((double)length / unit);
}

static void
emit(void *ctx, struct og_series *k, struct og_state *s)
{
	char key[OG_KEY_MAX + 32];
	struct og_sensor *sn;
	double v[AGG_MAX];
	size_t a;
	int len;

	(void)ctx;
	if (partial) {
		og_state_write(s, k->key, k->keylen, s->start);
		return;
	}
	if (degdays) {
		og_degday_add(&degday, k->key, k->keylen, s->start,
		    og_state_value(s, &aggs[0]));
		return;
	}
	sn = sensor_of(k);
	for (a = 0; a < naggs; a++) {
		v[a] = og_state_value(s, &aggs[a]);
		if (rate)
			v[a] = rate_of(v[a], sn, s);
	}
	if (nexprs) {
		if (sn)
			og_sites_add(&sites, sn - meta.sensors, s->start, v);
		return;
	}
	if (naggs == 1) {
		og_out_record(k->key, k->keylen, s->start, v[0]);
		return;
	}
	for (a = 0; a < naggs; a++) {
		len = snprintf(key, sizeof key, "%s/%s", k->key, aggs[a].name);
		og_out_record(key, len, s->start, v[a]);
	}
}

/* --partial: KEY<TAB>START alone marks that the key moved on to a bucket */
static void
opened(void *ctx, struct og_series *k, int64_t start)
{
	char buf[24];

	(void)ctx;
	og_out(k->key, k->keylen);
	og_out_char('\t');
	og_out(buf, og_format_int64(buf, start));
	og_out_char('\n');
}

/* The options a partial state depends on; --merge must be given the same. */
static void
signature(char *buf, size_t size, const struct options *o,
    const struct og_series_set *set)
{
	const char *tz = getenv("TZ");

	snprintf(buf, size, "#og-metric partial 2 i=%s P=%s d=%s g=%s F=%s "
	    "w=%s u=%d z=%s samples=%d", o->interval ? o->interval : "-",
	    o->profile ? o->profile : "-",
	    o->reversible ? "D" : o->increasing ? (have_meta ? "M" : "d") : "-",
	    o->gap ? o->gap : "-", o->max_fall ? o->max_fall : "-",
	    o->window ? o->window : "-", set->hold, tz && *tz ? tz : "-",
	    set->keep_samples);
}

/* What reading the input needs to know. */
struct input {
	struct og_series_set *set;
	int transform;
	const char *sig;
};

static void
merge_line(void *ctx, char *line, size_t len, const struct og_reader *rd)
{
	struct input *in = ctx;
	struct og_record r;
	struct og_state st;
	const char *err, *tab1, *tab2;

	if (line[0] == '#') {
		if (strncmp(line, "#og-metric partial ", 19) != 0)
			og_die("%s:%ju: not og-metric --partial output",
			    rd->name, rd->lineno);
		if (strcmp(line, in->sig) != 0)
			og_die("%s:%ju: partial state of other options "
			    "('%s', here '%s')", rd->name, rd->lineno,
			    line + 19, in->sig + 19);
		return;
	}
	if (!(tab1 = memchr(line, '\t', len)) ||
	    !og_key_valid(line, tab1 - line))
		og_die("%s:%ju: bad partial state line", rd->name, rd->lineno);
	if (!(tab2 = memchr(tab1 + 1, '\t', line + len - tab1 - 1)))
		tab2 = line + len;
	if (og_parse_int64(tab1 + 1, tab2 - tab1 - 1, &r.time) < 0)
		og_die("%s:%ju: bad partial state line", rd->name, rd->lineno);
	r.key = line;
	r.keylen = tab1 - line;
	if (tab2 == line + len) {
		og_series_state(in->set, &r, NULL, rd->name, rd->lineno);
		return;
	}
	og_state_init(&st, 0, 0);
	if ((err = og_state_parse(tab2 + 1, line + len, &st)))
		og_die("%s:%ju: %s", rd->name, rd->lineno, err);
	og_series_state(in->set, &r, &st, rd->name, rd->lineno);
	og_state_free(&st);
}

static void
sample(void *ctx, struct og_record *r, const struct og_reader *rd)
{
	struct input *in = ctx;

	if (in->transform)
		og_series_sample(in->set, r, rd->name, rd->lineno);
	else if (!in->set->window || og_window_has(&in->set->win, r->time))
		og_out_record(r->key, r->keylen, r->time, r->value);
}

static void
add_expr(const char *arg)
{
	char why[128];
	const char *err;
	size_t t;

	exprs = og_reallocarray(exprs, nexprs + 1, sizeof *exprs);
	if ((err = og_expr_parse(arg, &exprs[nexprs], why, sizeof why)))
		og_usage_error("bad metric '%s': %s", arg, err);
	for (t = 0; t < exprs[nexprs].nterms; t++)
		if (og_category(exprs[nexprs].terms[t].cat) < 0)
			og_usage_error("bad metric '%s': unknown category '%s' (%s)",
			    arg, exprs[nexprs].terms[t].cat,
			    og_category_names());
	nexprs++;
}

static int
parse_options(int argc, char *argv[], struct options *o,
    struct og_series_set *set)
{
	char why[128];
	int c;

	while ((c = getopt_long(argc, argv, "a:dDF:g:hi:M:P:rTuVw:x:z:",
	    long_options, NULL)) != -1) {
		switch (c) {
		case 'a':
			o->agglist = optarg;
			break;
		case 'C':
		case 'H':
			if (og_degday_bases(&degday, optarg, c == 'C', why,
			    sizeof why))
				og_usage_error("--%s: %s", c == 'C' ? "cdd" :
				    "hdd", why);
			degdays = 1;
			break;
		case 'd':
			o->increasing = 1;
			break;
		case 'D':
			o->reversible = 1;
			break;
		case 'F':
			o->max_fall = optarg;
			if (og_parse_value(optarg, strlen(optarg),
			    &set->max_fall) < 0 || !(set->max_fall > 0) ||
			    isinf(set->max_fall))
				og_usage_error("bad fastest fall '%s' (units an "
				    "hour, above 0)", optarg);
			break;
		case 'g':
			o->gap = optarg;
			if (og_parse_int64(optarg, strlen(optarg), &set->gap) < 0 ||
			    set->gap <= 0)
				og_usage_error("bad gap '%s' (seconds)", optarg);
			break;
		case 'h':
			og_usage(usage_text, 0);
		case 'i':
			o->interval = optarg;
			break;
		case 'M':
			o->metapath = optarg;
			break;
		case 'm':
			o->merge = 1;
			break;
		case 'P':
			o->profile = optarg;
			break;
		case 'p':
			partial = 1;
			break;
		case 'r':
			rate = 1;
			break;
		case 'T':
			og_iso_times = 1;
			break;
		case 'u':
			set->hold = 1;
			break;
		case 'V':
			og_version();
		case 'w':
			o->window = optarg;
			if (og_window_parse(optarg, &set->win) < 0)
				og_usage_error("bad window '%s' (HH:MM-HH:MM)",
				    optarg);
			set->window = 1;
			break;
		case 'x':
			add_expr(optarg);
			break;
		case 'z':
			og_set_zone(optarg);
			break;
		default:
			og_usage(usage_text, OG_EXIT_USAGE);
		}
	}
	return optind;
}

/* The combinations that make no sense are usage errors. */
static void
check_options(struct options *o, struct og_series_set *set)
{
	struct og_interval iv;
	int transform = o->interval || o->profile;

	if (o->interval && og_interval_parse(o->interval, &set->iv) < 0)
		og_usage_error("bad interval '%s' (Ns, Nmin, Nh, Nd, Nw, Nmo or Ny)",
		    o->interval);
	if (o->profile) {
		if (og_interval_parse(o->profile, &iv) < 0 ||
		    iv.unit != OG_SECONDS || 86400 % iv.n != 0)
			og_usage_error("bad profile interval '%s' (Ns, Nmin or Nh "
			    "dividing a day)", o->profile);
		set->profile = iv.n;
		og_iso_times = 0;
	}
	if (o->interval && o->profile)
		og_usage_error("-i and -P exclude each other");
	if (o->increasing && o->reversible)
		og_usage_error("-d and -D exclude each other");
	counter = o->increasing || o->reversible;
	if (!transform && (o->agglist || counter || rate || set->hold ||
	    partial || o->merge || nexprs))
		og_usage_error("-a, -d, -D, -r, -u, -x, --partial and --merge "
		    "need -i or -P");
	if (counter && (o->agglist || o->window || o->profile))
		og_usage_error("-d and -D exclude -a, -w and -P (pipe their "
		    "output into another og-metric)");
	if ((o->gap || o->max_fall) && !counter)
		og_usage_error("-g and -F need -d or -D");
	if (o->max_fall && !o->reversible && !o->metapath)
		og_usage_error("-F needs -D, or -d with -M (reversible counters)");
	if (degdays && (!o->interval || set->iv.unit != OG_DAYS ||
	    set->iv.n != 1))
		og_usage_error("--hdd and --cdd need -i 1d (degree days are per "
		    "local day)");
	if (degdays && (o->agglist || counter || rate || o->window ||
	    o->metapath || partial))
		og_usage_error("--hdd and --cdd exclude -a, -d, -D, -r, -w, -M, "
		    "-x and --partial (--merge takes the state of -i 1d "
		    "--partial)");
	if (nexprs && !o->metapath)
		og_usage_error("-x needs -M");
	if (o->metapath && !nexprs && !rate && !counter)
		og_usage_error("-M needs -x, -r, -d or -D");
}

static void
set_up(struct options *o, struct og_series_set *set, char *sig, size_t size)
{
	const char *bad, *list = counter ? "sum" : o->agglist ? o->agglist :
	    "mean";
	size_t i;

	if (og_agg_parse(list, &aggs, &naggs, &bad) < 0) {
		og_usage_error("bad aggregate '%s' (%s)", bad, og_agg_names());
	} else if (naggs > AGG_MAX) {
		og_usage_error("more than %d aggregates", AGG_MAX);
	}
	set->sums_only = !partial && !degdays && !nexprs && !counter && !rate;
	for (i = 0; i < naggs; i++) {
		if (aggs[i].samples)
			set->keep_samples = 1;
		if (!aggs[i].sums)
			set->sums_only = 0;
	}
	if (o->metapath) {
		og_meta_read(&meta, o->metapath);
		have_meta = 1;
	}
	if (nexprs)
		og_sites_init(&sites, &meta, exprs, nexprs, naggs);
	set->emit = emit;
	if (partial)
		set->opened = opened;
	if (o->reversible)
		set->reversible = always;
	else if (o->increasing && have_meta)
		set->reversible = grid_net;
	signature(sig, size, o, set);
	if (partial) {
		og_out_str(sig);
		og_out_char('\n');
	}
	set->counter = counter && !o->merge;
}

int
main(int argc, char *argv[])
{
	struct og_series_set set;
	struct options o = { 0 };
	struct input in;
	char sig[512];
	int i;

	og_setprog(argv[0]);
	snprintf(usage_text, sizeof usage_text, usage_format, og_agg_names());
	og_series_init(&set);
	og_degday_init(&degday, og_out_record);
	set.max_fall = 100000;
	i = parse_options(argc, argv, &o, &set);
	argc -= i;
	argv += i;
	check_options(&o, &set);
	set_up(&o, &set, sig, sizeof sig);

	in = (struct input){ &set, o.interval || o.profile, sig };
	if (o.merge)
		og_line_loop(argc, argv, merge_line, &in);
	else
		og_record_loop(argc, argv, sample, &in);
	og_series_finish(&set);
	if (nexprs)
		og_sites_finish(&sites, aggs, og_out_record);
	og_out_close();

	for (i = 0; i < (int)nexprs; i++)
		og_expr_free(&exprs[i]);
	free(exprs);
	free(aggs);
	og_degday_free(&degday);
	if (have_meta)
		og_meta_free(&meta);
	return 0;
}
