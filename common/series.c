/* series.c: the open buckets of every key, fed samples, counter readings
 * or partial states, and closed as their key's time moves past them.
 *
 * Memory is one entry per key plus its open buckets.  A key's bucket is
 * written (handed to the emit callback) once a sample of that key arrives
 * in a later bucket, so input in time order per key, however keys are
 * interleaved, streams in bounded memory; samples within the open buckets
 * may come in any order.  A sample in a bucket already written is an
 * error, unless the buckets are held to the end (hold). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "og.h"

void
og_series_init(struct og_series_set *set)
{
	memset(set, 0, sizeof *set);
}

static struct og_series *
series_get(struct og_series_set *set, const char *key, size_t len)
{
	struct og_series *k = set->last;
	uint64_t h;
	size_t probe = 0, i;

	set->run = set->fast_run = 0;
	if (k && k->keylen == len && memcmp(k->key, key, len) == 0)
		return k;
	h = og_hash(key, len);
	while (og_table_next(&set->table, h, &probe, &i)) {
		k = set->order[i];
		if (k->keylen == len && memcmp(k->key, key, len) == 0)
			return set->last = k;
	}
	k = og_calloc(1, sizeof *k);
	k->key = og_strndup(key, len);
	k->keylen = len;
	k->written = INT64_MIN;
	k->reversible = -1;
	set->order = og_reallocarray(set->order, set->n + 1, sizeof *set->order);
	set->order[set->n] = k;
	og_table_add(&set->table, h, set->n++);
	return set->last = k;
}

static int64_t
bucket_start(struct og_series_set *set, int64_t t)
{
	if (set->profile)
		return og_time_of_day(t) / set->profile * set->profile;
	return og_interval_start(&set->iv, t);
}

static int64_t
bucket_end(struct og_series_set *set, int64_t start)
{
	if (set->profile)
		return start + set->profile;
	return og_interval_next(&set->iv, start);
}

/* The start of t's bucket, read off k's newest open bucket when that holds
 * t: calendar buckets cost calls to localtime, so their edges are computed
 * once per bucket, not once per sample. */
static int64_t
start_of(struct og_series_set *set, struct og_series *k, int64_t t)
{
	struct og_state *newest;

	if (k->nopen && !set->profile) {
		newest = &k->open[k->nopen - 1];
		if (t >= newest->start && t < newest->end)
			return newest->start;
	}
	return bucket_start(set, t);
}

static void
close_before(struct og_series_set *set, struct og_series *k, int64_t start)
{
	size_t i, n;

	for (n = 0; n < k->nopen && k->open[n].start < start; n++) {
		set->emit(set->ctx, k, &k->open[n]);
		k->written = k->open[n].end;
		og_state_free(&k->open[n]);
	}
	if (n > 0) {
		for (i = n; i < k->nopen; i++)
			k->open[i - n] = k->open[i];
		k->nopen -= n;
	}
}

/* The open bucket of k starting at start; NULL if it was written. */
static struct og_state *
bucket(struct og_series_set *set, struct og_series *k, int64_t start)
{
	size_t lo = 0, hi, i;

	if (k->nopen && k->open[k->nopen - 1].start == start)
		return &k->open[k->nopen - 1];
	if (start < k->written)
		return NULL;
	if (!set->hold && !set->profile)
		close_before(set, k, start);
	for (hi = k->nopen; lo < hi;) {
		size_t mid = (lo + hi) / 2;

		if (k->open[mid].start < start)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < k->nopen && k->open[lo].start == start)
		return &k->open[lo];
	if (k->nopen == k->capopen) {
		k->capopen = k->capopen ? 2 * k->capopen : 4;
		k->open = og_reallocarray(k->open, k->capopen, sizeof *k->open);
	}
	for (i = k->nopen; i > lo; i--)
		k->open[i] = k->open[i - 1];
	k->nopen++;
	og_state_init(&k->open[lo], start, bucket_end(set, start));
	if (lo == k->nopen - 1 && set->opened && !set->hold && !set->profile)
		set->opened(set->ctx, k, start);
	return &k->open[lo];
}

static void
late(struct og_record *r, const char *name, uintmax_t line)
{
	og_die("%s:%ju: time %lld of key '%.*s' falls in a bucket already written "
	    "(sort the input by time per key, or use -u)", name, line,
	    (long long)r->time, (int)r->keylen, r->key);
}

/* q(x): the part of the change delta from t0 to x, linear in time */
static double
share(double delta, int64_t t0, int64_t t1, int64_t x)
{
	if (x == t1)
		return delta;
	return delta * ((double)(x - t0) / (double)(t1 - t0));
}

/* A fall of a counter is export when the counter is reversible and falls
 * no faster than set->max_fall units an hour; any other fall is a reset
 * (a meter replaced or reflashed), across which consumption is unknown. */
static int
is_export(struct og_series_set *set, struct og_series *k, int64_t t0,
    double c0, int64_t t1, double c1)
{
	return k->reversible && t1 > t0 &&
	    (c0 - c1) * 3600 <= set->max_fall * (double)(t1 - t0);
}

/* The counter went from c0 at t0 to c1 at t1: spread the change over the
 * buckets it spans, in proportion to the time of each that it covers.
 * Across a reset, or a gap longer than set->gap when one is set, the
 * consumption is unknown: the buckets it spans get nothing from it, and
 * those wholly inside it print nan. */
static void
counter_segment(struct og_series_set *set, struct og_series *k, int64_t t0,
    double c0, int64_t t1, double c1)
{
	double delta = c1 - c0;
	int known = (!set->gap || t1 - t0 <= set->gap) &&
	    (delta >= 0 || is_export(set, k, t0, c0, t1, c1));
	int64_t s, e, a, b;
	struct og_state *st;

	if (t1 == t0) {
		if (delta > 0 && (st = bucket(set, k, start_of(set, k, t1))))
			og_state_add(st, t1, delta, 0);
		return;
	}
	for (s = start_of(set, k, t0); s < t1; s = e) {
		if (!(st = bucket(set, k, s)))
			og_die("counter bucket %lld already written",
			    (long long)s);
		e = st->end;
		if (!known)
			continue;
		a = s > t0 ? s : t0;
		b = e < t1 ? e : t1;
		og_state_add(st, a, share(delta, t0, t1, b) -
		    share(delta, t0, t1, a), 0);
		st->covered += b - a;
	}
}

/* far enough from the ends of int64 that bucket edges and gaps fit */
#define TIME_LIMIT ((int64_t)1 << 61)

static void
check_time(struct og_record *r, const char *name, uintmax_t line)
{
	if (r->time < -TIME_LIMIT || r->time > TIME_LIMIT)
		og_die("%s:%ju: time %lld too far from 1970 for buckets", name,
		    line, (long long)r->time);
}

static void __attribute__((noinline))
sample(struct og_series_set *set, struct og_record *r, const char *name,
    uintmax_t line)
{
	struct og_series *k;
	struct og_state *st;

	check_time(r, name, line);
	if (r->run && r->run == set->run)
		k = set->last;
	else
		k = series_get(set, r->key, r->keylen);
	set->run = r->run;
	set->fast_run = set->counter || set->window || set->profile ? 0 :
	    r->run;

	if (set->counter) {
		if (isnan(r->value))
			return;
		if (k->has_last && r->time < k->last_t)
			og_die("%s:%ju: time %lld of key '%.*s' before %lld "
			    "(-d needs each key in time order)", name, line,
			    (long long)r->time, (int)r->keylen, r->key,
			    (long long)k->last_t);
		if (!k->has_last && k->reversible < 0)
			k->reversible = set->reversible ?
			    set->reversible(set->ctx, k) : 0;
		if (k->has_last)
			counter_segment(set, k, k->last_t, k->last_c, r->time,
			    r->value);
		k->has_last = 1;
		k->last_t = r->time;
		k->last_c = r->value;
		return;
	}
	if (set->window && !og_window_has(&set->win, r->time))
		return;
	if (k->nopen && !set->profile && r->time >= k->open[k->nopen - 1].start &&
	    r->time < k->open[k->nopen - 1].end)
		st = &k->open[k->nopen - 1];
	else if (!(st = bucket(set, k, bucket_start(set, r->time))))
		late(r, name, line);
	og_state_add(st, r->time, r->value, set->keep_samples);
}

/*
 * A sample of the run before, with no counter, window or profile, that
 * falls in its key's newest bucket (inside the range check_time allows,
 * as the bucket is), goes straight to that bucket.
 */
void
og_series_sample(struct og_series_set *set, struct og_record *r,
    const char *name, uintmax_t line)
{
	struct og_state *st;

	if (r->run == set->fast_run && r->run) {
		st = &set->last->open[set->last->nopen - 1];
		if (r->time >= st->start && r->time < st->end) {
			if (set->sums_only)
				og_state_add_sum(st, r->value);
			else
				og_state_add(st, r->time, r->value,
				    set->keep_samples);
			return;
		}
	}
	sample(set, r, name, line);
}

/* --merge: a partial state for key at start, or with in NULL the mark
 * that the key moved on to the bucket at start */
void
og_series_state(struct og_series_set *set, struct og_record *r,
    struct og_state *in, const char *name, uintmax_t line)
{
	struct og_series *k;
	struct og_state *st;
	int64_t start = r->time;

	check_time(r, name, line);
	k = series_get(set, r->key, r->keylen);
	if (set->profile ? start < 0 || start >= 86400 ||
	    start % set->profile != 0 :
	    og_interval_start(&set->iv, start) != start)
		og_die("%s:%ju: %lld is not the start of a bucket", name, line,
		    (long long)start);
	if (!(st = bucket(set, k, start)))
		late(r, name, line);
	if (in)
		og_state_merge(st, in);
}

void
og_series_finish(struct og_series_set *set)
{
	struct og_series *k;
	size_t i;

	for (i = 0; i < set->n; i++) {
		k = set->order[i];
		close_before(set, k, INT64_MAX);
		free(k->open);
		free(k->key);
		free(k);
	}
	free(set->order);
	og_table_free(&set->table);
	memset(set, 0, sizeof *set);
}
