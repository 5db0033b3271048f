/* degday.c: degree days from daily mean temperatures, as opengrid's
 * compute_degree_days defines them.
 *
 * The temperature equivalent of a day is 0.6 T(d) + 0.3 T(d-1) +
 * 0.1 T(d-2), in that order of additions, as pandas evaluates it; it is
 * nan for a key's first two days and wherever one of the three means is
 * nan.  A day between two days of a key that has no mean (no samples at
 * all) is written with nan too, as pandas' resample gives it a row of nan,
 * and so are the two days after it.  Heating degree days are b - teq,
 * cooling degree days teq - b, 0 where negative, nan where teq is nan. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "og.h"

#define BASE_NAME_MAX 64

struct og_degday_key {
	char *key;
	size_t keylen;
	int64_t day;		/* the start of the last day written */
	double t1, t2;		/* its mean and the mean of the day before */
};

void
og_degday_init(struct og_degday *d,
    void (*out)(const char *key, size_t keylen, int64_t t, double v))
{
	memset(d, 0, sizeof *d);
	d->out = out;
}

const char *
og_degday_bases(struct og_degday *d, const char *list, int cooling,
    char *why, size_t whysize)
{
	const char *p = list, *end;
	struct og_degday_base *b;
	size_t len, i;
	double v;

	for (;;) {
		end = strchr(p, ',');
		len = end ? (size_t)(end - p) : strlen(p);
		if (len == 0 || len > BASE_NAME_MAX ||
		    og_parse_value(p, len, &v) < 0 || !isfinite(v)) {
			snprintf(why, whysize, "bad base '%.*s' (a temperature "
			    "such as 16.5)", (int)(len > BASE_NAME_MAX ?
			    BASE_NAME_MAX : len), p);
			return why;
		}
		d->bases = og_reallocarray(d->bases, d->nbases + 1,
		    sizeof *d->bases);
		b = &d->bases[d->nbases];
		b->value = v;
		b->cooling = cooling;
		b->namelen = snprintf(b->name, sizeof b->name, "/%s_%.*s",
		    cooling ? "CDD" : "HDD", (int)len, p);
		for (i = 0; i < d->nbases; i++)
			if (strcmp(d->bases[i].name, b->name) == 0) {
				snprintf(why, whysize, "base '%.*s' given "
				    "twice", (int)len, p);
				return why;
			}
		d->nbases++;
		if (!end)
			return NULL;
		p = end + 1;
	}
}

static struct og_degday_key *
find(struct og_degday *d, const char *key, size_t len)
{
	struct og_degday_key *k;
	uint64_t h = og_hash(key, len);
	size_t probe = 0, i;

	while (og_table_next(&d->table, h, &probe, &i)) {
		k = d->keys[i];
		if (k->keylen == len && memcmp(k->key, key, len) == 0)
			return k;
	}
	k = og_calloc(1, sizeof *k);
	k->key = og_strndup(key, len);
	k->keylen = len;
	k->day = INT64_MIN;
	k->t1 = k->t2 = NAN;
	d->keys = og_reallocarray(d->keys, d->n + 1, sizeof *d->keys);
	d->keys[d->n] = k;
	og_table_add(&d->table, h, d->n++);
	return k;
}

static void
write_day(struct og_degday *d, struct og_degday_key *k, int64_t day,
    double mean)
{
	static const char teqname[] = "/temp_equivalent";
	char key[OG_KEY_MAX + 1];
	struct og_degday_base *b;
	double teq, dd;
	size_t i;

	teq = 0.6 * mean + 0.3 * k->t1 + 0.1 * k->t2;
	memcpy(key, k->key, k->keylen);
	memcpy(key + k->keylen, teqname, sizeof teqname - 1);
	d->out(key, k->keylen + sizeof teqname - 1, day, teq);
	for (i = 0; i < d->nbases; i++) {
		b = &d->bases[i];
		dd = b->cooling ? teq - b->value : b->value - teq;
		if (dd < 0)
			dd = 0;
		memcpy(key + k->keylen, b->name, b->namelen);
		d->out(key, k->keylen + b->namelen, day, dd);
	}
	k->t2 = k->t1;
	k->t1 = mean;
	k->day = day;
}

void
og_degday_add(struct og_degday *d, const char *key, size_t keylen,
    int64_t day, double mean)
{
	static const struct og_interval oneday = { OG_DAYS, 1 };
	struct og_degday_key *k = find(d, key, keylen);
	size_t i, longest = sizeof "/temp_equivalent" - 1;
	int64_t t;

	if (k->day == INT64_MIN) {
		for (i = 0; i < d->nbases; i++)
			if (d->bases[i].namelen > longest)
				longest = d->bases[i].namelen;
		if (keylen + longest > OG_KEY_MAX)
			og_die("key '%.*s' too long for its degree-day keys "
			    "(%d bytes at most)", (int)keylen, key,
			    OG_KEY_MAX - (int)longest);
	} else {
		if (day <= k->day)
			og_die("degree days: day %lld of key '%s' after %lld",
			    (long long)day, k->key, (long long)k->day);
		for (t = og_interval_next(&oneday, k->day); t < day;
		    t = og_interval_next(&oneday, t))
			write_day(d, k, t, NAN);
	}
	write_day(d, k, day, mean);
}

void
og_degday_free(struct og_degday *d)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		free(d->keys[i]->key);
		free(d->keys[i]);
	}
	free(d->keys);
	og_table_free(&d->table);
	free(d->bases);
	memset(d, 0, sizeof *d);
}
