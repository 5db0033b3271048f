/* record.c: reading the record format KEY<TAB>TIME<TAB>VALUE<LF>. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "og.h"

#define READ_CHUNK (1 << 20)
#define LINE_MAX_BYTES (1 << 20)

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
	if (!og_key_valid(line, r->keylen))
		return quoted(why, whysize, "bad key (space or control byte)",
		    line, r->keylen);
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
	rd->buf = og_malloc(rd->cap + 1);
}

void
og_reader_close(struct og_reader *rd)
{
	if (rd->fd > 0)
		close(rd->fd);
	/* lines may have held tokens: leave none in freed memory */
	explicit_bzero(rd->buf, rd->cap + 1);
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
				og_die("%s:%ju: line too long", rd->name,
				    rd->lineno + 1);
			rd->cap *= 2;
			rd->buf = og_realloc(rd->buf, rd->cap + 1);
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

/* memcmp(a, b, n) == 0 for a short key, without the call: in words, the
 * last of which may overlap the one before */
static int
same_key(const char *a, const char *b, size_t n)
{
	uint64_t x, y;
	uint32_t u, v;
	size_t i;

	if (n >= 8) {
		for (i = 0; i + 8 < n; i += 8) {
			memcpy(&x, a + i, 8);
			memcpy(&y, b + i, 8);
			if (x != y)
				return 0;
		}
		memcpy(&x, a + n - 8, 8);
		memcpy(&y, b + n - 8, 8);
		return x == y;
	}
	if (n >= 4) {
		memcpy(&u, a, 4);
		memcpy(&v, b, 4);
		if (u != v)
			return 0;
		memcpy(&u, a + n - 4, 4);
		memcpy(&v, b + n - 4, 4);
		return u == v;
	}
	for (i = 0; i < n; i++)
		if (a[i] != b[i])
			return 0;
	return 1;
}

/*
 * Most lines have the key of the line before, already checked: only their
 * time (Unix seconds) and value are parsed, straight from the buffer.
 * Anything else, and a line not yet read whole, goes the way
 * og_parse_record checks, with its messages.
 */
int
og_read_record(struct og_reader *rd, struct og_record *r)
{
	char why[256], *line = rd->buf + rd->start, *lim = rd->buf + rd->end;
	const char *err, *p, *q;
	size_t len, n = rd->keylen;
	uint64_t t;

	if (n && lim - line > (ptrdiff_t)n && line[n] == '\t' &&
	    same_key(line, rd->key, n)) {
		p = og_scan_digits(line + n + 1, lim, &t);
		if (p < lim && *p == '\t' && p > line + n + 1 &&
		    p - line - n - 1 <= 18 &&
		    (q = og_scan_value(p + 1, lim, &r->value)) && q < lim &&
		    *q == '\n') {
			rd->start = q + 1 - rd->buf;
			rd->lineno++;
			r->key = rd->key;
			r->keylen = n;
			r->time = (int64_t)t;
			r->run = rd->run;
			return 1;
		}
	}
	if (!(line = og_read_line(rd, &len)))
		return 0;
	if ((err = og_parse_record(line, len, r, why, sizeof why)))
		og_die("%s:%ju: %s", rd->name, rd->lineno, err);
	if (r->keylen != n || memcmp(r->key, rd->key, n) != 0) {
		memcpy(rd->key, r->key, r->keylen);
		rd->keylen = r->keylen;
		rd->run = ++runs;
	}
	r->key = rd->key;
	r->run = rd->run;
	return 1;
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
			while (og_read_record(&rd, &r))
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
