/* tdist.c: Student's t distribution, for p-values and prediction
 * intervals.
 *
 * Its tail is a regularized incomplete beta function,
 * P(|T| > t) = I_x(df/2, 1/2) with x = df / (df + t^2), evaluated by its
 * continued fraction (Abramowitz and Stegun 26.5.8) with the modified
 * Lentz method, on the side of the symmetry I_x(a,b) = 1 - I_{1-x}(b,a)
 * where it converges fast.  x and 1 - x are both computed from t, so that
 * neither loses digits to a subtraction.  The quantile is found by Newton's
 * method on the tail, kept inside a bracket by bisection. */
#include <float.h>
#include <math.h>

#include "og.h"

#define CF_TINY 1e-300
#define CF_EPS 1e-16
#define CF_MAX 100000

/* The continued fraction of I_x(a,b) / (x^a y^b / (a B(a,b))), y = 1 - x;
 * fast for x < (a + 1) / (a + b + 2).  Near that bound its first term
 * 1 - (a + b) x / (a + 1) is a small difference, taken from y instead
 * when that has no subtraction. */
static double
beta_fraction(double a, double b, double x, double y)
{
	double c = 1, d, f, num, delta = 0;
	int m, k;

	if (b <= 1)
		d = (1 - b + (a + b) * y) / (a + 1);
	else
		d = 1 - (a + b) * x / (a + 1);
	if (fabs(d) < CF_TINY)
		d = CF_TINY;
	d = 1 / d;
	f = d;
	for (m = 1; m <= CF_MAX; m++) {
		for (k = 0; k < 2; k++) {
			if (k == 0)	/* d_2m */
				num = m * (b - m) * x /
				    ((a + 2 * m - 1) * (a + 2 * m));
			else		/* d_2m+1 */
				num = -(a + m) * (a + b + m) * x /
				    ((a + 2 * m) * (a + 2 * m + 1));
			d = 1 + num * d;
			if (fabs(d) < CF_TINY)
				d = CF_TINY;
			c = 1 + num / c;
			if (fabs(c) < CF_TINY)
				c = CF_TINY;
			d = 1 / d;
			delta = c * d;
			f *= delta;
		}
		if (fabs(delta - 1) < CF_EPS)
			break;
	}
	return f;
}

/* lgamma(x) less Stirling's approximation (x - 1/2) log x - x +
 * log(2 pi) / 2, for x >= 100, where four terms of its series are exact
 * to the last bit */
static double
stirling_rest(double x)
{
	double r = 1 / (x * x);

	return (1.0 / 12 - r * (1.0 / 360 - r * (1.0 / 1260 -
	    r / 1680))) / x;
}

/* log B(a,b).  For the many degrees of freedom of long series, lgamma's
 * of large arguments would cancel to a few digits: Stirling's terms are
 * taken apart instead, so that only small numbers are subtracted. */
static double
lbeta(double a, double b)
{
	double big = a > b ? a : b, small = a > b ? b : a;

	if (big < 100)
		return lgamma(a) + lgamma(b) - lgamma(a + b);
	return lgamma(small) - (big - 0.5) * log1p(small / big) -
	    small * log(big + small) + small + stirling_rest(big) -
	    stirling_rest(big + small);
}

/* I_x(a,b) with y = 1 - x, and log x and log y, given to full
 * precision: a log x is large for large a, so an error of one unit in
 * the last place of x near 1 would cost digits */
static double
betainc(double a, double b, double x, double y, double logx, double logy)
{
	double lfront;

	if (isnan(x) || isnan(y) || a <= 0 || b <= 0)
		return NAN;
	if (x <= 0)
		return 0;
	if (y <= 0)
		return 1;
	lfront = a * logx + b * logy - lbeta(a, b);
	if (x < (a + 1) / (a + b + 2))
		return exp(lfront) * beta_fraction(a, b, x, y) / a;
	return 1 - exp(lfront) * beta_fraction(b, a, y, x) / b;
}

double
og_betainc(double a, double b, double x)
{
	return betainc(a, b, x, 1 - x, log(x), log1p(-x));
}

double
og_t_tail2(double t, double df)
{
	double t2 = t * t, r = t2 / df;

	if (isnan(t) || isnan(df) || df <= 0)
		return NAN;
	if (isinf(t2))
		return 0;
	/* x = df / (df + t^2) = 1 / (1 + r) */
	return betainc(df / 2, 0.5, df / (df + t2), t2 / (df + t2),
	    -log1p(r), log(r) - log1p(r));
}

double
og_t_cdf(double t, double df)
{
	double half = og_t_tail2(t, df) / 2;

	return t < 0 ? half : 1 - half;
}

static double
og_t_pdf(double t, double df)
{
	return exp(-lbeta(df / 2, 0.5) - 0.5 * log(df) -
	    (df + 1) / 2 * log1p(t * t / df));
}

/* the upper q-quantile of the standard normal distribution, to about
 * 5e-4 (Abramowitz and Stegun 26.2.23): a starting point only */
static double
normal_start(double q)
{
	double s = sqrt(-2 * log(q));

	return s - (2.515517 + 0.802853 * s + 0.010328 * s * s) /
	    (1 + 1.432788 * s + 0.189269 * s * s + 0.001308 * s * s * s);
}

double
og_t_isf(double q, double df)
{
	double lo = 0, hi, t, z, tail, step;
	int i;

	if (isnan(q) || isnan(df) || df <= 0 || q <= 0 || q >= 1)
		return NAN;
	if (q > 0.5)
		return -og_t_isf(1 - q, df);
	if (q == 0.5)
		return 0;
	z = normal_start(q);
	t = z + (z * z * z + z) / (4 * df);
	for (hi = t > 1 ? t : 1; og_t_tail2(hi, df) / 2 > q; hi *= 2)
		if (isinf(hi))
			return INFINITY;
	if (!(t > lo && t < hi))
		t = (lo + hi) / 2;
	for (i = 0; i < 2000; i++) {
		tail = og_t_tail2(t, df) / 2;
		if (tail > q)
			lo = t;
		else
			hi = t;
		step = (tail - q) / og_t_pdf(t, df);
		if (!(t + step > lo && t + step < hi))
			step = (lo + hi) / 2 - t;
		t += step;
		if (fabs(step) <= 4 * DBL_EPSILON * t || hi - lo <= 4 *
		    DBL_EPSILON * hi)
			break;
	}
	return t;
}
