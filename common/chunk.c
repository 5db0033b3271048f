/* chunk.c: one compressed run of a key's records, the unit of the store.
 *
 * A chunk holds up to OG_CHUNK_POINTS records in time order, as columns:
 * times as delta-of-delta varints, the positions of nan values, and the
 * other values in whichever of these codecs the data allows:
 *   decimal   every value is D / 10^s exactly: D as zigzag varints, either
 *             as they are or as differences (counters, gauges);
 *   grid      every value is k * X * 2^-e for one multiplier k and integers
 *             X, as doubles computed from a meter's counter are (a
 *             difference of counter readings, times 60 for power per
 *             minute); X is then coded as the nearest multiple of a
 *             decimal quantum plus a small residual;
 *   planes    the 8 bytes of each double, split into 8 byte planes.
 * The columns are compressed together with zstd.  The layout is in
 * og-pack(1). */
#include <math.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "og.h"

enum {
	VALUES_PLANES = 0, VALUES_DECIMAL = 1, VALUES_DECIMAL_DELTA = 2,
	VALUES_GRID = 3
};

static const double exact10[] = {
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9,
};
#define MAX_SCALE 9

int og_chunk_level = 3;

static void
put_le32(unsigned char *p, uint32_t v)
{
	p[0] = v, p[1] = v >> 8, p[2] = v >> 16, p[3] = v >> 24;
}

static void
put_le64(unsigned char *p, uint64_t v)
{
	put_le32(p, (uint32_t)v);
	put_le32(p + 4, (uint32_t)(v >> 32));
}

uint32_t
og_get_le32(const unsigned char *p)
{
	return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

uint64_t
og_get_le64(const unsigned char *p)
{
	return og_get_le32(p) | (uint64_t)og_get_le32(p + 4) << 32;
}

void
og_put_le32(unsigned char *p, uint32_t v)
{
	put_le32(p, v);
}

void
og_put_le64(unsigned char *p, uint64_t v)
{
	put_le64(p, v);
}

static uint64_t
zigzag(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static int64_t
unzigzag(uint64_t u)
{
	return (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
}

static unsigned char *
put_varint(unsigned char *p, uint64_t v)
{
	while (v >= 0x80) {
		*p++ = (unsigned char)v | 0x80;
		v >>= 7;
	}
	*p++ = (unsigned char)v;
	return p;
}

static int
get_varint(const unsigned char **pp, const unsigned char *end, uint64_t *v)
{
	const unsigned char *p = *pp;
	uint64_t x = 0;
	int shift;

	for (shift = 0; shift < 64 && p < end; shift += 7) {
		x |= (uint64_t)(*p & 0x7f) << shift;
		if (!(*p++ & 0x80)) {
			*v = x;
			*pp = p;
			return 0;
		}
	}
	return -1;
}

static int
varint_len(uint64_t v)
{
	int n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static int
is_decimal(double x, int s)
{
	double d = nearbyint(x * exact10[s]);

	return fabs(d) < 0x1p53 && d / exact10[s] == x &&
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

/*
 * The grid codec: value = k * (X * 2^-e), computed in that order, for a
 * multiplier k from the list below and integers X; X = round(D * step) + R
 * with step = 2^e / 10^s, so that D counts decimal quanta (the meter's
 * resolution) and R, the rounding noise of the computation that made the
 * value, stays small.  s = NO_QUANTUM codes X itself (step 1, R 0).
 */
static const double grid_factor[] = { 1, 60, 3600, 1000, 60000, 3600000 };
#define NGRID_FACTORS (sizeof grid_factor / sizeof grid_factor[0])
#define MAX_GRID_EXP 200
#define NO_QUANTUM 255
#define GRID_SAMPLE 1024

struct grid {
	double k, unit, step;
	int e, s;
};

static int64_t grid_x[OG_CHUNK_POINTS];

static double
grid_value(const struct grid *g, int64_t x)
{
	return g->k * ((double)x * g->unit);
}

static int
same_bits(double a, double b)
{
	return memcmp(&a, &b, sizeof a) == 0;
}

/* Finds the X that gives exactly v, trying the integers next to v's own
 * scaled value; 0 if there is none. */
static int
grid_point(const struct grid *g, double v, int64_t *x)
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

static void
grid_set_exp(struct grid *g, int e)
{
	g->e = e;
	g->unit = ldexp(1, -e);
}

/* The smallest e at which the first limit values lie on the grid. */
static int
grid_fit(struct grid *g, const double *v, size_t n, size_t limit)
{
	size_t i, seen = 0;
	int64_t x;

	grid_set_exp(g, 0);
	for (i = 0; i < n && seen < limit; i++) {
		if (isnan(v[i]))
			continue;
		seen++;
		while (!grid_point(g, v[i], &x)) {
			if (g->e == MAX_GRID_EXP ||
			    !(fabs(v[i] / g->k / g->unit) < 0x1p52))
				return 0;
			grid_set_exp(g, g->e + 1);
		}
	}
	return 1;
}

static void
grid_set_quantum(struct grid *g, int s)
{
	g->s = s;
	g->step = s == NO_QUANTUM ? 1 : ldexp(1, g->e) / exact10[s];
}

static int64_t
grid_quanta(const struct grid *g, int64_t x)
{
	return llrint((double)x / g->step);
}

static int64_t
grid_base(const struct grid *g, int64_t d)
{
	return llrint((double)d * g->step);
}

/* Bytes of the D and R columns for the first m values of grid_x. */
static size_t
grid_cost(const struct grid *g, size_t m)
{
	size_t i, bytes = 0;
	int64_t d, prev = 0;

	for (i = 0; i < m; i++) {
		d = grid_quanta(g, grid_x[i]);
		bytes += varint_len(zigzag(d - prev));
		bytes += varint_len(zigzag(grid_x[i] - grid_base(g, d)));
		prev = d;
	}
	return bytes;
}

/*
 * Chooses the multiplier, grid and quantum that code the non-nan values
 * in the fewest bytes, leaving their X in grid_x; 0 when they lie on no
 * grid coarser than their own precision, where the grid would not pay.
 */
static int
grid_choose(struct grid *g, const double *v, size_t n)
{
	struct grid try;
	double top = 0, bits, best_bits = 52;
	size_t i, m = 0, f, cost, best_cost;
	int s, found = 0;

	for (i = 0; i < n; i++)
		if (!isnan(v[i]) && fabs(v[i]) > top)
			top = fabs(v[i]);
	for (f = 0; f < NGRID_FACTORS; f++) {
		try.k = grid_factor[f];
		if (!grid_fit(&try, v, n, 64))
			continue;
		bits = try.e + log2(top / try.k + 1);
		if (bits < best_bits - 1) {
			*g = try;
			best_bits = bits;
			found = 1;
		}
	}
	if (!found || !grid_fit(g, v, n, n))
		return 0;
	for (i = 0; i < n; i++)
		if (!isnan(v[i]) && !grid_point(g, v[i], &grid_x[m++]))
			return 0;
	grid_set_quantum(g, NO_QUANTUM);
	best_cost = grid_cost(g, m < GRID_SAMPLE ? m : GRID_SAMPLE);
	for (s = MAX_SCALE; s >= 0; s--) {
		try = *g;
		grid_set_quantum(&try, s);
		if (try.step < 1)
			continue;
		cost = grid_cost(&try, m < GRID_SAMPLE ? m : GRID_SAMPLE);
		if (cost < best_cost) {
			best_cost = cost;
			*g = try;
		}
	}
	return 1;
}

static ZSTD_CCtx *
compressor(void)
{
	static ZSTD_CCtx *cctx;

	if (!cctx) {
		if (!(cctx = ZSTD_createCCtx()))
			og_die("zstd: out of memory");
		ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel,
		    og_chunk_level);
	}
	return cctx;
}

/*
 * Compresses the columns as one zstd frame, ending a zstd block at each
 * section start: each byte plane then gets a Huffman table of its own,
 * which on measured doubles (exponent bytes alike, low bytes noise) packs
 * tighter than any match search over the mixed planes, and fast.
 */
static size_t
compress_sections(void *dst, size_t cap, const char *src, const size_t *cut,
    size_t ncut, size_t len)
{
	ZSTD_CCtx *cctx = compressor();
	ZSTD_outBuffer out = { dst, cap, 0 };
	ZSTD_inBuffer in;
	size_t i, r, from = 0;

	ZSTD_CCtx_reset(cctx, ZSTD_reset_session_only);
	ZSTD_CCtx_setPledgedSrcSize(cctx, len);
	for (i = 0; i <= ncut; i++) {
		size_t to = i < ncut ? cut[i] : len;

		in.src = src + from;
		in.size = to - from;
		in.pos = 0;
		do {
			r = ZSTD_compressStream2(cctx, &out, &in,
			    i < ncut ? ZSTD_e_flush : ZSTD_e_end);
			if (ZSTD_isError(r))
				og_die("zstd: %s", ZSTD_getErrorName(r));
		} while (r != 0);
		from = to;
	}
	return out.pos;
}

static void
grow(struct og_buf *b, size_t need)
{
	if (b->cap - b->len >= need)
		return;
	b->cap = b->len + need + b->cap / 2 + 1024;
	b->data = og_realloc(b->data, b->cap);
}

/*
 * Writes the columns of n records into scratch, the values by codec;
 * cut gets the offsets where zstd blocks start.  Returns how many.
 */
static size_t
write_columns(struct og_buf *scratch, const int64_t *t, const double *v,
    size_t n, int codec, int scale, const struct grid *g, size_t *cut)
{
	unsigned char *p;
	size_t i, nans = 0, last_nan = 0, ncut = 0, m, j, b;
	uint64_t prev_delta = 0;
	int64_t prev_d = 0, d;

	scratch->len = 0;
	grow(scratch, n * 30 + 64);
	p = (unsigned char *)scratch->data;
	/* steps in unsigned arithmetic: a chunk may span more than 2^63 s */
	for (i = 1; i < n; i++) {
		uint64_t delta = (uint64_t)t[i] - (uint64_t)t[i - 1];

		p = put_varint(p, zigzag((int64_t)(delta - prev_delta)));
		prev_delta = delta;
	}
	for (i = 0; i < n; i++)
		nans += isnan(v[i]) != 0;
	p = put_varint(p, nans);
	for (i = 0; i < n && nans; i++) {
		if (isnan(v[i])) {
			p = put_varint(p, i - last_nan);
			last_nan = i;
		}
	}
	cut[ncut++] = p - (unsigned char *)scratch->data;
	m = n - nans;
	switch (codec) {
	case VALUES_PLANES:
		for (b = 1; b < 8 && m > 0; b++)
			cut[ncut++] = cut[0] + b * m;
		for (i = 0, j = 0; i < n; i++) {
			uint64_t u;

			if (isnan(v[i]))
				continue;
			memcpy(&u, &v[i], 8);
			for (b = 0; b < 8; b++)
				p[b * m + j] = (unsigned char)(u >> (8 * b));
			j++;
		}
		p += 8 * m;
		break;
	case VALUES_GRID: {
		uint64_t k;

		memcpy(&k, &g->k, 8);
		put_le64(p, k);
		p[8] = (unsigned char)g->e;
		p[9] = (unsigned char)g->s;
		p += 10;
		for (j = 0; j < m; j++) {
			d = grid_quanta(g, grid_x[j]);
			p = put_varint(p, zigzag(d - prev_d));
			prev_d = d;
		}
		cut[ncut++] = p - (unsigned char *)scratch->data;
		for (j = 0; j < m; j++)
			p = put_varint(p, zigzag(grid_x[j] -
			    grid_base(g, grid_quanta(g, grid_x[j]))));
		break;
	}
	default:
		for (i = 0; i < n; i++) {
			if (isnan(v[i]))
				continue;
			d = (int64_t)nearbyint(v[i] * exact10[scale]);
			p = put_varint(p, zigzag(codec == VALUES_DECIMAL_DELTA ?
			    d - prev_d : d));
			prev_d = d;
		}
	}
	scratch->len = p - (unsigned char *)scratch->data;
	return ncut;
}

/* Compresses n records by codec into a chunk at dst, which has room for
 * OG_CHUNK_HEADER + ZSTD_compressBound of the columns; returns its length. */
static size_t
pack_chunk(unsigned char *h, struct og_buf *scratch, const int64_t *t,
    const double *v, size_t n, int codec, int scale, const struct grid *g)
{
	size_t cut[8], ncut, clen;

	ncut = write_columns(scratch, t, v, n, codec, scale, g, cut);
	clen = compress_sections(h + OG_CHUNK_HEADER,
	    ZSTD_compressBound(scratch->len), scratch->data, cut, ncut,
	    scratch->len);
	memcpy(h, "OGc", 3);
	h[3] = OG_CHUNK_VERSION;
	put_le32(h + 4, (uint32_t)n);
	put_le64(h + 8, (uint64_t)t[0]);
	put_le64(h + 16, (uint64_t)t[n - 1]);
	h[24] = 0;
	h[25] = codec;
	h[26] = scale < 0 ? 0 : scale;
	h[27] = 0;
	put_le32(h + 28, (uint32_t)clen);
	put_le32(h + 32, (uint32_t)scratch->len);
	put_le32(h + 36, (uint32_t)crc32(crc32(0, h, 36),
	    h + OG_CHUNK_HEADER, clen));
	return OG_CHUNK_HEADER + clen;
}

/*
 * Encodes n records (times strictly increasing) as one chunk appended to
 * out; scratch is reused between calls to spare allocations.  Where the
 * values lie on a grid, the grid and the byte planes are both compressed
 * and the smaller kept: which wins depends on how the noise compresses.
 */
void
og_chunk_encode(struct og_buf *out, struct og_buf *scratch, const int64_t *t,
    const double *v, size_t n)
{
	static struct og_buf alt;
	struct grid g;
	size_t i, len, bound = OG_CHUNK_HEADER + ZSTD_compressBound(n * 30 + 64);
	int scale, codec = VALUES_PLANES;
	uint64_t abs_bytes = 0, delta_bytes = 0;

	scale = decimal_scale(v, n);
	if (scale >= 0) {
		int64_t prev = 0;

		for (i = 0; i < n; i++) {
			int64_t d;

			if (isnan(v[i]))
				continue;
			d = (int64_t)nearbyint(v[i] * exact10[scale]);
			abs_bytes += varint_len(zigzag(d));
			delta_bytes += varint_len(zigzag(d - prev));
			prev = d;
		}
		codec = delta_bytes < abs_bytes ? VALUES_DECIMAL_DELTA :
		    VALUES_DECIMAL;
	}
	grow(out, bound);
	len = pack_chunk((unsigned char *)out->data + out->len, scratch, t, v,
	    n, codec, scale, NULL);
	if (codec == VALUES_PLANES && grid_choose(&g, v, n)) {
		alt.len = 0;
		grow(&alt, bound);
		i = pack_chunk((unsigned char *)alt.data, scratch, t, v, n,
		    VALUES_GRID, -1, &g);
		if (i < len) {
			memcpy(out->data + out->len, alt.data, i);
			len = i;
		}
	}
	out->len += len;
}

/* Checks a chunk header; fills count, first and last time and the total
 * chunk length.  Returns NULL or what is wrong. */
const char *
og_chunk_header(const unsigned char *h, size_t len, struct og_chunk_info *ci)
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

/* Reads the grid codec's values into the non-nan places of v. */
static const char *
read_grid(const unsigned char **pp, const unsigned char *end, double *v,
    size_t n)
{
	const unsigned char *p = *pp;
	struct grid g;
	uint64_t u;
	int64_t d = 0, r;
	double base;
	size_t i;

	if (end - p < 10)
		return "bad value column";
	u = og_get_le64(p);
	memcpy(&g.k, &u, 8);
	if (!isfinite(g.k) || g.k == 0 || p[8] > MAX_GRID_EXP ||
	    (p[9] > MAX_SCALE && p[9] != NO_QUANTUM))
		return "bad value grid";
	grid_set_exp(&g, p[8]);
	grid_set_quantum(&g, p[9]);
	p += 10;
	for (i = 0; i < n; i++) {
		if (isnan(v[i]))
			continue;
		if (get_varint(&p, end, &u) < 0)
			return "bad value column";
		d = (int64_t)((uint64_t)d + (uint64_t)unzigzag(u));
		if (d > INT64_C(1) << 53 || d < -(INT64_C(1) << 53))
			return "bad value column";
		v[i] = (double)d;
	}
	for (i = 0; i < n; i++) {
		if (isnan(v[i]))
			continue;
		if (get_varint(&p, end, &u) < 0)
			return "bad value column";
		r = unzigzag(u);
		base = v[i] * g.step;
		if (!(fabs(base) < 0x1p62) || r > INT64_C(1) << 62 ||
		    r < -(INT64_C(1) << 62))
			return "bad value column";
		v[i] = grid_value(&g, llrint(base) + r);
	}
	*pp = p;
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
	struct og_chunk_info ci;
	const char *err;
	const unsigned char *p, *end;
	size_t n, i, rawlen, clen, got, nans, m, j;
	uint64_t u;
	int codec, scale;
	uint64_t delta = 0;
	int64_t d = 0;

	if ((err = og_chunk_header(c, len, &ci)))
		return err;
	if (ci.length > len)
		return "truncated chunk";
	clen = ci.length - OG_CHUNK_HEADER;
	if (crc32(crc32(0, c, 36), c + OG_CHUNK_HEADER, clen) !=
	    og_get_le32(c + 36))
		return "checksum mismatch";
	n = ci.count;
	codec = c[25];
	scale = c[26];
	rawlen = og_get_le32(c + 32);
	if (c[24] != 0 || codec > (c[3] == 1 ? VALUES_DECIMAL_DELTA :
	    VALUES_GRID) || scale > MAX_SCALE || rawlen > n * 30 + 64)
		return "bad chunk codec";
	scratch->len = 0;
	grow(scratch, rawlen + 1);
	got = ZSTD_decompress(scratch->data, rawlen + 1, c + OG_CHUNK_HEADER,
	    clen);
	if (ZSTD_isError(got) || got != rawlen)
		return "bad compressed data";
	p = (const unsigned char *)scratch->data;
	end = p + rawlen;
	t[0] = ci.tmin;
	for (i = 1; i < n; i++) {
		if (get_varint(&p, end, &u) < 0)
			return "bad time column";
		/* unsigned sums: damaged input must not overflow */
		delta += (uint64_t)unzigzag(u);
		t[i] = (int64_t)((uint64_t)t[i - 1] + delta);
		if (t[i] <= t[i - 1])
			return "times not increasing";
	}
	if (t[n - 1] != ci.tmax)
		return "times do not end at the header's last time";
	if (get_varint(&p, end, &u) < 0 || u > n)
		return "bad nan column";
	nans = u;
	for (i = 0; i < n; i++)
		v[i] = 0;
	for (i = 0, j = 0; i < nans; i++) {
		if (get_varint(&p, end, &u) < 0 || u > n - 1 - j ||
		    (i > 0 && u == 0))
			return "bad nan column";
		j += u;
		v[j] = NAN;
	}
	m = n - nans;
	if (codec == VALUES_PLANES) {
		size_t b;

		if ((size_t)(end - p) != 8 * m)
			return "bad value column";
		for (i = 0, j = 0; i < n; i++) {
			if (isnan(v[i]))
				continue;
			u = 0;
			for (b = 0; b < 8; b++)
				u |= (uint64_t)p[b * m + j] << (8 * b);
			memcpy(&v[i], &u, 8);
			j++;
		}
		p += 8 * m;
	} else if (codec == VALUES_GRID) {
		if ((err = read_grid(&p, end, v, n)))
			return err;
	} else {
		for (i = 0; i < n; i++) {
			if (isnan(v[i]))
				continue;
			if (get_varint(&p, end, &u) < 0)
				return "bad value column";
			d = codec == VALUES_DECIMAL_DELTA ?
			    (int64_t)((uint64_t)d + (uint64_t)unzigzag(u)) :
			    unzigzag(u);
			v[i] = (double)d / exact10[scale];
		}
	}
	if (p != end)
		return "trailing bytes in chunk";
	*count = n;
	return NULL;
}
