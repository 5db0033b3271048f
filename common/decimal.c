/* decimal.c: values as exporters print them, decimals of up to 15
 * significant digits, coded exactly as integers.
 *
 * A value is M * 10^e, e the chunk's exponent (-22 to 22) and M an
 * integer with |M| < 2^53: M and 10^|e| are then exact doubles, and
 * M / 10^-e (or M * 10^e) is one correctly rounded operation that gives
 * the double the decimal text reads as.  A value is taken at e only where
 * that operation gives it back bit for bit; the few that do not fit (a
 * sum's 17 digits, -0.0, a value of many more places than the others)
 * are kept whole.  M is split by a step, M = Q * step + R with R rounded
 * to the nearest, for a short reading with noise in its last digits
 * (155.8799999859 is 15588 hundredths and -141); Q is coded against a
 * prediction: none, the Q before (a repeat costs a zero), or the Q before
 * and the last change (counters); R as itself or, a zero, the R before
 * again (a repeat).  The layout is in og-pack(1).
 */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "og.h"

#define MAX_EXACT 0x1p53
#define NOFIT INT_MIN		/* places of a value that is no such decimal */
#define ANY INT_MAX		/* places of 0: it fits every exponent */
#define FIT_SAMPLE 64		/* distinct values the exponent is guessed on */
#define SAMPLE 256		/* values the step and prediction are chosen on */
#define PREDICTIONS 3

/* per thread: og-pack encodes on several */
static _Thread_local int64_t ms[OG_CHUNK_POINTS];	/* M per value not
							 * nan; Q decoding */
static _Thread_local int64_t rs[OG_CHUNK_POINTS];	/* R */
static _Thread_local unsigned char off[OG_CHUNK_POINTS];	/* kept whole */
static _Thread_local double kept[OG_CHUNK_POINTS];

/* M at e from t, x * 10^-e rounded, if M * 10^e gives x back. */
static int
back(double x, int e, double t, int64_t *m)
{
	double y;

	if (!(fabs(t) < MAX_EXACT))
		return 0;
	y = e <= 0 ? t / og_pow10[-e] : t * og_pow10[e];
	if (y != x)
		return 0;
	*m = (int64_t)t;
	return 1;
}

/* M if x is M * 10^e exactly, |M| < 2^53, and not -0.0.  x * 10^-e
 * rounds, off by one where M is near 2^53: its neighbours are tried. */
static int
fits(double x, int e, int64_t *m)
{
	double t;

	if (x == 0 && signbit(x))
		return 0;
	t = nearbyint(e <= 0 ? x * og_pow10[-e] : x / og_pow10[e]);
	if (back(x, e, t, m))
		return 1;
	return fabs(t) >= 0x1p50 && fabs(t) < MAX_EXACT &&
	    (back(x, e, t - 1, m) || back(x, e, t + 1, m));
}

/* The largest e at which x fits, ANY for 0, or NOFIT. */
static int
places(double x)
{
	int64_t m;
	int e;

	if (x == 0)
		return signbit(x) ? NOFIT : ANY;
	if (fabs(x) >= MAX_EXACT || fits(x, 0, &m)) {
		/* a large value fits from some e on, where M is below 2^53 */
		for (e = 0; e <= OG_POW10_EXACT && !fits(x, e, &m); e++)
			;
		if (e > OG_POW10_EXACT)
			return NOFIT;
		while (e < OG_POW10_EXACT && fits(x, e + 1, &m))
			e++;
		return e;
	}
	for (e = -1; e >= -OG_POW10_EXACT; e--) {
		if (fabs(x) * og_pow10[-e] >= MAX_EXACT)
			break;
		if (fits(x, e, &m))
			return e;
	}
	return NOFIT;
}

/* Places the m non-nan values of v at e: ms and off; how many are off. */
static size_t
place(const double *v, size_t n, int e)
{
	size_t i, j = 0, nexc = 0;
	uint64_t bits, last = 0;

	for (i = 0; i < n; i++) {
		if (isnan(v[i]))
			continue;
		memcpy(&bits, &v[i], 8);
		if (j > 0 && bits == last && !off[j - 1]) {
			ms[j] = ms[j - 1];
			off[j++] = 0;
			continue;
		}
		last = bits;
		off[j] = !fits(v[i], e, &ms[j]);
		nexc += off[j++];
	}
	return nexc;
}

/*
 * The exponent: the smallest of the places of the first distinct values.
 * Where that leaves more than one value in 64 off, the places of those
 * off tell a smaller one, the largest that leaves no more (those that fit
 * fit at a smaller one too, but for M reaching 2^53), or else the
 * smallest of theirs.  0 if more than one value in 8 of the first is no
 * decimal.
 */
static int
exponent(const double *v, size_t n, size_t m, int *ep)
{
	static _Thread_local size_t hist[2 * OG_POW10_EXACT + 1];
	size_t i, j, seen = 0, nofit = 0, exc = 0;
	uint64_t bits, last = 0;
	int p = NOFIT, e = ANY;

	for (i = 0; i < n && seen < FIT_SAMPLE; i++) {
		memcpy(&bits, &v[i], 8);
		if (isnan(v[i]) || (seen > 0 && bits == last))
			continue;
		last = bits;
		seen++;
		if ((p = places(v[i])) == NOFIT)
			nofit++;
		else if (p < e)
			e = p;
	}
	if (seen == 0 || nofit > seen / 8)
		return 0;
	*ep = e == ANY ? 0 : e;
	if (place(v, n, *ep) <= m / 64)
		return 1;
	memset(hist, 0, sizeof hist);
	nofit = 0;
	for (i = 0, j = 0, seen = 0; i < n; i++) {
		if (isnan(v[i]) || !off[j++])
			continue;
		memcpy(&bits, &v[i], 8);
		if (seen++ == 0 || bits != last)
			p = places(v[i]);
		last = bits;
		if (p == NOFIT)
			nofit++;
		else if (p != ANY)
			hist[p + OG_POW10_EXACT]++;
		if (p != NOFIT && p < e)
			e = p;
	}
	/* off at p: those of fewer places than p, and those of none */
	for (p = -OG_POW10_EXACT, exc = nofit; p <= OG_POW10_EXACT; p++)
		exc += hist[p + OG_POW10_EXACT];
	for (p = OG_POW10_EXACT; p >= -OG_POW10_EXACT; p--) {
		exc -= hist[p + OG_POW10_EXACT];
		if (p <= *ep && exc <= m / 64)
			break;
	}
	if (p >= -OG_POW10_EXACT)
		*ep = p;
	else if (e != ANY)
		*ep = e;
	place(v, n, *ep);
	return 1;
}

static int64_t
floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* Q's prediction from the j Q before it, the last at q[-1]. */
static int64_t
predicted(int how, const int64_t *q, size_t j)
{
	if (how == 0 || j == 0)
		return 0;
	if (how == 1 || j == 1)
		return q[-1];
	return 2 * q[-1] - q[-2];
}

static int
bits(uint64_t u)
{
	return u ? 64 - __builtin_clzll(u) : 0;
}

/* Bits the first values not off would take with step and prediction
 * how: an estimate of what zstd makes of them, in which a repeat is
 * nearly free; or limit, once they take that many. */
static uint64_t
cost(const struct og_decimal *d, int64_t step, int how, uint64_t limit)
{
	int64_t q[SAMPLE], r, last = 0;
	uint64_t u, sum = 0;
	size_t j, k = 0;

	for (j = 0; j < d->m && k < SAMPLE && sum < limit; j++) {
		if (off[j])
			continue;
		q[k] = floor_div(ms[j] + step / 2, step);
		r = ms[j] - q[k] * step;
		u = og_zigzag(q[k] - predicted(how, q + k, k));
		sum += u ? 2 + bits(u) : 1;
		if (step > 1)
			sum += k > 0 && r == last ? 1 : 2 + bits(og_zigzag(r));
		last = r;
		k++;
	}
	return sum < limit ? sum : limit;
}

/* Keeps step if it costs fewer bits than *best. */
static void
try_step(struct og_decimal *d, int64_t step, uint64_t *best)
{
	uint64_t c;

	if (step > 1 && step < (int64_t)MAX_EXACT &&
	    (c = cost(d, step, 1, *best)) < *best) {
		*best = c;
		d->step = step;
	}
}

/* The step and the prediction of the fewest bits: 1 or a power of ten,
 * or near the best of those 6 or 36 times one (60 and 3600 are in a
 * resampled counter's power); steps above the largest M say nothing. */
static void
choose(struct og_decimal *d)
{
	uint64_t c, best, top = 0;
	int64_t p10, ten;
	size_t j, k;
	int how;

	for (j = 0, k = 0; j < d->m && k < SAMPLE; j++) {
		if (off[j])
			continue;
		if ((uint64_t)llabs(ms[j]) > top)
			top = (uint64_t)llabs(ms[j]);
		k++;
	}
	d->step = 1;
	d->how = 1;
	best = cost(d, 1, 1, UINT64_MAX);
	for (p10 = 10; p10 <= INT64_C(1000000000000000) &&
	    (uint64_t)p10 <= top; p10 *= 10)
		try_step(d, p10, &best);
	if ((ten = d->step) > 1) {
		try_step(d, 6 * ten, &best);
		try_step(d, 6 * (ten / 10), &best);
		try_step(d, 36 * (ten / 10), &best);
		try_step(d, 36 * (ten / 100), &best);
	}
	for (how = 0; how < PREDICTIONS; how += 2)
		if ((c = cost(d, d->step, how, best)) < best) {
			best = c;
			d->how = how;
		}
}

/*
 * Fits the decimal coding to the n values v: 0 where they are not
 * decimals but for a few (one in 8 at most), else 1 with the exponent,
 * step and prediction chosen.  Where every value is already known to be
 * D / 10^scale (scale >= 0, the plain decimal codecs), the fit is only
 * worth it with a step or the prediction of a counter: 0 without.
 */
int
og_decimal_fit(struct og_decimal *d, const double *v, size_t n, int scale)
{
	size_t i, j;

	d->m = 0;
	for (i = 0; i < n; i++)
		d->m += !isnan(v[i]);
	if (d->m == 0)
		return 0;
	if (scale >= 0) {
		/* the first values choose; the others are placed if chosen */
		d->e = -scale;
		d->nexc = 0;
		memset(off, 0, d->m);
		for (i = 0, j = 0; i < n && j < SAMPLE; i++)
			if (!isnan(v[i]))
				ms[j++] = (int64_t)nearbyint(v[i] *
				    og_pow10[scale]);
		choose(d);
		if (d->step == 1 && d->how != 2)
			return 0;
		for (; i < n; i++)
			if (!isnan(v[i]))
				ms[j++] = (int64_t)nearbyint(v[i] *
				    og_pow10[scale]);
		return 1;
	}
	if (!exponent(v, n, d->m, &d->e))
		return 0;
	for (i = 0, d->nexc = 0; i < d->m; i++)
		d->nexc += off[i];
	if (d->nexc > d->m / 8)
		return 0;
	choose(d);
	return 1;
}

/* Appends the fitted values' columns at p, adding the starts of the Q and
 * R columns (offsets from start) to cut. */
unsigned char *
og_decimal_write(const struct og_decimal *d, const double *v, size_t n,
    unsigned char *p, const unsigned char *start, size_t *cut, size_t *ncut)
{
	int64_t q, prev[2] = { 0, 0 };
	size_t i, j, k, last = 0;
	uint64_t u;

	*p++ = (unsigned char)(d->e + OG_POW10_EXACT);
	*p++ = (unsigned char)d->how;
	p = og_put_varint(p, (uint64_t)d->step);
	p = og_put_varint(p, d->nexc);
	for (j = 0; j < d->m; j++) {
		if (off[j]) {
			p = og_put_varint(p, j - last);
			last = j;
		}
	}
	for (i = 0, j = 0; i < n; i++) {
		if (isnan(v[i]))
			continue;
		if (off[j++]) {
			memcpy(&u, &v[i], 8);
			og_put_le64(p, u);
			p += 8;
		}
	}
	cut[(*ncut)++] = p - start;
	for (j = 0, k = 0; j < d->m; j++) {
		if (off[j])
			continue;
		q = floor_div(ms[j] + d->step / 2, d->step);
		rs[j] = ms[j] - q * d->step;
		p = og_put_varint(p, og_zigzag(q - predicted(d->how, prev + 2,
		    k)));
		prev[0] = prev[1];
		prev[1] = q;
		k++;
	}
	if (d->step == 1)
		return p;
	cut[(*ncut)++] = p - start;
	for (j = 0, k = 0; j < d->m; j++) {
		if (off[j])
			continue;
		p = og_put_varint(p, k > 0 && rs[j] == prev[0] ? 0 :
		    og_zigzag(rs[j]) + 1);
		prev[0] = rs[j];
		k++;
	}
	return p;
}

/* Reads a column of a zigzag varint per value not off into to; with
 * same, 0 is the one before again and the others are 1 more. */
static int
read_column(const unsigned char **pp, const unsigned char *end, size_t m,
    int64_t *to, int same)
{
	int64_t last = 0;
	uint64_t u;
	size_t j, k = 0;

	for (j = 0; j < m; j++) {
		if (off[j])
			continue;
		if (og_get_varint(pp, end, &u) < 0 || (same && u == 0 && k == 0))
			return -1;
		to[j] = !same ? og_unzigzag(u) : u == 0 ? last :
		    og_unzigzag(u - 1);
		last = to[j];
		k++;
	}
	return 0;
}

/* Reads the exponent, prediction, step and the values kept whole; marks
 * those in off. */
static const char *
read_head(const unsigned char **pp, const unsigned char *end, size_t m,
    struct og_decimal *d)
{
	uint64_t u;
	size_t i, j;

	if (end - *pp < 2 || (*pp)[0] > 2 * OG_POW10_EXACT ||
	    (*pp)[1] >= PREDICTIONS)
		return "bad value column";
	d->e = (*pp)[0] - OG_POW10_EXACT;
	d->how = (*pp)[1];
	*pp += 2;
	if (og_get_varint(pp, end, &u) < 0 || u == 0 || u > (uint64_t)MAX_EXACT)
		return "bad value column";
	d->step = (int64_t)u;
	if (og_get_varint(pp, end, &u) < 0 || u > m)
		return "bad value column";
	d->nexc = u;
	memset(off, 0, m);
	for (i = 0, j = 0; i < d->nexc; i++) {
		if (og_get_varint(pp, end, &u) < 0 || u > m - 1 - j ||
		    (i > 0 && u == 0))
			return "bad value column";
		j += u;
		off[j] = 1;
	}
	if ((size_t)(end - *pp) < 8 * d->nexc)
		return "bad value column";
	for (i = 0; i < d->nexc; i++, *pp += 8) {
		u = og_get_le64(*pp);
		memcpy(&kept[i], &u, 8);
	}
	return NULL;
}

/*
 * Reads the decimal columns at *pp into the m non-nan places of v (of n;
 * the nan places are marked already).  Where e <= 0, *scale is -e and dec
 * gets M, so that v[i] = dec[i] / 10^scale, or INT64_MIN for a value
 * kept whole, which no decimal prints; else *scale is -1.  Damaged input
 * gives an error or wrong values, never undefined behaviour.
 */
const char *
og_decimal_read(const unsigned char **pp, const unsigned char *end,
    double *v, size_t n, size_t m, int64_t *dec, int *scale)
{
	struct og_decimal d;
	int64_t q, prev[2] = { 0, 0 }, x;
	size_t i, j, k;
	const char *err;

	if ((err = read_head(pp, end, m, &d)))
		return err;
	if (read_column(pp, end, m, ms, 0) < 0 ||
	    (d.step > 1 && read_column(pp, end, m, rs, 1) < 0))
		return "bad value column";
	for (j = 0, k = 0; j < m; j++) {
		if (off[j])
			continue;
		q = (int64_t)((uint64_t)predicted(d.how, prev + 2, k) +
		    (uint64_t)ms[j]);
		if (q > (int64_t)MAX_EXACT || q < -(int64_t)MAX_EXACT)
			return "bad value column";
		prev[0] = prev[1];
		prev[1] = q;
		k++;
		if (__builtin_mul_overflow(q, d.step, &x) ||
		    __builtin_add_overflow(x, d.step > 1 ? rs[j] : 0, &x) ||
		    x >= (int64_t)MAX_EXACT || x <= -(int64_t)MAX_EXACT)
			return "bad value column";
		ms[j] = x;
	}
	*scale = d.e <= 0 ? -d.e : -1;
	for (i = 0, j = 0, k = 0; i < n; i++) {
		if (isnan(v[i]))
			continue;
		if (off[j]) {
			v[i] = kept[k++];
			if (dec)
				dec[i] = INT64_MIN;
		} else {
			v[i] = d.e <= 0 ? (double)ms[j] / og_pow10[-d.e] :
			    (double)ms[j] * og_pow10[d.e];
			if (dec)
				dec[i] = ms[j];
		}
		j++;
	}
	return NULL;
}
