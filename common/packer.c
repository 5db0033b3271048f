/* packer.c: adding records to one key of a store.
 *
 * New records are merged with the chunks they overlap (or the small chunk
 * at the tail they follow): those chunks are decoded, merged with the new
 * records (a new record replaces an old one at the same time), written as
 * new chunks at the end of the data file and swapped into the key's index.
 * Nothing already committed is overwritten; the replaced chunks become
 * dead bytes until the data file is compacted at commit. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "og.h"

struct merge_out {
	struct og_packkey *k;
	struct og_store *s;
	struct og_chunkref *refs;
	size_t nrefs, cap;
	int64_t t[OG_CHUNK_POINTS];
	double v[OG_CHUNK_POINTS];
	size_t n;
};

static struct og_buf encoded;

/* Opens the key's data file, never through a symbolic link, checks it
 * holds what the meta file says and cuts what a killed pack left after. */
static void
open_data(struct og_store *s, struct og_packkey *k)
{
	char file[1100];
	struct stat st;
	int flags = O_RDWR | O_CLOEXEC | O_NOFOLLOW;

	if (k->datfd >= 0)
		return;
	og_store_mkdirs(s, k->name);
	snprintf(file, sizeof file, "%s.dat", k->name);
	if (k->meta.data_end == 0)
		flags |= O_CREAT;
	if ((k->datfd = openat(s->dirfd, file, flags, 0644)) < 0 ||
	    fstat(k->datfd, &st) < 0)
		og_die("%s/%s:", s->path, file);
	if (!S_ISREG(st.st_mode))
		og_die("%s/%s: not a regular file", s->path, file);
	if ((uint64_t)st.st_size < k->meta.data_end)
		og_die("%s/%s: %lld bytes, shorter than the %llu its meta file"
		    " counts: damaged", s->path, file, (long long)st.st_size,
		    (unsigned long long)k->meta.data_end);
	if ((uint64_t)st.st_size > k->meta.data_end &&
	    ftruncate(k->datfd, (off_t)k->meta.data_end) < 0)
		og_die("%s/%s: truncate:", s->path, file);
}

static void
pwrite_all(int fd, const void *p, size_t n, uint64_t off, const char *what)
{
	const char *c = p;
	ssize_t w;

	while (n > 0) {
		if ((w = pwrite(fd, c, n, (off_t)off)) < 0) {
			if (errno == EINTR)
				continue;
			og_die("%s: write error:", what);
		}
		c += w;
		n -= w;
		off += w;
	}
}

static void
pread_all(int fd, void *p, size_t n, uint64_t off, const char *what)
{
	char *c = p;
	ssize_t r;

	while (n > 0) {
		if ((r = pread(fd, c, n, (off_t)off)) <= 0) {
			if (r < 0 && errno == EINTR)
				continue;
			og_die("%s: offset %llu: %s", what, (unsigned long long)off,
			    r == 0 ? "truncated data file" : "read error");
		}
		c += r;
		n -= r;
		off += r;
	}
}

static void
emit(struct merge_out *o)
{
	struct og_packkey *k = o->k;
	struct og_chunkref *r;
	char what[4400];

	if (o->n == 0)
		return;
	encoded.len = 0;
	og_chunk_encode(&encoded, o->t, o->v, o->n);
	snprintf(what, sizeof what, "%s/%s.dat", o->s->path, k->name);
	pwrite_all(k->datfd, encoded.data, encoded.len, k->meta.data_end, what);
	if (o->nrefs == o->cap) {
		o->cap = o->cap ? o->cap * 2 : 16;
		o->refs = og_reallocarray(o->refs, o->cap, sizeof *o->refs);
	}
	r = &o->refs[o->nrefs++];
	r->offset = k->meta.data_end;
	r->length = (uint32_t)encoded.len;
	r->count = (uint32_t)o->n;
	r->tmin = o->t[0];
	r->tmax = o->t[o->n - 1];
	r->crc = og_get_le32((unsigned char *)encoded.data + 36);
	k->meta.data_end += encoded.len;
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

/* Reads and decodes chunk ref of key k, as og_chunk_decode_decimal does
 * (d and scale may be NULL); dies naming file and offset. */
void
og_pack_read_chunk(struct og_store *s, int fd, const char *name,
    const struct og_chunkref *ref, int64_t *t, double *v, int64_t *d,
    int *scale, size_t *n)
{
	static struct og_buf raw, dec;
	const char *err;
	char what[4400];
	int sc;

	snprintf(what, sizeof what, "%s/%s.dat", s->path, name);
	raw.len = 0;
	if (raw.cap < ref->length) {
		raw.cap = ref->length;
		raw.data = og_realloc(raw.data, raw.cap);
	}
	pread_all(fd, raw.data, ref->length, ref->offset, what);
	err = og_chunk_decode_decimal((unsigned char *)raw.data, ref->length,
	    &dec, t, v, d, scale ? scale : &sc, n);
	if (!err && (*n != ref->count || t[0] != ref->tmin))
		err = "chunk does not match the index";
	if (err)
		og_die("%s: offset %llu: %s", what,
		    (unsigned long long)ref->offset, err);
}

/*
 * Merges n new records (times strictly increasing) into key k.
 */
void
og_pack_merge(struct og_store *s, struct og_packkey *k, const int64_t *t,
    const double *v, size_t n)
{
	static int64_t old_t[OG_CHUNK_POINTS];
	static double old_v[OG_CHUNK_POINTS];
	static struct merge_out out;
	struct og_keymeta *m = &k->meta;
	size_t a, b, i, j, oldn = 0, oldi = 0, c, dropped;
	uint64_t dead = 0;

	if (n == 0)
		return;
	open_data(s, k);
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
			og_pack_read_chunk(s, k->datfd, k->name, &m->chunks[c],
			    old_t, old_v, NULL, NULL, &oldn);
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
	/* one descriptor at a time, however many keys a pack touches */
	close(k->datfd);
	k->datfd = -1;
	dropped = b - a;
	if (m->nchunks - dropped + out.nrefs > m->cap) {
		m->cap = m->nchunks - dropped + out.nrefs + m->cap / 2 + 8;
		m->chunks = og_reallocarray(m->chunks, m->cap, sizeof *m->chunks);
	}
	memmove(m->chunks + a + out.nrefs, m->chunks + b,
	    (m->nchunks - b) * sizeof *m->chunks);
	for (j = 0; j < out.nrefs; j++)
		m->chunks[a + j] = out.refs[j];
	m->nchunks = m->nchunks - dropped + out.nrefs;
	m->dead += dead;
}

/*
 * Before commit: makes the key's data durable, first rewriting the data
 * file without its dead chunks when they take more room than is worth
 * keeping.  Returns whether NAME.dat.new was written.
 */
int
og_pack_finish(struct og_store *s, struct og_packkey *k)
{
	struct og_keymeta *m = &k->meta;
	uint64_t live = m->data_end - m->dead, off = 0;
	char file[1100], what[4400];
	size_t i;
	int fd, compact = m->dead > live / 8 + 16384;

	open_data(s, k);
	if (!compact) {
		snprintf(what, sizeof what, "%s/%s.dat", s->path, k->name);
		if (fdatasync(k->datfd) < 0)
			og_die("%s: fsync:", what);
		close(k->datfd);
		k->datfd = -1;
		return 0;
	}
	snprintf(file, sizeof file, "%s.dat.new", k->name);
	snprintf(what, sizeof what, "%s/%s", s->path, file);
	if ((fd = openat(s->dirfd, file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
	    O_NOFOLLOW, 0644)) < 0)
		og_die("%s:", what);
	for (i = 0; i < m->nchunks; i++) {
		struct og_chunkref *r = &m->chunks[i];

		if (encoded.cap < r->length) {
			encoded.cap = r->length;
			encoded.data = og_realloc(encoded.data, encoded.cap);
		}
		pread_all(k->datfd, encoded.data, r->length, r->offset, what);
		if (crc32(crc32(0, (unsigned char *)encoded.data, 36),
		    (unsigned char *)encoded.data + OG_CHUNK_HEADER,
		    r->length - OG_CHUNK_HEADER) != r->crc)
			og_die("%s/%s.dat: offset %llu: checksum mismatch",
			    s->path, k->name, (unsigned long long)r->offset);
		pwrite_all(fd, encoded.data, r->length, off, what);
		r->offset = off;
		off += r->length;
	}
	if (fdatasync(fd) < 0 || close(fd) < 0)
		og_die("%s: fsync:", what);
	close(k->datfd);
	k->datfd = -1;
	m->data_end = off;
	m->dead = 0;
	return 1;
}
