/* packer.c: a pack session: records added to the keys of a store, merged
 * into their chunks and made visible all at once.
 *
 * Records are buffered per key.  New records are merged with the chunks
 * they overlap (or the small chunk at the tail they follow): those chunks
 * are decoded, merged with the new records (a new record replaces an old
 * one at the same time), written as new chunks at the end of the data file
 * and swapped into the key's index.  Nothing already committed is
 * overwritten; the replaced chunks become dead bytes until the data file
 * is compacted at commit.
 *
 * With threads, a full chunk of new records that follows all of a key's
 * chunks is encoded by the pool (pool.c) while the records after it are
 * read; the chunks are written as they come back, in order, so the store
 * is the same as without.  Any other change to a key waits for its
 * chunks. */
#include <stdlib.h>
#include <string.h>

#include "og.h"

#define BUFFER_RECORDS (1 << 20)
#define KEEP_BUFFER 4096	/* records a key's emptied buffer may keep */

struct og_packkey {
	struct og_keyfile f;
	uint64_t committed_end;	/* the data end when the pack began */
	int opened;		/* its index read, under the writer lock */
	int touched;		/* its data file written */
	int damaged, sorted;
	uintmax_t merged;	/* records written to its data file */
	uintmax_t dropped;	/* records not stored: the key is damaged */
	size_t pending;		/* its chunks in the pool */
	int64_t tail_tmax;	/* of the last of them */
	size_t tail_count;
	int64_t *t;
	double *v;
	size_t n, cap;
};

struct merge_out {
	struct og_packkey *k;
	struct og_store *s;
	struct og_chunkref *refs;
	size_t nrefs, cap;
	int64_t t[OG_CHUNK_POINTS];
	double v[OG_CHUNK_POINTS];
	size_t n;
};

static struct og_pool *pool;	/* of the process, once a session has threads */
enum { NOWAIT, HEAD, ALL };

/* Appends the encoded chunk of the n records at t to k's open data file,
 * and says where it went in r. */
static void
append(struct og_store *s, struct og_packkey *k, const struct og_buf *chunk,
    const int64_t *t, size_t n, struct og_chunkref *r)
{
	r->offset = og_keyfile_append(s, &k->f, chunk->data, chunk->len);
	r->length = (uint32_t)chunk->len;
	r->count = (uint32_t)n;
	r->tmin = t[0];
	r->tmax = t[n - 1];
	r->crc = og_get_le32((unsigned char *)chunk->data + 36);
}

static void
emit(struct merge_out *o)
{
	static struct og_buf encoded;

	if (o->n == 0)
		return;
	encoded.len = 0;
	og_chunk_encode(&encoded, o->t, o->v, o->n);
	if (o->nrefs == o->cap) {
		o->cap = o->cap ? o->cap * 2 : 16;
		o->refs = og_reallocarray(o->refs, o->cap, sizeof *o->refs);
	}
	append(o->s, o->k, &encoded, o->t, o->n, &o->refs[o->nrefs++]);
	o->n = 0;
}

static void
put(struct merge_out *o, int64_t t, double v)
{
	o->t[o->n] = t;
	o->v[o->n] = v;
	if (++o->n == OG_CHUNK_POINTS)
		emit(o);
}

/* Puts chunks [a, b) of k's index in place of the n chunks refs. */
static void
swap_chunks(struct og_keymeta *m, size_t a, size_t b,
    const struct og_chunkref *refs, size_t n)
{
	size_t j, dropped = b - a;

	if (m->nchunks - dropped + n > m->cap) {
		m->cap = m->nchunks - dropped + n + m->cap / 2 + 8;
		m->chunks = og_reallocarray(m->chunks, m->cap, sizeof *m->chunks);
	}
	memmove(m->chunks + a + n, m->chunks + b,
	    (m->nchunks - b) * sizeof *m->chunks);
	for (j = 0; j < n; j++)
		m->chunks[a + j] = refs[j];
	m->nchunks = m->nchunks - dropped + n;
}

/*
 * Merges n new records (times strictly increasing) into key k: NULL, or
 * in why what is damaged.
 */
static const char *
merge(struct og_store *s, struct og_packkey *k, const int64_t *t,
    const double *v, size_t n, char *why, size_t whysize)
{
	static int64_t old_t[OG_CHUNK_POINTS];
	static double old_v[OG_CHUNK_POINTS];
	static struct merge_out out;
	struct og_keymeta *m = &k->f.meta;
	size_t a, b, i, oldn = 0, oldi = 0, c;
	uint64_t dead = 0;

	if (n == 0)
		return NULL;
	if (og_keyfile_open_data(s, &k->f, why, whysize))
		return why;
	k->touched = 1;
	for (a = 0; a < m->nchunks && m->chunks[a].tmax < t[0]; a++)
		;
	for (b = a; b < m->nchunks && m->chunks[b].tmin <= t[n - 1]; b++)
		;
	/* a small tail chunk is merged with what follows it */
	if (a == b && a == m->nchunks && a > 0 &&
	    m->chunks[a - 1].count < OG_CHUNK_POINTS / 2)
		a--;
	out.k = k;
	out.s = s;
	out.nrefs = 0;
	out.n = 0;
	c = a;
	i = 0;
	for (;;) {
		if (oldi == oldn && c < b) {
			if (og_keyfile_load(s, &k->f, c, old_t, old_v, NULL,
			    NULL, &oldn, why, whysize)) {
				og_keyfile_close_data(&k->f);
				return why;
			}
			dead += m->chunks[c].length;
			oldi = 0;
			c++;
		}
		if (oldi < oldn && (i == n || old_t[oldi] < t[i])) {
			put(&out, old_t[oldi], old_v[oldi]);
			oldi++;
		} else if (i < n) {
			if (oldi < oldn && old_t[oldi] == t[i])
				oldi++;
			put(&out, t[i], v[i]);
			i++;
		} else {
			break;
		}
	}
	emit(&out);
	og_keyfile_close_data(&k->f);
	swap_chunks(m, a, b, out.refs, out.nrefs);
	m->dead += dead;
	return NULL;
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

static void
free_buffer(struct og_packkey *k)
{
	free(k->t);
	free(k->v);
	k->t = NULL;
	k->v = NULL;
	k->cap = 0;
}

/* A key found damaged: named, its records dropped and what the session
 * wrote to it taken back; the other keys go on. */
static void
damage(struct og_pack *p, struct og_packkey *k, const char *why)
{
	og_warn("%s", why);
	k->damaged = 1;
	p->damaged = 1;
	k->dropped += k->n + k->merged;
	p->buffered -= k->n;
	k->n = 0;
	free_buffer(k);
	if (k->touched) {
		og_keyfile_close_data(&k->f);
		og_keyfile_take_back(&p->store, &k->f, k->committed_end);
		k->touched = 0;
	}
}

/* Reads k's index, under the writer lock. */
static void
open_key(struct og_pack *p, struct og_packkey *k)
{
	char why[OG_STORE_WHY], key[OG_KEY_MAX + 1];
	size_t len = k->f.meta.keylen;
	int got;

	memcpy(key, k->f.meta.key, len + 1);
	got = og_keyfile_open(&p->store, &k->f, key, len, 0, why, sizeof why);
	memcpy(k->f.meta.key, key, len + 1);
	k->f.meta.keylen = len;
	k->opened = 1;
	if (got == 0)
		k->committed_end = k->f.meta.data_end;
	else if (got == -2)
		damage(p, k, why);
}

/* The session writes only under the writer lock, and reads the indexes
 * of its keys once it holds it: another writer may have changed them. */
static void
lock(struct og_pack *p)
{
	size_t i;

	if (p->store.locked)
		return;
	og_store_lock(&p->store);
	for (i = 0; i < p->nkeys; i++)
		if (!p->keys[i]->opened)
			open_key(p, p->keys[i]);
}

/* Writes a chunk the pool encoded at the end of its key's chunks, unless
 * the key was found damaged since. */
static void
append_job(struct og_pack *p, struct og_job *j)
{
	struct og_packkey *k = j->owner;
	struct og_keymeta *m = &k->f.meta;
	struct og_chunkref r;
	char why[OG_STORE_WHY];

	k->pending--;
	if (k->damaged)
		return;
	if (og_keyfile_open_data(&p->store, &k->f, why, sizeof why)) {
		damage(p, k, why);
		return;
	}
	k->touched = 1;
	append(&p->store, k, &j->out, j->t, j->n, &r);
	og_keyfile_close_data(&k->f);
	swap_chunks(m, m->nchunks, m->nchunks, &r, 1);
}

/* Writes the chunks the pool has encoded, in order: those done (NOWAIT),
 * the oldest and those done after it (HEAD), or all (ALL). */
static void
reap(struct og_pack *p, int wait)
{
	struct og_job *j;

	while (pool && (j = og_pool_head(pool, wait != NOWAIT))) {
		append_job(p, j);
		og_pool_pop(pool);
		if (wait == HEAD)
			wait = NOWAIT;
	}
}

/* Whether k's n sorted records follow all of its chunks, written or in
 * the pool, and those are full enough to be left as they are. */
static int
appends(struct og_packkey *k, size_t n)
{
	struct og_keymeta *m = &k->f.meta;
	const struct og_chunkref *last = m->nchunks ? &m->chunks[m->nchunks -
	    1] : NULL;

	if (n > OG_CHUNK_POINTS)
		return 0;
	if (k->pending)
		return k->tail_tmax < k->t[0] &&
		    k->tail_count >= OG_CHUNK_POINTS / 2;
	return !last || (last->tmax < k->t[0] &&
	    last->count >= OG_CHUNK_POINTS / 2);
}

/* Gives k's n sorted records to the pool, as one chunk. */
static void
submit(struct og_pack *p, struct og_packkey *k, size_t n)
{
	struct og_job *j;

	while (!(j = og_pool_slot(pool)))
		reap(p, HEAD);
	if (k->damaged)
		return;
	memcpy(j->t, k->t, n * sizeof *j->t);
	memcpy(j->v, k->v, n * sizeof *j->v);
	j->n = n;
	j->owner = k;
	k->pending++;
	k->tail_tmax = k->t[n - 1];
	k->tail_count = n;
	og_pool_submit(pool, j);
	reap(p, NOWAIT);
}

/* Adds a key's buffered records to its chunks and frees the buffer. */
static void
flush_key(struct og_pack *p, struct og_packkey *k)
{
	char why[OG_STORE_WHY];
	size_t n = k->n;

	if (n == 0)
		return;
	lock(p);
	if (k->damaged)
		return;
	n = sort_unique(k->t, k->v, n, k->sorted);
	if (p->threads > 1 && !pool)
		pool = og_pool_new(p->threads);
	if (p->threads > 1 && appends(k, n)) {
		submit(p, k, n);
	} else {
		while (k->pending && !k->damaged)
			reap(p, HEAD);
		if (!k->damaged && merge(&p->store, k, k->t, k->v, n, why,
		    sizeof why))
			damage(p, k, why);
	}
	if (k->damaged)
		return;
	k->merged += k->n;
	p->buffered -= k->n;
	k->n = 0;
	k->sorted = 1;
	if (k->cap > KEEP_BUFFER)
		free_buffer(k);
}

static void
flush(struct og_pack *p)
{
	size_t i;

	for (i = 0; i < p->nkeys; i++)
		flush_key(p, p->keys[i]);
}

static struct og_packkey *
lookup(struct og_pack *p, const char *key, size_t len)
{
	struct og_packkey *k;
	uint64_t h = og_hash(key, len);
	size_t probe = 0, i;

	while (og_table_next(&p->table, h, &probe, &i)) {
		k = p->keys[i];
		if (k->f.meta.keylen == len && memcmp(k->f.meta.key, key, len) == 0)
			return p->last = k;
	}
	k = og_calloc(1, sizeof *k);
	k->sorted = 1;
	k->f.fd = -1;
	memcpy(k->f.meta.key, key, len);
	k->f.meta.key[len] = '\0';
	k->f.meta.keylen = len;
	p->keys = og_reallocarray(p->keys, p->nkeys + 1, sizeof *p->keys);
	p->keys[p->nkeys] = k;
	og_table_add(&p->table, h, p->nkeys++);
	if (p->store.locked)
		open_key(p, k);
	return p->last = k;
}

/* Opens STORE for a pack, creating it if missing; the writer lock waits
 * for the first write. */
void
og_pack_begin(struct og_pack *p, const char *path)
{
	memset(p, 0, sizeof *p);
	og_store_open(&p->store, path, 1);
	p->open = 1;
}

/*
 * A key whose records come in time order is written a full chunk at a
 * time; the rest wait until the buffer is full, so out-of-order input is
 * merged in few large steps.
 */
void
og_pack_add(struct og_pack *p, const struct og_record *r)
{
	struct og_packkey *k = p->last;

	/* a run of records of one key is looked up once */
	if (!k || !r->run || r->run != p->run) {
		k = lookup(p, r->key, r->keylen);
		p->run = r->run;
	}
	if (k->damaged) {
		k->dropped++;
		return;
	}
	if (k->n == k->cap) {
		k->cap = k->cap ? k->cap * 2 : 256;
		k->t = og_reallocarray(k->t, k->cap, sizeof *k->t);
		k->v = og_reallocarray(k->v, k->cap, sizeof *k->v);
	}
	if (k->n > 0 && r->time < k->t[k->n - 1])
		k->sorted = 0;
	k->t[k->n] = r->time;
	k->v[k->n++] = r->value;
	p->buffered++;
	if (k->sorted && k->n == OG_CHUNK_POINTS)
		flush_key(p, k);
	else if (p->buffered >= BUFFER_RECORDS)
		flush(p);
}

static void
free_keys(struct og_pack *p)
{
	size_t i;

	for (i = 0; i < p->nkeys; i++) {
		og_keyfile_close(&p->keys[i]->f);
		free(p->keys[i]->t);
		free(p->keys[i]->v);
		free(p->keys[i]);
	}
	free(p->keys);
	og_table_free(&p->table);
	p->keys = NULL;
	p->last = NULL;
	p->nkeys = p->buffered = 0;
}

/* Names the keys that were not packed into, and how much was lost. */
static void
report_damaged(struct og_pack *p)
{
	size_t i;

	for (i = 0; i < p->nkeys; i++) {
		struct og_packkey *k = p->keys[i];

		if (k->damaged)
			og_warn("%s: %ju record%s not stored: its files are"
			    " damaged (og-pack -R repairs them)", k->f.meta.key,
			    k->dropped, k->dropped == 1 ? "" : "s");
	}
}

/* Adds what is buffered, makes every key's new records visible at once
 * and ends the session: 0, or 1 if a key was damaged. */
int
og_pack_commit(struct og_pack *p)
{
	char why[OG_STORE_WHY];
	struct og_keyfile **files;
	size_t i, n = 0;
	int status;

	lock(p);
	flush(p);
	reap(p, ALL);
	files = og_calloc(p->nkeys + 1, sizeof *files);
	for (i = 0; i < p->nkeys; i++) {
		struct og_packkey *k = p->keys[i];

		if (!k->touched || k->damaged)
			continue;
		if (og_keyfile_prepare(&p->store, &k->f, why, sizeof why))
			damage(p, k, why);
		else
			files[n++] = &k->f;
	}
	p->committing = 1;
	og_store_commit(&p->store, files, n);
	og_store_clean(&p->store);
	free(files);
	report_damaged(p);
	status = p->damaged;
	free_keys(p);
	og_store_close(&p->store);
	p->open = 0;
	return status;
}

/*
 * Takes back what a session that fails before its commit point wrote, so
 * that a full disk does not stay full; for an exit handler.
 */
void
og_pack_abort(struct og_pack *p)
{
	size_t i;

	if (p->committing || !p->open)
		return;
	for (i = 0; i < p->nkeys; i++)
		if (p->keys[i]->touched)
			og_keyfile_take_back(&p->store, &p->keys[i]->f,
			    p->keys[i]->committed_end);
	og_store_clean(&p->store);
}
