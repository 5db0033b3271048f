/* csv.c: an RFC 4180 reader over a buffer in memory, one record per call,
 * with ',' or, in a sheet whose header says so, ';' between fields.
 * It never exits on bad input: it returns the error, so a fuzzer can drive it. */
#include <stdlib.h>
#include <string.h>

#include "og.h"

/* Excel in a Belgian or Dutch locale saves CSV with ';' between fields: the
 * separator is ';' when the first line holds more of them than commas,
 * outside quotes. */
static char
separator(const char *p, const char *end)
{
	size_t commas = 0, semicolons = 0;
	int quoted = 0;

	for (; p < end && (quoted || (*p != '\n' && *p != '\r')); p++) {
		if (*p == '"')
			quoted = !quoted;
		else if (!quoted && *p == ',')
			commas++;
		else if (!quoted && *p == ';')
			semicolons++;
	}
	return semicolons > commas ? ';' : ',';
}

void
og_csv_init(struct og_csv *c, const char *data, size_t len)
{
	memset(c, 0, sizeof *c);
	c->p = data;
	c->end = data + len;
	c->nextline = 1;
	if (len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0)
		c->p += 3;
	c->sep = separator(c->p, c->end);
}

void
og_csv_free(struct og_csv *c)
{
	free(c->buf);
	free(c->field);
	free(c->len);
	free(c->off);
	c->buf = NULL;
	c->field = NULL;
	c->len = c->off = NULL;
}

static void
put(struct og_csv *c, char ch)
{
	if (c->buflen == c->bufcap) {
		c->bufcap = c->bufcap ? 2 * c->bufcap : 256;
		c->buf = og_realloc(c->buf, c->bufcap);
	}
	c->buf[c->buflen++] = ch;
}

static void
end_field(struct og_csv *c, size_t start)
{
	if (c->nfields == c->fieldcap) {
		c->fieldcap = c->fieldcap ? 2 * c->fieldcap : 16;
		c->off = og_reallocarray(c->off, c->fieldcap, sizeof *c->off);
		c->len = og_reallocarray(c->len, c->fieldcap, sizeof *c->len);
		c->field = og_reallocarray(c->field, c->fieldcap, sizeof *c->field);
	}
	c->off[c->nfields] = start;
	c->len[c->nfields] = c->buflen - start;
	c->nfields++;
	put(c, '\0');
}

static int
fail(struct og_csv *c, const char **why, const char *what)
{
	*why = what;
	c->p = c->end;
	return -1;
}

/* A line ends at LF, CRLF or a lone CR, inside quotes as well as outside. */
static const char *
skip_line_end(struct og_csv *c, const char *p)
{
	if (p < c->end && *p == '\r')
		p++;
	if (p < c->end && *p == '\n')
		p++;
	c->nextline++;
	return p;
}

/* The next record: 1 and c->field[0..nfields-1] (NUL-terminated, c->len
 * bytes each, valid until the next call); 0 at the end of the data; -1 and
 * *why on malformed input.  c->row is the record's number (the header is
 * record 1), c->line the line it starts on, c->errline the line an error
 * points at. */
int
og_csv_next(struct og_csv *c, const char **why)
{
	const char *p = c->p, *end = c->end;
	size_t start, i;

	if (p >= end)
		return 0;
	c->row++;
	c->line = c->errline = c->nextline;
	c->nfields = c->buflen = 0;
	for (;;) {
		start = c->buflen;
		if (p < end && *p == '"') {
			c->errline = c->nextline;
			for (p++;; p++) {
				if (p == end)
					return fail(c, why, "unterminated quoted field");
				if (*p == '\0')
					return fail(c, why, "NUL byte");
				if (*p == '"' && p + 1 < end && p[1] == '"') {
					put(c, '"');
					p++;
				} else if (*p == '"') {
					p++;
					break;
				} else {
					if (*p == '\n' || (*p == '\r' &&
					    (p + 1 == end || p[1] != '\n')))
						c->nextline++;
					put(c, *p);
				}
			}
			if (p < end && *p != c->sep && *p != '\n' &&
			    *p != '\r') {
				c->errline = c->nextline;
				return fail(c, why,
				    "text after a closing quote");
			}
		} else {
			for (; p < end && *p != c->sep && *p != '\n' &&
			    *p != '\r'; p++) {
				if (*p == '\0') {
					c->errline = c->nextline;
					return fail(c, why, "NUL byte");
				}
				put(c, *p);
			}
		}
		end_field(c, start);
		if (p < end && *p == c->sep) {
			p++;
			continue;
		}
		if (p < end)
			p = skip_line_end(c, p);
		break;
	}
	c->p = p;
	for (i = 0; i < c->nfields; i++)
		c->field[i] = c->buf + c->off[i];
	return 1;
}
