/* chunk.c: one compressed run of a key's records, the unit of the store.
 *
 * A chunk holds up to OG_CHUNK_POINTS records in time order, as columns:
 * times, the positions of nan values, and the other values.  Regular
 * times are coded as changes of step, pulse times against a model of
 * their rate (rate.c) or as steps for zstd to find the repeats in; the
 * values in whichever of these codecs the data allows:
 *   decimal   every value is D / 10^s exactly: D as zigzag varints, either
 *             as they are or as differences (counters, gauges);
 *   decimals  every value but a few is M * 10^e, up to 15 significant
 *             digits, as exporters print them: see decimal.c;
 *   grid      every value is k * X * 2^-e for integers X, as doubles
 *             computed from a meter's counter are: see grid.c;
 *   planes    the 8 bytes of each double, split into 8 byte planes.
 * The columns are compressed with zstd.  Chunks of earlier versions are
 * read too.  The layout is in og-pack(1). */
#include <math.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "og.h"

struct chunk_info {
	uint32_t count;
	int64_t tmin, tmax;
	size_t length;
};

enum {
	TIMES_STEP_CHANGES = 0, TIMES_STEPS = 1, TIMES_GAPS = 2, TIMES_RATE = 3,
	TIMES_RATE_4 = 4, TIMES_RATE_5 = 5
};
enum {
	VALUES_PLANES = 0, VALUES_DECIMAL = 1, VALUES_DECIMAL_DELTA = 2,
	VALUES_QUANTA = 3, VALUES_COUNTER = 4, VALUES_DECIMALS = 5
};

#define MAX_SCALE 9
/* the most the columns of n records can take */
#define RAW_BOUND(n) ((n) * 48 + 64)
/* zstd's levels: most columns; a first guess at irregular times; the
 * deep search that finds repeats in them; columns that do not compress */
#define LEVEL 3
#define GUESS_LEVEL 6
#define DEEP_LEVEL 15
#define RAW_LEVEL 1
#define DEEP_GAIN 115	/* percent the deep search may gain on the guess */
#define RHO_SAMPLE 2048	/* times a rate model's rho is chosen on */

static int
is_decimal(double x, int s)
{
	double d = nearbyint(x * og_pow10[s]);

	return fabs(d) < 0x1p53 && d / og_pow10[s] == x &&
	    !(x == 0 && signbit(x));
}

/* The smallest s with every value exactly D / 10^s, or -1.  Every value
 * is checked at the s finally taken: x * 10^s rounds, so a value that is
 * a decimal of fewer places need not come out right at more. */
static int
decimal_scale(const double *v, size_t n)
{
	size_t i = 0;
	int s;

	for (s = 0; s <= MAX_SCALE; s++) {
		for (i = 0; i < n; i++)
			if (!isnan(v[i]) && !is_decimal(v[i], s))
				break;
		if (i == n)
			return s;
	}
	return -1;
}

static void
swap_bufs(struct og_buf *a, struct og_buf *b)
{
	struct og_buf t = *a;

	*a = *b;
	*b = t;
}

/* A zstd context at a level. */
static ZSTD_CCtx *
compressor(int level)
{
	static _Thread_local ZSTD_CCtx *cctx[DEEP_LEVEL + 1];

	if (!cctx[level]) {
		if (!(cctx[level] = ZSTD_createCCtx()))
			og_die("zstd: out of memory");
		ZSTD_CCtx_setParameter(cctx[level], ZSTD_c_compressionLevel,
		    level);
	}
	return cctx[level];
}

/*
 * Compresses src as one zstd frame into b, ending a zstd block at each
 * cut: each byte plane then gets a Huffman table of its own, which on
 * measured doubles (exponent bytes alike, low bytes noise) packs tighter
 * than any match search over the mixed planes, and fast.
 */
static void
compress_frame(struct og_buf *b, int level, const char *src, size_t len,
    const size_t *cut, size_t ncut)
{
	ZSTD_CCtx *cctx = compressor(level);
	ZSTD_outBuffer out;
	ZSTD_inBuffer in;
	size_t i, r, from = 0;

	b->len = 0;
	og_buf_grow(b, ZSTD_compressBound(len));
	out = (ZSTD_outBuffer){ b->data, b->cap, 0 };
	ZSTD_CCtx_reset(cctx, ZSTD_reset_session_only);
	ZSTD_CCtx_setPledgedSrcSize(cctx, len);
	for (i = 0; i <= ncut; i++) {
		size_t to = i < ncut ? cut[i] : len;

		in = (ZSTD_inBuffer){ src + from, to - from, 0 };
		do {
			r = ZSTD_compressStream2(cctx, &out, &in,
			    i < ncut ? ZSTD_e_flush : ZSTD_e_end);
			if (ZSTD_isError(r))
				og_die("zstd: %s", ZSTD_getErrorName(r));
		} while (r != 0);
		from = to;
	}
	b->len = out.pos;
}

/* The step most records take, if more than half take it, else 0. */
static uint64_t
common_step(const int64_t *t, size_t n)
{
	uint64_t step = 0, delta;
	size_t i, votes = 0;

	for (i = 1; i < n; i++) {
		delta = (uint64_t)t[i] - (uint64_t)t[i - 1];
		if (votes == 0)
			step = delta;
		votes += delta == step ? 1 : -1;
	}
	for (i = 1, votes = 0; i < n; i++)
		votes += (uint64_t)t[i] - (uint64_t)t[i - 1] == step;
	return votes > (n - 1) / 2 ? step : 0;
}

/*
 * The codecs.  A time codec writes the steps between n times (t[0] is in
 * the header) from p on, the first zstd block of the column to start at
 * *cut (0 for none), and returns where it stopped, or NULL where it does
 * not apply; its reader reads them back into t from t[0] on.  arg is the
 * codec's (1 for changes of step) or, for the rate model, its rho.  A value
 * codec writes the m values of v that are not nan and their reader puts
 * them back between the nans already in v; one that does not read
 * decimals sets *scale, the header's, to -1.  Steps are unsigned: a chunk
 * may span more than 2^63 s, and sums of damaged input must not overflow.
 * A codec is one entry of its table, indexed by the id the chunk header
 * gives; version is the chunk version that brought it.
 */
struct times_codec {
	int version, arg;
	unsigned char *(*write)(unsigned char *p, const unsigned char *start,
	    const int64_t *t, size_t n, uint64_t common, int arg,
	    size_t *cut);
	const char *(*read)(const unsigned char **pp, const unsigned char *end,
	    int64_t *t, size_t n, int arg);
};

struct values {
	const double *v;
	size_t n, m;		/* values, of them not nan */
	int scale;
	const struct og_grid *g;
	const struct og_decimal *d;
};

struct values_codec {
	int version, arg;
	unsigned char *(*write)(const struct values *c, int arg,
	    unsigned char *p, const unsigned char *start, size_t *cut,
	    size_t *ncut);
	const char *(*read)(const unsigned char **pp, const unsigned char *end,
	    double *v, size_t n, size_t m, int arg, int *scale, int64_t *dec);
};

static uint64_t
step(const int64_t *t, size_t i)
{
	return (uint64_t)t[i] - (uint64_t)t[i - 1];
}

/* Each step (pulses: 28, 29, 29, ... s), or each change of step (regular
 * times: all 0). */
static unsigned char *
write_steps(unsigned char *p, const unsigned char *start, const int64_t *t,
    size_t n, uint64_t common, int changes, size_t *cut)
{
	uint64_t prev = 0, d;
	size_t i;

	(void)start, (void)common;
	*cut = 0;
	for (i = 1; i < n; i++) {
		d = step(t, i);
		p = og_put_varint(p, changes ? og_zigzag((int64_t)(d - prev)) :
		    d);
		prev = d;
	}
	return p;
}

static const char *
read_steps(const unsigned char **pp, const unsigned char *end, int64_t *t,
    size_t n, int changes)
{
	const unsigned char *p = *pp;
	uint64_t u, delta = 0;
	size_t i;

	for (i = 1; i < n; i++) {
		if (og_get_varint(&p, end, &u) < 0)
			return "bad time column";
		delta = changes ? delta + (uint64_t)og_unzigzag(u) : u;
		t[i] = (int64_t)((uint64_t)t[i - 1] + delta);
		if (t[i] <= t[i - 1])
			return "times not increasing";
	}
	*pp = p;
	return NULL;
}

/* Bursts at one common step between pauses (gas): the common step, where
 * the other steps are, and how they differ from it. */
static unsigned char *
write_gaps(unsigned char *p, const unsigned char *start, const int64_t *t,
    size_t n, uint64_t common, int changes, size_t *cut)
{
	size_t i, gaps = 0, last = 0;

	(void)changes;
	if (common == 0)
		return NULL;
	for (i = 1; i < n; i++)
		gaps += step(t, i) != common;
	p = og_put_varint(p, common);
	p = og_put_varint(p, gaps);
	for (i = 1; i < n; i++) {
		if (step(t, i) != common) {
			p = og_put_varint(p, i - 1 - last);
			last = i - 1;
		}
	}
	*cut = p - start;
	for (i = 1; i < n; i++) {
		uint64_t d = step(t, i);

		if (d != common)
			p = og_put_varint(p, og_zigzag((int64_t)(d - common)));
	}
	return p;
}

static const char *
read_gaps(const unsigned char **pp, const unsigned char *end, int64_t *t,
    size_t n, int changes)
{
	static _Thread_local uint32_t gap_at[OG_CHUNK_POINTS];
	const unsigned char *p = *pp;
	uint64_t u, delta, common, gaps;
	size_t i, k;

	(void)changes;
	if (og_get_varint(&p, end, &common) < 0 ||
	    og_get_varint(&p, end, &gaps) < 0 || gaps > n - 1)
		return "bad time column";
	for (k = 0; k < gaps; k++) {
		if (og_get_varint(&p, end, &u) < 0 || (k > 0 && u == 0) ||
		    u > n - 2 - (k ? gap_at[k - 1] : 0))
			return "bad time column";
		gap_at[k] = (k ? gap_at[k - 1] : 0) + (uint32_t)u;
	}
	for (i = 1, k = 0; i < n; i++) {
		delta = common;
		if (k < gaps && gap_at[k] == i - 1) {
			if (og_get_varint(&p, end, &u) < 0)
				return "bad time column";
			delta += (uint64_t)og_unzigzag(u);
			k++;
		}
		t[i] = (int64_t)((uint64_t)t[i - 1] + delta);
		if (t[i] <= t[i - 1])
			return "times not increasing";
	}
	*pp = p;
	return NULL;
}

/* Pulse times against a model of their rate (rate.c): its rho, the
 * length of the range coder's bytes and the bytes, in the newest model's
 * bit stream.  It does not apply where the model would take more than 10
 * bytes a step.  rho -1: the rho that codes the times smallest. */
static unsigned char *
write_rate(unsigned char *p, const unsigned char *start, const int64_t *t,
    size_t n, uint64_t common, int rho, size_t *cut)
{
	static _Thread_local struct og_buf coded;

	(void)start, (void)common;
	*cut = 0;
	coded.len = 0;
	rho = og_rate_write(&coded, t, n, OG_RATE_MODELS - 1, rho, RHO_SAMPLE);
	if (coded.len > 10 * n)
		return NULL;
	*p++ = (unsigned char)rho;
	p = og_put_varint(p, coded.len);
	memcpy(p, coded.data, coded.len);
	return p + coded.len;
}

/* arg: the rate model's bit stream. */
static const char *
read_rate(const unsigned char **pp, const unsigned char *end, int64_t *t,
    size_t n, int arg)
{
	const unsigned char *p = *pp;
	const char *err;
	uint64_t len;
	int rho;

	if (p >= end)
		return "bad time column";
	rho = *p++;
	if (og_get_varint(&p, end, &len) < 0 || len > (uint64_t)(end - p))
		return "bad time column";
	if ((err = og_rate_read(p, len, t, n, arg, rho)))
		return err;
	*pp = p + len;
	return NULL;
}

/* The 8 bytes of each double, in 8 planes m bytes apart, each its own
 * zstd block. */
static unsigned char *
write_planes(const struct values *c, int arg, unsigned char *p,
    const unsigned char *start, size_t *cut, size_t *ncut)
{
	size_t i, j, k;
	uint64_t u;

	(void)arg, (void)start;
	for (k = 1; k < 8 && c->m > 0; k++)
		cut[(*ncut)++] = k * c->m;
	for (i = 0, j = 0; i < c->n; i++) {
		if (isnan(c->v[i]))
			continue;
		memcpy(&u, &c->v[i], 8);
		for (k = 0; k < 8; k++)
			p[k * c->m + j] = (unsigned char)(u >> (8 * k));
		j++;
	}
	return p + 8 * c->m;
}

/* The 8 bytes of a double from planes m apart, the low one first;
 * spelled out, as a loop of 8 costs more than the bytes. */
static uint64_t
from_planes(const unsigned char *p, size_t m)
{
	return (uint64_t)p[0] | (uint64_t)p[m] << 8 |
	    (uint64_t)p[2 * m] << 16 | (uint64_t)p[3 * m] << 24 |
	    (uint64_t)p[4 * m] << 32 | (uint64_t)p[5 * m] << 40 |
	    (uint64_t)p[6 * m] << 48 | (uint64_t)p[7 * m] << 56;
}

static const char *
read_planes(const unsigned char **pp, const unsigned char *end, double *v,
    size_t n, size_t m, int arg, int *scale, int64_t *dec)
{
	size_t i, j;
	uint64_t u;

	(void)arg, (void)dec;
	*scale = -1;
	if ((size_t)(end - *pp) != 8 * m)
		return "bad value column";
	for (i = 0, j = 0; i < n; i++) {
		if (isnan(v[i]))
			continue;
		u = from_planes(*pp + j, m);
		memcpy(&v[i], &u, 8);
		j++;
	}
	*pp += 8 * m;
	return NULL;
}

/* Decimals D / 10^scale: D, or with delta the change of D, as zigzag
 * varints. */
static unsigned char *
write_decimal(const struct values *c, int delta, unsigned char *p,
    const unsigned char *start, size_t *cut, size_t *ncut)
{
	int64_t prev = 0, d;
	size_t i;

	(void)start, (void)cut, (void)ncut;
	for (i = 0; i < c->n; i++) {
		if (isnan(c->v[i]))
			continue;
		d = (int64_t)nearbyint(c->v[i] * og_pow10[c->scale]);
		p = og_put_varint(p, og_zigzag(delta ? d - prev : d));
		prev = d;
	}
	return p;
}

static const char *
read_decimal(const unsigned char **pp, const unsigned char *end, double *v,
    size_t n, size_t m, int delta, int *scale, int64_t *dec)
{
	int64_t d = 0;
	uint64_t u;
	size_t i;

	(void)m;
	for (i = 0; i < n; i++) {
		if (isnan(v[i]))
			continue;
		if (og_get_varint(pp, end, &u) < 0)
			return "bad value column";
		d = delta ? (int64_t)((uint64_t)d + (uint64_t)og_unzigzag(u)) :
		    og_unzigzag(u);
		v[i] = (double)d / og_pow10[*scale];
		if (dec)
			dec[i] = d;
	}
	return NULL;
}

/* Doubles on a counter's grid, as quanta or as the counter: grid.c. */
static unsigned char *
write_grid(const struct values *c, int how, unsigned char *p,
    const unsigned char *start, size_t *cut, size_t *ncut)
{
	return og_grid_write(c->g, how, c->v, c->n, p, start, cut, ncut);
}

static const char *
read_grid(const unsigned char **pp, const unsigned char *end, double *v,
    size_t n, size_t m, int how, int *scale, int64_t *dec)
{
	(void)m, (void)dec;
	*scale = -1;
	return og_grid_read(pp, end, how, v, n);
}

/* Decimals M * 10^e, M = Q * step + R: decimal.c. */
static unsigned char *
write_decimals(const struct values *c, int arg, unsigned char *p,
    const unsigned char *start, size_t *cut, size_t *ncut)
{
	(void)arg;
	return og_decimal_write(c->d, c->v, c->n, p, start, cut, ncut);
}

static const char *
read_decimals(const unsigned char **pp, const unsigned char *end, double *v,
    size_t n, size_t m, int arg, int *scale, int64_t *dec)
{
	(void)arg;
	return og_decimal_read(pp, end, v, n, m, dec, scale);
}

static const struct times_codec times_codecs[] = {
	[TIMES_STEP_CHANGES] = { 1, 1, write_steps, read_steps },
	[TIMES_STEPS] = { 2, 0, write_steps, read_steps },
	[TIMES_GAPS] = { 2, 0, write_gaps, read_gaps },
	/* the rate models before the last: read, no longer written */
	[TIMES_RATE] = { 3, 0, NULL, read_rate },
	[TIMES_RATE_4] = { 4, 1, NULL, read_rate },
	[TIMES_RATE_5] = { 5, 2, write_rate, read_rate },
};
#define NTIMES (sizeof times_codecs / sizeof times_codecs[0])

static const struct values_codec values_codecs[] = {
	[VALUES_PLANES] = { 1, 0, write_planes, read_planes },
	[VALUES_DECIMAL] = { 1, 0, write_decimal, read_decimal },
	[VALUES_DECIMAL_DELTA] = { 1, 1, write_decimal, read_decimal },
	[VALUES_QUANTA] = { 2, OG_GRID_QUANTA, write_grid, read_grid },
	[VALUES_COUNTER] = { 2, OG_GRID_COUNTER, write_grid, read_grid },
	[VALUES_DECIMALS] = { 4, 0, write_decimals, read_decimals },
};
#define NVALUES (sizeof values_codecs / sizeof values_codecs[0])

/* Writes the time column of n records by codec, then the nan column, into
 * b; a block is to start at *cut, 0 for none.  Returns -1 where the codec
 * does not apply. */
static int
write_times(struct og_buf *b, int codec, int arg, uint64_t common,
    const int64_t *t, const double *v, size_t n, size_t *cut)
{
	const struct times_codec *c = &times_codecs[codec];
	unsigned char *p, *start;
	size_t i, nans = 0, last = 0;

	b->len = 0;
	og_buf_grow(b, 20 * n + 40);
	start = (unsigned char *)b->data;
	if (!(p = c->write(start, start, t, n, common, arg, cut)))
		return -1;
	for (i = 0; i < n; i++)
		nans += isnan(v[i]) != 0;
	p = og_put_varint(p, nans);
	for (i = 0; i < n && nans; i++) {
		if (isnan(v[i])) {
			p = og_put_varint(p, i - last);
			last = i;
		}
	}
	b->len = p - start;
	return 0;
}

/* Writes the value column of the non-nan values by codec into b; cut gets
 * the offsets where zstd blocks start.  Returns how many. */
static size_t
write_values(struct og_buf *b, const double *v, size_t n, int codec,
    int scale, const struct og_grid *g, const struct og_decimal *d,
    size_t *cut)
{
	const struct values_codec *c = &values_codecs[codec];
	struct values in = { v, n, 0, scale, g, d };
	unsigned char *p, *start;
	size_t i, ncut = 0;

	b->len = 0;
	og_buf_grow(b, RAW_BOUND(n));
	start = (unsigned char *)b->data;
	for (i = 0; i < n; i++)
		in.m += !isnan(v[i]);
	p = c->write(&in, c->arg, start, start, cut, &ncut);
	b->len = p - start;
	return ncut;
}

/* A chunk's times, compressed once for every codec tried on its values. */
struct times {
	struct og_buf raw, frame;
	int codec;
};

/* Regular times: a change of step at most once in 64 steps. */
static int
regular(const int64_t *t, size_t n)
{
	size_t i, changes = 0;

	for (i = 2; i < n; i++)
		changes += step(t, i) != step(t, i - 1);
	return changes <= n / 64;
}

/*
 * Irregular times (pulses) as steps, or gaps where most take one step
 * (gas bursts), whichever is shorter, compressed into frame: first fast,
 * then, where that comes near the rate model's limit bytes, with the deep
 * search that finds the repeats of a fridge's cycle.
 */
static int
compress_steps(struct og_buf *raw, struct og_buf *frame, const int64_t *t,
    const double *v, size_t n, size_t limit)
{
	static _Thread_local struct og_buf alt;
	size_t cut, alt_cut;
	uint64_t common = common_step(t, n);
	int codec = TIMES_STEPS;

	write_times(raw, TIMES_STEPS, 0, common, t, v, n, &cut);
	if (common && write_times(&alt, TIMES_GAPS, 0, common, t, v, n,
	    &alt_cut) == 0 && alt.len < raw->len) {
		swap_bufs(raw, &alt);
		cut = alt_cut;
		codec = TIMES_GAPS;
	}
	compress_frame(frame, GUESS_LEVEL, raw->data, raw->len, &cut, cut != 0);
	if (frame->len * 100 / DEEP_GAIN < limit)
		compress_frame(frame, DEEP_LEVEL, raw->data, raw->len, &cut,
		    cut != 0);
	return codec;
}

/*
 * Compresses the time and nan columns as a zstd frame of their own.
 * Regular times are changes of step, all 0 but a few.  Pulse times are
 * the bulk of a chunk: the rate model codes them in a fraction of a bit a
 * pulse, at the rho a sample of them chooses; zstd on their steps is
 * kept where it is smaller, as where a cycle repeats exactly.  Each is
 * compressed once at the level it is kept at, but for a fast guess first
 * at whether the deep search could win.
 */
static void
compress_times(struct times *tm, const int64_t *t, const double *v, size_t n)
{
	static _Thread_local struct og_buf raw, frame;
	size_t cut;
	int codec;

	if (n < 3 || regular(t, n)) {
		tm->codec = TIMES_STEP_CHANGES;
		write_times(&tm->raw, tm->codec, 1, 0, t, v, n, &cut);
		compress_frame(&tm->frame, LEVEL, tm->raw.data, tm->raw.len,
		    NULL, 0);
		return;
	}
	tm->codec = TIMES_RATE_5;
	if (write_times(&tm->raw, TIMES_RATE_5, -1, 0, t, v, n, &cut) == 0) {
		compress_frame(&tm->frame, RAW_LEVEL, tm->raw.data,
		    tm->raw.len, NULL, 0);
	} else {
		tm->codec = -1;
		tm->frame.len = SIZE_MAX;
	}
	codec = compress_steps(&raw, &frame, t, v, n, tm->frame.len);
	if (frame.len < tm->frame.len) {
		tm->codec = codec;
		swap_bufs(&tm->raw, &raw);
		swap_bufs(&tm->frame, &frame);
	}
}

/* A chunk's version: 2, or the version that brought one of its codecs
 * if later, so that og before the rate model or the decimals still reads
 * every chunk that does not use them. */
static int
chunk_version(int times, int values)
{
	int v = 2;

	if (times_codecs[times].version > v)
		v = times_codecs[times].version;
	if (values_codecs[values].version > v)
		v = values_codecs[values].version;
	return v;
}

/* Appends the chunk of n records, its values by codec, to out without
 * counting it in out's length; returns its length. */
static size_t
pack_chunk(struct og_buf *out, const struct times *tm, const int64_t *t,
    const double *v, size_t n, int codec, int scale, const struct og_grid *g,
    const struct og_decimal *d)
{
	static _Thread_local struct og_buf raw, frame;
	unsigned char *h;
	size_t cut[8], ncut, clen;

	ncut = write_values(&raw, v, n, codec, scale, g, d, cut);
	compress_frame(&frame, LEVEL, raw.data, raw.len, cut, ncut);
	clen = tm->frame.len + frame.len;
	og_buf_grow(out, OG_CHUNK_HEADER + clen);
	h = (unsigned char *)out->data + out->len;
	memcpy(h + OG_CHUNK_HEADER, tm->frame.data, tm->frame.len);
	memcpy(h + OG_CHUNK_HEADER + tm->frame.len, frame.data, frame.len);
	memcpy(h, "OGc", 3);
	h[3] = chunk_version(tm->codec, codec);
	og_put_le32(h + 4, (uint32_t)n);
	og_put_le64(h + 8, (uint64_t)t[0]);
	og_put_le64(h + 16, (uint64_t)t[n - 1]);
	h[24] = tm->codec;
	h[25] = codec;
	h[26] = scale < 0 ? 0 : scale;
	h[27] = 0;
	og_put_le32(h + 28, (uint32_t)clen);
	og_put_le32(h + 32, (uint32_t)(tm->raw.len + raw.len));
	og_put_le32(h + 36, og_chunk_crc(h, OG_CHUNK_HEADER + clen));
	return OG_CHUNK_HEADER + clen;
}

/* Packs the chunk again by codec and keeps it, past out's length, if it
 * is smaller than the len bytes there; returns the length kept. */
static size_t
smaller(struct og_buf *out, size_t len, const struct times *tm,
    const int64_t *t, const double *v, size_t n, int codec,
    const struct og_grid *g, const struct og_decimal *d)
{
	static _Thread_local struct og_buf alt;
	size_t alen;

	alt.len = 0;
	alen = pack_chunk(&alt, tm, t, v, n, codec, -1, g, d);
	if (alen >= len)
		return len;
	memcpy(out->data + out->len, alt.data, alen);
	return alen;
}

/*
 * Encodes n records (times strictly increasing) as one chunk appended to
 * out.  Where the values are decimals of up to 15 digits, or lie on a
 * grid, those codecs and the byte planes or the plain decimals are all
 * compressed and the smallest kept: which wins depends on how the noise
 * compresses.  The decimals are tried beside the plain decimals only
 * where their step or prediction differs from those.
 */
void
og_chunk_encode(struct og_buf *out, const int64_t *t, const double *v,
    size_t n)
{
	static _Thread_local struct times tm;
	struct og_decimal d;
	struct og_grid g;
	size_t i, len;
	int scale, codec = VALUES_PLANES;
	uint64_t abs_bytes = 0, delta_bytes = 0;

	scale = decimal_scale(v, n);
	if (scale >= 0) {
		int64_t prev = 0;

		for (i = 0; i < n; i++) {
			int64_t d;

			if (isnan(v[i]))
				continue;
			d = (int64_t)nearbyint(v[i] * og_pow10[scale]);
			abs_bytes += og_varint_len(og_zigzag(d));
			delta_bytes += og_varint_len(og_zigzag(d - prev));
			prev = d;
		}
		codec = delta_bytes < abs_bytes ? VALUES_DECIMAL_DELTA :
		    VALUES_DECIMAL;
	}
	compress_times(&tm, t, v, n);
	len = pack_chunk(out, &tm, t, v, n, codec, scale, NULL, NULL);
	if (og_decimal_fit(&d, v, n, scale))
		len = smaller(out, len, &tm, t, v, n, VALUES_DECIMALS, NULL,
		    &d);
	if (codec == VALUES_PLANES && og_grid_fit(&g, v, n)) {
		if (og_grid_counter(&g))
			len = smaller(out, len, &tm, t, v, n, VALUES_COUNTER,
			    &g, NULL);
		og_grid_quantum(&g);
		len = smaller(out, len, &tm, t, v, n, VALUES_QUANTA, &g,
		    NULL);
	}
	out->len += len;
}

/* The checksum of the chunk at c, len bytes: of its header but for the
 * checksum itself, and of its frames. */
uint32_t
og_chunk_crc(const unsigned char *c, size_t len)
{
	return (uint32_t)crc32(crc32(0, c, 36), c + OG_CHUNK_HEADER,
	    len - OG_CHUNK_HEADER);
}

/* Checks a chunk header; fills count, first and last time and the total
 * chunk length.  Returns NULL or what is wrong. */
static const char *
chunk_header(const unsigned char *h, size_t len, struct chunk_info *ci)
{
	if (len < OG_CHUNK_HEADER)
		return "truncated chunk header";
	if (memcmp(h, "OGc", 3) != 0)
		return "not a chunk (bad magic)";
	if (h[3] < 1 || h[3] > OG_CHUNK_VERSION)
		return "unknown chunk version";
	ci->count = og_get_le32(h + 4);
	ci->tmin = (int64_t)og_get_le64(h + 8);
	ci->tmax = (int64_t)og_get_le64(h + 16);
	ci->length = OG_CHUNK_HEADER + (size_t)og_get_le32(h + 28);
	if (ci->count == 0 || ci->count > OG_CHUNK_POINTS || ci->tmin > ci->tmax)
		return "bad chunk header";
	return NULL;
}

/*
 * Decodes the chunk at c (len bytes available) into t and v, which hold
 * OG_CHUNK_POINTS each.  Returns NULL or what is wrong; never trusts the
 * input, so a damaged chunk gives an error, not a crash.
 */
const char *
og_chunk_decode(const unsigned char *c, size_t len, struct og_buf *scratch,
    int64_t *t, double *v, size_t *count)
{
	int scale;

	return og_chunk_decode_decimal(c, len, scratch, t, v, NULL, &scale,
	    count);
}

/* Decompresses the columns of the chunk at c, which has passed
 * chunk_header, into scratch: *pp to *end. */
static const char *
decompress(const unsigned char *c, size_t clen, struct og_buf *scratch,
    const unsigned char **pp, const unsigned char **end)
{
	size_t rawlen = og_get_le32(c + 32), got;

	if (rawlen > RAW_BOUND(og_get_le32(c + 4)))
		return "bad chunk codec";
	scratch->len = 0;
	og_buf_grow(scratch, rawlen + 1);
	got = ZSTD_decompress(scratch->data, rawlen + 1, c + OG_CHUNK_HEADER,
	    clen);
	if (ZSTD_isError(got) || got != rawlen)
		return "bad compressed data";
	*pp = (const unsigned char *)scratch->data;
	*end = *pp + rawlen;
	return NULL;
}

/* Reads the nan column: v[i] is nan where a value is missing, else 0. */
static const char *
read_nans(const unsigned char **pp, const unsigned char *end, double *v,
    size_t n, size_t *nans)
{
	uint64_t u;
	size_t i, j;

	if (og_get_varint(pp, end, &u) < 0 || u > n)
		return "bad nan column";
	*nans = u;
	for (i = 0; i < n; i++)
		v[i] = 0;
	for (i = 0, j = 0; i < *nans; i++) {
		if (og_get_varint(pp, end, &u) < 0 || u > n - 1 - j ||
		    (i > 0 && u == 0))
			return "bad nan column";
		j += u;
		v[j] = NAN;
	}
	return NULL;
}

/* The same, and where the values are decimals v[i] = d[i] / 10^scale
 * gives d (if not NULL) and scale, which is -1 otherwise: they print
 * faster from d than from v. */
const char *
og_chunk_decode_decimal(const unsigned char *c, size_t len,
    struct og_buf *scratch, int64_t *t, double *v, int64_t *dec, int *scalep,
    size_t *count)
{
	const struct times_codec *tc;
	const struct values_codec *vc;
	const unsigned char *p, *end;
	struct chunk_info ci;
	const char *err;
	size_t n, nans;
	int scale;

	*scalep = -1;
	if ((err = chunk_header(c, len, &ci)))
		return err;
	scale = c[26];
	if (ci.length > len)
		return "truncated chunk";
	if (og_chunk_crc(c, ci.length) != og_get_le32(c + 36))
		return "checksum mismatch";
	if (c[24] >= NTIMES || times_codecs[c[24]].version > c[3] ||
	    c[25] >= NVALUES || values_codecs[c[25]].version > c[3] ||
	    scale > MAX_SCALE)
		return "bad chunk codec";
	if ((err = decompress(c, ci.length - OG_CHUNK_HEADER, scratch, &p,
	    &end)))
		return err;
	n = ci.count;
	tc = &times_codecs[c[24]];
	vc = &values_codecs[c[25]];
	t[0] = ci.tmin;
	if ((err = tc->read(&p, end, t, n, tc->arg)))
		return err;
	if (t[n - 1] != ci.tmax)
		return "times do not end at the header's last time";
	if ((err = read_nans(&p, end, v, n, &nans)) ||
	    (err = vc->read(&p, end, v, n, n - nans, vc->arg, &scale, dec)))
		return err;
	if (p != end)
		return "trailing bytes in chunk";
	*scalep = scale;
	*count = n;
	return NULL;
}
