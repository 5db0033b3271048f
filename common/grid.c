/* grid.c: doubles computed from a meter's counter, coded exactly on the
 * grid they lie on.
 *
 * A difference of two counter readings is an integer multiple of their
 * ulp, 2^-e, and power is such a difference times a factor (60 for Wh per
 * minute).  A value v = k * (X * 2^-e) is coded by its integer X, one of
 * two ways:
 *   quanta   X = llrint(D * 2^e / 10^s) + R: D counts the meter's decimal
 *            resolution, R is the rounding noise, a few units;
 *   counter  the running sum of X is the counter itself, read at bucket
 *            edges; read between two pulses it has the fraction a/b, b the
 *            seconds between them, so the sum is coded as whole units, b,
 *            a and a residual.
 * Values off the grid (a partial first bucket, -0.0) are kept whole.  The
 * layout is in og-pack(1).
 */
#include <math.h>
#include <string.h>

#include "og.h"

static const double factors[] = { 1, 60, 3600, 1000, 60000, 3600000 };
#define NFACTORS (sizeof factors / sizeof factors[0])
#define MAX_EXP 200
#define MAX_COUNTER_EXP 46	/* a << e fits 62 bits for a <= MAX_DEN */
#define MAX_DEN 65535
#define PROBE_DEN 256
#define SLACK 4			/* units a fraction may miss the reading by */
#define NO_QUANTUM 255
#define SAMPLE 1024

/* per value of the chunk that is not nan, per thread: og-pack encodes
 * on several */
static _Thread_local int64_t xs[OG_CHUNK_POINTS];	/* X; when decoding
							 * also D or whole */
static _Thread_local uint64_t nums[OG_CHUNK_POINTS], dens[OG_CHUNK_POINTS];
static _Thread_local int64_t resid[OG_CHUNK_POINTS];
static _Thread_local unsigned char off[OG_CHUNK_POINTS];	/* kept whole */
static _Thread_local double kept[OG_CHUNK_POINTS];

static double
grid_value(const struct og_grid *g, int64_t x)
{
	return g->k * ((double)x * g->unit);
}

static int
same_bits(double a, double b)
{
	return memcmp(&a, &b, sizeof a) == 0;
}

static void
set_exp(struct og_grid *g, int e)
{
	g->e = e;
	g->unit = ldexp(1, -e);
}

static void
set_quantum(struct og_grid *g, int s)
{
	g->s = s;
	g->step = s == NO_QUANTUM ? 1 : ldexp(1, g->e) / og_pow10[s];
}

/* The X giving exactly v, looked for next to v's own scaled value. */
static int
grid_point(const struct og_grid *g, double v, int64_t *x)
{
	static const int near[] = { 0, -1, 1, -2, 2 };
	double guess = v / g->k / g->unit;
	int64_t c;
	size_t i;

	if (!(fabs(guess) < 0x1p52))
		return 0;
	c = llrint(guess);
	for (i = 0; i < sizeof near / sizeof near[0]; i++) {
		if (same_bits(grid_value(g, c + near[i]), v)) {
			*x = c + near[i];
			return 1;
		}
	}
	return 0;
}

/* The smallest e putting v on the grid, or -1: a value on the grid at e
 * is on it at e + 1 too, so a bisection finds it. */
static int
least_exp(struct og_grid *g, double v)
{
	int lo = 0, hi, mid, exp2;
	int64_t x;

	if (!isfinite(v))
		return -1;
	frexp(v / g->k, &exp2);
	hi = 51 - exp2 < MAX_EXP ? 51 - exp2 : MAX_EXP;
	if (hi < 0)
		return -1;
	set_exp(g, hi);
	if (!grid_point(g, v, &x))
		return -1;
	while (lo < hi) {
		mid = (lo + hi) / 2;
		set_exp(g, mid);
		if (grid_point(g, v, &x))
			hi = mid;
		else
			lo = mid + 1;
	}
	set_exp(g, lo);
	return lo;
}

/* Places the non-nan values on the grid; returns how many are off it. */
static size_t
place(struct og_grid *g, const double *v, size_t n)
{
	size_t i, j = 0;

	g->nexc = 0;
	for (i = 0; i < n; i++) {
		if (isnan(v[i]))
			continue;
		off[j] = !grid_point(g, v[i], &xs[j]);
		g->nexc += off[j];
		j++;
	}
	return g->nexc;
}

/*
 * Chooses the factor and grid that take the fewest bits per value, judged
 * on the first values, then places every value; 0 when the grid is no
 * coarser than the values' own precision or too many are off it.
 */
int
og_grid_fit(struct og_grid *g, const double *v, size_t n)
{
	struct og_grid try;
	int sample[33], ns, e, swap, found = 0, tries;
	double top = 0, bits, best = 51;
	size_t i, f, m = 0, bad;

	for (i = 0; i < n; i++) {
		if (isnan(v[i]))
			continue;
		m++;
		if (isfinite(v[i]) && fabs(v[i]) > top)
			top = fabs(v[i]);
	}
	for (f = 0; f < NFACTORS; f++) {
		try.k = factors[f];
		for (i = 0, ns = 0, bad = 0; i < n && ns + bad < 33; i++) {
			if (isnan(v[i]))
				continue;
			if ((e = least_exp(&try, v[i])) < 0)
				bad++;
			else
				sample[ns++] = e;
		}
		if (ns == 0 || bad * 4 > (size_t)ns)
			continue;
		for (i = 1; i < (size_t)ns; i++)
			for (e = i; e > 0 && sample[e - 1] > sample[e]; e--) {
				swap = sample[e];
				sample[e] = sample[e - 1];
				sample[e - 1] = swap;
			}
		/* a few values off the grid are kept whole */
		set_exp(&try, sample[ns * 7 / 8]);
		bits = try.e + log2(top / try.k + 1);
		if (bits < best - found) {
			*g = try;
			best = bits;
			found = 1;
		}
	}
	if (!found)
		return 0;
	g->m = m;
	for (tries = 0; place(g, v, n) > m / 32 && tries < 4 &&
	    g->e < MAX_EXP; tries++)
		set_exp(g, g->e + 1);
	return g->nexc <= m / 8;
}

static int64_t
quanta(const struct og_grid *g, int64_t x)
{
	return llrint((double)x / g->step);
}

static int64_t
quanta_base(const struct og_grid *g, int64_t d)
{
	return llrint((double)d * g->step);
}

static size_t
quanta_cost(const struct og_grid *g)
{
	size_t j, seen = 0, bytes = 0;
	int64_t d, prev = 0;

	for (j = 0; j < g->m && seen < SAMPLE; j++) {
		if (off[j])
			continue;
		seen++;
		d = quanta(g, xs[j]);
		bytes += og_varint_len(og_zigzag(d - prev));
		bytes += og_varint_len(og_zigzag(xs[j] - quanta_base(g, d)));
		prev = d;
	}
	return bytes;
}

/* Chooses the decimal quantum that codes the placed values smallest. */
void
og_grid_quantum(struct og_grid *g)
{
	struct og_grid try;
	size_t cost, best;
	int s;

	set_quantum(g, NO_QUANTUM);
	best = quanta_cost(g);
	for (s = 9; s >= 0; s--) {
		try = *g;
		set_quantum(&try, s);
		if (try.step < 1)
			continue;
		if ((cost = quanta_cost(&try)) < best) {
			best = cost;
			*g = try;
		}
	}
}

/*
 * The fraction a/b with the least b <= maxb in [ln/ld, hn/hd], which
 * must satisfy 0 <= ln/ld <= hn/hd; 0 if there is none.  Continued
 * fractions: when no whole number lies in the range, x = fl + 1/y narrows
 * it to a range for y, and (p y + pp) / (q y + qp) maps y back to x.
 */
static int
simplest(uint64_t ln, uint64_t ld, uint64_t hn, uint64_t hd, uint64_t maxb,
    uint64_t *a, uint64_t *b)
{
	uint64_t p = 1, pp = 0, q = 0, qp = 1, fl, r, t, lo_n, lo_d;

	for (;;) {
		fl = ln / ld;
		if (fl * ld == ln || (fl + 1) * hd <= hn) {
			r = fl * ld == ln ? fl : fl + 1;
			if (q * r + qp > maxb)
				return 0;
			*a = p * r + pp;
			*b = q * r + qp;
			return 1;
		}
		t = p * fl + pp, pp = p, p = t;
		t = q * fl + qp, qp = q, q = t;
		if (q > maxb)
			return 0;
		lo_n = hd, lo_d = hn - fl * hd;
		hn = ld, hd = ln - fl * ld;
		ln = lo_n, ld = lo_d;
	}
}

static uint64_t
fraction_base(uint64_t a, uint64_t b, int e)
{
	return ((a << e) + b / 2) / b;
}

/* Splits the reading c into whole units (rounded down), a fraction a/b
 * near the rest and the residual; b = 0 when no fraction is near, and a
 * is then the rest itself. */
static void
split(int64_t c, int e, uint64_t maxb, int64_t *whole, uint64_t *a,
    uint64_t *b, int64_t *r)
{
	uint64_t unit = UINT64_C(1) << e, f = (uint64_t)c & (unit - 1);

	*whole = (int64_t)(((uint64_t)c - f) >> e |
	    (c < 0 ? ~(UINT64_MAX >> e) : 0));
	if (simplest(f > SLACK ? f - SLACK : 0, unit, f + SLACK, unit, maxb,
	    a, b)) {
		*r = (int64_t)(f - fraction_base(*a, *b, e));
	} else {
		*a = f;
		*b = 0;
		*r = 0;
	}
}

/*
 * Prepares the counter coding of the placed values: the running sum of X
 * plus an offset is taken as the counter.  The offset is the one under
 * which the first readings have the simplest fractions, tried as those
 * that would make one of them whole or a half.  0 if it does not apply.
 */
int
og_grid_counter(struct og_grid *g)
{
	uint64_t unit, a, b, f0;
	int64_t z = 0, first[32], whole, r;
	size_t j, h, nfirst = 0, miss, best = 0, half;
	int d;

	if (g->e > MAX_COUNTER_EXP)
		return 0;
	unit = UINT64_C(1) << g->e;
	for (j = 0; j < g->m; j++) {
		if (off[j])
			continue;
		if (z > INT64_C(1) << 61 || z < -(INT64_C(1) << 61))
			return 0;
		z += xs[j];
		if (nfirst < 32)
			first[nfirst++] = z;
	}
	if (nfirst == 0)
		return 0;
	/* good enough: most first readings simple; a candidate stops at the
	 * first miss that puts it behind the best */
	g->offset = 0;
	for (h = 0; h < nfirst && best < nfirst; h++)
		for (half = 0; half < 2; half++)
			for (d = -SLACK; d <= SLACK; d++) {
				f0 = (half * (unit / 2) - (uint64_t)first[h] +
				    (uint64_t)(int64_t)d) & (unit - 1);
				for (j = 0, miss = 0; j < nfirst &&
				    nfirst - miss > best; j++) {
					split(first[j] + (int64_t)f0, g->e,
					    PROBE_DEN, &whole, &a, &b, &r);
					miss += b == 0;
				}
				if (nfirst - miss > best) {
					best = nfirst - miss;
					g->offset = (int64_t)f0;
				}
			}
	return best * 2 >= nfirst;
}

static unsigned char *
put_le64(unsigned char *p, double v)
{
	uint64_t u;

	memcpy(&u, &v, 8);
	og_put_le64(p, u);
	return p + 8;
}

/* Appends the placed values' columns at p, adding their starts (offsets
 * from start) to cut. */
unsigned char *
og_grid_write(const struct og_grid *g, int how, const double *v, size_t n,
    unsigned char *p, const unsigned char *start, size_t *cut, size_t *ncut)
{
	int64_t d, prev = 0, z = 0;
	size_t i, j, last = 0;

	p = put_le64(p, g->k);
	p[0] = (unsigned char)g->e;
	p[1] = (unsigned char)(how == OG_GRID_COUNTER ? NO_QUANTUM : g->s);
	p = og_put_varint(p + 2, g->nexc);
	for (j = 0; j < g->m; j++) {
		if (off[j]) {
			p = og_put_varint(p, j - last);
			last = j;
		}
	}
	for (i = 0, j = 0; i < n; i++)
		if (!isnan(v[i]) && off[j++])
			p = put_le64(p, v[i]);
	if (how == OG_GRID_QUANTA) {
		cut[(*ncut)++] = p - start;
		for (j = 0; j < g->m; j++) {
			if (off[j])
				continue;
			d = quanta(g, xs[j]);
			p = og_put_varint(p, og_zigzag(d - prev));
			prev = d;
		}
		cut[(*ncut)++] = p - start;
		for (j = 0; j < g->m; j++)
			if (!off[j])
				p = og_put_varint(p, og_zigzag(xs[j] -
				    quanta_base(g, quanta(g, xs[j]))));
		return p;
	}
	p = og_put_varint(p, (uint64_t)g->offset);
	cut[(*ncut)++] = p - start;
	for (j = 0; j < g->m; j++) {
		if (off[j])
			continue;
		z += xs[j];
		split(z + g->offset, g->e, MAX_DEN, &d, &nums[j], &dens[j],
		    &resid[j]);
		p = og_put_varint(p, og_zigzag(d - prev));
		prev = d;
	}
	cut[(*ncut)++] = p - start;
	for (j = 0; j < g->m; j++)
		if (!off[j])
			p = og_put_varint(p, dens[j]);
	cut[(*ncut)++] = p - start;
	for (j = 0; j < g->m; j++)
		if (!off[j])
			p = og_put_varint(p, nums[j]);
	cut[(*ncut)++] = p - start;
	for (j = 0; j < g->m; j++)
		if (!off[j])
			p = og_put_varint(p, og_zigzag(resid[j]));
	return p;
}

/* Reads a column of one varint per value on the grid into to. */
static int
read_column(const unsigned char **pp, const unsigned char *end, size_t m,
    uint64_t *to)
{
	size_t j;

	for (j = 0; j < m; j++)
		if (!off[j] && og_get_varint(pp, end, &to[j]) < 0)
			return -1;
	return 0;
}

/*
 * Reads the grid columns at *pp into the non-nan places of v (the nan
 * places are marked already).  Returns NULL or what is wrong; damaged
 * input gives an error or wrong values, never undefined behaviour.
 */
const char *
og_grid_read(const unsigned char **pp, const unsigned char *end, int how,
    double *v, size_t n)
{
	const unsigned char *p = *pp;
	struct og_grid g;
	uint64_t u, c, z, zprev = 0, whole = 0, offset = 0;
	size_t i, j, m = 0, nexc;
	int64_t x;

	for (i = 0; i < n; i++)
		m += !isnan(v[i]);
	if (end - p < 10)
		return "bad value grid";
	u = og_get_le64(p);
	memcpy(&g.k, &u, 8);
	if (!isfinite(g.k) || g.k == 0 || p[8] > MAX_EXP ||
	    (how == OG_GRID_COUNTER ? p[8] > MAX_COUNTER_EXP ||
	    p[9] != NO_QUANTUM : p[9] > 9 && p[9] != NO_QUANTUM))
		return "bad value grid";
	set_exp(&g, p[8]);
	set_quantum(&g, p[9]);
	p += 10;
	if (og_get_varint(&p, end, &u) < 0 || u > m)
		return "bad value grid";
	nexc = u;
	memset(off, 0, m);
	for (i = 0, j = 0; i < nexc; i++) {
		if (og_get_varint(&p, end, &u) < 0 || u >= m - j ||
		    (i > 0 && u == 0))
			return "bad value grid";
		j += u;
		off[j] = 1;
	}
	if ((size_t)(end - p) < 8 * nexc)
		return "bad value grid";
	for (i = 0; i < nexc; i++, p += 8) {
		u = og_get_le64(p);
		memcpy(&kept[i], &u, 8);
	}
	if (how == OG_GRID_QUANTA) {
		if (read_column(&p, end, m, (uint64_t *)xs) < 0 ||
		    read_column(&p, end, m, (uint64_t *)resid) < 0)
			return "bad value column";
		for (j = 0, u = 0; j < m; j++) {
			double base;

			if (off[j])
				continue;
			u += (uint64_t)og_unzigzag((uint64_t)xs[j]);
			base = (double)(int64_t)u * g.step;
			if (!(fabs(base) < 0x1p62))
				return "bad value column";
			xs[j] = (int64_t)((uint64_t)llrint(base) +
			    (uint64_t)og_unzigzag((uint64_t)resid[j]));
		}
	} else {
		if (og_get_varint(&p, end, &offset) < 0 ||
		    read_column(&p, end, m, (uint64_t *)xs) < 0 ||
		    read_column(&p, end, m, dens) < 0 ||
		    read_column(&p, end, m, nums) < 0 ||
		    read_column(&p, end, m, (uint64_t *)resid) < 0)
			return "bad value column";
		for (j = 0; j < m; j++) {
			if (off[j])
				continue;
			whole += (uint64_t)og_unzigzag((uint64_t)xs[j]);
			if (dens[j] > MAX_DEN || (dens[j] ? nums[j] > dens[j] :
			    nums[j] >> g.e != 0))
				return "bad value column";
			c = (whole << g.e) + (dens[j] ? fraction_base(nums[j],
			    dens[j], g.e) : nums[j]) +
			    (uint64_t)og_unzigzag((uint64_t)resid[j]);
			z = c - offset;
			xs[j] = (int64_t)(z - zprev);
			zprev = z;
		}
	}
	for (i = 0, j = 0, nexc = 0; i < n; i++) {
		if (isnan(v[i]))
			continue;
		if (off[j]) {
			v[i] = kept[nexc++];
		} else {
			x = xs[j];
			if (x > INT64_C(1) << 53 || x < -(INT64_C(1) << 53))
				return "bad value column";
			v[i] = grid_value(&g, x);
		}
		j++;
	}
	*pp = p;
	return NULL;
}
