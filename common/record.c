/* record.c: reading the record format KEY<TAB>TIME<TAB>VALUE<LF>. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "og.h"

/* reads of 128 KiB keep the buffer in the cache (1 MiB did not); lines may
 * grow it to LINE_MAX_BYTES */
#define READ_CHUNK (1 << 17)
#define LINE_MAX_BYTES (1 << 20)
/* zeroed bytes after the buffer, which word-wide parsing may read before
 * it knows where a field ends */
#define PAD 32

int
og_key_valid(const char *key, size_t len)
{
	size_t i;

	if (len == 0 || len > OG_KEY_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if ((unsigned char)key[i] <= ' ' || (unsigned char)key[i] > '~')
			return 0;
	return 1;
}

size_t
og_printable(char *buf, const char *s, size_t n, size_t max)
{
	char *p = buf;
	size_t i;

	for (i = 0; i < n && i < max; i++) {
		unsigned char c = s[i];

		if (c >= ' ' && c <= '~') {
			*p++ = c;
		} else {
			snprintf(p, 5, "\\%03o", c);
			p += 4;
		}
	}
	if (n > max) {
		memcpy(p, "...", 3);
		p += 3;
	}
	*p = '\0';
	return p - buf;
}

/* what 'field' says, with the field quoted, shortened and made printable */
static const char *
quoted(char *why, size_t whysize, const char *what, const char *s, size_t n)
{
	char shown[OG_PRINTABLE_SIZE(40)];

	og_printable(shown, s, n, 40);
	snprintf(why, whysize, "%s '%s'", what, shown);
	return why;
}

const char *
og_parse_record(const char *line, size_t len, struct og_record *r, char *why,
    size_t whysize)
{
	const char *tab1, *tab2, *end = line + len, *tf, *vf;
	size_t tlen, vlen;

	if (len == 0)
		return "empty line";
	if (line[len - 1] == '\r')
		return "CR at end of line (DOS line ends?)";
	if (!(tab1 = memchr(line, '\t', len)))
		return "missing TIME and VALUE fields";
	r->key = line;
	r->keylen = tab1 - line;
	r->run = 0;
	if (r->keylen == 0)
		return "empty key";
	if (r->keylen > OG_KEY_MAX)
		return quoted(why, whysize, "key longer than 255 bytes:", line,
		    r->keylen);
	if (!og_key_valid(line, r->keylen)) {
		if (r->keylen >= 3 && memcmp(line, "\xef\xbb\xbf", 3) == 0)
			return "a UTF-8 byte order mark (BOM) before the key: "
			    "save the file without it";
		return quoted(why, whysize, "bad key (space or control byte)",
		    line, r->keylen);
	}
	tf = tab1 + 1;
	if (!(tab2 = memchr(tf, '\t', end - tf)))
		return "missing VALUE field";
	tlen = tab2 - tf;
	if (og_parse_int64(tf, tlen, &r->time) < 0 &&
	    og_parse_time_iso(tf, tlen, &r->time) < 0)
		return quoted(why, whysize, "bad time", tf, tlen);
	vf = tab2 + 1;
	vlen = end - vf;
	if (memchr(vf, '\t', vlen))
		return "more than three fields";
	if (og_parse_value(vf, vlen, &r->value) < 0)
		return quoted(why, whysize, "bad value", vf, vlen);
	return NULL;
}

void
og_reader_open(struct og_reader *rd, const char *path)
{
	memset(rd, 0, sizeof *rd);
	if (!path || strcmp(path, "-") == 0) {
		rd->fd = 0;
		rd->name = "<stdin>";
	} else {
		if ((rd->fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			og_die("%s:", path);
		rd->name = path;
	}
	rd->cap = READ_CHUNK;
	rd->buf = og_calloc(1, rd->cap + 1 + PAD);
}

void
og_reader_close(struct og_reader *rd)
{
	if (rd->fd > 0)
		close(rd->fd);
	/* lines may have held tokens: leave none in freed memory */
	explicit_bzero(rd->buf, rd->cap + 1 + PAD);
	explicit_bzero(rd->key, sizeof rd->key);
	free(rd->buf);
	rd->buf = NULL;
}

/* The next line without its LF, NUL-terminated; NULL at the end of input.
 * A last line without LF counts as a line. */
char *
og_read_line(struct og_reader *rd, size_t *len)
{
	char *line, *nl;
	ssize_t n;

	for (;;) {
		line = rd->buf + rd->start;
		if ((nl = memchr(line, '\n', rd->end - rd->start))) {
			*nl = '\0';
			*len = nl - line;
			rd->start = nl + 1 - rd->buf;
			rd->lineno++;
			return line;
		}
		if (rd->eof) {
			if (rd->start == rd->end)
				return NULL;
			rd->buf[rd->end] = '\0';
			*len = rd->end - rd->start;
			rd->start = rd->end;
			rd->lineno++;
			return line;
		}
		if (rd->start > 0) {
			memmove(rd->buf, line, rd->end - rd->start);
			rd->end -= rd->start;
			rd->start = 0;
		}
		if (rd->end == rd->cap) {
			if (rd->cap >= LINE_MAX_BYTES)
				og_die("%s:%ju: line too long (over %d bytes)",
				    rd->name, rd->lineno + 1, LINE_MAX_BYTES - 1);
			rd->buf = og_realloc(rd->buf, 2 * rd->cap + 1 + PAD);
			memset(rd->buf + rd->cap, 0, rd->cap + 1 + PAD);
			rd->cap *= 2;
		}
		n = read(rd->fd, rd->buf + rd->end, rd->cap - rd->end);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			og_die("%s: read error:", rd->name);
		}
		if (n == 0)
			rd->eof = 1;
		rd->end += n;
	}
}

static uint64_t runs;

typedef uint64_t pair __attribute__((vector_size(16)));

/* memcmp(a, b, n) == 0 for a key and its tab, without the call: the
 * pieces, the last of which may overlap the one before, are compared all
 * before one branch */
static inline __attribute__((always_inline)) int
same_key(const char *a, const char *b, size_t n)
{
	pair x, y, d;
	uint64_t u, v, diff;
	size_t i;

	if (n >= 16) {
		memcpy(&x, a + n - 16, 16);
		memcpy(&y, b + n - 16, 16);
		d = x ^ y;
		for (i = 0; i + 16 < n; i += 16) {
			memcpy(&x, a + i, 16);
			memcpy(&y, b + i, 16);
			d |= x ^ y;
		}
		return (d[0] | d[1]) == 0;
	}
	if (n >= 8) {
		memcpy(&u, a, 8);
		memcpy(&v, b, 8);
		diff = u ^ v;
		memcpy(&u, a + n - 8, 8);
		memcpy(&v, b + n - 8, 8);
		return (diff | (u ^ v)) == 0;
	}
	for (i = 0; i < n; i++)
		if (a[i] != b[i])
			return 0;
	return 1;
}

/* The digits at p, at most 15 of them, into *n: how many, or -1 for 16 or
 * more.  16 bytes from p on must be readable. */
static inline __attribute__((always_inline)) int
digits15(const char *p, uint64_t *n)
{
	uint64_t low;
	int count, more;

	count = og_digits8(p, n);
	if (count == 8) {
		if ((more = og_digits8(p + 8, &low)) == 8)
			return -1;
		*n = *n * og_pow10_u64[more] + low;
		count += more;
	}
	return count;
}

/*
 * The fast path reads the fields a word at a time from the buffer, whose
 * PAD bytes make the reads safe; each field's end is checked against lim
 * before the next is read.  Unix seconds of 1 to 15 digits then a tab;
 * returns the tab.  Times in a run mostly share their first eight digits
 * with the time before: their value is kept with them (in rd->lead).
 */
static inline __attribute__((always_inline)) const char *
fast_time(struct og_reader *rd, const char *p, const char *lim, int64_t *t)
{
	uint64_t w, n, low;
	int count;

	memcpy(&w, p, sizeof w);
	if (w == rd->lead) {
		n = rd->leadvalue;
		count = 8;
	} else if ((count = og_digits8(p, &n)) == 8) {
		rd->lead = w;
		rd->leadvalue = n;
	}
	if (count == 8) {
		if ((count = og_digits8(p + 8, &low)) == 8)
			return NULL;
		n = n * og_pow10_u64[count] + low;
		count += 8;
	}
	if (count == 0 || p + count >= lim || p[count] != '\t')
		return NULL;
	*t = (int64_t)n;
	return p + count;
}

/* A value of at most 15 digits, an optional minus sign and point, then a
 * LF; returns the LF.  n < 10^15 < 2^53 and 10^d are exact doubles, so
 * their quotient is correctly rounded. */
static inline __attribute__((always_inline)) const char *
fast_value(const char *p, const char *lim, double *v)
{
	uint64_t n, low;
	int neg = *p == '-', count, d = 0;
	double x;

	p += neg;
	if ((count = digits15(p, &n)) < 0)
		return NULL;
	if (count == 0 || count > 15 || p + count >= lim)
		return NULL;
	p += count;
	if (*p == '.') {
		d = og_digits8(p + 1, &low);
		if (d == 0 || count + d > 15)
			return NULL;
		n = n * og_pow10_u64[d] + low;
		p += 1 + d;
		if (p >= lim)
			return NULL;
	}
	if (*p != '\n')
		return NULL;
	x = d ? (double)n / og_pow10[d] : (double)n;
	*v = neg ? -x : x;
	return p;
}

/* A line the fast path does not take: a value of more digits or a plus
 * sign, with the run's key, is still read from the buffer; any other line
 * is read whole and checked as og_parse_record checks, with its messages. */
static int __attribute__((noinline))
read_slow(struct og_reader *rd, struct og_record *r)
{
	char why[256], *line = rd->buf + rd->start, *lim = rd->buf + rd->end;
	const char *err, *p, *q;
	size_t len, n = rd->keylen;

	if (n && lim - line > (ptrdiff_t)n && same_key(line, rd->key, n + 1) &&
	    (p = fast_time(rd, line + n + 1, lim, &r->time)) &&
	    (q = og_scan_value(p + 1, lim, &r->value)) && q < lim &&
	    *q == '\n') {
		rd->start = q + 1 - rd->buf;
		rd->lineno++;
		r->key = rd->key;
		r->keylen = n;
		r->run = rd->run;
		return 1;
	}
	if (!(line = og_read_line(rd, &len)))
		return 0;
	if ((err = og_parse_record(line, len, r, why, sizeof why)))
		og_die("%s:%ju: %s", rd->name, rd->lineno, err);
	if (r->keylen != n || memcmp(r->key, rd->key, n) != 0) {
		memcpy(rd->key, r->key, r->keylen);
		rd->key[r->keylen] = '\t';
		rd->keylen = r->keylen;
		rd->run = ++runs;
	}
	r->key = rd->key;
	r->run = rd->run;
	return 1;
}

/*
 * Most lines have the key of the line before, already checked (rd->key
 * holds it with its tab), Unix seconds and a short decimal: they are
 * parsed straight from the buffer, in one pass, without a call.
 */
static inline __attribute__((always_inline)) int
read_record(struct og_reader *rd, struct og_record *r)
{
	const char *line = rd->buf + rd->start, *lim = rd->buf + rd->end, *p, *q;
	size_t n = rd->keylen;

	if (n && lim - line > (ptrdiff_t)n && same_key(line, rd->key, n + 1) &&
	    (p = fast_time(rd, line + n + 1, lim, &r->time)) &&
	    (q = fast_value(p + 1, lim, &r->value))) {
		rd->start = q + 1 - rd->buf;
		rd->lineno++;
		r->key = rd->key;
		r->keylen = n;
		r->run = rd->run;
		return 1;
	}
	return read_slow(rd, r);
}

int
og_read_record(struct og_reader *rd, struct og_record *r)
{
	return read_record(rd, r);
}

/* The files named, or stdin when there are none, one after the other. */
static void
loop(int argc, char **argv, og_record_fn *on_record, og_line_fn *on_line,
    void *ctx)
{
	struct og_reader rd;
	struct og_record r;
	char *line;
	size_t len;
	int i;

	for (i = 0; i < (argc > 0 ? argc : 1); i++) {
		og_reader_open(&rd, argc > 0 ? argv[i] : "-");
		if (on_record)
			while (read_record(&rd, &r))
				on_record(ctx, &r, &rd);
		else
			while ((line = og_read_line(&rd, &len)))
				on_line(ctx, line, len, &rd);
		og_reader_close(&rd);
	}
}

void
og_record_loop(int argc, char **argv, og_record_fn *fn, void *ctx)
{
	loop(argc, argv, fn, NULL, ctx);
}

void
og_line_loop(int argc, char **argv, og_line_fn *fn, void *ctx)
{
	loop(argc, argv, NULL, fn, ctx);
}
