/* agg.c: aggregates of the samples in a bucket, and their partial state.
 *
 * Sums are kept exactly, as a sum of 32-bit limbs of powers of two, so that
 * a sum, and hence a mean, does not depend on the order in which samples
 * were added or partial states merged; the exact sum is rounded once.
 * Most values of a bucket are near each other: those within 2^30 of the
 * first one's binary exponent go, exactly, into one 128-bit integer,
 * which is folded into the limbs every 2^14 values and before the sum is
 * read. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "og.h"

typedef unsigned __int128 u128;

#define LIMB 4294967296.0
#define XSUM_LIMBS_MAX 128
#define SAMPLES_PER_LINE 4096
/* a value v = m 2^(e - 1075) (53-bit m, biased exponent e) is near when
 * 0 <= e - anchor <= NEAR_SHIFT: m shifted so is below 2^113, and
 * NEAR_ADDS of them, of either sign, fit in 128 bits */
#define NEAR_SHIFT 60
#define NEAR_SPAN 30		/* the anchor below the first exponent */
#define NEAR_ADDS (1 << 14)
#define NEAR_UNSET 4096		/* near_at = 4096 - anchor: 0 is no anchor */

static void
xsum_cover(struct og_xsum *x, int lo, int hi)
{
	int64_t *limb;
	int nlo, nhi;

	if (x->n == 0) {
		x->lo = lo;
		x->n = hi - lo;
		x->limb = og_calloc(x->n, sizeof *x->limb);
		return;
	}
	if (lo >= x->lo && hi <= x->lo + x->n)
		return;
	nlo = lo < x->lo ? lo : x->lo;
	nhi = hi > x->lo + x->n ? hi : x->lo + x->n;
	if (nhi - nlo > XSUM_LIMBS_MAX)
		og_die("exact sum out of range");
	limb = og_calloc(nhi - nlo, sizeof *limb);
	memcpy(limb + (x->lo - nlo), x->limb, x->n * sizeof *limb);
	free(x->limb);
	x->limb = limb;
	x->lo = nlo;
	x->n = nhi - nlo;
}

/* The near values into the limbs: their sum, an integer of up to 127
 * bits and a sign in units of 2^(pos - 1074), in pieces of 32 bits, each
 * shifted by pos % 32 across two limbs. */
static void
xsum_fold(struct og_xsum *x)
{
	u128 mag = x->near;
	uint64_t piece;
	int neg = (int)(mag >> 127), pos, i, r, j;
	int64_t sign = neg ? -1 : 1, *limb;

	if (mag == 0) {
		x->near_adds = 0;
		return;
	}
	if (neg)
		mag = -mag;
	pos = NEAR_UNSET - x->near_at - 1;
	i = pos >> 5;
	r = pos & 31;
	if (i < x->lo || x->n == 0 || i + 5 > x->lo + x->n)
		xsum_cover(x, i, i + 5);
	limb = x->limb + (i - x->lo);
	for (j = 0; j < 4; j++) {
		piece = (uint64_t)(mag >> (32 * j)) & 0xffffffff;
		piece <<= r;
		limb[j] += sign * (int64_t)(piece & 0xffffffff);
		limb[j + 1] += sign * (int64_t)(piece >> 32);
	}
	x->near = 0;
	x->near_adds = 0;
	x->adds += 2;
}

/* Every limb but the top one into [0, 2^32); the top one keeps the sign. */
static void
xsum_normalize(struct og_xsum *x)
{
	int64_t carry, top;
	int j;

	xsum_fold(x);
	for (;;) {
		for (j = 0; j < x->n - 1; j++) {
			carry = x->limb[j] >> 32;
			x->limb[j] &= 0xffffffff;
			x->limb[j + 1] += carry;
		}
		top = x->n ? x->limb[x->n - 1] : 0;
		if (top >= -((int64_t)1 << 31) && top < (int64_t)1 << 31)
			break;
		xsum_cover(x, x->lo, x->lo + x->n + 1);
	}
	x->adds = 0;
}

/* Into the limbs: a value not near, and the first, which sets the anchor
 * (never so high that inf or nan would be near, nor so low that a
 * subnormal would). */
static void
xsum_add_far(struct og_xsum *x, double v)
{
	uint64_t bits, mant;
	int64_t *limb;
	int exp, pos, i, anchor;
	u128 w;

	memcpy(&bits, &v, sizeof bits);
	exp = (bits >> 52) & 0x7ff;
	if (x->near_at == 0 && exp != 0 && exp != 0x7ff) {
		anchor = exp - NEAR_SPAN;
		anchor = anchor < 1 ? 1 : anchor;
		anchor = anchor > 0x7ff - NEAR_SHIFT - 1 ?
		    0x7ff - NEAR_SHIFT - 1 : anchor;
		x->near_at = NEAR_UNSET - anchor;
		x->near = (u128)((bits & (((uint64_t)1 << 52) - 1)) |
		    (uint64_t)1 << 52) << (exp - anchor);
		if (bits >> 63)
			x->near = -x->near;
		x->near_adds = 1;
		return;
	}
	mant = bits & (((uint64_t)1 << 52) - 1);
	if (exp == 0x7ff)
		og_die("exact sum of a non-finite value");
	if (exp == 0) {
		if (mant == 0)
			return;
		pos = 0;
	} else {
		mant |= (uint64_t)1 << 52;
		pos = exp - 1;
	}
	/* v = mant * 2^(pos - 1074) */
	i = pos >> 5;
	w = (u128)mant << (pos & 31);
	if (i < x->lo || i + 4 > x->lo + x->n)
		xsum_cover(x, i, i + 4);
	limb = x->limb + (i - x->lo);
	if (bits >> 63) {
		limb[0] -= (int64_t)(w & 0xffffffff);
		limb[1] -= (int64_t)((w >> 32) & 0xffffffff);
		limb[2] -= (int64_t)(w >> 64);
	} else {
		limb[0] += (int64_t)(w & 0xffffffff);
		limb[1] += (int64_t)((w >> 32) & 0xffffffff);
		limb[2] += (int64_t)(w >> 64);
	}
	if (++x->adds >= (uint32_t)1 << 30)
		xsum_normalize(x);
}

/* m 2^shift as two words, shift below 64; negated as ~w + 1 when v is */
static inline void
xsum_add(struct og_xsum *x, double v)
{
	uint64_t bits, m, lo, hi, neg;
	int shift;

	memcpy(&bits, &v, sizeof bits);
	shift = (int)(bits >> 52 & 0x7ff) + x->near_at - NEAR_UNSET;
	if ((unsigned)shift > NEAR_SHIFT) {
		xsum_add_far(x, v);
		return;
	}
	m = (bits & (((uint64_t)1 << 52) - 1)) | (uint64_t)1 << 52;
	neg = 0 - (bits >> 63);
	lo = (m << shift) ^ neg;
	hi = (m >> 1 >> (63 - shift)) ^ neg;
	x->near += ((u128)hi << 64 | lo) + (bits >> 63);
	if (++x->near_adds == NEAR_ADDS)
		xsum_fold(x);
}

void
og_xsum_add(struct og_xsum *x, double v)
{
	xsum_add(x, v);
}

void
og_xsum_merge(struct og_xsum *x, struct og_xsum *y)
{
	int j;

	if (y->n == 0)
		return;
	xsum_normalize(y);
	xsum_normalize(x);
	xsum_cover(x, y->lo, y->lo + y->n + 1);
	for (j = 0; j < y->n; j++)
		x->limb[y->lo - x->lo + j] += y->limb[j];
	x->adds = 1;
}

void
og_xsum_free(struct og_xsum *x)
{
	free(x->limb);
	memset(x, 0, sizeof *x);
}

/* The magnitude as limbs in [0, 2^32) into m; returns whether negative. */
static int
xsum_magnitude(struct og_xsum *x, int64_t *m)
{
	int j, neg;

	xsum_normalize(x);
	neg = x->n > 0 && x->limb[x->n - 1] < 0;
	if (x->n > 0)
		memcpy(m, x->limb, (size_t)x->n * sizeof *m);
	if (neg) {
		for (j = 0; j < x->n; j++)
			m[j] = -m[j];
		for (j = 0; j < x->n - 1; j++) {
			m[j + 1] += m[j] >> 32;
			m[j] &= 0xffffffff;
		}
	}
	return neg;
}

double
og_xsum_value(struct og_xsum *x)
{
	int64_t m[XSUM_LIMBS_MAX];
	int neg, h, j, shift, nbits, sticky = 0;
	u128 acc, mant, rem, half;
	double r;

	neg = xsum_magnitude(x, m);
	for (h = x->n - 1; h >= 0 && m[h] == 0; h--)
		;
	if (h < 0)
		return 0.0;
	acc = (u128)m[h] << 64;
	if (h >= 1)
		acc |= (u128)m[h - 1] << 32;
	if (h >= 2)
		acc |= (u128)m[h - 2];
	for (j = 0; j < h - 2; j++)
		sticky |= m[j] != 0;
	for (nbits = 64; nbits < 96 && (acc >> nbits) > 1; nbits++)
		;
	nbits++;
	shift = nbits - 53;
	mant = acc >> shift;
	rem = acc & (((u128)1 << shift) - 1);
	half = (u128)1 << (shift - 1);
	if (rem > half || (rem == half && (sticky || (mant & 1))))
		mant++;
	r = ldexp((double)(uint64_t)mant, 32 * (x->lo + h - 2) - 1074 + shift);
	return neg ? -r : r;
}

/* [-]0xHEXp[+-]E: the exact sum as an integer times a power of two,
 * without trailing zero digits */
size_t
og_xsum_format(struct og_xsum *x, char *buf)
{
	int64_t m[XSUM_LIMBS_MAX];
	int neg, h, l, j, e;
	char *p = buf, *q;

	neg = xsum_magnitude(x, m);
	for (h = x->n - 1; h >= 0 && m[h] == 0; h--)
		;
	if (h < 0) {
		*p++ = '0';
		return 1;
	}
	for (l = 0; m[l] == 0; l++)
		;
	if (neg)
		*p++ = '-';
	p += sprintf(p, "0x%x", (unsigned)m[h]);
	for (j = h - 1; j >= l; j--)
		p += sprintf(p, "%08x", (unsigned)m[j]);
	e = 32 * (x->lo + l) - 1074;
	for (q = p; q[-1] == '0'; q--)
		e += 4;
	return q - buf + sprintf(q, "p%+d", e);
}

int
og_xsum_parse(struct og_xsum *x, const char *s, size_t len)
{
	const char *p = s, *end = s + len, *digits, *pexp, *d;
	int neg = 0, e = 0, eneg = 0, ed = 0, pos, v;

	memset(x, 0, sizeof *x);
	if (len == 1 && *s == '0')
		return 0;
	if (p < end && *p == '-')
		neg = 1, p++;
	if (end - p < 4 || p[0] != '0' || p[1] != 'x')
		return -1;
	digits = p += 2;
	while (p < end && ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
		p++;
	if (p == digits || p == end || *p != 'p' || p - digits > 8 * 80)
		return -1;
	pexp = p++;
	if (p < end && (*p == '+' || *p == '-'))
		eneg = *p++ == '-';
	for (; p < end && *p >= '0' && *p <= '9' && e < 100000; p++, ed++)
		e = e * 10 + (*p - '0');
	if (p != end || ed == 0)
		return -1;
	e = eneg ? -e : e;
	if (e + 1074 < 0 || e + 4 * (pexp - digits) > 1100)
		return -1;
	/* each digit's 4 bits into the limbs, lowest first */
	for (d = pexp - 1, pos = e + 1074; d >= digits; d--, pos += 4) {
		v = *d <= '9' ? *d - '0' : *d - 'a' + 10;
		if (v == 0)
			continue;
		xsum_cover(x, pos >> 5, (pos >> 5) + 3);
		x->limb[(pos >> 5) - x->lo] += (neg ? -1 : 1) *
		    ((int64_t)v << (pos & 31));
	}
	xsum_normalize(x);
	return 0;
}

void
og_state_init(struct og_state *s, int64_t start, int64_t end)
{
	memset(s, 0, sizeof *s);
	s->start = start;
	s->end = end;
	s->min = s->max = s->first = s->last = NAN;
}

void
og_state_free(struct og_state *s)
{
	og_xsum_free(&s->sum);
	free(s->samples);
	s->samples = NULL;
}

/* -0.0 orders before 0.0, so min and max do not depend on input order */
static int
before(double a, double b)
{
	return a < b || (a == b && signbit(a) && !signbit(b));
}

static void
keep_sample(struct og_state *s, double v)
{
	if (s->nsamples == s->capsamples) {
		s->capsamples = s->capsamples ? 2 * s->capsamples : 16;
		s->samples = og_reallocarray(s->samples, s->capsamples,
		    sizeof *s->samples);
	}
	s->samples[s->nsamples++] = v;
}

void
og_state_add(struct og_state *s, int64_t t, double v, int keep)
{
	if (isnan(v)) {
		s->nans++;
		return;
	}
	xsum_add(&s->sum, v);
	if (s->count++ == 0) {
		s->min = s->max = s->first = s->last = v;
		s->first_t = s->last_t = t;
	} else {
		if (before(v, s->min))
			s->min = v;
		if (before(s->max, v))
			s->max = v;
		if (t < s->first_t)
			s->first_t = t, s->first = v;
		if (t >= s->last_t)
			s->last_t = t, s->last = v;
	}
	if (keep)
		keep_sample(s, v);
}

/* og_state_add for aggregates of the sum and counts alone */
void
og_state_add_sum(struct og_state *s, double v)
{
	if (isnan(v)) {
		s->nans++;
		return;
	}
	xsum_add(&s->sum, v);
	s->count++;
}

void
og_state_merge(struct og_state *s, struct og_state *o)
{
	size_t i;

	s->nans += o->nans;
	s->covered = o->covered > INT64_MAX - s->covered ? INT64_MAX :
	    s->covered + o->covered;
	for (i = 0; i < o->nsamples; i++)
		keep_sample(s, o->samples[i]);
	s->sorted = 0;
	if (o->count == 0)
		return;
	og_xsum_merge(&s->sum, &o->sum);
	if (s->count == 0) {
		s->min = o->min, s->max = o->max;
		s->first = o->first, s->first_t = o->first_t;
		s->last = o->last, s->last_t = o->last_t;
	} else {
		if (before(o->min, s->min))
			s->min = o->min;
		if (before(s->max, o->max))
			s->max = o->max;
		if (o->first_t < s->first_t)
			s->first_t = o->first_t, s->first = o->first;
		if (o->last_t >= s->last_t)
			s->last_t = o->last_t, s->last = o->last;
	}
	s->count += o->count;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return before(x, y) ? -1 : before(y, x);
}

/* numpy's default, method 'linear': the sample at rank (n - 1) * p / 100,
 * interpolated between its neighbours as numpy's _lerp does */
static double
percentile(struct og_state *s, double pct)
{
	double h, g, a, b, diff;
	size_t lo;

	if (!s->sorted) {
		qsort(s->samples, s->nsamples, sizeof *s->samples, cmp_double);
		s->sorted = 1;
	}
	h = (double)(s->nsamples - 1) * (pct / 100);
	lo = (size_t)floor(h);
	if (lo >= s->nsamples - 1)
		return s->samples[s->nsamples - 1];
	g = h - (double)lo;
	a = s->samples[lo];
	b = s->samples[lo + 1];
	if (a == b)
		return a;
	diff = b - a;
	return g >= 0.5 ? b - diff * (1 - g) : a + diff * g;
}

static double
mean_of(struct og_state *s, double pct)
{
	(void)pct;
	return og_xsum_value(&s->sum) / (double)s->count;
}

static double
min_of(struct og_state *s, double pct)
{
	(void)pct;
	return s->min;
}

static double
max_of(struct og_state *s, double pct)
{
	(void)pct;
	return s->max;
}

static double
sum_of(struct og_state *s, double pct)
{
	(void)pct;
	return og_xsum_value(&s->sum);
}

static double
count_of(struct og_state *s, double pct)
{
	(void)pct;
	return (double)s->count;
}

static double
first_of(struct og_state *s, double pct)
{
	(void)pct;
	return s->first;
}

static double
last_of(struct og_state *s, double pct)
{
	(void)pct;
	return s->last;
}

/* Every aggregate -a knows, in the order -h and the errors list them;
 * "pNN" stands for p0 to p100.  A new one is a line here and a function
 * above, and og-metric(1) says what it is (a test checks the list). */
static const struct {
	const char *name;
	double (*value)(struct og_state *s, double pct);
	double pct;
	int samples;	/* needs every sample kept */
	int empty;	/* has a value for a bucket of no samples */
	int sums;	/* needs only the sum and the counts */
} aggregates[] = {
	{ "mean", mean_of, 0, 0, 0, 1 },
	{ "min", min_of, 0, 0, 0, 0 },
	{ "max", max_of, 0, 0, 0, 0 },
	{ "sum", sum_of, 0, 0, 0, 1 },
	{ "count", count_of, 0, 0, 1, 1 },
	{ "first", first_of, 0, 0, 0, 0 },
	{ "last", last_of, 0, 0, 0, 0 },
	{ "pNN", percentile, -1, 1, 0, 0 },
	{ "median", percentile, 50, 1, 0, 0 },
};
#define NAGGREGATES (sizeof aggregates / sizeof aggregates[0])

const char *
og_agg_names(void)
{
	static char names[128];
	size_t i, len = 0;

	if (!names[0])
		for (i = 0; i < NAGGREGATES; i++)
			len += snprintf(names + len, sizeof names - len, "%s%s",
			    i ? " " : "", aggregates[i].name);
	return names;
}

/* pNN: 0 to 100, decimals allowed, no exponent */
static int
parse_pct(const char *s, double *pct)
{
	char *end;

	if (s[0] != 'p' || s[1] < '0' || s[1] > '9' || strchr(s, 'e'))
		return -1;
	*pct = strtod(s + 1, &end);
	return *end || *pct > 100 ? -1 : 0;
}

int
og_agg_parse(const char *list, struct og_agg **aggs, size_t *n,
    const char **bad)
{
	static char badbuf[64];
	const char *p = list, *comma;
	struct og_agg a;
	size_t len, k;

	*aggs = NULL;
	*n = 0;
	do {
		comma = strchr(p, ',');
		len = comma ? (size_t)(comma - p) : strlen(p);
		memset(&a, 0, sizeof a);
		if (len == 0 || len >= sizeof a.name)
			goto bad;
		memcpy(a.name, p, len);
		for (k = 0; k < NAGGREGATES; k++) {
			if (aggregates[k].pct < 0 ?
			    parse_pct(a.name, &a.pct) == 0 :
			    strcmp(a.name, aggregates[k].name) == 0)
				break;
		}
		if (k == NAGGREGATES)
			goto bad;
		a.value = aggregates[k].value;
		a.samples = aggregates[k].samples;
		a.empty = aggregates[k].empty;
		a.sums = aggregates[k].sums;
		if (aggregates[k].pct >= 0)
			a.pct = aggregates[k].pct;
		*aggs = og_reallocarray(*aggs, *n + 1, sizeof **aggs);
		(*aggs)[(*n)++] = a;
		p = comma + 1;
	} while (comma);
	return 0;
bad:
	snprintf(badbuf, sizeof badbuf, "%.*s", (int)(len < 40 ? len : 40), p);
	*bad = badbuf;
	free(*aggs);
	*aggs = NULL;
	return -1;
}

double
og_state_value(struct og_state *s, const struct og_agg *a)
{
	if (s->count == 0 && !a->empty)
		return NAN;
	return a->value(s, a->pct);
}

static void
out_tab_int(int64_t v)
{
	char buf[24];

	og_out_char('\t');
	og_out(buf, og_format_int64(buf, v));
}

static void
out_tab_value(double v)
{
	og_out_char('\t');
	og_out_value(v);
}

/* KEY START COUNT NANS COVERED SUM MIN MAX FIRST_T FIRST LAST_T LAST [SAMPLE...] */
void
og_state_write(struct og_state *s, const char *key, size_t keylen,
    int64_t start)
{
	char buf[8 * XSUM_LIMBS_MAX + 32];
	size_t i;

	og_out(key, keylen);
	out_tab_int(start);
	out_tab_int(s->count);
	out_tab_int(s->nans);
	out_tab_int(s->covered);
	og_out_char('\t');
	og_out(buf, og_xsum_format(&s->sum, buf));
	out_tab_value(s->min);
	out_tab_value(s->max);
	out_tab_int(s->first_t);
	out_tab_value(s->first);
	out_tab_int(s->last_t);
	out_tab_value(s->last);
	for (i = 0; i < s->nsamples; i++) {
		/* more samples go on lines KEY START * SAMPLE..., so that no
		 * line grows past what a reader takes */
		if (i > 0 && i % SAMPLES_PER_LINE == 0) {
			og_out_char('\n');
			og_out(key, keylen);
			out_tab_int(start);
			og_out_str("\t*");
		}
		out_tab_value(s->samples[i]);
	}
	og_out_char('\n');
}

static int
next_field(const char **p, const char *end, const char **f, size_t *len)
{
	const char *tab;

	if (*p > end)
		return -1;
	*f = *p;
	tab = memchr(*p, '\t', end - *p);
	*len = (tab ? tab : end) - *f;
	*p = (tab ? tab : end) + 1;
	return 0;
}

/* The fields after KEY and START of a partial line. */
const char *
og_state_parse(const char *p, const char *end, struct og_state *s)
{
	const char *f;
	size_t len;
	double v;

	if (end - p >= 1 && p[0] == '*' && (end - p == 1 || p[1] == '\t')) {
		for (p += 2; p <= end;) {
			if (next_field(&p, end, &f, &len) < 0 ||
			    og_parse_value(f, len, &v) < 0 || isnan(v))
				return "bad sample in partial state";
			keep_sample(s, v);
		}
		return NULL;
	}
	if (next_field(&p, end, &f, &len) < 0 ||
	    og_parse_int64(f, len, &s->count) < 0 || s->count < 0)
		return "bad count in partial state";
	if (next_field(&p, end, &f, &len) < 0 ||
	    og_parse_int64(f, len, &s->nans) < 0 || s->nans < 0)
		return "bad nan count in partial state";
	if (next_field(&p, end, &f, &len) < 0 ||
	    og_parse_int64(f, len, &s->covered) < 0 || s->covered < 0)
		return "bad covered seconds in partial state";
	if (next_field(&p, end, &f, &len) < 0 ||
	    og_xsum_parse(&s->sum, f, len) < 0)
		return "bad exact sum in partial state";
	if (next_field(&p, end, &f, &len) < 0 ||
	    og_parse_value(f, len, &s->min) < 0 ||
	    next_field(&p, end, &f, &len) < 0 ||
	    og_parse_value(f, len, &s->max) < 0 ||
	    next_field(&p, end, &f, &len) < 0 ||
	    og_parse_int64(f, len, &s->first_t) < 0 ||
	    next_field(&p, end, &f, &len) < 0 ||
	    og_parse_value(f, len, &s->first) < 0 ||
	    next_field(&p, end, &f, &len) < 0 ||
	    og_parse_int64(f, len, &s->last_t) < 0 ||
	    next_field(&p, end, &f, &len) < 0 ||
	    og_parse_value(f, len, &s->last) < 0)
		return "bad min, max, first or last in partial state";
	while (p <= end) {
		if (next_field(&p, end, &f, &len) < 0 ||
		    og_parse_value(f, len, &v) < 0 || isnan(v))
			return "bad sample in partial state";
		keep_sample(s, v);
	}
	return NULL;
}
