/*
 * gen: deterministic, physically plausible energy-meter records for the
 * benchmarks, written as KEY<TAB>UNIX_SECONDS<TAB>VALUE.
 *
 *   gen [-e FILE] [-n RECORDS] CLASS SENSORS DAYS [STEP]
 *
 * CLASS is one of
 *   pulse   a Flukso 1 Wh electricity counter: one record for each second
 *           in which the counter advanced (every fifth sensor is PV)
 *   gas     a 10 l gas counter, the same way
 *   water   a 1 l water counter, the same way
 *   gauge   a temperature every STEP seconds, two decimals
 *   power   mean power over each STEP seconds, full-precision doubles
 *   mix     sensor i is power, gauge or the 1 Wh counter read every STEP
 *           seconds, by i % 3: the throughput data set
 * and the pulse counters unlike those, with Flukso's 32-hex-digit keys:
 *   jitter  pulse's loads, each pulse time a second early or late one time
 *           in ten
 *   ripple  pulse's loads and an induction hob whose level changes every
 *           5 to 30 s while it cooks, the whole load with 1% noise per 20 s
 *   site    sites of four meters of different constants: electricity
 *           1 Wh, PV 0.5 Wh, gas 10 l, water 1 l, by i % 4
 *   idle    a holiday home: away 3 to 14 days at a time (standby power,
 *           frost protection), home 1 to 4; electricity 1 Wh and gas 10 l
 *   blend   sensor i takes the setting i % 8 of a table of constants
 *           (1 Wh, 0.5 Wh, 10 l, 1 l), loads, jitter, ripple and idling,
 *           so that with -n no setting dominates
 *   levels  the independent generator of issue 19: a load whose level
 *           changes every 2 to 10 minutes, with 3% noise per minute
 * STEP defaults to 60.  Sensor i is the same whatever SENSORS is, so a small
 * run is a prefix of a large one.  The simulation runs second by second:
 * a base load, a fridge cycling, appliances switched on at random with a
 * daily rhythm, PV following the sun and the clouds; a boiler for gas,
 * showers, toilets and taps for water.
 *
 * -n stops each sensor after RECORDS records.  -e writes to FILE the
 * records and, for the pulse classes, an estimate of their information,
 * "RECORDS PATHBITS JITTERBITS": the bits of the random choices that made
 * the power path (each yes/no of a second by its probability, each uniform
 * choice by the log of its choices, a continuous noise by the spread in
 * seconds it gives the next pulse time, the length of a flow that stops
 * by the pulses it can change), and the bits of the jitter, which are all
 * that the pulse times hold once the path is known.  A coder that knows
 * the generator needs no more on average; where the times do not show a
 * choice wholly, it may need less, so this is an estimate from above.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define START 1451606400	/* 2016-01-01T00:00:00Z */
#define LOCAL_OFFSET 3600	/* CET, close enough for a daily rhythm */
#define NAPPLIANCE 6
#define NLEVEL 8

struct rng { uint64_t s; };

static double
uniform(struct rng *r)
{
	r->s ^= r->s << 13;
	r->s ^= r->s >> 7;
	r->s ^= r->s << 17;
	return (r->s >> 11) * 0x1.0p-53;
}

/*
 * The information estimate (-e).  Accounting draws no random number, so
 * the records are the same with -e or without.
 */
static int counting;
static double pathbits, jitterbits;

/* A yes/no with chance p, costing the information of its answer. */
static int
chance(struct rng *r, double p)
{
	int yes = uniform(r) < p;

	if (counting && p > 0 && p < 1)
		pathbits += yes ? -log2(p) : -log1p(-p) / M_LN2;
	return yes;
}

/* A uniform choice among n (a duration in whole seconds, a level). */
static void
choices(double n)
{
	if (counting && n > 1)
		pathbits += log2(n);
}

/* How active a household is at a local hour, 0 to 1. */
static double
activity(long t)
{
	static const double byhour[24] = {
		.05, .03, .02, .02, .02, .05, .3, .7, .6, .3, .25, .3,
		.45, .35, .25, .25, .35, .6, .9, 1, .85, .6, .35, .15,
	};
	long h = ((t + LOCAL_OFFSET) % 86400) / 3600;

	return byhour[h];
}

/* The sun over Belgium: 0 at night, up to 1 at a summer noon. */
static double
sun(long t)
{
	double day = (double)((t - START) % (365 * 86400L)) / 86400;
	double hour = (double)((t + LOCAL_OFFSET) % 86400) / 3600;
	double half = 4.25 - 3.75 * cos(2 * M_PI * (day + 10) / 365);
	double x = (hour - 13) / half;

	if (x <= -1 || x >= 1)
		return 0;
	return cos(x * M_PI / 2) * (0.6 - 0.4 * cos(2 * M_PI * (day + 10) / 365));
}

/* kinds of flow */
enum { ELEC, PV, GAS, WATER, LEVELS };

struct sensor {
	struct rng r;
	int kind;
	double base, fridge_phase, clouds, peak;
	long on[NAPPLIANCE];	/* seconds each appliance stays on */
	double counter;		/* Wh or l, fractional */
	double unit;		/* Wh or l a pulse */

	/* the classes after mix draw from r2, so r gives pulse's loads */
	struct rng r2;
	int away;		/* idle: standby power, frost protection */
	long days;		/* days left at home or away */
	double noise;		/* the load's factor now */
	long hob, hobstep;	/* seconds left cooking, at this level */
	double hoblevel;
	double levels[NLEVEL], level;
	long dwell;		/* seconds left at this level */
	double shiftvar;	/* s^2 the noise moved the next pulse by */
};

static const struct { double watts, seconds, perday; } appliance[NAPPLIANCE] = {
	{ 2000, 150, 4 },	/* kettle */
	{ 1000, 240, 2 },	/* microwave */
	{ 2400, 2400, .5 },	/* oven */
	{ 500, 5400, .4 },	/* washing machine */
	{ 120, 7200, 1.5 },	/* television */
	{ 60, 3600, 6 },	/* lights */
};

/*
 * A noise of the load by a factor within 1 +- a, for len seconds, moves
 * every later pulse by up to a * len seconds: as information, its spread
 * in seconds counts, as a Gaussian's would, once a pulse shows it.
 */
static void
shift(struct sensor *s, double a, double len)
{
	if (counting)
		s->shiftvar += a * len * a * len / 3;
}

static void
shown(struct sensor *s)
{
	if (counting && s->shiftvar > 0)
		pathbits += log2(1 + sqrt(2 * M_PI * M_E * s->shiftvar));
	s->shiftvar = 0;
}

static void
sensor_init(struct sensor *s, int i, int kind)
{
	memset(s, 0, sizeof *s);
	s->r.s = 0x9e3779b97f4a7c15ULL * (uint64_t)(i + 1) | 1;
	s->kind = kind;
	s->base = 40 + 80 * uniform(&s->r);
	s->fridge_phase = 2700 * uniform(&s->r);
	s->peak = 2000 + 3000 * uniform(&s->r);
	s->clouds = 1;
	s->counter = 1000000 + (i % 97) * 1013;
	s->unit = kind == GAS ? 10 : 1;
	s->r2.s = 0xd1b54a32d192ed03ULL * (uint64_t)(i + 1) | 1;
	s->noise = 1;
}

/* The flow at second t: watts, or liters per second. */
static double
sensor_step(struct sensor *s, long t)
{
	double a = s->away ? 0 : activity(t), p = 0, u;
	int k;

	switch (s->kind) {
	case PV:
		if (t % 60 == 0) {
			s->clouds += 0.1 * (uniform(&s->r) - 0.5) +
			    0.02 * (0.8 - s->clouds);
			if (sun(t) > 0)
				shift(s, 0.05 / s->clouds, 60);
		}
		if (s->clouds < 0.1)
			s->clouds = 0.1;
		if (s->clouds > 1)
			s->clouds = 1;
		return s->peak * s->clouds * sun(t);
	case GAS:
		/* a boiler: space heating in winter, hot water all year */
		if (s->on[0] > 0) {
			s->on[0]--;
			return 0.4;
		}
		if (chance(&s->r, (s->away ? 0.15 : 1) * (0.3 + 0.7 *
		    cos(2 * M_PI * (double)((t - START) % 31536000) / 31536000) +
		    0.3 * a) / 1800)) {
			s->on[0] = 300 + (long)(900 * uniform(&s->r));
			choices(1 + 900 * 0.4 / s->unit);
		}
		return 0;
	case WATER:
		if (s->on[0] > 0) {
			s->on[0]--;
			return s->fridge_phase;	/* the current flow */
		}
		if (chance(&s->r, 30 * a / 86400)) {
			u = uniform(&s->r);
			if (u < 0.15) {		/* shower */
				s->on[0] = 480;
				s->fridge_phase = 0.13;
				choices(1 / 0.15);
			} else if (u < 0.6) {	/* toilet */
				s->on[0] = 50;
				s->fridge_phase = 0.12;
				choices(1 / 0.45);
			} else {		/* tap */
				s->on[0] = 20 + (long)(60 * uniform(&s->r));
				s->fridge_phase = 0.1;
				choices(1 / 0.4);
				choices(1 + 60 * 0.1 / s->unit);
			}
		}
		return 0;
	}
	p = s->away ? 20 : s->base;
	if (fmod(t + s->fridge_phase, 2700) < 900)
		p += 90;
	for (k = 0; k < NAPPLIANCE; k++) {
		if (s->on[k] > 0) {
			s->on[k]--;
			p += appliance[k].watts;
		} else if (chance(&s->r, appliance[k].perday * 3 * a / 86400)) {
			s->on[k] = (long)(appliance[k].seconds *
			    (0.5 + uniform(&s->r)));
			choices(appliance[k].seconds);
		}
	}
	return p;
}

/*
 * The settings of the classes after mix: kind, the meter's constant,
 * the chance of a jittered pulse time, a hob and noise within a minute,
 * days away.
 */
struct setting {
	int kind;
	double unit, jitter;
	int ripple, idle;
};

static const struct setting blend[8] = {
	{ ELEC, 1, 0, 0, 0 },
	{ ELEC, 0.5, 0.1, 0, 0 },
	{ PV, 1, 0.1, 0, 0 },
	{ ELEC, 1, 0, 1, 1 },
	{ GAS, 10, 0, 0, 0 },
	{ GAS, 10, 0.1, 0, 1 },
	{ WATER, 1, 0, 0, 0 },
	{ LEVELS, 1, 0.1, 0, 0 },
};

static void
levels_init(struct sensor *s)
{
	static const double offset[NLEVEL] = {
		0, 60, 150, 400, 800, 1500, 2200, 3000,
	};
	int k;

	for (k = 0; k < NLEVEL; k++)
		s->levels[k] = s->base + offset[k];
	s->level = s->levels[0];
}

/* The flow at second t of a setting: sensor_step and what it adds. */
static double
setting_step(struct sensor *s, const struct setting *set, long t)
{
	double p, u;

	if (set->idle && (t + LOCAL_OFFSET) % 86400 == 0 && --s->days <= 0) {
		s->away = !s->away;
		u = uniform(&s->r2);
		s->days = s->away ? 3 + (long)(12 * u) : 1 + (long)(4 * u);
		choices(s->away ? 12 : 4);
	}
	if (s->kind != LEVELS) {
		p = sensor_step(s, t);
	} else {
		if (--s->dwell <= 0) {
			s->dwell = 120 + (long)(481 * uniform(&s->r2));
			s->level = s->levels[(int)(NLEVEL * uniform(&s->r2))];
			choices(481);
			choices(NLEVEL);
		}
		if (t % 60 == 0) {
			s->noise = 1 + 0.03 * (2 * uniform(&s->r2) - 1);
			shift(s, 0.03, 60);
		}
		return s->level * s->noise;
	}
	if (!set->ripple)
		return p;
	if (s->hob > 0) {
		s->hob--;
		if (--s->hobstep <= 0) {
			s->hobstep = 5 + (long)(26 * uniform(&s->r2));
			s->hoblevel = (int[]){ 0, 500, 1000, 1800 }
			    [(int)(4 * uniform(&s->r2))];
			choices(26);
			choices(4);
		}
		p += s->hoblevel;
	} else if (chance(&s->r2, 2 * 3 * activity(t) * !s->away / 86400)) {
		s->hob = 1200 + (long)(2400 * uniform(&s->r2));
		s->hobstep = 0;
		choices(2400);
	}
	if (t % 20 == 0) {
		s->noise = 1 + 0.01 * (2 * uniform(&s->r2) - 1);
		shift(s, 0.01, 20);
	}
	return p * s->noise;
}

/* The shortest decimal that reads back as the same double. */
static void
print_double(const char *key, long t, double v)
{
	char buf[40];
	int prec;

	for (prec = 15; prec < 17; prec++) {
		snprintf(buf, sizeof buf, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	if (prec == 17)
		snprintf(buf, sizeof buf, "%.17g", v);
	printf("%s\t%ld\t%s\n", key, t, buf);
}

/* Flukso's keys: 32 hex digits, from the class and the sensor. */
static void
flukso_key(char *key, size_t size, const char *class, int i)
{
	uint64_t h = 0xcbf29ce484222325ULL, x[2];
	int k;

	for (; *class; class++)
		h = (h ^ (unsigned char)*class) * 0x100000001b3ULL;
	for (k = 0; k < 2; k++) {
		x[k] = h + 0x9e3779b97f4a7c15ULL * (uint64_t)(2 * i + k + 1);
		x[k] = (x[k] ^ x[k] >> 30) * 0xbf58476d1ce4e5b9ULL;
		x[k] = (x[k] ^ x[k] >> 27) * 0x94d049bb133111ebULL;
		x[k] ^= x[k] >> 31;
	}
	snprintf(key, size, "%016llx%016llx", (unsigned long long)x[0],
	    (unsigned long long)x[1]);
}

/*
 * The pulses of one sensor of a class after mix: a record for each second
 * in which the counter passed a multiple of the meter's constant, at that
 * second or, jittered, the one before or after (never at or before the
 * last record's).
 */
static long
setting_run(const char *key, int i, const struct setting *set, long end,
    long max)
{
	struct sensor s;
	double flow;
	long t, at, last = 0, n = 0, count, pulses;

	sensor_init(&s, i, set->kind == LEVELS ? ELEC : set->kind);
	s.kind = set->kind;
	s.unit = set->unit;
	if (set->kind == LEVELS)
		levels_init(&s);
	if (set->idle) {
		s.days = 1 + (long)(4 * uniform(&s.r2));
		choices(4);
	}
	pulses = (long)floor(s.counter / set->unit);
	for (t = START; t < end && n < max; t++) {
		flow = setting_step(&s, set, t);
		if (s.kind != GAS && s.kind != WATER)
			flow /= 3600;	/* W to Wh per second */
		s.counter += flow;
		count = (long)floor(s.counter / set->unit);
		if (count == pulses)
			continue;
		pulses = count;
		at = t + 1;
		if (set->jitter > 0) {
			double u = uniform(&s.r2);
			if (u < set->jitter / 2)
				at--;
			else if (u < set->jitter)
				at++;
			if (counting)
				jitterbits -= u < set->jitter ?
				    log2(set->jitter / 2) : log2(1 - set->jitter);
		}
		if (at <= last)
			at = last + 1;
		last = at;
		shown(&s);
		print_double(key, at, pulses * set->unit);
		n++;
	}
	return n;
}

static void
usage(void)
{
	fputs("usage: gen [-e file] [-n records] pulse|gas|water|gauge|power|mix|"
	    "jitter|ripple|site|idle|blend|levels sensors days [step]\n", stderr);
	exit(2);
}

int
main(int argc, char *argv[])
{
	const char *class, *info = NULL;
	struct sensor s;
	struct setting set;
	char key[40];
	long t, end, step = 60, days, max = -1, records = 0, n;
	int c, i, sensors, kind, mode;

	while ((c = getopt(argc, argv, "e:n:")) != -1) {
		switch (c) {
		case 'e':
			info = optarg;
			counting = 1;
			break;
		case 'n':
			max = atol(optarg);
			if (max < 1)
				usage();
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 3 || argc > 4)
		usage();
	class = argv[0];
	sensors = atoi(argv[1]);
	days = atol(argv[2]);
	if (argc == 4)
		step = atol(argv[3]);
	if (sensors < 1 || days < 1 || step < 1)
		usage();
	if (max < 0)
		max = days * 86400;
	end = START + days * 86400;

	for (i = 0; i < sensors; i++) {
		/* the pulse counters unlike the first ones */
		memset(&set, 0, sizeof set);
		set.unit = 1;
		if (!strcmp(class, "jitter")) {
			set.kind = i % 5 == 4 ? PV : ELEC;
			set.jitter = 0.1;
		} else if (!strcmp(class, "ripple")) {
			set.ripple = 1;
		} else if (!strcmp(class, "site")) {
			set.kind = (int[]){ ELEC, PV, GAS, WATER }[i % 4];
			set.unit = (double[]){ 1, 0.5, 10, 1 }[i % 4];
		} else if (!strcmp(class, "idle")) {
			set.kind = i % 2 ? GAS : ELEC;
			set.unit = i % 2 ? 10 : 1;
			set.idle = 1;
		} else if (!strcmp(class, "blend")) {
			set = blend[i % 8];
		} else if (!strcmp(class, "levels")) {
			set.kind = LEVELS;
		} else {
			set.unit = 0;
		}
		if (set.unit > 0) {
			flukso_key(key, sizeof key, class, i);
			records += setting_run(key, i, &set, end, max);
			continue;
		}

		/* mode: 0 pulses, 1 gauge, 2 mean power, 3 counter readings */
		if (!strcmp(class, "pulse")) {
			kind = i % 5 == 4;
			mode = 0;
		} else if (!strcmp(class, "gas")) {
			kind = 2;
			mode = 0;
		} else if (!strcmp(class, "water")) {
			kind = 3;
			mode = 0;
		} else if (!strcmp(class, "gauge")) {
			kind = 0;
			mode = 1;
		} else if (!strcmp(class, "power")) {
			kind = i % 5 == 4;
			mode = 2;
		} else if (!strcmp(class, "mix")) {
			kind = 0;
			mode = (int[]){ 2, 1, 3 }[i % 3];
		} else {
			usage();
		}
		snprintf(key, sizeof key, "%s%04d", class, i);
		sensor_init(&s, i, kind);

		if (mode == 1) {
			struct rng r = s.r;
			double inside = 20, v;
			for (t = START, n = 0; t < end && n < max; t += step, n++) {
				double season = cos(2 * M_PI * (t - START) / 31536000.0);
				double outside = 10 - 8 * season - 4 *
				    cos(2 * M_PI * ((t + LOCAL_OFFSET) % 86400 - 14400) / 86400);
				inside += 0.002 * step / 60 * (outside - inside) +
				    0.05 * (uniform(&r) - 0.5) + (activity(t) > 0.3 ?
				    0.01 * step / 60 : 0);
				v = round((inside + 0.2 * uniform(&r)) * 100) / 100;
				printf("%s\t%ld\t%.2f\n", key, t, v);
			}
			records += n;
			continue;
		}

		double flow, unit = s.kind == GAS ? 10 : 1, sum = 0;
		long shown_count = (long)(s.counter / unit);
		for (t = START, n = 0; t < end && n < max; t++) {
			flow = sensor_step(&s, t);
			if (s.kind <= PV)
				flow /= 3600;	/* W to Wh per second */
			s.counter += flow;
			sum += flow;
			if (mode == 0 && (long)(s.counter / unit) != shown_count) {
				shown_count = (long)(s.counter / unit);
				shown(&s);
				printf("%s\t%ld\t%ld\n", key, t + 1,
				    shown_count * (long)unit);
				n++;
			} else if (mode == 2 && (t + 1 - START) % step == 0) {
				print_double(key, t + 1 - step, sum * 3600 / step);
				sum = 0;
				n++;
			} else if (mode == 3 && (t + 1 - START) % step == 0) {
				printf("%s\t%ld\t%ld\n", key, t + 1,
				    (long)s.counter);
				n++;
			}
		}
		records += n;
	}
	if (fflush(stdout) == EOF || ferror(stdout)) {
		perror("gen: <stdout>");
		return 1;
	}
	if (info) {
		FILE *f = fopen(info, "w");
		if (f == NULL || fprintf(f, "%ld %.1f %.1f\n", records,
		    pathbits, jitterbits) < 0 || fclose(f) == EOF) {
			perror(info);
			return 1;
		}
	}
	return 0;
}
