/* rate.c: pulse times coded against a model of the pulse rate.
 *
 * A meter that pulses at a steady rate gives times floor(k * T + phi): a
 * Beatty sequence, T the seconds a pulse.  The model keeps the set of
 * (T, y) that agree with the recent pulses, y being where the last pulse
 * ideally lay past its whole second, as a convex polygon, and predicts the
 * next step as the seconds y + T covers.  Each step is coded with a
 * binary range coder whose adaptive probabilities are chosen by how sure
 * that prediction is, so a steady rate costs a small fraction of a bit a
 * pulse.  A step outside the prediction is a pulse early or late (it is
 * left out of the polygon, and taken back if the next one shows it was
 * not) or a change of rate (the polygon is rebuilt from the recent
 * pulses that agree, or is a rate remembered, as a fridge or a kettle
 * switches back).  With noise the polygon is widened a little each
 * pulse (rho).  All of it is integer arithmetic in 2^-20 s, so that any
 * machine decodes what another encoded.  The layout is in og-pack(1).
 */
#include <string.h>

#include "og.h"

#define FRAC 20
#define ONE (INT64_C(1) << FRAC)
#define STEP_MAX (INT64_C(1) << 30)	/* longer steps are not modelled */
#define PMAX 16
#define MIN_AREA2 (INT64_C(1) << 8)	/* twice the least area, 2^-32 s^2 */
#define NB 16				/* buckets of the likeliest share */
#define NCACHE 8			/* rates remembered: 4 before model 2 */
#define REBUILD 8			/* pulses a rebuilt polygon looks back */
#define PROB_BITS 15
#define PROB_ONE (1 << PROB_BITS)
#define PROB_MIN 16
#define ADAPT_LIMIT 30
#define CLOSE 102		/* percent: rhos this close are all coded */
#define SWITCH (2 * ONE)	/* a step from a rate to one remembered */
#define FIT 4			/* pulses back a miss of a second must fit */
#define FIT_JITTER 16		/* the same where pulses are early or late */
#define JITTER 8		/* jitter at which FIT_JITTER holds */
#define JITTER_MAX 16

/* The rho of each id, in thousandths: 3% suits power with noise. */
static const int64_t rhos[] = { 0, 30 };

/* ---- the range coder --------------------------------------------------- */

struct prob {
	uint16_t p;		/* P(0), in 2^-15; 0 before the first use */
	uint8_t n;		/* uses, up to ADAPT_LIMIT */
};

struct rc {
	struct og_buf *out;	/* encoding */
	uint64_t low;
	uint32_t range, code;
	unsigned char cache;
	uint64_t pending;
	const unsigned char *p, *end;	/* decoding */
};

/* The rate of adaptation falls from 1/2 to 1/32 as a context is used. */
static void
adapt(struct prob *m, int bit)
{
	static const uint32_t recip[ADAPT_LIMIT + 3] = {
		0, 0, 32768, 21845, 16384, 13107, 10923, 9362, 8192, 7282,
		6554, 5958, 5461, 5041, 4681, 4369, 4096, 3855, 3641, 3449,
		3277, 3121, 2979, 2849, 2731, 2621, 2521, 2427, 2341, 2260,
		2185, 2114, 2048,
	};
	int32_t target = bit ? 0 : PROB_ONE, p = m->p;

	p += (int32_t)(((int64_t)(target - p) * recip[m->n + 2]) >> 16);
	if (p < PROB_MIN)
		p = PROB_MIN;
	if (p > PROB_ONE - PROB_MIN)
		p = PROB_ONE - PROB_MIN;
	m->p = (uint16_t)p;
	if (m->n < ADAPT_LIMIT)
		m->n++;
}

static uint32_t
bound(const struct rc *c, struct prob *m)
{
	if (m->p == 0)
		m->p = PROB_ONE / 2;
	return (c->range >> PROB_BITS) * m->p;
}

/* Carries into the bytes written: low is 33 bits at most. */
static void
shift_low(struct rc *c)
{
	if (c->low < 0xff000000 || c->low >= 0x100000000) {
		unsigned char carry = (unsigned char)(c->low >> 32);

		og_buf_grow(c->out, c->pending + 1);
		c->out->data[c->out->len++] = (char)(c->cache + carry);
		for (; c->pending > 0; c->pending--)
			c->out->data[c->out->len++] = (char)(0xff + carry);
		c->cache = (unsigned char)(c->low >> 24);
	} else {
		c->pending++;
	}
	c->low = (c->low & 0x00ffffff) << 8;
}

static void
put_bit(struct rc *c, struct prob *m, int bit)
{
	uint32_t b = bound(c, m);

	if (bit) {
		c->low += b;
		c->range -= b;
	} else {
		c->range = b;
	}
	adapt(m, bit);
	while (c->range < (1u << 24)) {
		c->range <<= 8;
		shift_low(c);
	}
}

static int
get_bit(struct rc *c, struct prob *m)
{
	uint32_t b = bound(c, m);
	int bit;

	if (c->code < b) {
		c->range = b;
		bit = 0;
	} else {
		c->code -= b;
		c->range -= b;
		bit = 1;
	}
	adapt(m, bit);
	while (c->range < (1u << 24)) {
		c->range <<= 8;
		c->code = c->code << 8 | (c->p < c->end ? *c->p++ : 0);
	}
	return bit;
}

/* A bit, put or got: the model's code is the same both ways. */
static int
bit(struct rc *c, struct prob *m, int b)
{
	if (c->out) {
		put_bit(c, m, b);
		return b;
	}
	return get_bit(c, m);
}

/* An unsigned number of any size: the length of v + 1 in unary, then its
 * bits below the top one. */
struct numprob {
	struct prob len[64], bits[64][2];
};

static uint64_t
number(struct rc *c, struct numprob *m, uint64_t v)
{
	uint64_t x = v + 1;
	int n = 0, i;

	while (n < 63 && bit(c, &m->len[n], c->out && x >> (n + 1) != 0))
		n++;
	if (!c->out)
		x = 1;
	for (i = n - 1; i >= 0; i--) {
		int b = bit(c, &m->bits[n][i == n - 1], c->out && (x >> i & 1));

		if (!c->out)
			x = x << 1 | (uint64_t)b;
	}
	return x - 1;
}

/* ---- the polygon of the rates and phases that agree --------------------- */

struct poly {
	int n;
	int64_t T[PMAX], y[PMAX];	/* counter-clockwise */
};

static void
poly_rect(struct poly *p, int64_t tlo, int64_t thi)
{
	p->n = 4;
	p->T[0] = tlo, p->y[0] = 0;
	p->T[1] = thi, p->y[1] = 0;
	p->T[2] = thi, p->y[2] = ONE;
	p->T[3] = tlo, p->y[3] = ONE;
}

/* The rates and phases two pulses s seconds apart allow. */
static void
poly_init(struct poly *p, int64_t s)
{
	poly_rect(p, s * ONE - ONE, s * ONE + ONE);
	p->T[1] = s * ONE;
	p->T[3] = s * ONE;
}

static void
poly_copy(struct poly *to, const struct poly *from)
{
	to->n = from->n;
	memcpy(to->T, from->T, from->n * sizeof *to->T);
	memcpy(to->y, from->y, from->n * sizeof *to->y);
}

/* x0 + (x1 - x0) * ui / (ui - uj), truncated, for ui >= 0 > uj. */
static int64_t
lerp(int64_t x0, int64_t x1, int64_t ui, int64_t uj)
{
	int64_t prod;

	if (!__builtin_mul_overflow(x1 - x0, ui, &prod))
		return x0 + prod / (ui - uj);
	return x0 + (int64_t)((__int128)(x1 - x0) * ui / (ui - uj));
}

/* Cuts p to where sign * (y + a T - c) >= 0, into q: 1 if nothing is cut
 * (q untouched), 0 if something is, -1 if too many corners are left. */
static int
poly_cut(const struct poly *p, struct poly *q, int64_t a, int64_t c,
    int sign)
{
	int64_t u[PMAX], T, y;
	int i, j, in = 0;

	for (i = 0; i < p->n; i++) {
		u[i] = sign * (p->y[i] + a * p->T[i] - c);
		in += u[i] >= 0;
	}
	if (in == p->n)
		return 1;
	q->n = 0;
	for (i = 0; i < p->n; i++) {
		j = i + 1 < p->n ? i + 1 : 0;
		if (u[i] >= 0) {
			if (q->n == PMAX)
				return -1;
			q->T[q->n] = p->T[i], q->y[q->n++] = p->y[i];
		}
		if ((u[i] >= 0) == (u[j] >= 0))
			continue;
		T = u[i] >= 0 ? lerp(p->T[i], p->T[j], u[i], u[j]) :
		    lerp(p->T[j], p->T[i], u[j], u[i]);
		/* a horizontal cut crosses at y = c, as lerp would find */
		y = a == 0 ? c : u[i] >= 0 ? lerp(p->y[i], p->y[j], u[i],
		    u[j]) : lerp(p->y[j], p->y[i], u[j], u[i]);
		if (q->n > 0 && q->T[q->n - 1] == T && q->y[q->n - 1] == y)
			continue;
		if (q->n == PMAX)
			return -1;
		q->T[q->n] = T, q->y[q->n++] = y;
	}
	if (q->n > 1 && q->T[0] == q->T[q->n - 1] && q->y[0] == q->y[q->n - 1])
		q->n--;
	return 0;
}

static __int128
area2(const struct poly *p)
{
	__int128 a = 0;
	int i, j;

	for (i = 0; i < p->n; i++) {
		j = i + 1 < p->n ? i + 1 : 0;
		a += (__int128)p->T[i] * p->y[j] - (__int128)p->T[j] * p->y[i];
	}
	return a < 0 ? -a : a;
}

/* Keeps 0 <= y + a T - c <= 1 of p; 0 if nothing of some area is left.
 * q is room to work in. */
static int
poly_strip(struct poly *p, struct poly *q, int64_t a, int64_t c)
{
	int low, high, i;

	if (a == 0) {
		/* mostly the polygon is inside: nothing to cut */
		for (i = 0; i < p->n && p->y[i] >= c && p->y[i] <= c + ONE; i++)
			;
		if (i == p->n)
			return 1;
	}
	if ((low = poly_cut(p, q, a, c, 1)) < 0 || (low == 0 && q->n < 3))
		return 0;
	high = low ? poly_cut(p, q, a, c + ONE, -1) :
	    poly_cut(q, p, a, c + ONE, -1);
	if (high < 0)
		return 0;
	if (low && high)
		return 1;
	if (low != high)
		poly_copy(p, q);
	return p->n >= 3 && area2(p) >= MIN_AREA2;
}

/* Cuts p to where sign * (y - c) >= 0 into q, something being cut:
 * poly_cut for a = 0, as the pulses cut.  0, or -1 if too many corners
 * are left. */
static int
poly_hcut(const struct poly *p, struct poly *q, int64_t c, int sign)
{
	int64_t ui, uj, T;
	int i, j, n = 0;

	uj = sign * (p->y[0] - c);
	for (i = 0; i < p->n; i++) {
		j = i + 1 < p->n ? i + 1 : 0;
		ui = uj;
		uj = sign * (p->y[j] - c);
		if (ui >= 0) {
			if (n == PMAX)
				return -1;
			q->T[n] = p->T[i], q->y[n++] = p->y[i];
		}
		if ((ui >= 0) == (uj >= 0))
			continue;
		T = ui >= 0 ? lerp(p->T[i], p->T[j], ui, uj) :
		    lerp(p->T[j], p->T[i], uj, ui);
		if (n > 0 && q->T[n - 1] == T && q->y[n - 1] == c)
			continue;
		if (n == PMAX)
			return -1;
		q->T[n] = T, q->y[n++] = c;
	}
	if (n > 1 && q->T[0] == q->T[n - 1] && q->y[0] == q->y[n - 1])
		n--;
	q->n = n;
	return 0;
}

/* Keeps 0 <= y <= 1 of p, whose y lie in [lo, hi]: poly_strip for a = 0
 * and c = 0, the cuts known beforehand.  q is room to work in. */
static int
poly_band(struct poly *p, struct poly *q, int64_t lo, int64_t hi)
{
	if (lo >= 0 && hi <= ONE)
		return 1;
	if (lo < 0) {
		if (poly_hcut(p, q, 0, 1) < 0 || q->n < 3)
			return 0;
		if (hi <= ONE)
			poly_copy(p, q);
		else if (poly_hcut(q, p, ONE, -1) < 0)
			return 0;
	} else {
		if (poly_hcut(p, q, ONE, -1) < 0)
			return 0;
		poly_copy(p, q);
	}
	return p->n >= 3 && area2(p) >= MIN_AREA2;
}

/* Shears p (y + k T - off) and widens it by e up and down into q, as
 * noise may have moved the phase; *lo and *hi get the least and greatest
 * y.  Corners on a vertical edge are left out, as widening again would
 * add to them.  p has at most PMAX - 2 corners. */
static void
poly_widen(const struct poly *p, struct poly *q, int64_t k, int64_t off,
    int64_t e, int64_t *lo, int64_t *hi)
{
	int64_t T[PMAX + 2], y[PMAX + 2], ymin = INT64_MAX, ymax = INT64_MIN;
	int i, n = 0, l = 0, r = 0;

	/* shearing keeps the order of the y of corners of one T */
	for (i = 1; i < p->n; i++) {
		if (p->T[i] < p->T[l] || (p->T[i] == p->T[l] && p->y[i] < p->y[l]))
			l = i;
		if (p->T[i] > p->T[r] || (p->T[i] == p->T[r] && p->y[i] < p->y[r]))
			r = i;
	}
	for (i = l;; i = i + 1 < p->n ? i + 1 : 0) {
		T[n] = p->T[i], y[n++] = p->y[i] + k * p->T[i] - off - e;
		if (i == r)
			break;
	}
	for (i = r;; i = i + 1 < p->n ? i + 1 : 0) {
		T[n] = p->T[i], y[n++] = p->y[i] + k * p->T[i] - off + e;
		if (i == l)
			break;
	}
	q->n = 0;
	for (i = 0; i < n; i++) {
		if (T[i ? i - 1 : n - 1] != T[i] || T[i + 1 < n ? i + 1 : 0] != T[i]) {
			q->T[q->n] = T[i], q->y[q->n++] = y[i];
			ymin = y[i] < ymin ? y[i] : ymin;
			ymax = y[i] > ymax ? y[i] : ymax;
		}
	}
	*lo = ymin, *hi = ymax;
}

/* The polygon of pulse k back to the pulses before it that agree with
 * it, passing over one that does not. */
static void
poly_rebuild(struct poly *p, const int64_t *t, size_t k)
{
	struct poly work[2];
	size_t j;
	int skips = 1;

	poly_init(p, (int64_t)(t[k] - t[k - 1]));
	for (j = k - 1; j-- > 0 && k - j <= REBUILD;) {
		uint64_t back = (uint64_t)t[k] - (uint64_t)t[j];

		if (back > (uint64_t)REBUILD * STEP_MAX)
			break;
		poly_copy(&work[0], p);
		if (poly_strip(&work[0], &work[1], -(int64_t)(k - j),
		    -(int64_t)back * ONE))
			poly_copy(p, &work[0]);
		else if (skips-- <= 0)
			break;
	}
}

/* The polygon of pulse k and the back pulses before it, if all agree. */
static int
poly_fit(struct poly *p, const int64_t *t, size_t k, size_t back)
{
	struct poly work[2];
	size_t j;

	if (k < back || (uint64_t)t[k] - (uint64_t)t[k - back] >
	    (uint64_t)back * STEP_MAX)
		return 0;
	poly_init(p, (int64_t)(t[k] - t[k - 1]));
	for (j = k - 1; j-- > k - back;) {
		poly_copy(&work[0], p);
		if (!poly_strip(&work[0], &work[1], -(int64_t)(k - j),
		    -(int64_t)((uint64_t)t[k] - (uint64_t)t[j]) * ONE))
			return 0;
		poly_copy(p, &work[0]);
	}
	return 1;
}

static int64_t
floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* ---- the model ----------------------------------------------------------- */

enum { CERTAIN, HIT, OTHER, MISS };

/* A polygon as the model sees it: slot's corners, k pulses on, D later
 * (y + k T - D), and widened by W up and down; so that a pulse that cuts
 * nothing off costs no work on the corners. */
struct view {
	int slot, k;
	int64_t D, W;
};
#define KMAX 255		/* k * T must not overflow */

struct model {
	struct prob first[5][NB + 1][16], inside[5], dir[5][2], other[5][8];
	struct numprob miss[2][2], raw;
	struct poly slot[3];
	struct view a, prev;	/* prev: a as if the last pulse were not */
	int64_t cache_lo[NCACHE], cache_hi[NCACHE];
	int ncache, misses, age, hist, valid;
	int near;		/* the last miss was a second off a sure step */
	int after;		/* the last miss was: 1 fitted, 2 left out */
	int jitter;		/* how often a miss was early or late, not a rate */
	int version;		/* of the model's bit stream: OG_RATE_MODELS */
	int64_t rho;
};

/* What the polygon predicts: the seconds [lo, hi] the next step may
 * take, the likeliest m and the bucket of its share. */
struct guess {
	int64_t lo, hi, m;
	int64_t ylo, yhi;	/* of the corners, unwidened */
	int bucket;
};

/* The least and greatest y + k T - D of v's corners (no W). */
static void
view_range(const struct model *md, const struct view *v, int k,
    int64_t *lo, int64_t *hi)
{
	const struct poly *p = &md->slot[v->slot];
	int64_t x;
	int i;

	*lo = INT64_MAX, *hi = INT64_MIN;
	for (i = 0; i < p->n; i++) {
		x = p->y[i] + k * p->T[i];
		*lo = x < *lo ? x : *lo;
		*hi = x > *hi ? x : *hi;
	}
	*lo -= v->D;
	*hi -= v->D;
}

static void
predict(const struct model *md, struct guess *g)
{
	int64_t lo, hi, best = -1, c, ov;

	view_range(md, &md->a, md->a.k + 1, &g->ylo, &g->yhi);
	lo = g->ylo - md->a.W;
	hi = g->yhi + md->a.W;
	g->lo = floor_div(lo, ONE);
	g->hi = floor_div(hi + ONE - 1, ONE) - 1;
	if (g->lo < 1)
		g->lo = 1;
	if (g->hi < g->lo)
		g->hi = g->lo;
	g->m = g->lo + (g->hi - g->lo) / 2;
	g->bucket = g->lo == g->hi ? NB : 0;
	if (g->lo == g->hi || g->hi - g->lo > 63 || hi <= lo)
		return;
	for (c = g->lo; c <= g->hi; c++) {
		ov = (hi < (c + 1) * ONE ? hi : (c + 1) * ONE) -
		    (lo > c * ONE ? lo : c * ONE);
		if (ov > best) {
			best = ov;
			g->m = c;
		}
	}
	g->bucket = (int)(best * NB / (hi - lo));
}

/* Codes step s (encoding), or decodes it: returns it, and its kind in
 * *kind, or 0 for a step that cannot be. */
static uint64_t
step(struct rc *c, struct model *md, const struct guess *g, uint64_t s,
    int *kind)
{
	int st = md->misses ? (md->misses > 1 ? 2 : md->near ? 4 : 1) :
	    md->age < 4 ? 3 : 0;
	int enc = c->out != NULL, below, in;
	uint64_t m = (uint64_t)g->m, lo = (uint64_t)g->lo, hi = (uint64_t)g->hi;
	uint64_t d, room, k;

	*kind = g->lo == g->hi ? CERTAIN : HIT;
	if (!bit(c, &md->first[st][g->bucket][md->hist], enc && s != m))
		return m;
	*kind = MISS;
	if (lo == hi) {
		/* no step is shorter than 1 s */
		below = m == 1 && md->version > 0 ? 0 :
		    bit(c, &md->dir[st][0], enc && s < m);
		d = number(c, &md->miss[0][st > 0], enc ? (below ? m - s : s - m)
		    - 1 : 0);
		return below ? (d < m - 1 ? m - 1 - d : 0) :
		    (d < UINT64_MAX - m ? m + 1 + d : 0);
	}
	in = !bit(c, &md->inside[st], enc && (s < lo || s > hi));
	/* inside, a likeliest step at an end of the range leaves one way
	 * to go; the first model codes it all the same */
	if ((in ? m == lo : lo == 1) && md->version > 0)
		below = 0;
	else if (in && m == hi && md->version > 0)
		below = 1;
	else
		below = bit(c, &md->dir[st][!in], enc && s < m);
	if (in) {
		*kind = OTHER;
		room = below ? m - lo : hi - m;
		if (room == 0)
			return 0;
		for (k = 0; k + 1 < room; k++)
			if (!bit(c, &md->other[st][k < 7 ? k : 7], enc &&
			    (below ? m - s : s - m) - 1 > k))
				break;
		return below ? m - 1 - k : m + 1 + k;
	}
	d = number(c, &md->miss[1][st > 0], enc ? (below ? lo - 1 - s : s - hi
	    - 1) : 0);
	return below ? (d < lo - 1 ? lo - 1 - d : 0) :
	    (d < UINT64_MAX - hi ? hi + 1 + d : 0);
}

/* The slot neither a nor prev looks at. */
static struct poly *
spare(struct model *md)
{
	int i = 0;

	while (i == md->a.slot || i == md->prev.slot)
		i++;
	return &md->slot[i];
}

static void
fresh(struct model *md, struct view *v, const struct poly *p)
{
	v->slot = (int)(p - md->slot);
	v->k = 0;
	v->D = v->W = 0;
}

/* v s seconds on, into to, if the pulse there agrees with it: 0 if it
 * does not.  lo and hi are v's view_range one pulse on.  Only where the
 * pulse cuts something off are the corners worked on. */
static int
view_advance(struct model *md, const struct view *v, struct view *to,
    int64_t lo, int64_t hi, int64_t s)
{
	struct poly *q = spare(md), work;
	const struct poly *p = &md->slot[v->slot];
	int64_t w = v->W + s * ONE / 1000 * md->rho;
	int i;

	if (lo - s * ONE - w >= 0 && hi - s * ONE + w <= ONE && v->k < KMAX) {
		*to = *v;
		to->k++;
		to->D += s * ONE;
		to->W = w;
		return 1;
	}
	if (w > 0 && p->n <= PMAX - 2) {
		poly_widen(p, q, v->k + 1, v->D + s * ONE, w, &lo, &hi);
	} else {
		for (i = 0; i < p->n; i++) {
			q->T[i] = p->T[i];
			q->y[i] = p->y[i] + (v->k + 1) * p->T[i] - v->D - s * ONE;
		}
		q->n = p->n;
		lo -= s * ONE;
		hi -= s * ONE;
	}
	if (!poly_band(q, &work, lo, hi))
		return 0;
	fresh(md, to, q);
	return 1;
}

/* Remembers the rate of a, as a range of T.  From model 2 on, a rate
 * that overlaps the last one remembered takes its place, so that pulses
 * early or late do not push the rates before it out. */
static void
remember(struct model *md)
{
	const struct poly *p = &md->slot[md->a.slot];
	int64_t lo = INT64_MAX, hi = INT64_MIN;
	int i, n = md->version > 1 ? NCACHE : 4;

	for (i = 0; i < p->n; i++) {
		lo = p->T[i] < lo ? p->T[i] : lo;
		hi = p->T[i] > hi ? p->T[i] : hi;
	}
	if (md->version > 1 && md->ncache > 0 && lo <= md->cache_hi[0] &&
	    hi >= md->cache_lo[0]) {
		md->cache_lo[0] = lo, md->cache_hi[0] = hi;
		return;
	}
	for (i = n - 1; i > 0; i--) {
		md->cache_lo[i] = md->cache_lo[i - 1];
		md->cache_hi[i] = md->cache_hi[i - 1];
	}
	md->cache_lo[0] = lo, md->cache_hi[0] = hi;
	md->ncache += md->ncache < n;
}

/*
 * The remembered rate a pulse s seconds on, g->m likeliest, may have
 * switched to, or -1: from the from-th on (1 where the rate now was just
 * remembered), the first that is slower for a pulse late, faster for one
 * early, and within SWITCH of s, which lies between the rate before and
 * the rate after.  Before model 2, the rate before the last.
 */
static int
recall(const struct model *md, int from, uint64_t s, const struct guess *g)
{
	const struct poly *p = &md->slot[md->a.slot];
	int64_t now = INT64_MIN, x = (int64_t)s * ONE;
	int i;

	if (md->version < 2)
		return md->ncache > 1 ? 1 : -1;
	for (i = 0; i < p->n; i++)
		now = p->T[i] > now ? p->T[i] : now;
	for (i = from; i < md->ncache; i++) {
		if (s > (uint64_t)g->m ? md->cache_hi[i] > now &&
		    md->cache_hi[i] >= x - SWITCH : md->cache_hi[i] <= now &&
		    md->cache_lo[i] <= x + SWITCH)
			return i;
	}
	return -1;
}

/* The pulse of step s left out: a as it was, one pulse on. */
static void
skip(struct view *v, int64_t s)
{
	v->k++;
	v->D += s * ONE;
}

/* Takes the k-th time, a step s of kind from g, into the model. */
static void
learn(struct model *md, const int64_t *t, size_t k, uint64_t s, int kind,
    const struct guess *g)
{
	struct view b, q = md->a;
	struct poly *r;
	int64_t lo, hi;
	int kept, i, after = md->after;

	md->hist = (md->hist << 2 | kind) & 15;
	md->after = 0;
	if (s > (uint64_t)STEP_MAX) {
		md->valid = 0;
		return;
	}
	skip(&q, (int64_t)s);
	if (view_advance(md, &md->a, &b, g->ylo, g->yhi, (int64_t)s)) {
		/* a miss fitted was a new rate; one left out, early or late */
		if (after == 1 && md->jitter > 0)
			md->jitter--;
		else if (after == 2 && md->jitter < JITTER_MAX)
			md->jitter++;
		md->prev = q;
		md->a = b;
		md->misses = 0;
		md->age++;
		return;
	}
	/* the pulse before may have been early or late */
	view_range(md, &md->prev, md->prev.k + 1, &lo, &hi);
	if (md->prev.k < KMAX && view_advance(md, &md->prev, &b, lo, hi,
	    (int64_t)s)) {
		skip(&md->prev, (int64_t)s);
		if (after == 1 && md->jitter < JITTER_MAX)
			md->jitter++;
		md->a = b;
		md->misses = 0;
		md->age++;
		return;
	}
	if (after == 2 && md->jitter > 0)
		md->jitter--;
	md->prev = q;
	md->near = md->version > 1 && g->lo == g->hi &&
	    s + 1 >= (uint64_t)g->m && s <= (uint64_t)g->m + 1;
	kept = ++md->misses == 1 && md->age >= 4;
	if (kept)
		remember(md);
	/* a second off a sure step that fits the pulses before: the rate
	 * was a little off, and the polygon before, left as prev, is taken
	 * back if the next pulse says otherwise */
	if (md->near && md->misses == 1 && poly_fit(r = spare(md), t, k,
	    md->jitter >= JITTER ? FIT_JITTER : FIT)) {
		fresh(md, &md->a, r);
		md->misses = 0;
		md->after = 1;
		return;
	}
	if (md->misses == 1 && (s > (uint64_t)g->m + 1 ||
	    s + 1 < (uint64_t)g->m) && (i = recall(md, kept, s, g)) >= 0) {
		r = spare(md);
		poly_rect(r, md->cache_lo[i], md->cache_hi[i]);
		fresh(md, &md->a, r);
		md->age = 0;
	} else if (md->misses == 1 || (md->near && after == 2 &&
	    md->jitter >= JITTER && md->misses == 2)) {
		/* this pulse may be early or late: left out; where pulses
		 * are, the second of two in a row too */
		md->a = q;
		md->after = md->near ? 2 : 0;
	} else {
		r = spare(md);
		poly_rebuild(r, t, k);
		fresh(md, &md->a, r);
		md->prev = md->a;
		md->misses = 0;
		md->age = 0;
	}
}

/* Codes the steps of the n times t from the from-th on (encoding:
 * c->out), or decodes them into t. */
static const char *
run(struct rc *c, struct model *md, int64_t *t, size_t from, size_t n)
{
	struct guess g = { 0 };
	uint64_t s;
	size_t k;
	int kind, enc = c->out != NULL;

	for (k = from; k < n; k++) {
		s = enc ? (uint64_t)t[k] - (uint64_t)t[k - 1] : 0;
		if (!md->valid) {
			s = number(c, &md->raw, enc ? s - 1 : 0) + 1;
			kind = MISS;
			g.m = 0;
		} else {
			predict(md, &g);
			s = step(c, md, &g, s, &kind);
		}
		if (!enc) {
			if (s == 0)
				return "bad time column";
			t[k] = (int64_t)((uint64_t)t[k - 1] + s);
			if (t[k] <= t[k - 1])
				return "times not increasing";
		}
		if (md->valid) {
			learn(md, t, k, s, kind, &g);
		} else if (s <= (uint64_t)STEP_MAX) {
			poly_init(&md->slot[0], (int64_t)s);
			fresh(md, &md->a, &md->slot[0]);
			md->prev = md->a;
			md->valid = 1;
			md->misses = md->age = 0;
		}
	}
	return NULL;
}

/* An encoder: the coder writes its own buffer from 0. */
struct encoder {
	struct rc c;
	struct model md;
	struct og_buf out;
};

static void
start(struct encoder *e, int model, int rho)
{
	memset(&e->md, 0, sizeof e->md);
	e->md.version = model;
	e->md.rho = rhos[rho];
	e->out.len = 0;
	/* the first byte the coder writes is always 0: finish leaves it out */
	e->c = (struct rc){ .out = &e->out, .range = UINT32_MAX };
}

/* Flushes the coder: the bytes past the first, less the zeros at the
 * end, which the decoder reads past the end anyway. */
static size_t
finish(struct encoder *e)
{
	int i;

	for (i = 0; i < 5; i++)
		shift_low(&e->c);
	while (e->out.len > 1 && e->out.data[e->out.len - 1] == 0)
		e->out.len--;
	return e->out.len - 1;
}

/* The length e would finish at now, e left as it is. */
static size_t
finished_length(struct encoder *e)
{
	struct rc saved = e->c;
	size_t len = e->out.len, got;

	got = finish(e);
	e->c = saved;
	e->out.len = len;
	return got;
}

/*
 * Appends the coded steps of the n times t at the given rho, or, rho
 * being -1, at the rho that codes them smallest: every rho codes the
 * first sample times, and the one that codes them smallest goes on from
 * there, or, where another came within CLOSE percent of it, all go on to
 * the end to be compared there.  Returns the rho.
 */
int
og_rate_write(struct og_buf *b, const int64_t *t, size_t n, int model,
    int rho, size_t sample)
{
	static _Thread_local struct encoder enc[OG_RATE_RHOS];
	size_t m = n < sample ? n : sample, best = SIZE_MAX, len[OG_RATE_RHOS];
	int r, close = 0;

	if (rho >= 0) {
		start(&enc[rho], model, rho);
		run(&enc[rho].c, &enc[rho].md, (int64_t *)t, 1, n);
		og_buf_add(b, enc[rho].out.data + 1, finish(&enc[rho]));
		return rho;
	}
	for (r = 0; r < OG_RATE_RHOS; r++) {
		start(&enc[r], model, r);
		run(&enc[r].c, &enc[r].md, (int64_t *)t, 1, m);
		if ((len[r] = finished_length(&enc[r])) < best) {
			best = len[r];
			rho = r;
		}
	}
	for (r = 0; r < OG_RATE_RHOS; r++)
		close |= r != rho && len[r] * 100 <= best * CLOSE;
	best = SIZE_MAX;
	for (r = 0; r < OG_RATE_RHOS; r++) {
		if (!close && r != rho)
			continue;
		run(&enc[r].c, &enc[r].md, (int64_t *)t, m, n);
		if ((len[r] = finish(&enc[r])) < best) {
			best = len[r];
			rho = r;
		}
	}
	og_buf_add(b, enc[rho].out.data + 1, len[rho]);
	return rho;
}

const char *
og_rate_read(const unsigned char *p, size_t len, int64_t *t, size_t n,
    int model, int rho)
{
	static _Thread_local struct model md;
	struct rc c = { .range = UINT32_MAX, .p = p, .end = p + len };
	int i;

	if (rho < 0 || rho >= OG_RATE_RHOS || model < 0 ||
	    model >= OG_RATE_MODELS)
		return "bad time column";
	memset(&md, 0, sizeof md);
	md.version = model;
	md.rho = rhos[rho];
	for (i = 0; i < 4; i++)
		c.code = c.code << 8 | (c.p < c.end ? *c.p++ : 0);
	return run(&c, &md, t, 1, n);
}
