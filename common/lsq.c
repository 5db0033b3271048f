/* lsq.c: linear least squares by Householder QR.
 *
 * X = QR is built one column at a time, each reflection applied to the
 * later columns and to y as it is made, so Q is never stored: the
 * coefficients come from R and Q'y by back substitution, and (X'X)^-1 =
 * R^-1 R^-T from R's inverse.  Unlike the normal equations X'X b = X'y,
 * whose condition is the square of X's, this loses no more digits than
 * the problem itself has to lose, which matters for regressors as alike
 * as degree days on two bases.  The residuals are computed from the
 * original columns, y - Xb, as statsmodels computes them. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "og.h"

/* the Euclidean norm of x[0..n), scaled so that no square overflows */
static double
norm2(const double *x, size_t n)
{
	double scale = 0, sum = 0, a;
	size_t i;

	for (i = 0; i < n; i++)
		if (fabs(x[i]) > scale)
			scale = fabs(x[i]);
	if (scale == 0 || isinf(scale))
		return scale;
	for (i = 0; i < n; i++) {
		a = x[i] / scale;
		sum += a * a;
	}
	return scale * sqrt(sum);
}

static void
reserve(struct og_lsq *f, size_t n, size_t p)
{
	if (n * p > f->cap_a) {
		f->cap_a = n * p;
		f->a = og_reallocarray(f->a, n, p * sizeof *f->a);
	}
	if (n > f->cap_n) {
		f->cap_n = n;
		f->qty = og_reallocarray(f->qty, n, sizeof *f->qty);
		f->resid = og_reallocarray(f->resid, n, sizeof *f->resid);
	}
	if (p > f->cap_p) {
		f->cap_p = p;
		f->coef = og_reallocarray(f->coef, p, sizeof *f->coef);
		f->rinv = og_reallocarray(f->rinv, p, p * sizeof *f->rinv);
	}
	f->n = n;
	f->p = p;
}

/* Applies the reflection I - 2 v v' / v'v, v = a[j..n) with its first
 * element replaced by v0, to x[j..n). */
static void
reflect(const double *a, double v0, double vv, double *x, size_t j,
    size_t n)
{
	double s = v0 * x[j];
	size_t i;

	for (i = j + 1; i < n; i++)
		s += a[i] * x[i];
	s = 2 * s / vv;
	x[j] -= s * v0;
	for (i = j + 1; i < n; i++)
		x[i] -= s * a[i];
}

int
og_lsq_fit(struct og_lsq *f, const double *const *cols, size_t p,
    const double *y, size_t n, double tol)
{
	double *a, *r, colnorm, norm, alpha, v0, vv, s;
	size_t i, j, k;

	reserve(f, n, p);
	if (n < p)
		return (int)n;
	for (j = 0; j < p; j++)
		memcpy(f->a + j * n, cols[j], n * sizeof *f->a);
	memcpy(f->qty, y, n * sizeof *f->qty);

	for (j = 0; j < p; j++) {
		a = f->a + j * n;
		colnorm = norm2(cols[j], n);
		norm = norm2(a + j, n - j);
		if (!(norm > tol * colnorm))	/* also nan, and 0 <= 0 */
			return (int)j;
		alpha = a[j] > 0 ? -norm : norm;
		v0 = a[j] - alpha;
		vv = v0 * v0;
		for (i = j + 1; i < n; i++)
			vv += a[i] * a[i];
		for (k = j + 1; k < p; k++)
			reflect(a, v0, vv, f->a + k * n, j, n);
		reflect(a, v0, vv, f->qty, j, n);
		a[j] = alpha;	/* R's diagonal; below it, v */
	}

	/* R b = (Q'y)[0..p) */
	for (j = p; j-- > 0;) {
		s = f->qty[j];
		for (k = j + 1; k < p; k++)
			s -= f->a[k * n + j] * f->coef[k];
		f->coef[j] = s / f->a[j * n + j];
	}
	/* R^-1, column by column; rinv[k * p + j] is row j, column k */
	r = f->rinv;
	memset(r, 0, p * p * sizeof *r);
	for (k = 0; k < p; k++) {
		r[k * p + k] = 1 / f->a[k * n + k];
		for (j = k; j-- > 0;) {
			s = 0;
			for (i = j + 1; i <= k; i++)
				s += f->a[i * n + j] * r[k * p + i];
			r[k * p + j] = -s / f->a[j * n + j];
		}
	}
	f->ssr = 0;
	for (i = 0; i < n; i++) {
		s = y[i];
		for (j = 0; j < p; j++)
			s -= cols[j][i] * f->coef[j];
		f->resid[i] = s;
		f->ssr += s * s;
	}
	return -1;
}

double
og_lsq_cov(const struct og_lsq *f, size_t j, size_t k)
{
	const double *r = f->rinv;
	size_t p = f->p, m, from = j > k ? j : k;
	double s = 0;

	for (m = from; m < p; m++)
		s += r[m * p + j] * r[m * p + k];
	return s;
}

double
og_lsq_leverage(const struct og_lsq *f, const double *x)
{
	const double *r = f->rinv;
	size_t p = f->p, j, k;
	double s, sum = 0;

	for (k = 0; k < p; k++) {
		s = 0;
		for (j = 0; j <= k; j++)
			s += r[k * p + j] * x[j];
		sum += s * s;
	}
	return sum;
}

void
og_lsq_free(struct og_lsq *f)
{
	free(f->a);
	free(f->qty);
	free(f->resid);
	free(f->coef);
	free(f->rinv);
	memset(f, 0, sizeof *f);
}
