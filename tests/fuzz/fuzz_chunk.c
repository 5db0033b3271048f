/* libFuzzer harness: the store's chunk decoder and meta file reader, fed
 * damaged files; and chunks made from the input must decode to it, as raw
 * doubles, as differences of a counter read between pulses (the grid
 * codecs), with some raw values mixed in, and as decimals, which must
 * print from their digits as their doubles print; pulse times, near a
 * steady rate and not, must come back from the rate model (rate.c), and
 * its reader must refuse damaged bytes without harm; so must the
 * decimals' (decimal.c), whose chunks must decode to their values. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "og.h"

static struct og_buf out, scratch;

static void
check_decimals(const unsigned char *c, size_t len)
{
	static int64_t t[OG_CHUNK_POINTS], d[OG_CHUNK_POINTS];
	static double v[OG_CHUNK_POINTS];
	char a[OG_NUMBER_MAX], b[OG_NUMBER_MAX];
	size_t i, n, alen;
	int scale;

	if (og_chunk_decode_decimal(c, len, &scratch, t, v, d, &scale, &n) ||
	    scale < 0)
		return;
	for (i = 0; i < n; i++) {
		if (isnan(v[i]) || !(alen = og_format_decimal(a, d[i], scale)))
			continue;
		if (alen != og_format_value(b, v[i]) || memcmp(a, b, alen))
			__builtin_trap();
	}
}

static void
round_trip(const int64_t *t, const double *v, size_t n)
{
	static int64_t t2[OG_CHUNK_POINTS];
	static double v2[OG_CHUNK_POINTS];
	size_t i;

	out.len = 0;
	og_chunk_encode(&out, t, v, n);
	if (og_chunk_decode((unsigned char *)out.data, out.len, &scratch, t2, v2,
	    &i) || i != n || memcmp(t, t2, n * sizeof *t))
		__builtin_trap();
	for (i = 0; i < n; i++)
		if (!(isnan(v[i]) && isnan(v2[i])) && memcmp(&v[i], &v2[i], 8))
			__builtin_trap();
	check_decimals((unsigned char *)out.data, out.len);
}

/* The rate model's coding of the n times t, read back, must be t, in
 * each model's bit stream; and the same bytes damaged must read back as
 * some times or an error. */
static void
rate_trip(const int64_t *t, size_t n, const uint8_t *data, size_t size)
{
	static int64_t t2[OG_CHUNK_POINTS];
	static struct og_buf coded, chosen;
	int model, rho;

	for (model = 0; model < OG_RATE_MODELS; model++) {
		for (rho = 0; rho < OG_RATE_RHOS; rho++) {
			coded.len = 0;
			og_rate_write(&coded, t, n, model, rho, 0);
			t2[0] = t[0];
			if (og_rate_read((unsigned char *)coded.data, coded.len,
			    t2, n, model, rho) || memcmp(t, t2, n * sizeof *t))
				__builtin_trap();
		}
		/* a rho chosen on a sample codes as that rho does alone */
		chosen.len = 0;
		rho = og_rate_write(&chosen, t, n, model, -1,
		    size ? 1 + data[0] % (n + 1) : n);
		coded.len = 0;
		og_rate_write(&coded, t, n, model, rho, 0);
		if (rho < 0 || rho >= OG_RATE_RHOS ||
		    chosen.len != coded.len ||
		    memcmp(chosen.data, coded.data, coded.len))
			__builtin_trap();
	}
	og_rate_read(data, size, t2, n, size > 1 ? data[1] % OG_RATE_MODELS :
	    0, data[0] % OG_RATE_RHOS);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int64_t t[OG_CHUNK_POINTS];
	static double v[OG_CHUNK_POINTS];
	struct og_keymeta m = { 0 };
	double last = 1048576.0;
	uint64_t pulses = 0;
	size_t n, i;

	og_chunk_decode(data, size, &scratch, t, v, &n);
	/* the same bytes with a length and checksum that hold, so that the
	 * column decoders behind the checksum see damaged input too */
	if (size >= OG_CHUNK_HEADER && size - OG_CHUNK_HEADER < 1 << 20) {
		static unsigned char fixed[(1 << 21) + OG_CHUNK_HEADER];

		memcpy(fixed, data, size);
		og_put_le32(fixed + 28, (uint32_t)(size - OG_CHUNK_HEADER));
		og_put_le32(fixed + 36, (uint32_t)crc32(crc32(0, fixed, 36),
		    fixed + OG_CHUNK_HEADER, size - OG_CHUNK_HEADER));
		og_chunk_decode(fixed, size, &scratch, t, v, &n);

		/* and the bytes after the header as the columns themselves,
		 * compressed as they would be, for the codecs' parsers */
		n = ZSTD_compress(fixed + OG_CHUNK_HEADER, sizeof fixed -
		    OG_CHUNK_HEADER, data + OG_CHUNK_HEADER,
		    size - OG_CHUNK_HEADER, 1);
		if (!ZSTD_isError(n)) {
			og_put_le32(fixed + 28, (uint32_t)n);
			og_put_le32(fixed + 32, (uint32_t)(size -
			    OG_CHUNK_HEADER));
			og_put_le32(fixed + 36, (uint32_t)crc32(crc32(0, fixed,
			    36), fixed + OG_CHUNK_HEADER, n));
			og_chunk_decode(fixed, OG_CHUNK_HEADER + n, &scratch, t,
			    v, &n);
		}
	}
	check_decimals(data, size);
	og_keymeta_parse(data, size, &m);
	free(m.chunks);

	/* 16 bytes a record: a time step and a value */
	n = size / 16 < OG_CHUNK_POINTS ? size / 16 : OG_CHUNK_POINTS;
	for (i = 0; i < n; i++) {
		uint64_t step;

		memcpy(&step, data + 16 * i, 8);
		memcpy(&v[i], data + 16 * i + 8, 8);
		t[i] = i == 0 ? (int64_t)(step >> 4) - (1LL << 40) :
		    t[i - 1] + 1 + (int64_t)(step % 100000);
	}
	if (n == 0)
		return 0;
	round_trip(t, v, n);
	rate_trip(t, n, data, size);

	/* 4 bytes a record: pulses, a fraction a/b of the next pulse, and how
	 * the value is made */
	n = size / 4 < OG_CHUNK_POINTS ? size / 4 : OG_CHUNK_POINTS;
	for (i = 0; i < n; i++) {
		const uint8_t *r = data + 4 * i;
		double reading;

		pulses += r[0];
		reading = 1048576.0 + pulses + (double)(r[1] % (r[2] + 1)) /
		    (r[2] + 1);
		/* bursts at one step between pauses */
		t[i] = i == 0 ? 0 : t[i - 1] + (r[3] % 8 ? 25 : 1 + r[0] * 37);
		v[i] = r[3] == 255 ? -0.0 : r[3] == 254 ? NAN :
		    (reading - last) * (r[3] < 128 ? 1 : 60);
		last = reading;
	}
	if (n > 0)
		round_trip(t, v, n);

	/* 2 bytes a record: pulses of a steady load, floor(k T + phi) in
	 * 2^-16 s, but for a pulse early or late, a new rate, or a pause */
	n = size / 2 < OG_CHUNK_POINTS ? size / 2 : OG_CHUNK_POINTS;
	if (n > 0) {
		uint64_t T = 1 + data[0] * 997ULL, x = data[1];

		for (i = 0; i < n; i++) {
			const uint8_t *r = data + 2 * i;

			if (r[0] == 255)
				T = 1 + r[1] * 4099ULL;
			x += r[0] == 254 ? (uint64_t)r[1] << 24 : T;
			t[i] = (int64_t)(x >> 16) + (r[0] == 253 ? r[1] % 3 : 0);
			if (i > 0 && t[i] <= t[i - 1])
				t[i] = t[i - 1] + 1;
			v[i] = (double)i;
		}
		round_trip(t, v, n);
		rate_trip(t, n, data, size);
	}

	/* 8 bytes a record: decimals of up to 16 digits, 10^-s apart */
	n = size / 8 < OG_CHUNK_POINTS ? size / 8 : OG_CHUNK_POINTS;
	for (i = 0; i < n; i++) {
		static const double exact10[] = { 1, 1e1, 1e2, 1e3, 1e4, 1e5,
			1e6, 1e7, 1e8, 1e9 };
		int64_t x;

		memcpy(&x, data + 8 * i, 8);
		t[i] = (int64_t)i;
		v[i] = (double)(x >> (11 + data[8 * i] % 48)) /
		    exact10[data[0] % 10];
	}
	if (n > 0)
		round_trip(t, v, n);

	/* 8 bytes a record: decimals M * 10^e as exporters print them (value
	 * codec 5), e from -22 to 22 and now and then one off it, repeats,
	 * and values that do not fit: -0.0, nan, 0.1 + 0.2 */
	n = size / 8 < OG_CHUNK_POINTS ? size / 8 : OG_CHUNK_POINTS;
	for (i = 0; i < n; i++) {
		const uint8_t *r = data + 8 * i;
		int e = data[0] % (2 * OG_POW10_EXACT + 1) - OG_POW10_EXACT;
		int64_t x;

		memcpy(&x, r, 8);
		x >>= 11 + r[1] % 48;
		if (r[2] % 16 == 0)
			e += e < OG_POW10_EXACT ? 1 : -1;
		t[i] = (int64_t)i * 60;
		v[i] = e <= 0 ? (double)x / og_pow10[-e] : (double)x *
		    og_pow10[e];
		if (i > 0 && r[3] % 4 != 0)
			v[i] = v[i - 1];
		if (r[3] == 255)
			v[i] = -0.0;
		else if (r[3] == 254)
			v[i] = NAN;
		else if (r[3] == 253)
			v[i] = 0.1 + 0.2;
	}
	if (n > 0)
		round_trip(t, v, n);

	/* and the decimals' reader on the bytes as they come */
	n = size < OG_CHUNK_POINTS ? size : OG_CHUNK_POINTS;
	{
		static int64_t d[OG_CHUNK_POINTS];
		const unsigned char *p = data;
		size_t m = 0;
		int scale;

		for (i = 0; i < n; i++) {
			v[i] = data[i] == 7 ? NAN : 0;
			m += data[i] != 7;
		}
		og_decimal_read(&p, data + size, v, n, m, d, &scale);
	}
	return 0;
}
