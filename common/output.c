/* output.c: records to stdout through one buffer; every write is checked. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "og.h"

#define OUT_SIZE (1 << 16)
#define RECORD_MAX (OG_KEY_MAX + OG_TIME_MAX + OG_NUMBER_MAX + 3)

int og_iso_times;

static char outbuf[OUT_SIZE];
static size_t outlen;

static void
write_all(const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		if ((w = write(1, p, n)) < 0) {
			if (errno == EINTR)
				continue;
			og_die("<stdout>: write error:");
		}
		p += w;
		n -= w;
	}
}

void
og_out_flush(void)
{
	size_t n = outlen;

	outlen = 0;
	write_all(outbuf, n);
}

void
og_out(const void *p, size_t n)
{
	if (n > OUT_SIZE - outlen) {
		og_out_flush();
		if (n > OUT_SIZE) {
			write_all(p, n);
			return;
		}
	}
	memcpy(outbuf + outlen, p, n);
	outlen += n;
}

void
og_out_str(const char *s)
{
	og_out(s, strlen(s));
}

void
og_out_char(int c)
{
	if (outlen == OUT_SIZE)
		og_out_flush();
	outbuf[outlen++] = c;
}

static size_t
format_time(char *p, int64_t t)
{
	return og_iso_times ? og_format_time_iso(p, t) : og_format_int64(p, t);
}

void
og_out_time(int64_t t)
{
	char buf[OG_TIME_MAX];

	og_out(buf, format_time(buf, t));
}

void
og_out_value(double v)
{
	char buf[OG_NUMBER_MAX];

	og_out(buf, og_format_value(buf, v));
}

void
og_out_record(const char *key, size_t keylen, int64_t t, double v)
{
	char *p;

	if (keylen > OG_KEY_MAX)
		og_die("key '%.40s...' longer than %d bytes", key, OG_KEY_MAX);
	if (OUT_SIZE - outlen < RECORD_MAX + keylen)
		og_out_flush();
	p = outbuf + outlen;
	memcpy(p, key, keylen);
	p += keylen;
	*p++ = '\t';
	p += format_time(p, t);
	*p++ = '\t';
	p += og_format_value(p, v);
	*p++ = '\n';
	outlen = p - outbuf;
}

/* Numbers that share all but their last four digits with the one before,
 * as the times of a chunk and a counter's readings do, copy the others. */
struct high {
	uint64_t base;	/* the number with its last four digits 0 */
	size_t len;
	char text[32];
};

/* Writes x >= 10000 at p, and 16 bytes at least; returns its length. */
static inline size_t
put_high_low(struct high *h, char *p, uint64_t x)
{
	uint64_t low = x - h->base;

	if (low >= 10000) {
		low = x % 10000;
		h->base = x - low;
		h->len = og_format_int64(h->text, (int64_t)(x / 10000));
	}
	memcpy(p, h->text, 16);
	og_put_digits(p + h->len, (uint32_t)low, 4);
	return h->len + 4;
}

/*
 * n records of one key, which one chunk of a store holds.  Values repeat,
 * so the last one's text is kept; where scale >= 0 the values are the
 * decimals d[i] / 10^scale and print from d.  Copies are of whole blocks
 * (the buffer has room past a record).
 */
void
og_out_records(const char *key, size_t keylen, const int64_t *t,
    const double *v, const int64_t *d, int scale, size_t n)
{
	char head[OG_KEY_MAX + 1 + 32], val[OG_NUMBER_MAX];
	char *p = outbuf + outlen, *full;
	struct high times = { 0 }, counts = { 0 };
	size_t i, j, headlen = keylen + 1, vallen = 0;
	uint64_t bits, last = 0;
	int iso = og_iso_times;

	if (keylen > OG_KEY_MAX)
		og_die("key '%.40s...' longer than %d bytes", key, OG_KEY_MAX);
	memcpy(head, key, keylen);
	head[keylen] = '\t';
	full = outbuf + OUT_SIZE - RECORD_MAX - keylen;
	for (i = 0; i < n; i++) {
		if (p > full) {
			outlen = p - outbuf;
			og_out_flush();
			p = outbuf;
		}
		for (j = 0; j < headlen; j += 16)
			memcpy(p + j, head + j, 16);
		p += headlen;
		if (iso || t[i] < 10000)
			p += format_time(p, t[i]);
		else
			p += put_high_low(&times, p, (uint64_t)t[i]);
		*p++ = '\t';
		memcpy(&bits, &v[i], sizeof bits);
		if (bits != last || vallen == 0) {
			last = bits;
			vallen = 0;
			if (scale == 0 && !isnan(v[i]) && d[i] >= 10000 &&
			    d[i] < 1000000000000000) {
				p += put_high_low(&counts, p, (uint64_t)d[i]);
				memcpy(p, ".0\n", 3);
				p += 3;
				continue;
			}
			if (scale >= 0 && !isnan(v[i]))
				vallen = og_format_decimal(val, d[i], scale);
			if (vallen == 0)
				vallen = og_format_value(val, v[i]);
		}
		memcpy(p, val, sizeof val);
		p += vallen;
		*p++ = '\n';
	}
	outlen = p - outbuf;
}

/* At the end of every tool: whatever stdio or the buffer holds must reach
 * its destination, or the tool fails. */
void
og_out_close(void)
{
	og_out_flush();
	if (fflush(stdout) == EOF || ferror(stdout))
		og_die("<stdout>: write error:");
}

/* -h prints the whole text to stdout; a usage error prints its first
 * line (the synopsis) to stderr. */
void
og_usage(const char *text, int status)
{
	if (status == 0) {
		fputs(text, stdout);
		og_out_close();
		exit(0);
	}
	fprintf(stderr, "%.*s", (int)(strcspn(text, "\n") + 1), text);
	exit(status);
}
