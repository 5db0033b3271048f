/* og-unpack: print records from a store. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "og.h"

static const char usage_text[] =
    "usage: og-unpack [-mTx] [-s START [-p]] [-e END] STORE [KEY...]\n"
    "       og-unpack -l [-T] STORE [KEY...]\n"
    "Print the records of KEYs (all keys when none) from STORE.\n"
    "  -s START  from START (inclusive; Unix seconds or ISO 8601)\n"
    "  -p        with -s, each key's last record before START too\n"
    "  -e END    until END (exclusive)\n"
    "  -m        merge keys into one stream in time order\n"
    "  -l        list KEY COUNT FIRST LAST per key\n"
    "  -T        print times as ISO 8601 in the local zone\n"
    "  -x        stop at the first damaged file\n"
    "  -h  this help    -V  version\n";

struct key {
	struct og_keyfile f;
	int bad;
	size_t first, last;	/* chunks overlapping [start, end) */
	/* the decoded chunk a merge is reading */
	int64_t *t, *d;
	double *v;
	int scale;		/* of d, or -1 */
	size_t n, i, next;
};

static struct og_store store;
static int64_t start = INT64_MIN, end = INT64_MAX;
static int has_end, has_start;	/* without -e even INT64_MAX is in range */
static int list, merge, stop_at_error, failed, previous;

/* Checks every chunk in range before any is printed, so a damaged key
 * prints nothing rather than a part. */
static void
verify(struct key *k)
{
	char why[OG_STORE_WHY];

	if (!og_keyfile_verify(&store, &k->f, k->first, k->last, why,
	    sizeof why))
		return;
	og_out_flush();
	og_warn("%s", why);
	k->bad = 1;
	failed = 1;
	if (stop_at_error) {
		og_out_close();
		exit(1);
	}
}

/* Loads the next chunk of k in range; 0 when there is none. */
static int
load_chunk(struct key *k)
{
	if (k->next >= k->last)
		return 0;
	if (!k->t) {
		k->t = og_reallocarray(NULL, OG_CHUNK_POINTS, sizeof *k->t);
		k->v = og_reallocarray(NULL, OG_CHUNK_POINTS, sizeof *k->v);
		k->d = og_reallocarray(NULL, OG_CHUNK_POINTS, sizeof *k->d);
	}
	og_keyfile_chunk(&store, &k->f, k->next++, k->t, k->v, k->d, &k->scale,
	    &k->n);
	for (k->i = 0; k->i < k->n && k->t[k->i] < start; k->i++)
		;
	/* -p: the record before START, the last of those passed over */
	if (previous && k->next == k->first + 1 && k->i > 0)
		k->i--;
	while (has_end && k->n > k->i && k->t[k->n - 1] >= end)
		k->n--;
	return 1;
}

static void
print_key(struct key *k)
{
	while (load_chunk(k))
		og_out_records(k->f.meta.key, k->f.meta.keylen, k->t + k->i,
		    k->v + k->i, k->d + k->i, k->scale, k->n - k->i);
}

static void
list_key(struct key *k)
{
	struct og_keymeta *m = &k->f.meta;
	uint64_t count = 0;
	char buf[32];
	size_t i;

	for (i = 0; i < m->nchunks; i++)
		count += m->chunks[i].count;
	og_out(m->key, m->keylen);
	og_out_char('\t');
	og_out(buf, og_format_int64(buf, (int64_t)count));
	og_out_char('\t');
	og_out_time(m->chunks[0].tmin);
	og_out_char('\t');
	og_out_time(m->chunks[m->nchunks - 1].tmax);
	og_out_char('\n');
}

/* -m: a heap of keys ordered by their next time, then by key order. */
static int
before(struct key *a, struct key *b)
{
	return a->t[a->i] < b->t[b->i] || (a->t[a->i] == b->t[b->i] && a < b);
}

static void
sift_down(struct key **heap, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		struct key *tmp;

		if (l < n && before(heap[l], heap[m]))
			m = l;
		if (r < n && before(heap[r], heap[m]))
			m = r;
		if (m == i)
			return;
		tmp = heap[i], heap[i] = heap[m], heap[m] = tmp;
		i = m;
	}
}

static int
advance(struct key *k)
{
	while (k->i >= k->n)
		if (!load_chunk(k))
			return 0;
	return 1;
}

static void
merge_keys(struct key *keys, size_t nkeys)
{
	struct key **heap = og_calloc(nkeys + 1, sizeof *heap);
	size_t i, n = 0;

	for (i = 0; i < nkeys; i++)
		if (!keys[i].bad && advance(&keys[i]))
			heap[n++] = &keys[i];
	for (i = n; i-- > 0;)
		sift_down(heap, n, i);
	while (n > 0) {
		struct key *k = heap[0];

		og_out_record(k->f.meta.key, k->f.meta.keylen, k->t[k->i],
		    k->v[k->i]);
		k->i++;
		if (!advance(k))
			heap[0] = heap[--n];
		sift_down(heap, n, 0);
	}
	free(heap);
}

static void
time_option(const char *arg, int64_t *t, int *given)
{
	if (og_parse_time_arg(arg, t) < 0)
		og_die("bad time '%s'", arg);
	*given = 1;
}

/* Reads the options; returns the index of the first operand. */
static int
options(int argc, char *argv[])
{
	int c;

	while ((c = getopt_long(argc, argv, "e:hlmps:TVx",
	    og_long_options, NULL)) != -1) {
		switch (c) {
		case 'e':
			time_option(optarg, &end, &has_end);
			break;
		case 'h':
			og_usage(usage_text, 0);
		case 'l':
			list = 1;
			break;
		case 'm':
			merge = 1;
			break;
		case 'p':
			previous = 1;
			break;
		case 's':
			time_option(optarg, &start, &has_start);
			break;
		case 'T':
			og_iso_times = 1;
			break;
		case 'V':
			og_version();
		case 'x':
			stop_at_error = 1;
			break;
		default:
			og_usage(usage_text, OG_EXIT_USAGE);
		}
	}
	if (optind >= argc || !*argv[optind] ||
	    (list && (merge || has_start || has_end)) || (previous && !has_start))
		og_usage(usage_text, OG_EXIT_USAGE);
	if (has_end && end <= start)
		previous = 0;	/* an empty range is empty */
	return optind;
}

/* The snapshot: every meta file read and data file opened at once. */
static struct key *
open_keys(const struct og_storekey *names, size_t nnames, size_t *nkeys)
{
	struct key *keys = og_calloc(nnames + 1, sizeof *keys);
	char why[OG_STORE_WHY];
	size_t i;
	int got;

	*nkeys = 0;
	og_store_snapshot_begin(&store);
	for (i = 0; i < nnames; i++) {
		struct key *k = &keys[*nkeys];

		got = og_keyfile_open(&store, &k->f, names[i].key,
		    names[i].keylen, !list, why, sizeof why);
		if (got == 0) {
			(*nkeys)++;
			continue;
		}
		og_keyfile_close(&k->f);
		if (got == -1)
			og_warn("%s: no such key", names[i].key);
		else
			og_warn("%s", why);
		failed = 1;
		if (got == -2 && stop_at_error)
			exit(1);
	}
	og_store_snapshot_end(&store);
	return keys;
}

/* Finds the chunks of k that overlap [start, end); with -p also the
 * chunk before when the record before START is its last. */
static void
select_chunks(struct key *k)
{
	struct og_keymeta *m = &k->f.meta;

	for (k->first = 0; k->first < m->nchunks &&
	    m->chunks[k->first].tmax < start; k->first++)
		;
	if (previous && k->first > 0 &&
	    (k->first == m->nchunks || m->chunks[k->first].tmin >= start))
		k->first--;
	for (k->last = k->first; k->last < m->nchunks &&
	    (!has_end || m->chunks[k->last].tmin < end); k->last++)
		;
	k->next = k->first;
}

static void
print_keys(struct key *keys, size_t nkeys)
{
	size_t i;

	for (i = 0; i < nkeys; i++) {
		struct key *k = &keys[i];

		if (k->f.meta.nchunks == 0)
			continue;
		if (list) {
			list_key(k);
			continue;
		}
		select_chunks(k);
		verify(k);
		if (!merge && !k->bad)
			print_key(k);
	}
	if (merge)
		merge_keys(keys, nkeys);
}

int
main(int argc, char *argv[])
{
	struct og_storekey *names;
	struct key *keys;
	size_t nnames, nkeys, i;

	og_setprog(argv[0]);
	i = options(argc, argv);
	argc -= i;
	argv += i;
	og_store_open(&store, argv[0], 0);
	names = og_store_named(&store, argv + 1, argc - 1, 0, &nnames);
	keys = open_keys(names, nnames, &nkeys);
	print_keys(keys, nkeys);
	og_out_close();
	for (i = 0; i < nkeys; i++) {
		og_keyfile_close(&keys[i].f);
		free(keys[i].t);
		free(keys[i].v);
		free(keys[i].d);
	}
	free(keys);
	free(names);
	og_store_close(&store);
	return failed;
}
