/*
 * gen: deterministic, physically plausible energy-meter records for the
 * benchmarks, written as KEY<TAB>UNIX_SECONDS<TAB>VALUE.
 *
 *   gen CLASS SENSORS DAYS [STEP]
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
 * STEP defaults to 60.  Sensor i is the same whatever SENSORS is, so a small
 * run is a prefix of a large one.  The simulation runs second by second:
 * a base load, a fridge cycling, appliances switched on at random with a
 * daily rhythm, PV following the sun and the clouds; a boiler for gas,
 * showers, toilets and taps for water.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define START 1451606400	/* 2016-01-01T00:00:00Z */
#define LOCAL_OFFSET 3600	/* CET, close enough for a daily rhythm */
#define NAPPLIANCE 6

struct rng { uint64_t s; };

static double
uniform(struct rng *r)
{
	r->s ^= r->s << 13;
	r->s ^= r->s >> 7;
	r->s ^= r->s << 17;
	return (r->s >> 11) * 0x1.0p-53;
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

struct sensor {
	struct rng r;
	int kind;		/* 0 electricity, 1 PV, 2 gas, 3 water */
	double base, fridge_phase, clouds, peak;
	long on[NAPPLIANCE];	/* seconds each appliance stays on */
	double counter;		/* Wh or l, fractional */
};

static const struct { double watts, seconds, perday; } appliance[NAPPLIANCE] = {
	{ 2000, 150, 4 },	/* kettle */
	{ 1000, 240, 2 },	/* microwave */
	{ 2400, 2400, .5 },	/* oven */
	{ 500, 5400, .4 },	/* washing machine */
	{ 120, 7200, 1.5 },	/* television */
	{ 60, 3600, 6 },	/* lights */
};

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
}

/* The flow at second t: watts, or liters per second. */
static double
sensor_step(struct sensor *s, long t)
{
	double a = activity(t), p = 0;
	int k;

	switch (s->kind) {
	case 1:
		if (t % 60 == 0)
			s->clouds += 0.1 * (uniform(&s->r) - 0.5) +
			    0.02 * (0.8 - s->clouds);
		if (s->clouds < 0.1)
			s->clouds = 0.1;
		if (s->clouds > 1)
			s->clouds = 1;
		return s->peak * s->clouds * sun(t);
	case 2:
		/* a boiler: space heating in winter, hot water all year */
		if (s->on[0] > 0) {
			s->on[0]--;
			return 0.4;
		}
		if (uniform(&s->r) < (0.3 + 0.7 * cos(2 * M_PI *
		    (double)((t - START) % 31536000) / 31536000) + 0.3 * a) / 1800)
			s->on[0] = 300 + (long)(900 * uniform(&s->r));
		return 0;
	case 3:
		if (s->on[0] > 0) {
			s->on[0]--;
			return s->fridge_phase;	/* the current flow */
		}
		if (uniform(&s->r) < 30 * a / 86400) {
			double u = uniform(&s->r);
			if (u < 0.15) {		/* shower */
				s->on[0] = 480;
				s->fridge_phase = 0.13;
			} else if (u < 0.6) {	/* toilet */
				s->on[0] = 50;
				s->fridge_phase = 0.12;
			} else {		/* tap */
				s->on[0] = 20 + (long)(60 * uniform(&s->r));
				s->fridge_phase = 0.1;
			}
		}
		return 0;
	}
	p = s->base;
	if (fmod(t + s->fridge_phase, 2700) < 900)
		p += 90;
	for (k = 0; k < NAPPLIANCE; k++) {
		if (s->on[k] > 0) {
			s->on[k]--;
			p += appliance[k].watts;
		} else if (uniform(&s->r) < appliance[k].perday * 3 * a / 86400) {
			s->on[k] = (long)(appliance[k].seconds *
			    (0.5 + uniform(&s->r)));
		}
	}
	return p;
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

static void
usage(void)
{
	fputs("usage: gen pulse|gas|water|gauge|power|mix sensors days [step]\n",
	    stderr);
	exit(2);
}

int
main(int argc, char *argv[])
{
	const char *class;
	struct sensor s;
	char key[40];
	long t, end, step = 60, days;
	int i, n, kind, mode;

	if (argc < 4 || argc > 5)
		usage();
	class = argv[1];
	n = atoi(argv[2]);
	days = atol(argv[3]);
	if (argc == 5)
		step = atol(argv[4]);
	if (n < 1 || days < 1 || step < 1)
		usage();
	end = START + days * 86400;

	for (i = 0; i < n; i++) {
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
			for (t = START; t < end; t += step) {
				double season = cos(2 * M_PI * (t - START) / 31536000.0);
				double outside = 10 - 8 * season - 4 *
				    cos(2 * M_PI * ((t + LOCAL_OFFSET) % 86400 - 14400) / 86400);
				inside += 0.002 * step / 60 * (outside - inside) +
				    0.05 * (uniform(&r) - 0.5) + (activity(t) > 0.3 ?
				    0.01 * step / 60 : 0);
				v = round((inside + 0.2 * uniform(&r)) * 100) / 100;
				printf("%s\t%ld\t%.2f\n", key, t, v);
			}
			continue;
		}

		double flow, unit = s.kind == 2 ? 10 : 1, sum = 0;
		long shown = (long)(s.counter / unit);
		for (t = START; t < end; t++) {
			flow = sensor_step(&s, t);
			if (s.kind <= 1)
				flow /= 3600;	/* W to Wh per second */
			s.counter += flow;
			sum += flow;
			if (mode == 0 && (long)(s.counter / unit) != shown) {
				shown = (long)(s.counter / unit);
				printf("%s\t%ld\t%ld\n", key, t + 1,
				    shown * (long)unit);
			} else if (mode == 2 && (t + 1 - START) % step == 0) {
				print_double(key, t + 1 - step, sum * 3600 / step);
				sum = 0;
			} else if (mode == 3 && (t + 1 - START) % step == 0) {
				printf("%s\t%ld\t%ld\n", key, t + 1,
				    (long)s.counter);
			}
		}
	}
	if (fflush(stdout) == EOF || ferror(stdout)) {
		perror("gen: <stdout>");
		return 1;
	}
	return 0;
}
