#!/usr/bin/env python3
"""An independent og-fit, for tests: the same selection, written here in
Python from its description in og-fit(1) (opengrid's MultiVarLinReg), with
every number from statsmodels: OLS, its p-values, R2, BIC and AIC, and
wls_prediction_std for the intervals.  A candidate whose column makes the
design matrix rank-deficient (numpy's matrix_rank) is passed over.

    fit_reference.py fit -y KEY [-x KEY]... [-p PMAX] [-c LEVEL] [-n]
        [-m MODELFILE] FILE...      records on stdout, as og-fit prints them
    fit_reference.py compare [--rel R] EXPECTED GOT
        records or model files: the same keys, times, terms and counts,
        numbers within R of each other, relative to max(1, |expected|)
        for records and to |expected| for model numbers
"""
import argparse
import math
import sys


def read_records(paths):
    series = {}
    for path in paths:
        with open(path) as f:
            for line in f:
                key, t, v = line.rstrip('\n').split('\t')
                series.setdefault(key, {})[int(t)] = float(v)
    return series


def fit(args):
    # here, so that compare needs no more than Python itself
    import numpy as np
    import statsmodels.api as sm
    from statsmodels.sandbox.regression.predstd import wls_prediction_std

    series = read_records(args.files)
    y = series[args.y]
    cands = args.x or [k for k in series if k != args.y]
    times = [t for t in sorted(y) if not math.isnan(y[t]) and
             all(t in series[c] and not math.isnan(series[c][t])
                 for c in cands)]
    yv = np.array([y[t] for t in times])
    cols = {c: np.array([series[c][t] for t in times]) for c in cands}

    def exog(terms):
        return np.column_stack([np.ones(len(times))] +
                               [cols[c] for c in terms])

    def ols(terms):
        return sm.OLS(yv, exog(terms)).fit()

    def prune(terms, res):
        while True:
            above = [c for j, c in enumerate(terms)
                     if res.pvalues[j + 1] > args.p]
            if not above:
                return terms, res
            terms = [c for c in terms if c != above[0]]
            res = ols(terms)

    model, res = [], ols([])
    left = list(cands)
    while left:
        best, best_res, best_bic = None, None, res.bic
        for c in left:
            x = exog(model + [c])
            if np.linalg.matrix_rank(x) < x.shape[1]:
                continue
            r = ols(model + [c])
            if r.bic < best_bic:
                best, best_res, best_bic = c, r, r.bic
        if best is None:
            break
        terms, pruned = prune(model + [best], best_res)
        if len(terms) == len(model):
            break
        model, res = terms, pruned
        left.remove(best)

    x = exog(model)
    predicted = res.predict(x)
    _, lower, upper = wls_prediction_std(res, x, alpha=1 - args.c)
    if not args.n:
        predicted = np.where(predicted < 0, 0, predicted)
    out = sys.stdout
    for i, t in enumerate(times):
        for name, v in (('predicted', predicted[i]),
                        ('interval_l', lower[i]), ('interval_u', upper[i])):
            out.write('%s/%s\t%d\t%r\n' % (args.y, name, t, float(v)))
    if args.m:
        with open(args.m, 'w') as f:
            for j, term in enumerate(['Intercept'] + model):
                f.write('%s\t%r\t%r\t%r\n' % (term, float(res.params[j]),
                        float(res.bse[j]), float(res.pvalues[j])))
            f.write('# n=%d r2=%r adj_r2=%r bic=%r aic=%r\n' % (
                res.nobs, float(res.rsquared), float(res.rsquared_adj),
                float(res.bic), float(res.aic)))


def close(a, b, rel, scale):
    a, b = float(a), float(b)
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return abs(a - b) <= rel * scale(b)


def compare(args):
    with open(args.expected) as f:
        want = f.read().splitlines()
    with open(args.got) as f:
        got = f.read().splitlines()
    bad = 0
    if len(want) != len(got):
        print('%d lines, expected %d' % (len(got), len(want)))
        return 1
    for w, g in zip(want, got):
        if w.startswith('# '):
            wf = dict(p.split('=') for p in w[2:].split())
            gf = dict(p.split('=') for p in g[2:].split())
            ok = (wf.keys() == gf.keys() and wf['n'] == gf['n'] and
                  all(close(gf[k], wf[k], args.rel, abs)
                      for k in wf if k != 'n'))
        else:
            wf, gf = w.split('\t'), g.split('\t')
            if len(wf) == 3:     # a record: KEY TIME VALUE
                ok = (wf[:2] == gf[:2] and
                      close(gf[2], wf[2], args.rel, lambda v: max(1, abs(v))))
            else:                # a term: TERM COEF STDERR PVALUE
                ok = (len(gf) == 4 and wf[0] == gf[0] and
                      all(close(gf[k], wf[k], args.rel, abs)
                          for k in (1, 2, 3)))
        if not ok:
            print('expected: %s\n     got: %s' % (w, g))
            bad += 1
    return 1 if bad else 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest='cmd', required=True)
    f = sub.add_parser('fit')
    f.add_argument('-y', required=True)
    f.add_argument('-x', action='append')
    f.add_argument('-p', type=float, default=0.05)
    f.add_argument('-c', type=float, default=0.95)
    f.add_argument('-n', action='store_true')
    f.add_argument('-m')
    f.add_argument('files', nargs='+')
    c = sub.add_parser('compare')
    c.add_argument('--rel', type=float, default=1e-9)
    c.add_argument('expected')
    c.add_argument('got')
    args = ap.parse_args()
    if args.cmd == 'fit':
        fit(args)
        return 0
    return compare(args)


if __name__ == '__main__':
    sys.exit(main())
