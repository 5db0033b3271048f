/* ols.c: ordinary least squares with an intercept, and the statistics of
 * the fit as statsmodels' OLS reports them: standard errors and two-sided
 * p-values of Student's t, R^2 about the mean, the Gaussian
 * log-likelihood with the information criteria that count the
 * coefficients (not the variance), and wls_prediction_std's interval for
 * a new observation, whose variance is the residual variance plus the
 * variance of the fitted mean. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "og.h"

/* A column whose part that the columns before it do not explain is below
 * this fraction of its length is taken as their linear combination. */
#define COLLINEAR 1e-9

int
og_ols_fit(struct og_ols *m, const double *const *cols, size_t p,
    const double *y, size_t n)
{
	double mean = 0, tss = 0, d, nd = (double)n;
	size_t i, j;
	int bad;

	if ((bad = og_lsq_fit(&m->lsq, cols, p, y, n, COLLINEAR)) >= 0)
		return bad;
	if (p > m->cap) {
		m->cap = p;
		m->se = og_reallocarray(m->se, p, sizeof *m->se);
		m->pvalue = og_reallocarray(m->pvalue, p, sizeof *m->pvalue);
	}
	m->n = n;
	m->p = p;
	m->coef = m->lsq.coef;
	m->ssr = m->lsq.ssr;
	m->df_resid = nd - (double)p;
	m->scale = m->ssr / m->df_resid;
	for (j = 0; j < p; j++) {
		m->se[j] = sqrt(m->scale * og_lsq_cov(&m->lsq, j, j));
		m->pvalue[j] = og_t_tail2(m->coef[j] / m->se[j], m->df_resid);
	}
	for (i = 0; i < n; i++)
		mean += y[i];
	mean /= nd;
	for (i = 0; i < n; i++) {
		d = y[i] - mean;
		tss += d * d;
	}
	m->r2 = 1 - m->ssr / tss;
	m->adj_r2 = 1 - (nd - 1) / m->df_resid * (1 - m->r2);
	m->llf = -nd / 2 * (log(2 * M_PI * m->ssr / nd) + 1);
	m->aic = -2 * m->llf + 2 * (double)p;
	m->bic = -2 * m->llf + log(nd) * (double)p;
	return -1;
}

void
og_ols_predict(const struct og_ols *m, const double *x, double tq,
    double *pred, double *lo, double *hi)
{
	double v = 0, sd;
	size_t j;

	for (j = 0; j < m->p; j++)
		v += m->coef[j] * x[j];
	sd = sqrt(m->scale + m->scale * og_lsq_leverage(&m->lsq, x));
	*pred = v;
	*lo = v - tq * sd;
	*hi = v + tq * sd;
}

void
og_ols_free(struct og_ols *m)
{
	og_lsq_free(&m->lsq);
	free(m->se);
	free(m->pvalue);
	memset(m, 0, sizeof *m);
}
