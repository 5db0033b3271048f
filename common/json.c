/* json.c: a strict JSON reader (RFC 8259) into a flat array of tokens. */
#include <stdlib.h>
#include <string.h>

#include "og.h"

#define DEPTH_MAX 64

struct parse {
	struct og_json *j;
	const char *s, *p, *end;
	const char *why;
};

static size_t
add_token(struct parse *ps, int type, const char *start)
{
	struct og_json *j = ps->j;

	if (j->n == j->cap) {
		j->cap = j->cap ? 2 * j->cap : 256;
		j->tok = og_reallocarray(j->tok, j->cap, sizeof *j->tok);
	}
	j->tok[j->n].type = type;
	j->tok[j->n].start = start - ps->s;
	j->tok[j->n].len = 0;
	j->tok[j->n].size = 0;
	j->tok[j->n].next = 0;
	return j->n++;
}

static void
skip_space(struct parse *ps)
{
	while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' ||
	    *ps->p == '\n' || *ps->p == '\r'))
		ps->p++;
}

static int
is_digit(const char *p, const char *end)
{
	return p < end && *p >= '0' && *p <= '9';
}

static int
scan_number(struct parse *ps)
{
	const char *p = ps->p, *end = ps->end;

	if (p < end && *p == '-')
		p++;
	if (!is_digit(p, end))
		return -1;
	if (*p == '0')
		p++;
	else
		while (is_digit(p, end))
			p++;
	if (p < end && *p == '.') {
		if (!is_digit(++p, end))
			return -1;
		while (is_digit(p, end))
			p++;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			p++;
		if (!is_digit(p, end))
			return -1;
		while (is_digit(p, end))
			p++;
	}
	ps->p = p;
	return 0;
}

static int
hex(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	    (c >= 'A' && c <= 'F');
}

/* A string's token spans its contents, without the quotes. */
static int
scan_string(struct parse *ps)
{
	const char *p = ps->p + 1;
	int i;

	for (; p < ps->end; p++) {
		if (*p == '"') {
			ps->p = p + 1;
			return 0;
		}
		if ((unsigned char)*p < 0x20) {
			ps->p = p;
			ps->why = "control character in string";
			return -1;
		}
		if (*p == '\\') {
			if (++p == ps->end)
				break;
			if (*p == 'u') {
				for (i = 0; i < 4; i++)
					if (++p == ps->end || !hex(*p))
						goto bad;
			} else if (!strchr("\"\\/bfnrt", *p)) {
				goto bad;
			}
		}
	}
	ps->p = p;
	ps->why = "unterminated string";
	return -1;
bad:
	ps->p = p;
	ps->why = "bad escape in string";
	return -1;
}

static int parse_value(struct parse *ps, int depth);

/* A member name and its ':'. */
static int
parse_name(struct parse *ps)
{
	struct og_json *j = ps->j;
	size_t k;

	skip_space(ps);
	if (ps->p == ps->end || *ps->p != '"') {
		ps->why = "expected a member name";
		return -1;
	}
	k = add_token(ps, OG_JSON_STRING, ps->p + 1);
	if (scan_string(ps) < 0)
		return -1;
	j->tok[k].len = ps->p - 1 - (ps->s + j->tok[k].start);
	j->tok[k].next = j->n;
	skip_space(ps);
	if (ps->p == ps->end || *ps->p != ':') {
		ps->why = "expected ':'";
		return -1;
	}
	ps->p++;
	return 0;
}

/* An array or object, from its opening bracket at ps->p. */
static int
parse_container(struct parse *ps, int depth)
{
	struct og_json *j = ps->j;
	const char *start = ps->p;
	int close = *ps->p == '{' ? '}' : ']';
	size_t t;

	if (depth >= DEPTH_MAX) {
		ps->why = "nested too deeply";
		return -1;
	}
	t = add_token(ps, close == '}' ? OG_JSON_OBJECT : OG_JSON_ARRAY, start);
	ps->p++;
	skip_space(ps);
	if (ps->p < ps->end && *ps->p == close) {
		ps->p++;
	} else {
		for (;;) {
			if (close == '}' && parse_name(ps) < 0)
				return -1;
			if (parse_value(ps, depth + 1) < 0)
				return -1;
			j->tok[t].size++;
			skip_space(ps);
			if (ps->p < ps->end && *ps->p == ',') {
				ps->p++;
				continue;
			}
			if (ps->p < ps->end && *ps->p == close) {
				ps->p++;
				break;
			}
			ps->why = close == '}' ? "expected ',' or '}'" :
			    "expected ',' or ']'";
			return -1;
		}
	}
	j->tok[t].len = ps->p - start;
	j->tok[t].next = j->n;
	return 0;
}

/* true, false, null or a number. */
static int
parse_scalar(struct parse *ps)
{
	const char *start = ps->p;
	size_t t;

	if (ps->end - ps->p >= 4 && memcmp(ps->p, "true", 4) == 0)
		t = add_token(ps, OG_JSON_TRUE, start), ps->p += 4;
	else if (ps->end - ps->p >= 5 && memcmp(ps->p, "false", 5) == 0)
		t = add_token(ps, OG_JSON_FALSE, start), ps->p += 5;
	else if (ps->end - ps->p >= 4 && memcmp(ps->p, "null", 4) == 0)
		t = add_token(ps, OG_JSON_NULL, start), ps->p += 4;
	else if (scan_number(ps) == 0)
		t = add_token(ps, OG_JSON_NUMBER, start);
	else {
		ps->why = "expected a value";
		return -1;
	}
	ps->j->tok[t].len = ps->p - start;
	ps->j->tok[t].next = ps->j->n;
	return 0;
}

static int
parse_value(struct parse *ps, int depth)
{
	struct og_json *j = ps->j;
	size_t t;

	skip_space(ps);
	if (ps->p == ps->end) {
		ps->why = "unexpected end";
		return -1;
	}
	if (*ps->p == '{' || *ps->p == '[')
		return parse_container(ps, depth);
	if (*ps->p != '"')
		return parse_scalar(ps);
	t = add_token(ps, OG_JSON_STRING, ps->p + 1);
	if (scan_string(ps) < 0)
		return -1;
	j->tok[t].len = ps->p - 1 - (ps->s + j->tok[t].start);
	j->tok[t].next = j->n;
	return 0;
}

/* At most one token a value or member name: each follows the start, a
 * ',', a ':' or an opening bracket.  Allocated once, the array is not
 * doubled (and copied) while it holds most of a tmpo block's memory. */
static size_t
tokens_needed(const char *s, size_t len)
{
	size_t i, n = 1;

	for (i = 0; i < len; i++)
		n += s[i] == ',' || s[i] == ':' || s[i] == '[' || s[i] == '{';
	return n;
}

const char *
og_json_parse(struct og_json *j, const char *s, size_t len, size_t *errpos)
{
	struct parse ps = { j, s, s, s + len, NULL };
	size_t need;

	j->n = 0;
	j->s = s;
	*errpos = 0;
	if (len >= UINT32_MAX)
		return "text of 4 GB or more";
	if ((need = tokens_needed(s, len)) > j->cap) {
		free(j->tok);
		j->tok = og_reallocarray(NULL, need, sizeof *j->tok);
		j->cap = need;
	}
	if (parse_value(&ps, 0) == 0) {
		skip_space(&ps);
		if (ps.p == ps.end)
			return NULL;
		ps.why = "text after the value";
	}
	*errpos = ps.p - s;
	return ps.why;
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
