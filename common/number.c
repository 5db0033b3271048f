/* number.c: exact conversion between decimal text and doubles.
 *
 * Most values a meter produces have few significant digits, and for those a
 * double multiplication or division by an exact power of ten is correctly
 * rounded.  Values with 16 or 17 digits are decided exactly in 128-bit
 * integers; only exponent notation and very long inputs reach strtod and
 * snprintf. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "og.h"

typedef unsigned __int128 u128;
typedef __int128 i128;

#define TWO53 9007199254740992.0

/* 10^0 to 10^22, each exact as a double */
const double og_pow10[OG_POW10_EXACT + 1] = {
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

const uint64_t og_pow10_u64[20] = {
	1ULL, 10ULL, 100ULL, 1000ULL, 10000ULL, 100000ULL, 1000000ULL,
	10000000ULL, 100000000ULL, 1000000000ULL, 10000000000ULL,
	100000000000ULL, 1000000000000ULL, 10000000000000ULL,
	100000000000000ULL, 1000000000000000ULL, 10000000000000000ULL,
	100000000000000000ULL, 1000000000000000000ULL,
	10000000000000000000ULL,
};

static u128
pow10_u128(int d)
{
	return d <= 19 ? og_pow10_u64[d] : (u128)og_pow10_u64[19] * og_pow10_u64[d - 19];
}

/*
 * Does the decimal n * 10^-d read back as the positive double v?  Decided by
 * comparing n * 10^-d with the rounding interval of v, scaled to integers.
 * Returns -1 where the scaled numbers would not fit in 128 bits.
 */
static int
decimal_rounds_to(uint64_t n, int d, double v)
{
	int exp2, k, even;
	uint64_t m;
	u128 p10;
	i128 diff, half, low;

	m = (uint64_t)ldexp(frexp(v, &exp2), 53);
	k = 53 - exp2;
	if (v < 0x1p-1022 || k < 1 || k > 66 || d < 0 || d > 21 ||
	    n >= (uint64_t)1 << 57)
		return -1;
	p10 = pow10_u128(d);
	diff = (i128)((u128)n << (k + 2)) - (i128)(4 * (u128)m * p10);
	half = (i128)(2 * p10);
	low = m == (uint64_t)1 << 52 ? (i128)p10 : half;
	even = !(m & 1);
	if (diff > half || (diff == half && !even))
		return 0;
	if (diff < -low || (diff == -low && !even))
		return 0;
	return 1;
}

static int
parse_slow(const char *s, size_t len, double *v)
{
	char buf[512], *end;
	double x;

	if (len >= sizeof buf)
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	errno = 0;
	x = strtod(buf, &end);
	if (end != buf + len || isinf(x) || isnan(x))
		return -1;
	*v = x;
	return 0;
}

/*
 * n * 10^-d correctly rounded, for 2^53 < n < 2^64 and d <= 19.  With n
 * shifted to fill 64 bits and 2^shift <= 10^d < 2^(shift + 1), the
 * quotient has 63 or 64 bits; its lowest bit is set if the division left a
 * remainder, so that the one rounding to 53 bits sees whether the exact
 * value is above, below or at a tie.
 */
static double
divide_pow10(uint64_t n, int d)
{
	int lead = __builtin_clzll(n), shift = 63 - __builtin_clzll(og_pow10_u64[d]);
	u128 num = (u128)(n << lead) << shift;
	uint64_t q = (uint64_t)(num / og_pow10_u64[d]);
	uint64_t scale = (uint64_t)(1023 - lead - shift) << 52;
	double unit;

	if ((u128)q * og_pow10_u64[d] != num)
		q |= 1;
	memcpy(&unit, &scale, sizeof unit);	/* 2^-(lead + shift) */
	return (double)q * unit;
}

/* Any decimal, with 19 digits taken exactly and the rest to strtod. */
static int
parse_general(const char *s, size_t len, double *v)
{
	const char *p = s, *end = s + len;
	uint64_t m = 0;
	int neg = 0, sig = 0, exp10 = 0, digits = 0, lost = 0;

	if (p < end && (*p == '-' || *p == '+'))
		neg = *p++ == '-';
	if (end - p == 3 && (p[0] | 32) == 'n' && (p[1] | 32) == 'a' &&
	    (p[2] | 32) == 'n') {
		*v = NAN;
		return 0;
	}
	for (; p < end && *p >= '0' && *p <= '9'; p++, digits++) {
		if (sig < 19 && (m || *p != '0')) {
			m = m * 10 + (*p - '0');
			sig += m != 0;
		} else if (m) {
			exp10++;
			lost |= *p != '0';
		}
	}
	if (p < end && *p == '.') {
		for (p++; p < end && *p >= '0' && *p <= '9'; p++, digits++) {
			if (sig < 19) {
				m = m * 10 + (*p - '0');
				sig += m != 0;
				exp10--;
			} else {
				lost |= *p != '0';
			}
		}
	}
	if (digits == 0)
		return -1;
	if (p < end && (*p == 'e' || *p == 'E')) {
		int eneg = 0, e = 0, edigits = 0;

		p++;
		if (p < end && (*p == '-' || *p == '+'))
			eneg = *p++ == '-';
		for (; p < end && *p >= '0' && *p <= '9'; p++, edigits++)
			if (e < 100000)
				e = e * 10 + (*p - '0');
		if (edigits == 0)
			return -1;
		exp10 += eneg ? -e : e;
	}
	if (p != end)
		return -1;
	if (m == 0) {
		*v = neg ? -0.0 : 0.0;
		return 0;
	}
	if (lost)
		return parse_slow(s, len, v);
	if (m <= (uint64_t)1 << 53 && exp10 >= -22 && exp10 <= 22) {
		double x = (double)m;

		x = exp10 < 0 ? x / og_pow10[-exp10] : x * og_pow10[exp10];
		*v = neg ? -x : x;
		return 0;
	}
	if (exp10 < 0 && exp10 >= -21) {
		double x = (double)m / og_pow10[-exp10], up = x, down = x;
		int i;

		for (i = 0; i < 3; i++) {
			if (decimal_rounds_to(m, -exp10, up) == 1) {
				*v = neg ? -up : up;
				return 0;
			}
			if (decimal_rounds_to(m, -exp10, down) == 1) {
				*v = neg ? -down : down;
				return 0;
			}
			up = nextafter(up, INFINITY);
			down = nextafter(down, 0);
		}
	}
	return parse_slow(s, len, v);
}

/* whole words while they are digits; the last few bytes one by one */
static inline const char *
scan_digits(const char *p, const char *end, uint64_t *n)
{
	uint64_t v = 0, word;
	int count;

	while (end - p >= 8) {
		count = og_digits8(p, &word);
		v = v * og_pow10_u64[count] + word;
		p += count;
		if (count < 8) {
			*n = v;
			return p;
		}
	}
	for (; p < end && (unsigned char)(*p - '0') < 10; p++)
		v = v * 10 + (*p - '0');
	*n = v;
	return p;
}

/*
 * The common case, at most 19 digits and no exponent: the digits fit in
 * 64 bits, and up to 2^53 they and 10^d are exact doubles, so that one
 * division rounds correctly.
 */
const char *
og_scan_value(const char *p, const char *end, double *v)
{
	const char *sign = p, *q;
	uint64_t n, frac = 0;
	int count, d = 0;
	double x;

	if (p < end && (*p == '-' || *p == '+'))
		p++;
	q = scan_digits(p, end, &n);
	count = q - p;
	if (q < end && *q == '.') {
		p = scan_digits(q + 1, end, &frac);
		d = p - q - 1;
		count += d;
		q = p;
	}
	if (count == 0 || count > 19)
		return NULL;
	n = n * og_pow10_u64[d] + frac;
	if (n <= (uint64_t)1 << 53)
		x = (double)n / og_pow10[d];
	else
		x = divide_pow10(n, d);
	*v = *sign == '-' ? -x : x;
	return q;
}

/* Reads a decimal in the C locale ("42", "-0.5", "1e-3") or "nan". */
int
og_parse_value(const char *s, size_t len, double *v)
{
	if (og_scan_value(s, s + len, v) == s + len)
		return 0;
	return parse_general(s, len, v);
}

int
og_parse_int64(const char *s, size_t len, int64_t *v)
{
	const char *p = s, *end = s + len;
	uint64_t n = 0, limit;
	int neg = 0;

	if (p < end && *p == '-')
		neg = 1, p++;
	if (p == end || end - p > 19)
		return -1;
	for (; p < end; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		n = n * 10 + (*p - '0');
	}
	limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	if (n > limit)
		return -1;
	*v = neg ? (int64_t)(0 - n) : (int64_t)n;
	return 0;
}

const char og_digit_pairs[200] =
    "0001020304050607080910111213141516171819"
    "2021222324252627282930313233343536373839"
    "4041424344454647484950515253545556575859"
    "6061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

/* log10 from the bit length (1233 / 4096 is close to log10(2)), then
 * one comparison to settle it */
static int
digit_count(uint64_t n)
{
	int t = ((64 - __builtin_clzll(n | 1)) * 1233) >> 12;

	return n < 10 ? 1 : t - (n < og_pow10_u64[t]) + 1;
}

static void
put8(char *end, uint32_t group)
{
	uint32_t hi = group / 10000, lo = group % 10000;

	memcpy(end - 2, og_digit_pairs + 2 * (lo % 100), 2);
	memcpy(end - 4, og_digit_pairs + 2 * (lo / 100), 2);
	memcpy(end - 6, og_digit_pairs + 2 * (hi % 100), 2);
	memcpy(end - 8, og_digit_pairs + 2 * (hi / 100), 2);
}

/* Writes the last count digits of n so that they end at end, and returns
 * the digits left: whole groups of eight, whose 32-bit divisions do not
 * depend on each other, then two digits a step. */
static uint64_t
put_digits(char *end, uint64_t n, int count)
{
	for (; count >= 8; count -= 8, end -= 8) {
		put8(end, (uint32_t)(n % 100000000));
		n /= 100000000;
	}
	for (; count >= 2; count -= 2) {
		end -= 2;
		memcpy(end, og_digit_pairs + 2 * (n % 100), 2);
		n /= 100;
	}
	if (count) {
		end[-1] = '0' + n % 10;
		n /= 10;
	}
	return n;
}

static size_t
format_u64(char *buf, uint64_t n)
{
	int len = digit_count(n);

	put_digits(buf + len, n, len);
	return len;
}

size_t
og_format_int64(char *buf, int64_t v)
{
	if (v < 0) {
		buf[0] = '-';
		return 1 + format_u64(buf + 1, (uint64_t)0 - (uint64_t)v);
	}
	return format_u64(buf, (uint64_t)v);
}

/* n * 10^-d in fixed notation, at least one digit either side of the point */
static size_t
format_fixed(char *buf, uint64_t n, int d)
{
	int len = digit_count(n);

	if (len <= d) {
		buf[0] = '0';
		buf[1] = '.';
		put_digits(buf + 2 + d, n, d);
		return 2 + d;
	}
	n = put_digits(buf + len + 1, n, d);
	buf[len - d] = '.';
	put_digits(buf + len - d, n, len - d);
	return len + 1;
}

/* Exponent notation, for magnitudes below 1e-4 or from 1e16 on. */
static size_t
format_exponent(char *buf, double v)
{
	char tmp[40], *e, *q;
	int prec;
	size_t mlen, elen;

	/* 15 digits always read back exactly, except where subnormals have
	 * fewer significant bits */
	for (prec = v < 0x1p-1022 ? 1 : 15; prec <= 17; prec++) {
		snprintf(tmp, sizeof tmp, "%.*e", prec - 1, v);
		if (strtod(tmp, NULL) == v)
			break;
	}
	e = strchr(tmp, 'e');
	q = e;
	if (memchr(tmp, '.', e - tmp)) {
		while (q[-1] == '0')
			q--;
		if (q[-1] == '.')
			q--;
	}
	mlen = q - tmp;
	elen = strlen(e);
	memmove(buf, tmp, mlen);
	memmove(buf + mlen, e, elen);
	return mlen + elen;
}

/*
 * The shortest decimal in the rounding interval of v, for non-integral v
 * in [1e-4, 2^53): the interval is scaled to integers at 17 significant
 * digits, then a digit is dropped while the interval still holds a number
 * with one digit less; of the numbers left the nearest to v is taken.
 */
static void
shortest_fixed(double v, uint64_t *n_out, int *d_out)
{
	int k, d, d0, intdigits = 1, even;
	uint64_t bits, m, lo, hi, n;
	u128 scale, vm, lom, him, q, mask;

	memcpy(&bits, &v, sizeof bits);
	m = (bits & (((uint64_t)1 << 52) - 1)) | (uint64_t)1 << 52;
	k = 1075 - (int)(bits >> 52 & 0x7ff);
	if (v >= 1) {
		/* 10^(intdigits-1) <= v < 10^intdigits, from the binary exponent */
		intdigits = ((52 - k) * 1233 >> 12) + 1;
		if (intdigits < 17 && v >= og_pow10[intdigits])
			intdigits++;
		if (intdigits > 1 && v < og_pow10[intdigits - 1])
			intdigits--;
	} else {
		for (intdigits = 0; intdigits > -3 &&
		    v < 1 / og_pow10[1 - intdigits]; intdigits--)
			;
	}
	d0 = 17 - intdigits;
	scale = pow10_u128(d0);
	even = !(m & 1);
	vm = 4 * (u128)m * scale;
	lom = (4 * (u128)m - (m == (uint64_t)1 << 52 ? 1 : 2)) * scale;
	him = (4 * (u128)m + 2) * scale;
	mask = ((u128)1 << (k + 2)) - 1;
	lo = (uint64_t)(lom >> (k + 2));
	if ((lom & mask) != 0 || !even)
		lo++;
	hi = (uint64_t)(him >> (k + 2));
	if ((him & mask) == 0 && !even)
		hi--;
	for (d = d0; d > 1 && hi / 10 >= (lo + 9) / 10; d--) {
		lo = (lo + 9) / 10;
		hi /= 10;
	}
	/* the decimal of d places nearest to v, ties to even */
	if (d == d0) {
		u128 rem = vm & mask, half = (u128)1 << (k + 1);

		q = vm >> (k + 2);
		if (rem > half || (rem == half && (q & 1)))
			q++;
	} else {
		u128 den = ((u128)1 << (k + 2)) * pow10_u128(d0 - d), r;

		q = vm / den;
		r = vm - q * den;
		if (2 * r > den || (2 * r == den && (q & 1)))
			q++;
	}
	n = (uint64_t)q;
	*n_out = n < lo ? lo : n > hi ? hi : n;
	*d_out = d;
}

size_t
og_format_value(char *buf, double v)
{
	char *p = buf;
	uint64_t n;
	double scaled4;
	int d;

	if (isnan(v)) {
		memcpy(buf, "nan", 3);
		return 3;
	}
	if (signbit(v)) {
		*p++ = '-';
		v = -v;
	}
	if (isinf(v)) {
		memcpy(p, "inf", 3);
		return p - buf + 3;
	}
	if (v == 0) {
		memcpy(p, "0.0", 3);
		return p - buf + 3;
	}
	if (v < 1e-4 || v >= 1e16)
		return p - buf + format_exponent(p, v);
	if (v >= TWO53 || v == (double)(uint64_t)v) {
		p += format_u64(p, (uint64_t)v);
		memcpy(p, ".0", 2);
		return p - buf + 2;
	}
	/* meter values often have a few decimals: try those first, unless
	 * v is plainly none of them (v * 1e4 is then far from an integer;
	 * below 2^42 its rounding error is under 2^-10) */
	scaled4 = v * 1e4;
	if (scaled4 < 0x1p42 &&
	    fabs(scaled4 - (double)(uint64_t)(scaled4 + 0.5)) > 1e-3)
		goto full;
	for (d = 1; d <= 4; d++) {
		double scaled = v * og_pow10[d];

		/* below 2^52 a decimal of d places that reads back is the
		 * only one, so the rounding of scaled cannot pick a worse one */
		if (scaled >= TWO53 / 2)
			break;
		n = (uint64_t)(scaled + 0.5);
		if ((double)n / og_pow10[d] == v)
			goto found;
		if (n > 0 && (double)(n - 1) / og_pow10[d] == v) {
			n--;
			goto found;
		}
		if ((double)(n + 1) / og_pow10[d] == v) {
			n++;
			goto found;
		}
	}
full:
	shortest_fixed(v, &n, &d);
found:
	while (d > 1 && n % 10 == 0) {
		n /= 10;
		d--;
	}
	return p - buf + format_fixed(p, n, d);
}

/*
 * The double d / 10^s, for |d| < 10^15: no other decimal of 15 digits or
 * fewer reads back as it, so its shortest form is d without its trailing
 * zeros.  Returns 0 where that needs exponent notation.
 */
size_t
og_format_decimal(char *buf, int64_t d, int s)
{
	char *p = buf;
	uint64_t u = d < 0 ? 0 - (uint64_t)d : (uint64_t)d;

	if (u >= og_pow10_u64[15] || s < 0 || s > 19)
		return 0;
	if (d < 0)
		*p++ = '-';
	if (u == 0)
		s = 0;
	while (s > 0 && u % 10 == 0) {
		u /= 10;
		s--;
	}
	if (s > 4 && u < og_pow10_u64[s - 4])
		return 0;
	if (u < 100000000 && s <= 8) {
		/* most meter values: their 8 digits, zeros in front, placed
		 * by copies of 8 bytes that the later ones partly overwrite */
		char digits[16] = { 0 };
		int len = digit_count(u);

		put8(digits + 8, (uint32_t)u);
		if (len <= s) {
			memcpy(p, "0.", 2);
			memcpy(p + 2, digits + 8 - s, 8);
			return p - buf + 2 + s;
		}
		memcpy(p, digits + 8 - len, 8);
		p += len - s;
		*p++ = '.';
		if (s == 0) {
			*p = '0';
			return p - buf + 1;
		}
		memcpy(p, digits + 8 - s, 8);
		return p - buf + s;
	}
	if (s == 0) {
		p += format_u64(p, u);
		memcpy(p, ".0", 2);
		return p - buf + 2;
	}
	return p - buf + format_fixed(p, u, s);
}
