/* og-pack: add records to a store. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "og.h"

#define BUFFER_RECORDS (1 << 20)

static const char usage_text[] =
    "usage: og-pack [-q] STORE [FILE...]\n"
    "Add records (KEY TAB TIME TAB VALUE) from FILEs or stdin to STORE.\n"
    "  -q  quiet: no progress line on a terminal\n"
    "  -h  this help    -V  version\n";

static struct og_store store;
static struct og_packkey **table;
static int committing;
static size_t table_size = 1024, nkeys, buffered;

static uint64_t
hash_key(const char *key, size_t len)
{
	uint64_t h = 14695981039346656037ULL;

	while (len--)
		h = (h ^ (unsigned char)*key++) * 1099511628211ULL;
	return h;
}

static void
rehash(void)
{
	struct og_packkey **old = table, *k, *next;
	size_t i, oldsize = table_size;

	table_size *= 2;
	table = og_calloc(table_size, sizeof *table);
	for (i = 0; i < oldsize; i++) {
		for (k = old[i]; k; k = next) {
			size_t j = hash_key(k->meta.key, k->meta.keylen) &
			    (table_size - 1);

			next = k->next;
			k->next = table[j];
			table[j] = k;
		}
	}
	free(old);
}

static struct og_packkey *
lookup(const char *key, size_t len)
{
	static struct og_packkey *last;
	struct og_packkey *k;
	size_t j;

	if (last && last->meta.keylen == len && memcmp(last->meta.key, key, len) == 0)
		return last;
	j = hash_key(key, len) & (table_size - 1);
	for (k = table[j]; k; k = k->next)
		if (k->meta.keylen == len && memcmp(k->meta.key, key, len) == 0)
			return last = k;
	k = og_calloc(1, sizeof *k);
	k->name = og_store_name(key, len);
	k->datfd = -1;
	k->sorted = 1;
	if (og_keymeta_read(&store, k->name, &k->meta, NULL, 0) == 0) {
		k->committed_end = k->meta.data_end;
		if (k->meta.keylen != len || memcmp(k->meta.key, key, len) != 0)
			og_die("%s/%s.meta: holds key '%s', not the one its name"
			    " says", store.path, k->name, k->meta.key);
	}
	memcpy(k->meta.key, key, len);
	k->meta.key[len] = '\0';
	k->meta.keylen = len;
	k->next = table[j];
	table[j] = k;
	if (++nkeys * 2 > table_size)
		rehash();
	return last = k;
}

/* Stable merge sort of a key's buffer by time, then the last value of
 * each time kept: the record written last wins. */
static size_t
sort_unique(int64_t *t, double *v, size_t n, int sorted)
{
	int64_t *tt = sorted ? NULL : og_reallocarray(NULL, n, sizeof *tt);
	double *vv = sorted ? NULL : og_reallocarray(NULL, n, sizeof *vv);
	size_t width, i, j, out;

	for (width = 1; width < n && !sorted; width *= 2) {
		for (i = 0; i < n; i += 2 * width) {
			size_t lo = i, mid = i + width < n ? i + width : n;
			size_t hi = i + 2 * width < n ? i + 2 * width : n;
			size_t a = lo, b = mid, o = lo;

			while (a < mid || b < hi) {
				if (b == hi || (a < mid && t[a] <= t[b])) {
					tt[o] = t[a];
					vv[o++] = v[a++];
				} else {
					tt[o] = t[b];
					vv[o++] = v[b++];
				}
			}
		}
		memcpy(t, tt, n * sizeof *t);
		memcpy(v, vv, n * sizeof *v);
	}
	free(tt);
	free(vv);
	for (i = 0, out = 0; i < n; i = j) {
		for (j = i + 1; j < n && t[j] == t[i]; j++)
			;
		t[out] = t[j - 1];
		v[out++] = v[j - 1];
	}
	return out;
}

/* Adds a key's buffered records to its chunks and frees the buffer. */
static void
flush_key(struct og_packkey *k)
{
	size_t n = k->n;

	if (n == 0)
		return;
	n = sort_unique(k->t, k->v, n, k->sorted);
	og_pack_merge(&store, k, k->t, k->v, n);
	buffered -= k->n;
	k->n = 0;
	k->sorted = 1;
	if (k->cap > 4096) {
		free(k->t);
		free(k->v);
		k->t = NULL;
		k->v = NULL;
		k->cap = 0;
	}
}

static void
flush(void)
{
	struct og_packkey *k;
	size_t i;

	for (i = 0; i < table_size; i++)
		for (k = table[i]; k; k = k->next)
			flush_key(k);
}

/*
 * Records are buffered per key.  A key whose records come in time order
 * is written a full chunk at a time; the rest wait until the buffer is
 * full, so out-of-order input is merged in few large steps.
 */
static void
add(const struct og_record *r)
{
	struct og_packkey *k = lookup(r->key, r->keylen);

	if (k->n == k->cap) {
		k->cap = k->cap ? k->cap * 2 : 256;
		k->t = og_reallocarray(k->t, k->cap, sizeof *k->t);
		k->v = og_reallocarray(k->v, k->cap, sizeof *k->v);
	}
	if (k->n > 0 && r->time < k->t[k->n - 1])
		k->sorted = 0;
	k->t[k->n] = r->time;
	k->v[k->n++] = r->value;
	buffered++;
	if (k->sorted && k->n == OG_CHUNK_POINTS)
		flush_key(k);
	else if (buffered >= BUFFER_RECORDS)
		flush();
}

/*
 * A pack that fails before its commit point takes back what it wrote, so
 * that a full disk does not stay full; after kill -9 the next pack of each
 * key cuts it off instead.
 */
static void
take_back(void)
{
	struct og_packkey *k;
	char file[1100];
	size_t i;
	int fd;

	if (committing || !table)
		return;
	for (i = 0; i < table_size; i++) {
		for (k = table[i]; k; k = k->next) {
			if (!k->touched)
				continue;
			snprintf(file, sizeof file, "%s.dat", k->name);
			if (k->committed_end == 0) {
				unlinkat(store.dirfd, file, 0);
			} else if ((fd = openat(store.dirfd, file, O_WRONLY |
			    O_CLOEXEC | O_NOFOLLOW)) >= 0) {
				if (ftruncate(fd, (off_t)k->committed_end) < 0)
					og_warn("%s/%s: truncate:", store.path, file);
				close(fd);
			}
			snprintf(file, sizeof file, "%s.dat.new", k->name);
			unlinkat(store.dirfd, file, 0);
			snprintf(file, sizeof file, "%s.meta.new", k->name);
			unlinkat(store.dirfd, file, 0);
		}
	}
}

static void
commit(void)
{
	char **names = og_calloc(nkeys + 1, sizeof *names);
	int *newdat = og_calloc(nkeys + 1, sizeof *newdat);
	struct og_packkey *k;
	size_t i, n = 0;

	for (i = 0; i < table_size; i++) {
		for (k = table[i]; k; k = k->next) {
			if (!k->touched)
				continue;
			newdat[n] = og_pack_finish(&store, k);
			og_keymeta_write_new(&store, k->name, &k->meta);
			names[n++] = k->name;
		}
	}
	committing = 1;
	og_store_commit(&store, names, newdat, n);
	free(names);
	free(newdat);
}

int
main(int argc, char *argv[])
{
	struct og_reader rd;
	struct og_record r;
	uintmax_t total = 0;
	int c, i, quiet = 0, progress;

	og_setprog(argv[0]);
	while ((c = getopt(argc, argv, "hqV")) != -1) {
		switch (c) {
		case 'h':
			og_usage(usage_text, 0);
		case 'q':
			quiet = 1;
			break;
		case 'V':
			og_version();
		default:
			og_usage(usage_text, OG_EXIT_USAGE);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		og_usage(usage_text, OG_EXIT_USAGE);
	if (!*argv[0])
		og_usage(usage_text, OG_EXIT_USAGE);
	progress = !quiet && isatty(2);
	og_store_open(&store, argv[0], 1);
	atexit(take_back);
	table = og_calloc(table_size, sizeof *table);
	for (i = 1; i < (argc > 1 ? argc : 2); i++) {
		og_reader_open(&rd, argc > 1 ? argv[i] : "-");
		while (og_read_record(&rd, &r)) {
			add(&r);
			if (progress && ++total % (1 << 20) == 0)
				fprintf(stderr, "\rog-pack: %ju records, %zu keys",
				    total, nkeys);
		}
		og_reader_close(&rd);
	}
	flush();
	commit();
	if (progress && total >= (1 << 20))
		fprintf(stderr, "\rog-pack: %ju records, %zu keys\n", total,
		    nkeys);
	og_store_close(&store);
	return 0;
}
