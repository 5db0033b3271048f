/* expr.c: site metric expressions, NAME=EXPR.
 *
 * EXPR is a sum of terms joined by + and -, each term a category with
 * optional constant factors or divisors: gridNet+pvProd-gridExport,
 * gridGas*10, 0.5*gridCons/2.  Parsing returns what is wrong instead of
 * exiting, so that any string can be thrown at it. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "og.h"

static const char *
skip_space(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

static const char *
fail(char *why, size_t whysize, const char *what, const char *at)
{
	if (*at)
		snprintf(why, whysize, "%s at '%.20s'", what, at);
	else
		snprintf(why, whysize, "%s at end", what);
	return why;
}

/* A factor must be a finite number: nan or inf would make every value of
 * the metric nan or inf, whatever the data. */
static const char *
bad_factor(char *why, size_t whysize, const char *p, size_t len)
{
	snprintf(why, whysize, "bad factor '%.*s' (not a finite number)",
	    len > 20 ? 20 : (int)len, p);
	return why;
}

/* nan, inf and infinity read as numbers, not as categories */
static int
nonfinite_name(const char *p, size_t len)
{
	return (len == 3 && (strncasecmp(p, "nan", 3) == 0 ||
	    strncasecmp(p, "inf", 3) == 0)) ||
	    (len == 8 && strncasecmp(p, "infinity", 8) == 0);
}

/* Is the number text p (len bytes) beyond the range of a double? */
static int
overflows(const char *p, size_t len)
{
	char *copy = og_malloc(len + 1), *end;
	double v;
	int inf;

	memcpy(copy, p, len);
	copy[len] = '\0';
	v = strtod(copy, &end);
	inf = end == copy + len && isinf(v);
	free(copy);
	return inf;
}

static int
name_char(int c)
{
	return isalnum(c) || c == '_' || c == '-' || c == '.';
}

/* A category named twice is one term: its factors add up.  A term keeps
 * its divisor apart, so that gridGas/1000 of 9 is the correctly rounded
 * 0.009, not 9 * 0.001; only terms of one category with other divisors
 * fold theirs into the factor. */
static void
add_term(struct og_expr *e, const char *cat, size_t len, double factor,
    double divisor)
{
	struct og_term *t;
	size_t i;

	for (i = 0; i < e->nterms; i++) {
		t = &e->terms[i];
		if (strlen(t->cat) != len || memcmp(t->cat, cat, len) != 0)
			continue;
		if (t->divisor == divisor) {
			t->factor += factor;
		} else {
			t->factor = t->factor / t->divisor + factor / divisor;
			t->divisor = 1;
		}
		return;
	}
	e->terms = og_reallocarray(e->terms, e->nterms + 1, sizeof *e->terms);
	t = &e->terms[e->nterms++];
	memcpy(t->cat, cat, len);
	t->cat[len] = '\0';
	t->factor = factor;
	t->divisor = divisor;
}

/* A number at p: its length, 0 if none. */
static size_t
number_len(const char *p)
{
	const char *q = p;

	while (isdigit((unsigned char)*q) || *q == '.')
		q++;
	if (q > p && (*q == 'e' || *q == 'E')) {
		const char *r = q + 1;

		if (*r == '+' || *r == '-')
			r++;
		if (isdigit((unsigned char)*r)) {
			while (isdigit((unsigned char)*r))
				r++;
			q = r;
		}
	}
	return q - p;
}

/* term := factor {('*' | '/') factor}, with exactly one category */
static const char *
parse_term(const char **pp, double sign, struct og_expr *e, char *why,
    size_t whysize)
{
	const char *p = *pp, *cat = NULL;
	size_t catlen = 0, len;
	double factor = sign, divisor = 1, v;
	int op = '*';

	for (;;) {
		p = skip_space(p);
		if ((len = number_len(p)) > 0) {
			if (og_parse_value(p, len, &v) < 0)
				return overflows(p, len) ?
				    bad_factor(why, whysize, p, len) :
				    fail(why, whysize, "bad number", p);
			if (op == '/') {
				if (v == 0)
					return fail(why, whysize,
					    "division by zero", p);
				divisor *= v;
			} else {
				factor *= v;
			}
			if (isinf(factor) || isinf(divisor) || divisor == 0)
				return fail(why, whysize, "factors multiply "
				    "beyond the range of a double", p);
		} else if (isalpha((unsigned char)*p) || *p == '_') {
			for (len = 0; isalnum((unsigned char)p[len]) ||
			    p[len] == '_'; len++)
				;
			if (nonfinite_name(p, len))
				return bad_factor(why, whysize, p, len);
			if (op == '/')
				return fail(why, whysize,
				    "division by a category", p);
			if (cat)
				return fail(why, whysize,
				    "product of two categories", p);
			if (len >= sizeof e->terms[0].cat)
				return fail(why, whysize,
				    "category name too long", p);
			cat = p;
			catlen = len;
		} else {
			return fail(why, whysize,
			    "expected a category or a number", p);
		}
		p = skip_space(p + len);
		if (*p != '*' && *p != '/')
			break;
		op = *p++;
	}
	if (!cat)
		return fail(why, whysize, "term without a category", *pp);
	add_term(e, cat, catlen, factor, divisor);
	*pp = p;
	return NULL;
}

const char *
og_expr_parse(const char *s, struct og_expr *e, char *why, size_t whysize)
{
	const char *p, *err;
	double sign = 1;
	size_t len;

	memset(e, 0, sizeof *e);
	s = skip_space(s);
	for (len = 0; name_char((unsigned char)s[len]); len++)
		;
	p = skip_space(s + len);
	if (*p != '=')
		return fail(why, whysize, "expected NAME=EXPR", p);
	if (len == 0)
		return "empty metric name";
	if (len >= sizeof e->name)
		return "metric name too long";
	memcpy(e->name, s, len);
	e->name[len] = '\0';
	p = skip_space(p + 1);
	if (*p == '+' || *p == '-')
		sign = *p++ == '-' ? -1 : 1;
	for (;;) {
		if ((err = parse_term(&p, sign, e, why, whysize))) {
			og_expr_free(e);
			return err;
		}
		if (*p == '\0')
			return NULL;
		if (*p != '+' && *p != '-') {
			og_expr_free(e);
			return fail(why, whysize, "expected + or -", p);
		}
		sign = *p++ == '-' ? -1 : 1;
	}
}

void
og_expr_free(struct og_expr *e)
{
	free(e->terms);
	e->terms = NULL;
	e->nterms = 0;
}
