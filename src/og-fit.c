/* og-fit: a linear model of one key in the others, chosen and fitted as
 * opengrid's MultiVarLinReg does, with predictions and their intervals. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "og.h"

static const char usage_text[] =
    "usage: og-fit -y KEY [-x KEY]... [-p PMAX] [-c LEVEL] [-n] [-m MODELFILE]\n"
    "              [FILE...]\n"
    "Model KEY's records as a linear function of other keys' at the same times.\n"
    "  -y KEY        the key to model (the dependent variable)\n"
    "  -x KEY        a candidate term (default: every other key)\n"
    "  -p PMAX       drop terms whose p-value is above PMAX (default 0.05)\n"
    "  -c LEVEL      prediction interval level (default 0.95)\n"
    "  -n            allow negative predictions (default: set to 0)\n"
    "  -m MODELFILE  write the model: TERM COEF STDERR PVALUE, then a summary\n"
    "  -h  this help    -V  version\n";

struct point {
	int64_t t;
	double v;
};

struct series {
	char *key;
	size_t keylen;
	int keep;
	struct point *p;
	size_t n, cap;
};

static struct series *series;	/* in order of first appearance */
static size_t nseries;
static struct og_table table;	/* of series */
static const char *ykey, **xkeys;
static size_t nxkeys;
static struct series **cand;	/* the candidates, in order */
static size_t ncand;
static int64_t *times;		/* the rows: times, */
static double *yv, **xv;	/* y and the candidates */

/* The series of key, whose hash is h, or NULL. */
static struct series *
series_of(const char *key, size_t len, uint64_t h)
{
	size_t probe = 0, i;

	while (og_table_next(&table, h, &probe, &i))
		if (series[i].keylen == len &&
		    memcmp(series[i].key, key, len) == 0)
			return &series[i];
	return NULL;
}

static int
wanted(const char *key, size_t len)
{
	size_t i;

	if (nxkeys == 0 || (strlen(ykey) == len && memcmp(ykey, key, len) == 0))
		return 1;
	for (i = 0; i < nxkeys; i++)
		if (strlen(xkeys[i]) == len && memcmp(xkeys[i], key, len) == 0)
			return 1;
	return 0;
}

static struct series *
lookup(const char *key, size_t len)
{
	uint64_t h = og_hash(key, len);
	struct series *s = series_of(key, len, h);

	if (s)
		return s;
	series = og_reallocarray(series, nseries + 1, sizeof *series);
	s = &series[nseries];
	memset(s, 0, sizeof *s);
	s->key = og_strndup(key, len);
	s->keylen = len;
	s->keep = wanted(key, len);
	og_table_add(&table, h, nseries++);
	return s;
}

/* Keeps the records of the keys wanted; a run of one key is looked up
 * once. */
static void
add(void *ctx, struct og_record *r, const struct og_reader *rd)
{
	static struct series *s;
	static uint64_t run;

	(void)ctx, (void)rd;
	if (!s || r->run != run) {
		s = lookup(r->key, r->keylen);
		run = r->run;
	}
	if (!s->keep)
		return;
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 256;
		s->p = og_reallocarray(s->p, s->cap, sizeof *s->p);
	}
	s->p[s->n].t = r->time;
	s->p[s->n++].v = r->value;
}

static int
by_time(const void *a, const void *b)
{
	const struct point *x = a, *y = b;

	return (x->t > y->t) - (x->t < y->t);
}

static void
sort_series(struct series *s)
{
	size_t i;

	for (i = 1; i < s->n && s->p[i - 1].t < s->p[i].t; i++)
		;
	if (i < s->n)
		qsort(s->p, s->n, sizeof *s->p, by_time);
	for (i = 1; i < s->n; i++)
		if (s->p[i - 1].t == s->p[i].t)
			og_die("%s: two values at time %lld", s->key,
			    (long long)s->p[i].t);
}

static struct series *
find(const char *key, const char *what)
{
	struct series *s = series_of(key, strlen(key),
	    og_hash(key, strlen(key)));

	if (!s)
		og_die("no records of %s '%s'", what, key);
	return s;
}

/* The rows: the times at which y and every candidate have a value. */
static size_t
align(struct series *y)
{
	size_t *at = og_calloc(ncand + 1, sizeof *at), i, c, n = 0;
	struct series *s;
	int64_t t;

	times = og_reallocarray(NULL, y->n + 1, sizeof *times);
	yv = og_reallocarray(NULL, y->n + 1, sizeof *yv);
	xv = og_calloc(ncand + 1, sizeof *xv);
	for (c = 0; c < ncand; c++)
		xv[c] = og_reallocarray(NULL, y->n + 1, sizeof **xv);
	for (i = 0; i < y->n; i++) {
		t = y->p[i].t;
		if (isnan(y->p[i].v))
			continue;
		for (c = 0; c < ncand; c++) {
			s = cand[c];
			while (at[c] < s->n && s->p[at[c]].t < t)
				at[c]++;
			if (at[c] == s->n || s->p[at[c]].t != t ||
			    isnan(s->p[at[c]].v))
				break;
			xv[c][n] = s->p[at[c]].v;
		}
		if (c < ncand)
			continue;
		times[n] = t;
		yv[n++] = y->p[i].v;
	}
	free(at);
	return n;
}

static void
check_varies(const char *key, const double *v, size_t n, const char *hint)
{
	char buf[OG_NUMBER_MAX];
	size_t i, len;

	for (i = 1; i < n && v[i] == v[0]; i++)
		;
	if (i == n) {
		len = og_format_value(buf, v[0]);
		og_die("%s: the same value (%.*s) at all %zu rows: nothing to "
		    "fit%s", key, (int)len, buf, n, hint);
	}
}

static void
collinear(void *ctx, size_t c)
{
	(void)ctx;
	og_warn("%s: a linear combination of the model's terms: passed over",
	    cand[c]->key);
}

static void
put_value(FILE *f, const char *before, double v)
{
	char buf[OG_NUMBER_MAX];

	fputs(before, f);
	fwrite(buf, 1, og_format_value(buf, v), f);
}

static void
write_model(const char *path, struct og_stepwise *sw)
{
	struct og_ols *m = &sw->model;
	FILE *f;
	size_t j;

	if (!(f = fopen(path, "w")))
		og_die("%s:", path);
	for (j = 0; j < m->p; j++) {
		fputs(j ? cand[sw->terms[j - 1]]->key : "Intercept", f);
		put_value(f, "\t", m->coef[j]);
		put_value(f, "\t", m->se[j]);
		put_value(f, "\t", m->pvalue[j]);
		fputc('\n', f);
	}
	fprintf(f, "# n=%zu", m->n);
	put_value(f, " r2=", m->r2);
	put_value(f, " adj_r2=", m->adj_r2);
	put_value(f, " bic=", m->bic);
	put_value(f, " aic=", m->aic);
	fputc('\n', f);
	if (fflush(f) == EOF || ferror(f))
		og_die("%s: write error:", path);
	if (fclose(f) == EOF)
		og_die("%s: write error:", path);
}

static double
parse_fraction(const char *arg, int opt, double lo, int lo_in, double hi,
    int hi_in)
{
	double v;

	if (og_parse_value(arg, strlen(arg), &v) < 0 || !(lo_in ? v >= lo :
	    v > lo) || !(hi_in ? v <= hi : v < hi))
		og_usage_error("bad -%c '%s' (%s %g %s %g)", opt, arg,
		    lo_in ? "from" : "above", lo, hi_in ? "to" : "below", hi);
	return v;
}

static int
options(int argc, char *argv[], const char **modelpath, double *pmax,
    double *level, int *negative)
{
	int c;

	while ((c = getopt_long(argc, argv, "c:hm:np:Vx:y:",
	    og_long_options, NULL)) != -1) {
		switch (c) {
		case 'c':
			*level = parse_fraction(optarg, c, 0, 0, 1, 0);
			break;
		case 'h':
			og_usage(usage_text, 0);
		case 'm':
			*modelpath = optarg;
			break;
		case 'n':
			*negative = 1;
			break;
		case 'p':
			*pmax = parse_fraction(optarg, c, 0, 0, 1, 1);
			break;
		case 'V':
			og_version();
		case 'x':
			if (!og_key_valid(optarg, strlen(optarg)))
				og_usage_error("bad key '%s'", optarg);
			xkeys = og_reallocarray(xkeys, nxkeys + 1,
			    sizeof *xkeys);
			xkeys[nxkeys++] = optarg;
			break;
		case 'y':
			ykey = optarg;
			break;
		default:
			og_usage(usage_text, OG_EXIT_USAGE);
		}
	}
	return optind;
}

static void
check_keys(void)
{
	size_t i, j, keylen;

	if (!ykey)
		og_usage(usage_text, OG_EXIT_USAGE);
	keylen = strlen(ykey);
	if (!og_key_valid(ykey, keylen))
		og_usage_error("bad key '%s'", ykey);
	if (keylen > OG_KEY_MAX - strlen("/interval_l"))
		og_usage_error("-y key longer than %zu bytes, too long for "
		    "KEY/interval_l", OG_KEY_MAX - strlen("/interval_l"));
	for (i = 0; i < nxkeys; i++) {
		if (strcmp(xkeys[i], ykey) == 0)
			og_usage_error("-x '%s' is the -y key", ykey);
		for (j = 0; j < i; j++)
			if (strcmp(xkeys[i], xkeys[j]) == 0)
				og_usage_error("-x '%s' given twice", xkeys[i]);
	}
}

/* The rows: the times at which Y and every candidate have a value; dies
 * when they are too few or a column does not vary. */
static size_t
rows(void)
{
	struct series *y;
	size_t i, n;

	y = find(ykey, "the -y key");
	cand = og_calloc(nseries + 1, sizeof *cand);
	if (nxkeys)
		for (i = 0; i < nxkeys; i++)
			cand[ncand++] = find(xkeys[i], "the -x key");
	else
		for (i = 0; i < nseries; i++)
			if (&series[i] != y)
				cand[ncand++] = &series[i];
	sort_series(y);
	for (i = 0; i < ncand; i++)
		sort_series(cand[i]);

	n = align(y);
	if (n < ncand + 2)
		og_die("%zu row%s (times at which %s and every candidate have "
		    "a value), too few for %zu term%s (the intercept and %zu "
		    "candidate%s): %zu needed", n, n == 1 ? "" : "s", ykey,
		    ncand + 1, ncand ? "s" : "", ncand, ncand == 1 ? "" : "s",
		    ncand + 2);
	check_varies(ykey, yv, n, "");
	for (i = 0; i < ncand; i++)
		check_varies(cand[i]->key, xv[i], n, nxkeys ? " (leave it out "
		    "of -x)" : " (name the candidates with -x)");
	return n;
}

/* Y/predicted, Y/interval_l and Y/interval_u at each row, the interval as
 * wls_prediction_std(alpha = 1 - level) gives it, around the prediction
 * before negative ones are set to 0 */
static void
predict(struct og_stepwise *sw, size_t n, double level, int negative)
{
	static const char *suffix[3] = { "/predicted", "/interval_l",
	    "/interval_u" };
	char key[OG_KEY_MAX + 1];
	size_t i, j, k, keylen = strlen(ykey);
	double tq, *row, out[3];

	tq = og_t_isf((1 - level) / 2, sw->model.df_resid);
	row = og_calloc(sw->nterms + 1, sizeof *row);
	memcpy(key, ykey, keylen);
	for (i = 0; i < n; i++) {
		row[0] = 1;
		for (j = 0; j < sw->nterms; j++)
			row[j + 1] = xv[sw->terms[j]][i];
		og_ols_predict(&sw->model, row, tq, &out[0], &out[1], &out[2]);
		if (!negative && out[0] < 0)
			out[0] = 0;
		for (k = 0; k < 3; k++) {
			memcpy(key + keylen, suffix[k], strlen(suffix[k]));
			og_out_record(key, keylen + strlen(suffix[k]), times[i],
			    out[k]);
		}
	}
	free(row);
}

static void
free_all(void)
{
	size_t i;

	for (i = 0; i < ncand; i++)
		free(xv[i]);
	free(xv);
	free(times);
	free(yv);
	for (i = 0; i < nseries; i++) {
		free(series[i].key);
		free(series[i].p);
	}
	free(series);
	og_table_free(&table);
	free(cand);
	free(xkeys);
}

int
main(int argc, char *argv[])
{
	struct og_stepwise sw = { 0 };
	const char *modelpath = NULL;
	double pmax = 0.05, level = 0.95;
	int i, negative = 0;

	og_setprog(argv[0]);
	i = options(argc, argv, &modelpath, &pmax, &level, &negative);
	argc -= i;
	argv += i;
	check_keys();
	og_record_loop(argc, argv, add, NULL);

	sw.n = rows();
	sw.cand = (const double *const *)xv;
	sw.ncand = ncand;
	sw.y = yv;
	sw.pmax = pmax;
	sw.collinear = collinear;
	og_stepwise_run(&sw);
	if (modelpath)
		write_model(modelpath, &sw);
	predict(&sw, sw.n, level, negative);
	og_out_close();

	og_stepwise_free(&sw);
	free_all();
	return 0;
}
