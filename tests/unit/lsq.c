/* lsq: least squares by Householder QR (common/lsq.c) and the OLS
 * statistics on it (common/ols.c), on problems with certified answers. */
#include <math.h>
#include <stdio.h>

#include "og.h"

static int failed;

static void
near(const char *what, double got, double want, double rel, double abs_)
{
	double err = fabs(got - want);

	if (!(err <= abs_ || err <= rel * fabs(want))) {
		printf("%s: got %.17g, want %.17g (error %.3g)\n", what, got,
		    want, err);
		failed++;
	}
}

/*
 * Longley's employment data with NIST's certified regression statistics:
 * NIST Statistical Reference Datasets, Linear Least Squares Regression,
 * "Longley" (higher difficulty), https://www.itl.nist.gov/div898/strd/lls/
 * data/Longley.shtml.  y = TOTEMP; x1..x6 = GNPDEFL, GNP, UNEMP, ARMED,
 * POP, YEAR.  The certified values are exact to 15 digits; QR gets 12
 * or more of them (statsmodels' pinv 11).
 */
static const double longley[16][7] = {
	{ 60323, 83.0, 234289, 2356, 1590, 107608, 1947 },
	{ 61122, 88.5, 259426, 2325, 1456, 108632, 1948 },
	{ 60171, 88.2, 258054, 3682, 1616, 109773, 1949 },
	{ 61187, 89.5, 284599, 3351, 1650, 110929, 1950 },
	{ 63221, 96.2, 328975, 2099, 3099, 112075, 1951 },
	{ 63639, 98.1, 346999, 1932, 3594, 113270, 1952 },
	{ 64989, 99.0, 365385, 1870, 3547, 115094, 1953 },
	{ 63761, 100.0, 363112, 3578, 3350, 116219, 1954 },
	{ 66019, 101.2, 397469, 2904, 3048, 117388, 1955 },
	{ 67857, 104.6, 419180, 2822, 2857, 118734, 1956 },
	{ 68169, 108.4, 442769, 2936, 2798, 120445, 1957 },
	{ 66513, 110.8, 444546, 4681, 2637, 121950, 1958 },
	{ 68655, 112.6, 482704, 3813, 2552, 123366, 1959 },
	{ 69564, 114.2, 502601, 3931, 2514, 125368, 1960 },
	{ 69331, 115.7, 518173, 4806, 2572, 127852, 1961 },
	{ 70551, 116.9, 554894, 4007, 2827, 130081, 1962 },
};
static const double longley_coef[7] = { -3482258.63459582, 15.0618722713733,
	-0.358191792925910E-01, -2.02022980381683, -1.03322686717359,
	-0.511041056535807E-01, 1829.15146461355 };
static const double longley_se[7] = { 890420.383607373, 84.9149257747669,
	0.334910077722432E-01, 0.488399681651699, 0.214274163161675,
	0.226073200069370, 455.478499142212 };
static const double longley_sd = 304.854073561965;
static const double longley_r2 = 0.995479004577296;

static void
test_longley(void)
{
	static double col[7][16], y[16];
	const double *cols[7];
	struct og_ols m = { 0 };
	char what[64];
	double h = 0, x[7];
	size_t i, j;

	for (i = 0; i < 16; i++) {
		y[i] = longley[i][0];
		col[0][i] = 1;
		for (j = 1; j < 7; j++)
			col[j][i] = longley[i][j];
	}
	for (j = 0; j < 7; j++)
		cols[j] = col[j];
	if (og_ols_fit(&m, cols, 7, y, 16) != -1) {
		printf("Longley: columns taken as collinear\n");
		failed++;
		return;
	}
	for (j = 0; j < 7; j++) {
		snprintf(what, sizeof what, "Longley b%zu", j);
		near(what, m.coef[j], longley_coef[j], 1e-11, 0);
		snprintf(what, sizeof what, "Longley se(b%zu)", j);
		near(what, m.se[j], longley_se[j], 1e-11, 0);
	}
	near("Longley residual sd", sqrt(m.scale), longley_sd, 1e-12, 0);
	near("Longley R^2", m.r2, longley_r2, 1e-13, 0);
	near("Longley df", m.df_resid, 9, 0, 0);
	/* the hat matrix's trace is the number of coefficients */
	for (i = 0; i < 16; i++) {
		for (j = 0; j < 7; j++)
			x[j] = cols[j][i];
		h += og_lsq_leverage(&m.lsq, x);
	}
	near("Longley trace of the hat matrix", h, 7, 1e-10, 0);
	og_ols_free(&m);
}

/*
 * NIST StRD "Wampler1": y = 1 + x + x^2 + x^3 + x^4 + x^5 at x = 0..20,
 * an exact fit whose certified coefficients are all 1 and residuals 0;
 * the columns' condition number is about 5e6, so the normal equations
 * would square it.
 */
static void
test_wampler1(void)
{
	static double col[6][21], y[21];
	const double *cols[6];
	struct og_lsq f = { 0 };
	char what[64];
	size_t i, j;

	for (i = 0; i < 21; i++) {
		y[i] = 0;
		for (j = 0; j < 6; j++) {
			col[j][i] = pow((double)i, (double)j);
			y[i] += col[j][i];
		}
	}
	for (j = 0; j < 6; j++)
		cols[j] = col[j];
	if (og_lsq_fit(&f, cols, 6, y, 21, 1e-9) != -1) {
		printf("Wampler1: columns taken as collinear\n");
		failed++;
		return;
	}
	for (j = 0; j < 6; j++) {
		snprintf(what, sizeof what, "Wampler1 b%zu", j);
		near(what, f.coef[j], 1, 1e-9, 0);
	}
	near("Wampler1 sum of squares", f.ssr, 0, 0, 1e-12);
	og_lsq_free(&f);
}

/* y = 2 + 3x + e by hand: x = 1..5, e = 0.1, -0.1, 0, 0.1, -0.1;
 * x mean 3, Sxx = 10, Sxy = 30 + sum (x - 3) e = 30 - 0.1 - 0 + ... */
static void
test_line(void)
{
	double ones[5] = { 1, 1, 1, 1, 1 }, x[5] = { 1, 2, 3, 4, 5 };
	double e[5] = { 0.1, -0.1, 0, 0.1, -0.1 }, y[5];
	const double *cols[2] = { ones, x };
	struct og_ols m = { 0 };
	double slope, icept, ssr = 0, r, row[2], pred, lo, hi, tq;
	size_t i;

	for (i = 0; i < 5; i++)
		y[i] = 2 + 3 * x[i] + e[i];
	/* sum (x - 3) e = -0.2 + 0.1 + 0 + 0.1 - 0.2 = -0.2 */
	slope = 3 + -0.2 / 10;
	icept = 2 + 0 - (slope - 3) * 3;	/* sum e = 0 */
	for (i = 0; i < 5; i++) {
		r = y[i] - icept - slope * x[i];
		ssr += r * r;
	}
	if (og_ols_fit(&m, cols, 2, y, 5) != -1) {
		printf("line: taken as collinear\n");
		failed++;
		return;
	}
	near("line slope", m.coef[1], slope, 1e-14, 0);
	near("line intercept", m.coef[0], icept, 1e-14, 0);
	near("line ssr", m.ssr, ssr, 1e-12, 0);
	/* var(slope) = s^2 / Sxx, var(intercept) = s^2 (1/n + mean^2 / Sxx) */
	near("line se(slope)", m.se[1], sqrt(ssr / 3 / 10), 1e-13, 0);
	near("line se(intercept)", m.se[0], sqrt(ssr / 3 * (0.2 + 0.9)),
	    1e-13, 0);
	near("(X'X)^-1 off the diagonal", og_lsq_cov(&m.lsq, 0, 1), -0.3,
	    1e-14, 0);
	/* a new observation at x = 6: s^2 (1 + 1/n + (6 - 3)^2 / Sxx) */
	row[0] = 1;
	row[1] = 6;
	tq = og_t_isf(0.025, 3);
	og_ols_predict(&m, row, tq, &pred, &lo, &hi);
	near("prediction", pred, icept + 6 * slope, 1e-14, 0);
	near("interval", hi - pred, tq * sqrt(ssr / 3 * (1 + 0.2 + 0.9)),
	    1e-13, 0);
	near("interval", pred - lo, hi - pred, 1e-15, 0);
	/* BIC and AIC as statsmodels: -2 llf + log(n) p, -2 llf + 2 p */
	near("llf", m.llf, -2.5 * (log(2 * M_PI * ssr / 5) + 1), 1e-13, 0);
	near("bic", m.bic, -2 * m.llf + log(5.0) * 2, 1e-14, 0);
	near("aic", m.aic, -2 * m.llf + 4, 1e-14, 0);
	og_ols_free(&m);
}

/* A column that is a combination of those before it is named, not used. */
static void
test_collinear(void)
{
	double ones[6] = { 1, 1, 1, 1, 1, 1 }, a[6] = { 3, 1, 4, 1, 5, 9 };
	double b[6], zero[6] = { 0 }, y[6] = { 2, 7, 1, 8, 2, 8 };
	double h18[6], h165[6], teq[6] = { 3.2, -1.5, 7.25, 0.1, 11.7, 5 };
	const double *cols[3];
	struct og_lsq f = { 0 };
	int got;
	size_t i;

	for (i = 0; i < 6; i++) {
		b[i] = 0.3 - 2.5 * a[i];
		h18[i] = 18 - teq[i];
		h165[i] = 16.5 - teq[i];
	}
	cols[0] = ones;
	cols[1] = a;
	cols[2] = b;
	if ((got = og_lsq_fit(&f, cols, 3, y, 6, 1e-9)) != 2) {
		printf("0.3 - 2.5 a after 1 and a: got %d, want 2\n", got);
		failed++;
	}
	cols[2] = zero;
	if ((got = og_lsq_fit(&f, cols, 3, y, 6, 1e-9)) != 2) {
		printf("zeros: got %d, want 2\n", got);
		failed++;
	}
	/* degree days below both bases differ by a constant */
	cols[1] = h165;
	cols[2] = h18;
	if ((got = og_lsq_fit(&f, cols, 3, y, 6, 1e-9)) != 2) {
		printf("HDD_18 after 1 and HDD_16.5: got %d, want 2\n", got);
		failed++;
	}
	cols[1] = a;
	cols[2] = a;
	if ((got = og_lsq_fit(&f, cols, 3, y, 2, 1e-9)) != 2) {
		printf("3 columns, 2 rows: got %d, want 2\n", got);
		failed++;
	}
	/* and a fit after these is whole again */
	cols[2] = teq;
	if ((got = og_lsq_fit(&f, cols, 3, y, 6, 1e-9)) != -1) {
		printf("independent columns: got %d\n", got);
		failed++;
	}
	og_lsq_free(&f);
}

int
main(void)
{
	test_longley();
	test_wampler1();
	test_line();
	test_collinear();
	if (failed)
		printf("%d checks failed\n", failed);
	return failed != 0;
}
