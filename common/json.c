/* json.c: JSON (RFC 8259) tokenized by jsmn, then checked strictly.
 * jsmn finds the tokens and their nesting, but takes "[1,,2]", "[1 2]",
 * "[-]" and "{"a":tru}" for JSON; one pass over its tokens refuses them,
 * checking what lies between tokens (white space and exactly one ',' or
 * ':') and each primitive (a JSON number, true, false or null), and turns
 * jsmn's tokens into og_json's in place. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "og.h"

#define JSMN_STATIC
#define JSMN_PARENT_LINKS
#include <jsmn.h>

#define DEPTH_MAX 64

_Static_assert(sizeof(jsmntok_t) == sizeof(struct og_json_tok),
    "jsmn's tokens become og_json's in place");

struct walk {
	const char *s;
	void *tok;	/* jsmntok_t before walking, og_json_tok after */
	size_t i, n;	/* the next token to walk, of n */
	size_t pos;	/* where the text not yet walked starts */
	size_t cut;	/* where jsmn failed: the walk stops there */
	size_t len;
	const char *why;	/* NULL when it stopped there */
};

/* Token i as jsmn left it: read by copy, for the memory becomes an
 * og_json_tok once walked. */
static jsmntok_t
jsmn_tok(const struct walk *w, size_t i)
{
	jsmntok_t t;

	memcpy(&t, (jsmntok_t *)w->tok + i, sizeof t);
	return t;
}

/* Token i as og_json has it, once jsmn's is read. */
static void
put_tok(struct walk *w, size_t i, int type, const jsmntok_t *t)
{
	struct og_json_tok *o = (struct og_json_tok *)w->tok + i;

	o->start = t->start;
	o->len = t->end - t->start;
	o->size = type >= OG_JSON_ARRAY ? t->size : 0;
	o->next = w->i;
	o->type = type;
}

/* Where a token's text starts: a string's at its quote. */
static size_t
text_start(const jsmntok_t *t)
{
	return t->start - (t->type == JSMN_STRING);
}

static int
fail_at(struct walk *w, size_t pos, const char *why)
{
	w->pos = pos;
	w->why = why;
	return -1;
}

/* The text from w->pos to before 'to' is white space and at most one sep
 * (none if sep is 0).  A missing sep (unless last) or another separator
 * before it is miss; one more after it, or sep at the end of the last
 * gap, is want.  What lies beyond the cut is jsmn's to tell, but a
 * token there (a bad string or primitive, or a bracket too deep) must
 * have its separator. */
static int
gap(struct walk *w, size_t to, int sep, int last, const char *miss,
    const char *want)
{
	size_t p, end = to < w->cut ? to : w->cut;
	int seen = 0;

	for (p = w->pos; p < end; p++) {
		if (w->s[p] == ' ' || w->s[p] == '\t' || w->s[p] == '\n' ||
		    w->s[p] == '\r')
			continue;
		if (sep && w->s[p] == sep && !seen) {
			seen = 1;
			continue;
		}
		return fail_at(w, p, sep && !seen ? miss : want);
	}
	if (end < to) {
		if (w->cut < w->len && !strchr("]}", w->s[w->cut]) &&
		    (sep ? !seen : !last))
			return fail_at(w, w->cut, sep ? miss : want);
		return fail_at(w, w->cut, NULL);
	}
	if (sep && seen == last)
		return fail_at(w, to, last ? want : miss);
	w->pos = to;
	return 0;
}

static int
is_digit(const char *p, const char *end)
{
	return p < end && *p >= '0' && *p <= '9';
}

static const char *
digits(const char *p, const char *end)
{
	while (is_digit(p, end))
		p++;
	return p;
}

/* A JSON number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static int
is_number(const char *p, const char *end)
{
	if (p < end && *p == '-')
		p++;
	if (!is_digit(p, end))
		return 0;
	p = *p == '0' ? p + 1 : digits(p, end);
	if (p < end && *p == '.') {
		if (!is_digit(++p, end))
			return 0;
		p = digits(p, end);
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		if (++p < end && (*p == '+' || *p == '-'))
			p++;
		if (!is_digit(p, end))
			return 0;
		p = digits(p, end);
	}
	return p == end;
}

static int
primitive(const char *p, size_t len)
{
	switch (*p) {
	case 't':
		return len == 4 && memcmp(p, "true", 4) == 0 ? OG_JSON_TRUE : -1;
	case 'f':
		return len == 5 && memcmp(p, "false", 5) == 0 ? OG_JSON_FALSE : -1;
	case 'n':
		return len == 4 && memcmp(p, "null", 4) == 0 ? OG_JSON_NULL : -1;
	}
	return is_number(p, p + len) ? OG_JSON_NUMBER : -1;
}

/* Token w->i, which jsmn hung under a value that can have none (after a
 * stray ':'): the first thing after the value is miss. */
static int
stray(struct walk *w, const char *miss)
{
	jsmntok_t t = jsmn_tok(w, w->i);

	if (gap(w, text_start(&t), 0, 0, miss, miss) < 0)
		return -1;
	return fail_at(w, w->pos, miss);
}

static int walk_value(struct walk *w, const char *miss);

/* An object's member: a name, ':' and one value; close is where the
 * object's '}' is. */
static int
walk_member(struct walk *w, size_t close)
{
	jsmntok_t name = jsmn_tok(w, w->i), next;
	size_t to;

	if (name.type != JSMN_STRING)
		return fail_at(w, text_start(&name), "expected a member name");
	w->i++;
	put_tok(w, w->i - 1, OG_JSON_STRING, &name);
	w->pos = name.end + 1;
	to = close;
	if (w->i < w->n && (next = jsmn_tok(w, w->i)).start < (int)close)
		to = text_start(&next);
	if (gap(w, to, ':', 0, "expected ':'", "expected a value") < 0)
		return -1;
	if (name.size == 0 || to == close)
		return fail_at(w, to, "expected a value");
	if (walk_value(w, "expected ',' or '}'") < 0)
		return -1;
	if (name.size > 1 && (next = jsmn_tok(w, w->i)).start < (int)close)
		return stray(w, "expected ',' or '}'");
	return 0;	/* past close, a later gap meets it */
}

/* Token w->i and its subtree; miss is what its container says of text
 * after it that is not a separator. */
static int
walk_value(struct walk *w, const char *miss)
{
	size_t i = w->i++, k, end;
	jsmntok_t t = jsmn_tok(w, i), c;
	int obj = t.type == JSMN_OBJECT, type = OG_JSON_STRING;
	const char *inner = obj ? "expected ',' or '}'" : "expected ',' or ']'";
	const char *want = obj ? "expected a member name" : "expected a value";

	switch (t.type) {
	case JSMN_OBJECT:
	case JSMN_ARRAY:
		w->pos = t.start + 1;
		end = t.end < 0 ? w->cut + 2 : (size_t)t.end;	/* not closed */
		for (k = 0; k < (size_t)t.size; k++) {
			c = jsmn_tok(w, w->i);
			if (gap(w, text_start(&c), k ? ',' : 0, 0, inner,
			    want) < 0 || (obj ? walk_member(w, end - 1) :
			    walk_value(w, inner)) < 0)
				return -1;
		}
		if (gap(w, end - 1, t.size ? ',' : 0, 1, inner, want) < 0)
			return -1;
		type = obj ? OG_JSON_OBJECT : OG_JSON_ARRAY;
		break;
	case JSMN_PRIMITIVE:
		if ((type = primitive(w->s + t.start, t.end - t.start)) < 0)
			return fail_at(w, t.start, "expected a value");
		break;
	default:
		break;
	}
	w->pos = t.end + (t.type == JSMN_STRING);
	put_tok(w, i, type, &t);
	if (t.size > 0 && type < OG_JSON_ARRAY)	/* a ':' after it */
		return stray(w, miss);
	return 0;
}

/* The one value of the text, with nothing but white space around it. */
static int
walk_root(struct walk *w, size_t len)
{
	jsmntok_t root;

	if (w->n == 0)
		return gap(w, len, 0, 1, NULL, "expected a value") < 0 ? -1 :
		    fail_at(w, len, "unexpected end");
	root = jsmn_tok(w, 0);
	if (gap(w, text_start(&root), 0, 0, NULL, "expected a value") < 0 ||
	    walk_value(w, "text after the value") < 0)
		return -1;
	return gap(w, len, 0, 0, NULL, "text after the value");
}

/* jsmn's primitives end there (and at the end of the text or a NUL). */
static int
ends_primitive(char c)
{
	switch (c) {
	case ' ': case '\t': case '\n': case '\r': case ',': case ':':
	case ']': case '}': case '\0':
		return 1;
	}
	return 0;
}

/* Before jsmn, as jsmn will read the text: the tokens it will make (one a
 * bracket, string or primitive), the nesting (jsmn closes a bracket in
 * time proportional to the depth) and control characters in strings,
 * which jsmn lets pass.  *end is where the text goes wrong, or len. */
static const char *
prescan(const char *s, size_t len, size_t *ntok, size_t *end)
{
	size_t i, n = 0;
	int depth = 0;

	for (i = 0; i < len; i++) {
		switch (s[i]) {
		case ' ': case '\t': case '\n': case '\r': case ',': case ':':
			break;
		case '[': case '{':
			n++;
			if (++depth > DEPTH_MAX) {
				*ntok = n;
				*end = i;
				return "nested too deeply";
			}
			break;
		case ']': case '}':
			depth -= depth > 0;
			break;
		case '"':
			n++;
			while (++i < len && s[i] != '"') {
				if ((unsigned char)s[i] < 0x20) {
					*ntok = n;
					*end = i;
					return "control character in string";
				}
				i += s[i] == '\\';
			}
			break;
		default:	/* a primitive, up to a delimiter */
			n++;
			while (i + 1 < len && !ends_primitive(s[i + 1]))
				i++;
		}
	}
	*ntok = n;
	*end = len;
	return NULL;
}

static const char *
jsmn_why(int r, const char *s, size_t len, size_t *pos)
{
	if (r == JSMN_ERROR_PART && *pos < len && s[*pos] == '"') {
		*pos = len;
		return "unterminated string";
	}
	if (*pos >= len)
		return "unexpected end";
	switch (s[*pos]) {
	case '"':
		return "bad escape in string";
	case '\0':
		return "NUL byte";
	case ']':
		return "unexpected ']'";
	case '}':
		return "unexpected '}'";
	}
	return r == JSMN_ERROR_NOMEM ? "too many tokens" : "expected a value";
}

/* jsmn reads the text up to where the prescan found it wrong; then the
 * walk, up to where either stopped, may find an earlier error. */
const char *
og_json_parse(struct og_json *j, const char *s, size_t len, size_t *errpos)
{
	struct walk w = { s, NULL, 0, 0, 0, SIZE_MAX, len, NULL };
	jsmn_parser p;
	const char *why;
	size_t need, end;
	int r;

	j->n = 0;
	j->s = s;
	*errpos = 0;
	if (len > INT_MAX)
		return "text of 2 GB or more";
	why = prescan(s, len, &need, &end);
	if (need + 1 > j->cap) {
		free(j->tok);
		j->cap = need + 1;
		j->tok = og_reallocarray(NULL, j->cap, sizeof *j->tok);
	}
	jsmn_init(&p);
	r = jsmn_parse(&p, s, end, (jsmntok_t *)j->tok, j->cap);
	w.tok = j->tok;
	w.n = p.toknext;
	w.cut = r < 0 ? p.pos : why ? end : SIZE_MAX;
	if (walk_root(&w, len) < 0 && w.why) {
		*errpos = w.pos;
		return w.why;
	}
	if (r < 0 && !(why && r == JSMN_ERROR_PART && s[p.pos] != '\0')) {
		*errpos = p.pos;
		return jsmn_why(r, s, len, errpos);
	}
	if (why) {
		*errpos = end;
		return why;
	}
	j->n = r;
	return NULL;
}

void
og_json_free(struct og_json *j)
{
	free(j->tok);
	j->tok = NULL;
	j->n = j->cap = 0;
}

size_t
og_json_member(const struct og_json *j, size_t obj, const char *key)
{
	size_t i, k, klen = strlen(key);

	if (obj >= j->n || j->tok[obj].type != OG_JSON_OBJECT)
		return 0;
	for (i = obj + 1, k = 0; k < j->tok[obj].size; k++) {
		if (j->tok[i].len == klen &&
		    memcmp(j->s + j->tok[i].start, key, klen) == 0)
			return i + 1;
		i = j->tok[i + 1].next;
	}
	return 0;
}

int
og_json_int64(const struct og_json *j, size_t i, int64_t *v)
{
	if (i == 0 || i >= j->n || j->tok[i].type != OG_JSON_NUMBER)
		return -1;
	return og_parse_int64(j->s + j->tok[i].start, j->tok[i].len, v);
}

int
og_json_double(const struct og_json *j, size_t i, double *v)
{
	if (i == 0 || i >= j->n || j->tok[i].type != OG_JSON_NUMBER)
		return -1;
	return og_parse_value(j->s + j->tok[i].start, j->tok[i].len, v);
}

int
og_json_is(const struct og_json *j, size_t i, const char *text)
{
	size_t len = strlen(text);

	return i > 0 && i < j->n && j->tok[i].type == OG_JSON_STRING &&
	    j->tok[i].len == len && memcmp(j->s + j->tok[i].start, text, len) == 0;
}

static int
hex4(const char *p, const char *end, unsigned *u)
{
	int k, c;

	*u = 0;
	if (end - p < 4)
		return -1;
	for (k = 0; k < 4; k++) {
		c = p[k];
		*u <<= 4;
		if (c >= '0' && c <= '9')
			*u |= c - '0';
		else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
			*u |= (c | 0x20) - 'a' + 10;
		else
			return -1;
	}
	return 0;
}

/* The code point of an escape at p (after the backslash); *pp past it. */
static unsigned long
unescape(const char **pp, const char *end)
{
	const char *p = *pp;
	unsigned hi, lo;
	char c = *p++;

	*pp = p;
	if (c == 'b' || c == 'f' || c == 'n' || c == 'r' || c == 't')
		return ' ';
	if (c != 'u')
		return (unsigned char)c;	/* " \ / */
	if (hex4(p, end, &hi) < 0)
		return '?';
	*pp = p += 4;
	if (hi < 0xd800 || hi >= 0xe000)
		return hi;
	if (hi >= 0xdc00 || end - p < 6 || p[0] != '\\' || p[1] != 'u' ||
	    hex4(p + 2, end, &lo) < 0 || lo < 0xdc00 || lo >= 0xe000)
		return '?';
	*pp = p + 6;
	return 0x10000 + ((unsigned long)(hi - 0xd800) << 10) + (lo - 0xdc00);
}

/* Appends code point u as UTF-8 if it fits before the NUL; -1 if not. */
static int
put_utf8(char *buf, size_t *n, size_t size, unsigned long u)
{
	unsigned char b[4];
	size_t k, len;

	if (u < 0x80) {
		b[0] = u;
		len = 1;
	} else if (u < 0x800) {
		b[0] = 0xc0 | u >> 6;
		b[1] = 0x80 | (u & 0x3f);
		len = 2;
	} else if (u < 0x10000) {
		b[0] = 0xe0 | u >> 12;
		b[1] = 0x80 | (u >> 6 & 0x3f);
		b[2] = 0x80 | (u & 0x3f);
		len = 3;
	} else {
		b[0] = 0xf0 | u >> 18;
		b[1] = 0x80 | (u >> 12 & 0x3f);
		b[2] = 0x80 | (u >> 6 & 0x3f);
		b[3] = 0x80 | (u & 0x3f);
		len = 4;
	}
	if (*n + len >= size)
		return -1;
	for (k = 0; k < len; k++)
		buf[(*n)++] = b[k];
	return 0;
}

static size_t
utf8_len(unsigned char lead)
{
	return lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;
}

/* A string for a message: escapes undone, control characters as '?',
 * other bytes as they are; cut to size, never inside a UTF-8 sequence. */
int
og_json_text(const struct og_json *j, size_t i, char *buf, size_t size)
{
	const char *p, *end;
	unsigned long u;
	size_t n = 0, lead;

	if (size == 0 || i == 0 || i >= j->n || j->tok[i].type != OG_JSON_STRING)
		return -1;
	p = j->s + j->tok[i].start;
	end = p + j->tok[i].len;
	while (p < end) {
		u = (unsigned char)*p++;
		if (u == '\\' && p < end) {
			u = unescape(&p, end);
			if (u < 0x20 || u == 0x7f)
				u = '?';
			if (put_utf8(buf, &n, size, u) < 0)
				break;
			continue;
		}
		if (u < 0x20 || u == 0x7f)
			u = '?';
		if (n + 1 >= size) {
			/* cut: drop a sequence left incomplete */
			for (lead = n; lead > 0 &&
			    ((unsigned char)buf[lead - 1] & 0xc0) == 0x80; lead--)
				;
			if (lead > 0 && (unsigned char)buf[lead - 1] >= 0xc0 &&
			    n - lead + 1 < utf8_len(buf[lead - 1]))
				n = lead - 1;
			break;
		}
		buf[n++] = u;
	}
	buf[n] = '\0';
	return 0;
}
