/* stepwise.c: the choice of terms of a linear model, as opengrid's
 * MultiVarLinReg makes it.
 *
 * The model starts as the intercept alone.  Each round fits the model
 * plus each remaining candidate in turn and keeps the one whose fit has
 * the lowest BIC, if any is below the model's.  Then, while a term other
 * than the intercept has a p-value above pmax, the first such term (in
 * the order the terms entered) is removed and the rest refitted.  If that
 * leaves as many terms as the model had before the round, the model stays
 * as it was and the selection ends; else the pruned fit is the new model
 * and the candidate that entered (even if pruned again) is no longer a
 * candidate.  A candidate that is a linear combination of the model's
 * terms is passed over in that round. */
#include <stdlib.h>
#include <string.h>

#include "og.h"

static void
swap_fits(struct og_ols *a, struct og_ols *b)
{
	struct og_ols t = *a;

	*a = *b;
	*b = t;
}

/* Fits the intercept, the given candidates and extra (if not -1). */
static int
fit(struct og_stepwise *s, struct og_ols *m, const size_t *terms, size_t n,
    long extra)
{
	size_t j;

	s->cols[0] = s->ones;
	for (j = 0; j < n; j++)
		s->cols[j + 1] = s->cand[terms[j]];
	if (extra >= 0)
		s->cols[++n] = s->cand[extra];
	return og_ols_fit(m, s->cols, n + 1, s->y, s->n);
}

/* Removes terms above pmax, first first, refitting after each. */
static void
prune(struct og_stepwise *s, struct og_ols *m, size_t *terms, size_t *n)
{
	size_t j;

	for (;;) {
		for (j = 0; j < *n && !(m->pvalue[j + 1] > s->pmax); j++)
			;
		if (j == *n)
			return;
		memmove(terms + j, terms + j + 1, (*n - j - 1) * sizeof *terms);
		(*n)--;
		if (fit(s, m, terms, *n, -1) >= 0)
			og_die("stepwise: independent terms made dependent");
	}
}

void
og_stepwise_run(struct og_stepwise *s)
{
	struct og_ols trial = { 0 }, best = { 0 };
	unsigned char *used = og_calloc(s->ncand + 1, 1);
	unsigned char *told = og_calloc(s->ncand + 1, 1);
	size_t *next = og_calloc(s->ncand + 1, sizeof *next);
	size_t i, nnext, left = s->ncand;
	long c, chosen;
	double lowest;

	s->ones = og_reallocarray(NULL, s->n ? s->n : 1, sizeof *s->ones);
	for (i = 0; i < s->n; i++)
		s->ones[i] = 1;
	s->cols = og_calloc(s->ncand + 2, sizeof *s->cols);
	s->terms = og_calloc(s->ncand + 1, sizeof *s->terms);
	s->nterms = 0;
	memset(&s->model, 0, sizeof s->model);
	if (fit(s, &s->model, NULL, 0, -1) >= 0)
		og_die("stepwise: the intercept alone does not fit");

	while (left > 0) {
		chosen = -1;
		lowest = s->model.bic;
		for (c = 0; c < (long)s->ncand; c++) {
			if (used[c])
				continue;
			if (fit(s, &trial, s->terms, s->nterms, c) >= 0) {
				if (!told[c] && s->collinear)
					s->collinear(s->ctx, c);
				told[c] = 1;
				continue;
			}
			if (trial.bic < lowest) {
				lowest = trial.bic;
				chosen = c;
				swap_fits(&trial, &best);
			}
		}
		if (chosen < 0)
			break;
		memcpy(next, s->terms, s->nterms * sizeof *next);
		next[s->nterms] = chosen;
		nnext = s->nterms + 1;
		prune(s, &best, next, &nnext);
		if (nnext == s->nterms)
			break;
		memcpy(s->terms, next, nnext * sizeof *next);
		s->nterms = nnext;
		swap_fits(&s->model, &best);
		used[chosen] = 1;
		left--;
	}
	og_ols_free(&trial);
	og_ols_free(&best);
	free(used);
	free(told);
	free(next);
}

void
og_stepwise_free(struct og_stepwise *s)
{
	og_ols_free(&s->model);
	free(s->ones);
	free(s->cols);
	free(s->terms);
}
