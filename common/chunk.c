/* chunk.c: one compressed run of a key's records, the unit of the store.
 *
 * A chunk holds up to OG_CHUNK_POINTS records in time order, as columns:
 * times as delta-of-delta varints, the positions of nan values, and the
 * other values in whichever of these codecs the data allows:
 *   decimal   every value is D / 10^s exactly: D as zigzag varints, either
 *             as they are or as differences (counters, gauges);
 *   grid      every value is k * X * 2^-e for integers X, as doubles
 *             computed from a meter's counter are: see grid.c;
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
	VALUES_QUANTA = 3, VALUES_COUNTER = 4
};

static const double exact10[] = {
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9,
};
#define MAX_SCALE 9
/* the most the columns of n records can take */
#define RAW_BOUND(n) ((n) * 48 + 64)

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

int
og_get_long_varint(const unsigned char **pp, const unsigned char *end,
    uint64_t *v)
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
    size_t n, int codec, int scale, const struct og_grid *g, size_t *cut)
{
	unsigned char *p;
	size_t i, nans = 0, last_nan = 0, ncut = 0, m, j, b;
	uint64_t prev_delta = 0;
	int64_t prev_d = 0, d;

	scratch->len = 0;
	grow(scratch, RAW_BOUND(n));
	p = (unsigned char *)scratch->data;
	/* steps in unsigned arithmetic: a chunk may span more than 2^63 s */
	for (i = 1; i < n; i++) {
		uint64_t delta = (uint64_t)t[i] - (uint64_t)t[i - 1];

		p = og_put_varint(p, og_zigzag((int64_t)(delta - prev_delta)));
		prev_delta = delta;
	}
	for (i = 0; i < n; i++)
		nans += isnan(v[i]) != 0;
	p = og_put_varint(p, nans);
	for (i = 0; i < n && nans; i++) {
		if (isnan(v[i])) {
			p = og_put_varint(p, i - last_nan);
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
	case VALUES_QUANTA:
	case VALUES_COUNTER:
		p = og_grid_write(g, codec == VALUES_QUANTA ? OG_GRID_QUANTA :
		    OG_GRID_COUNTER, v, n, p, (unsigned char *)scratch->data,
		    cut, &ncut);
		break;
	default:
		for (i = 0; i < n; i++) {
			if (isnan(v[i]))
				continue;
			d = (int64_t)nearbyint(v[i] * exact10[scale]);
			p = og_put_varint(p, og_zigzag(codec == VALUES_DECIMAL_DELTA ?
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
    const double *v, size_t n, int codec, int scale, const struct og_grid *g)
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

/* Packs the chunk again by codec and keeps it if it is smaller than the
 * len bytes at the end of out; returns the length kept. */
static size_t
smaller(struct og_buf *out, size_t len, struct og_buf *scratch,
    const int64_t *t, const double *v, size_t n, int codec,
    const struct og_grid *g)
{
	static struct og_buf alt;
	size_t alen;

	alt.len = 0;
	grow(&alt, OG_CHUNK_HEADER + ZSTD_compressBound(RAW_BOUND(n)));
	alen = pack_chunk((unsigned char *)alt.data, scratch, t, v, n, codec,
	    -1, g);
	if (alen >= len)
		return len;
	memcpy(out->data + out->len, alt.data, alen);
	return alen;
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
	struct og_grid g;
	size_t i, len, bound = OG_CHUNK_HEADER + ZSTD_compressBound(RAW_BOUND(n));
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
			abs_bytes += og_varint_len(og_zigzag(d));
			delta_bytes += og_varint_len(og_zigzag(d - prev));
			prev = d;
		}
		codec = delta_bytes < abs_bytes ? VALUES_DECIMAL_DELTA :
		    VALUES_DECIMAL;
	}
	grow(out, bound);
	len = pack_chunk((unsigned char *)out->data + out->len, scratch, t, v,
	    n, codec, scale, NULL);
	if (codec == VALUES_PLANES && og_grid_fit(&g, v, n)) {
		if (og_grid_counter(&g))
			len = smaller(out, len, scratch, t, v, n, VALUES_COUNTER,
			    &g);
		og_grid_quantum(&g);
		len = smaller(out, len, scratch, t, v, n, VALUES_QUANTA, &g);
	}
	out->len += len;
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

/* The same, and where the values are decimals v[i] = d[i] / 10^scale
 * gives d (if not NULL) and scale, which is -1 otherwise: they print
 * faster from d than from v. */
const char *
og_chunk_decode_decimal(const unsigned char *c, size_t len,
    struct og_buf *scratch, int64_t *t, double *v, int64_t *dec, int *scalep,
    size_t *count)
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
	    VALUES_COUNTER) || scale > MAX_SCALE || rawlen > RAW_BOUND(n))
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
		if (og_get_varint(&p, end, &u) < 0)
			return "bad time column";
		/* unsigned sums: damaged input must not overflow */
		delta += (uint64_t)og_unzigzag(u);
		t[i] = (int64_t)((uint64_t)t[i - 1] + delta);
		if (t[i] <= t[i - 1])
			return "times not increasing";
	}
	if (t[n - 1] != ci.tmax)
		return "times do not end at the header's last time";
	*scalep = -1;
	if (og_get_varint(&p, end, &u) < 0 || u > n)
		return "bad nan column";
	nans = u;
	for (i = 0; i < n; i++)
		v[i] = 0;
	for (i = 0, j = 0; i < nans; i++) {
		if (og_get_varint(&p, end, &u) < 0 || u > n - 1 - j ||
		    (i > 0 && u == 0))
			return "bad nan column";
		j += u;
		v[j] = NAN;
	}
	m = n - nans;
	if (codec == VALUES_PLANES) {
		if ((size_t)(end - p) != 8 * m)
			return "bad value column";
		for (i = 0, j = 0; i < n; i++) {
			if (isnan(v[i]))
				continue;
			u = from_planes(p + j, m);
			memcpy(&v[i], &u, 8);
			j++;
		}
		p += 8 * m;
	} else if (codec == VALUES_QUANTA || codec == VALUES_COUNTER) {
		if ((err = og_grid_read(&p, end, codec == VALUES_QUANTA ?
		    OG_GRID_QUANTA : OG_GRID_COUNTER, v, n)))
			return err;
	} else {
		for (i = 0; i < n; i++) {
			if (isnan(v[i]))
				continue;
			if (og_get_varint(&p, end, &u) < 0)
				return "bad value column";
			d = codec == VALUES_DECIMAL_DELTA ?
			    (int64_t)((uint64_t)d + (uint64_t)og_unzigzag(u)) :
			    og_unzigzag(u);
			v[i] = (double)d / exact10[scale];
			if (dec)
				dec[i] = d;
		}
		*scalep = scale;
	}
	if (p != end)
		return "trailing bytes in chunk";
	*count = n;
	return NULL;
}
