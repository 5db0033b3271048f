/* site.c: site metrics, sums of a site's sensors by category.
 *
 * Each needed sensor's value per bucket is kept until the end of input,
 * since a site's sensors may come one after another; the metrics are then
 * written per site, metric and aggregate in time order. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "og.h"

struct site_row {
	size_t site;
	int64_t start;
	double *v;		/* nslots x naggs */
	unsigned char *has;	/* nslots */
};

static int
needed(struct og_sites *s, const char *cat)
{
	size_t i, j;

	for (i = 0; i < s->nexprs; i++)
		for (j = 0; j < s->exprs[i].nterms; j++)
			if (strcmp(s->exprs[i].terms[j].cat, cat) == 0)
				return 1;
	return 0;
}

void
og_sites_init(struct og_sites *s, struct og_meta *m, struct og_expr *exprs,
    size_t nexprs, size_t naggs)
{
	size_t i;

	memset(s, 0, sizeof *s);
	s->meta = m;
	s->exprs = exprs;
	s->nexprs = nexprs;
	s->naggs = naggs;
	s->slot = og_calloc(m->n, sizeof *s->slot);
	s->nslots = og_calloc(m->nsites, sizeof *s->nslots);
	for (i = 0; i < m->n; i++) {
		if (needed(s, m->sensors[i].category))
			s->slot[i] = (int)s->nslots[m->sensors[i].site]++;
		else
			s->slot[i] = -1;
	}
	/* the needed sensors of each site, in sheet order */
	s->sensors = og_calloc(m->nsites, sizeof *s->sensors);
	for (i = 0; i < m->nsites; i++)
		s->sensors[i] = og_calloc(s->nslots[i] + 1, sizeof **s->sensors);
	for (i = 0; i < m->n; i++)
		if (s->slot[i] >= 0)
			s->sensors[m->sensors[i].site][s->slot[i]] = i;
	s->cap = 64;
	s->table = og_calloc(s->cap, sizeof *s->table);
}

static uint64_t
row_hash(size_t site, int64_t start)
{
	return ((uint64_t)start * 0x9e3779b97f4a7c15u) ^ (site * 0xff51afd7ed558ccdu);
}

static void
grow(struct og_sites *s)
{
	size_t oldcap = s->cap, i, j;
	size_t *old = s->table;
	struct site_row *r;

	s->cap *= 2;
	s->table = og_calloc(s->cap, sizeof *s->table);
	for (i = 0; i < oldcap; i++) {
		if (!old[i])
			continue;
		r = &s->rows[old[i] - 1];
		for (j = row_hash(r->site, r->start) & (s->cap - 1);
		    s->table[j]; j = (j + 1) & (s->cap - 1))
			;
		s->table[j] = old[i];
	}
	free(old);
}

static struct site_row *
row(struct og_sites *s, size_t site, int64_t start)
{
	struct site_row *r;
	size_t j, n = s->nslots[site];

	for (j = row_hash(site, start) & (s->cap - 1); s->table[j];
	    j = (j + 1) & (s->cap - 1)) {
		r = &s->rows[s->table[j] - 1];
		if (r->site == site && r->start == start)
			return r;
	}
	s->rows = og_reallocarray(s->rows, s->nrows + 1, sizeof *s->rows);
	r = &s->rows[s->nrows++];
	r->site = site;
	r->start = start;
	r->v = og_calloc(n * s->naggs, sizeof *r->v);
	r->has = og_calloc(n, 1);
	s->table[j] = s->nrows;
	if (2 * s->nrows > s->cap)
		grow(s);
	return r;
}

/* The values of sensor (an index into the sheet) for a bucket, one per
 * aggregate; a sensor no metric needs is ignored. */
void
og_sites_add(struct og_sites *s, size_t sensor, int64_t start,
    const double *v)
{
	struct site_row *r;
	int slot = s->slot[sensor];

	if (slot < 0)
		return;
	r = row(s, s->meta->sensors[sensor].site, start);
	memcpy(r->v + (size_t)slot * s->naggs, v, s->naggs * sizeof *v);
	r->has[slot] = 1;
}

static int
by_site_time(const void *a, const void *b)
{
	const struct site_row *x = a, *y = b;

	if (x->site != y->site)
		return x->site < y->site ? -1 : 1;
	return (x->start > y->start) - (x->start < y->start);
}

/*
 * The metric e of a row for aggregate a: 0 if the site has no sensor in any
 * of its categories or none with a value, else 1 with *v, nan if any
 * sensor it needs lacks a value.
 */
static int
evaluate(struct og_sites *s, struct site_row *r, struct og_expr *e,
    size_t a, double *v)
{
	struct og_meta *m = s->meta;
	size_t t, j, i;
	int sensors = 0, values = 0;
	double total = 0, cat;

	for (t = 0; t < e->nterms; t++) {
		cat = 0;
		for (j = 0; j < s->nslots[r->site]; j++) {
			i = s->sensors[r->site][j];
			if (strcmp(m->sensors[i].category, e->terms[t].cat) != 0)
				continue;
			sensors++;
			if (r->has[j]) {
				values++;
				cat += r->v[j * s->naggs + a];
			}
		}
		total += e->terms[t].factor * cat / e->terms[t].divisor;
	}
	if (values == 0)
		return 0;
	*v = values < sensors ? NAN : total;
	return 1;
}

void
og_sites_finish(struct og_sites *s, const struct og_agg *aggs,
    void (*out)(const char *key, size_t keylen, int64_t t, double v))
{
	char key[OG_KEY_MAX + 64];
	size_t first, end, i, x, a;
	struct og_expr *e;
	int len;
	double v;

	if (s->nrows > 0)
		qsort(s->rows, s->nrows, sizeof *s->rows, by_site_time);
	for (first = 0; first < s->nrows; first = end) {
		for (end = first; end < s->nrows &&
		    s->rows[end].site == s->rows[first].site; end++)
			;
		for (x = 0; x < s->nexprs; x++) {
			e = &s->exprs[x];
			for (a = 0; a < s->naggs; a++) {
				if (s->naggs > 1)
					len = snprintf(key, sizeof key, "%s/%s/%s",
					    s->meta->sites[s->rows[first].site],
					    e->name, aggs[a].name);
				else
					len = snprintf(key, sizeof key, "%s/%s",
					    s->meta->sites[s->rows[first].site],
					    e->name);
				for (i = first; i < end; i++)
					if (evaluate(s, &s->rows[i], e, a, &v))
						out(key, len, s->rows[i].start, v);
			}
		}
	}
	for (i = 0; i < s->nrows; i++) {
		free(s->rows[i].v);
		free(s->rows[i].has);
	}
	free(s->rows);
	free(s->table);
	for (i = 0; i < s->meta->nsites; i++)
		free(s->sensors[i]);
	free(s->sensors);
	free(s->slot);
	free(s->nslots);
	memset(s, 0, sizeof *s);
}
