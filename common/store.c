/* store.c: the store directory: one data file and one meta file per key,
 * locks, and the journal that makes a pack of many keys atomic.
 *
 * STORE/.og-store   the marker, "og-store 1": a directory without it is
 *                   not read or written as a store
 * STORE/NAME.dat    chunks, appended; bytes past the meta's data end are
 *                   left over from an interrupted pack and are cut off
 * STORE/NAME.meta   the key, the data end and the index of live chunks
 * STORE/.og-writer  flock: one og-pack at a time
 * STORE/.og-lock    flock: shared while a reader takes its snapshot of the
 *                   meta files, exclusive while a pack switches them
 * STORE/.og-journal the names whose NAME.meta.new (and NAME.dat.new) are
 *                   committed but perhaps not yet renamed into place
 * STORE/.og-dirty   the names a pack writes past their committed ends; a
 *                   pack that dies leaves it, and the next pack cuts off
 *                   and removes what it names
 *
 * NAME is the key with every byte outside [0-9A-Za-z_-] written %XX, cut
 * into directory levels of 240 bytes for long keys: no key can reach
 * outside STORE or share a file with another key.  Other dot files are
 * not the store's and are left alone.  No other file knows these names:
 * tools and packer.c reach a key's files through og_keyfile. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "og.h"

#define NAME_PART 240
#define FILE_MAX 1100	/* NAME (3 bytes a key byte, and slashes) and suffix */
#define META_MAGIC "OGm"
#define META_HEADER 32
#define META_ENTRY 40
#define MARKER ".og-store"
#define MARKER_TEXT "og-store 1\n"
#define CHUNK_MAX (64 << 20)	/* longer is no chunk og-pack wrote */
#define SCAN_WINDOW 65536

enum { STORE_MARKED, STORE_EMPTY, STORE_EARLIER, STORE_FOREIGN };

static const char *const suffixes[] = { ".meta", ".dat", ".meta.new",
	".dat.new" };
#define SUFFIX_META 1	/* masks of suffixes[] */
#define SUFFIX_ANY 15

static int
plain_byte(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') ||
	    (c >= 'a' && c <= 'z') || c == '_' || c == '-';
}

/* The file name of a key, without suffix. */
static char *
store_name(const char *key, size_t keylen)
{
	static const char hex[] = "0123456789ABCDEF";
	char *name = og_malloc(keylen * 3 + keylen * 3 / NAME_PART + 2), *p = name;
	size_t i, part = 0;

	for (i = 0; i < keylen; i++) {
		unsigned char c = key[i];
		int width = plain_byte(c) ? 1 : 3;

		if (part + width > NAME_PART) {
			*p++ = '/';
			part = 0;
		}
		if (width == 1) {
			*p++ = c;
		} else {
			*p++ = '%';
			*p++ = hex[c >> 4];
			*p++ = hex[c & 15];
		}
		part += width;
	}
	*p = '\0';
	return name;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The key of a file name, or -1 if the name is not the one og-pack makes
 * for it: so a store nested in another's tree gives no keys glued from
 * its path. */
static int
key_of_name(const char *name, char *key, size_t *keylen)
{
	size_t n = 0;
	const char *p;
	char *canon;
	int same;

	for (p = name; *p; p++) {
		if (n >= OG_KEY_MAX)
			return -1;
		if (*p == '/')
			continue;
		if (*p == '%') {
			int hi = hexval(p[1]), lo = hi < 0 ? -1 : hexval(p[2]);

			if (lo < 0 || plain_byte(hi * 16 + lo))
				return -1;
			key[n++] = hi * 16 + lo;
			p += 2;
		} else if (plain_byte(*p)) {
			key[n++] = *p;
		} else {
			return -1;
		}
	}
	*keylen = n;
	if (!og_key_valid(key, n))
		return -1;
	canon = store_name(key, n);
	same = strcmp(canon, name) == 0;
	free(canon);
	return same ? 0 : -1;
}

/* The length of file without the suffix of a store file in mask, or 0. */
static size_t
strip_suffix(const char *file, int mask)
{
	size_t len = strlen(file), i, n;

	for (i = 0; i < sizeof suffixes / sizeof *suffixes; i++) {
		n = strlen(suffixes[i]);
		if ((mask & 1 << i) && len > n &&
		    strcmp(file + len - n, suffixes[i]) == 0)
			return len - n;
	}
	return 0;
}

/* A directory a long key's name is cut into: 238 to 240 bytes of name. */
static int
key_directory(const char *name)
{
	size_t len = strlen(name);

	return len >= NAME_PART - 2 && len <= NAME_PART &&
	    strspn(name, "%0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz_-") == len;
}

static int
lock_file(struct og_store *s, const char *file, int create)
{
	int fd = openat(s->dirfd, file, (create ? O_RDWR | O_CREAT : O_RDONLY) |
	    O_CLOEXEC, 0644);

	if (fd < 0 && !create && errno == ENOENT)
		return -1;
	if (fd < 0)
		og_die("%s/%s:", s->path, file);
	return fd;
}

static void
flock_or_die(struct og_store *s, int fd, int op)
{
	while (flock(fd, op) < 0) {
		if (errno != EINTR)
			og_die("%s: lock:", s->path);
	}
}

static void
fsync_dir(struct og_store *s, const char *name)
{
	char dir[FILE_MAX];
	const char *slash = strrchr(name, '/');
	int fd;

	if (!slash) {
		if (fsync(s->dirfd) < 0)
			og_die("%s: fsync:", s->path);
		return;
	}
	snprintf(dir, sizeof dir, "%.*s", (int)(slash - name), name);
	if ((fd = openat(s->dirfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    fsync(fd) < 0)
		og_die("%s/%s: fsync:", s->path, dir);
	close(fd);
}

/* Writes all n bytes at off: 0, or -1 and errno. */
static int
write_at(int fd, const void *p, size_t n, uint64_t off)
{
	const char *c = p;
	ssize_t w;

	while (n > 0) {
		if ((w = pwrite(fd, c, n, (off_t)off)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		c += w;
		n -= w;
		off += w;
	}
	return 0;
}

/* Reads all n bytes at off: NULL, or what went wrong. */
static const char *
read_at(int fd, void *p, size_t n, uint64_t off)
{
	char *c = p;
	ssize_t r;

	while (n > 0) {
		if ((r = pread(fd, c, n, (off_t)off)) <= 0) {
			if (r < 0 && errno == EINTR)
				continue;
			return r == 0 ? "truncated data file" : "read error";
		}
		c += r;
		n -= r;
		off += r;
	}
	return NULL;
}

/* A small file of the store, whole and NUL-terminated, or NULL if there
 * is none; *len its length. */
static char *
slurp(struct og_store *s, const char *file, size_t *len)
{
	struct stat st;
	char *buf;
	int fd;

	if ((fd = openat(s->dirfd, file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
		if (errno == ENOENT)
			return NULL;
		og_die("%s/%s:", s->path, file);
	}
	if (fstat(fd, &st) < 0)
		og_die("%s/%s:", s->path, file);
	if (st.st_size > 1 << 28)
		og_die("%s/%s: too large", s->path, file);
	buf = og_malloc(st.st_size + 1);
	if (read_at(fd, buf, st.st_size, 0))
		og_die("%s/%s: short read", s->path, file);
	close(fd);
	buf[st.st_size] = '\0';
	*len = st.st_size;
	return buf;
}

/* Writes a small file of the store durably, by a rename. */
static void
put_file(struct og_store *s, const char *file, const void *p, size_t n)
{
	char tmp[FILE_MAX];
	int fd;

	snprintf(tmp, sizeof tmp, "%s.tmp", file);
	if ((fd = openat(s->dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
	    O_NOFOLLOW, 0644)) < 0)
		og_die("%s/%s:", s->path, tmp);
	if (write_at(fd, p, n, 0) < 0)
		og_die("%s/%s: write error:", s->path, tmp);
	if (fsync(fd) < 0 || close(fd) < 0)
		og_die("%s/%s: fsync:", s->path, tmp);
	if (renameat(s->dirfd, tmp, s->dirfd, file) < 0)
		og_die("%s/%s:", s->path, file);
	fsync_dir(s, file);
}

/* Finishes a commit that was interrupted after its journal was written. */
static void
roll_forward(struct og_store *s)
{
	char *buf, *line, *next, from[FILE_MAX], to[FILE_MAX];
	size_t len;

	if (!(buf = slurp(s, ".og-journal", &len)))
		return;
	if (strncmp(buf, "og-journal 1\n", 13) != 0 ||
	    len < 17 || strcmp(buf + len - 4, "end\n") != 0)
		og_die("%s/.og-journal: damaged journal", s->path);
	for (line = buf + 13; *line && strcmp(line, "end\n") != 0; line = next) {
		char *tab = strchr(line, '\t');

		if (!(next = strchr(line, '\n')) || !tab || tab > next)
			og_die("%s/.og-journal: damaged journal", s->path);
		*next++ = '\0';
		*tab = '\0';
		if (strcmp(tab + 1, "dat") == 0) {
			snprintf(from, sizeof from, "%s.dat.new", line);
			snprintf(to, sizeof to, "%s.dat", line);
			if (renameat(s->dirfd, from, s->dirfd, to) < 0 &&
			    errno != ENOENT)
				og_die("%s/%s:", s->path, from);
		}
		snprintf(from, sizeof from, "%s.meta.new", line);
		snprintf(to, sizeof to, "%s.meta", line);
		if (renameat(s->dirfd, from, s->dirfd, to) < 0 && errno != ENOENT)
			og_die("%s/%s:", s->path, from);
		fsync_dir(s, line);
	}
	free(buf);
	if (unlinkat(s->dirfd, ".og-journal", 0) < 0)
		og_die("%s/.og-journal:", s->path);
	fsync_dir(s, ".og-journal");
}

/* 1 if the store has its marker, 0 if not. */
static int
has_marker(struct og_store *s)
{
	size_t len;
	char *text = slurp(s, MARKER, &len);
	int ok;

	if (!text)
		return 0;
	ok = strcmp(text, MARKER_TEXT) == 0;
	if (!ok && strncmp(text, "og-store ", 9) == 0)
		og_die("%s: a store of format %.*s, which this og does not know",
		    s->path, (int)strcspn(text + 9, "\n"), text + 9);
	free(text);
	if (!ok)
		og_die("%s/%s: not a store marker", s->path, MARKER);
	return 1;
}

/*
 * What a directory without the marker is: empty, but for dot files that
 * are not the store's (a new store); a store an earlier og made (og's lock
 * files, and only the names og-pack makes); or anything else.
 */
static int
unmarked_kind(struct og_store *s)
{
	struct dirent *de;
	int fd, og = 0, files = 0, foreign = 0;
	DIR *d;

	if ((fd = openat(s->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    !(d = fdopendir(fd)))
		og_die("%s:", s->path);
	while (!foreign && (de = readdir(d))) {
		char key[OG_KEY_MAX + 1], base[FILE_MAX];
		size_t keylen, len = strip_suffix(de->d_name, SUFFIX_ANY);

		if (de->d_name[0] == '.') {
			og |= strcmp(de->d_name, ".og-writer") == 0 ||
			    strcmp(de->d_name, ".og-lock") == 0;
		} else if (len > 0 && len < sizeof base) {
			snprintf(base, sizeof base, "%.*s", (int)len, de->d_name);
			files = 1;
			foreign = key_of_name(base, key, &keylen) < 0;
		} else {
			files = 1;
			foreign = !key_directory(de->d_name);
		}
	}
	closedir(d);
	if (foreign || (files && !og))
		return STORE_FOREIGN;
	return files ? STORE_EARLIER : STORE_EMPTY;
}

static void clean_key(struct og_store *, const char *, int);
static void walk(struct og_store *, const char *, int, struct og_storekey **,
    size_t *, size_t *);

/* Cuts off and removes what interrupted packs of an earlier og left. */
static void
clean_all(struct og_store *s)
{
	struct og_storekey *keys = NULL;
	size_t n = 0, cap = 0, i;

	walk(s, "", SUFFIX_ANY, &keys, &n, &cap);
	for (i = 0; i < n; i++) {
		char *name = store_name(keys[i].key, keys[i].keylen);

		clean_key(s, name, 0);
		free(name);
	}
	free(keys);
	unlinkat(s->dirfd, ".og-journal.tmp", 0);
}

/* Makes an empty directory, or a store an earlier og made, a store. */
static void
mark_store(struct og_store *s, int kind)
{
	flock_or_die(s, s->writefd, LOCK_EX);
	if (!has_marker(s)) {
		if (kind == STORE_EARLIER)
			clean_all(s);
		put_file(s, MARKER, MARKER_TEXT, strlen(MARKER_TEXT));
	}
	flock(s->writefd, LOCK_UN);
}

/*
 * Opens STORE: one with the marker, an empty directory or one an earlier
 * og made; anything else is not a store.  A writer creates it if missing
 * and marks it.  Either finishes a commit a killed og-pack left behind.
 */
void
og_store_open(struct og_store *s, const char *path, int writer)
{
	struct rlimit files;
	int kind;

	/* a reader holds a data file open per key for its snapshot */
	if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
		files.rlim_cur = files.rlim_max;
		setrlimit(RLIMIT_NOFILE, &files);
	}
	memset(s, 0, sizeof *s);
	s->path = path;
	s->writer = writer;
	s->dirtyfd = -1;
	if (writer && mkdir(path, 0755) < 0 && errno != EEXIST)
		og_die("%s:", path);
	if ((s->dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		og_die("%s:", path);
	kind = has_marker(s) ? STORE_MARKED : unmarked_kind(s);
	if (kind == STORE_FOREIGN)
		og_die("%s: not a store", path);
	if (writer)
		s->writefd = lock_file(s, ".og-writer", 1);
	s->lockfd = lock_file(s, ".og-lock", writer);
	if (s->lockfd >= 0 && faccessat(s->dirfd, ".og-journal", F_OK, 0) == 0) {
		flock_or_die(s, s->lockfd, LOCK_EX);
		roll_forward(s);
		flock(s->lockfd, LOCK_UN);
	}
	if (writer && kind != STORE_MARKED)
		mark_store(s, kind);
}

/* Readers hold the shared lock while they read meta files and open data
 * files; a pack switches meta files only under the exclusive lock. */
void
og_store_snapshot_begin(struct og_store *s)
{
	if (s->lockfd >= 0)
		flock_or_die(s, s->lockfd, LOCK_SH);
}

void
og_store_snapshot_end(struct og_store *s)
{
	if (s->lockfd >= 0)
		flock(s->lockfd, LOCK_UN);
}

void
og_store_close(struct og_store *s)
{
	og_store_unlock(s);
	if (s->dirtyfd >= 0)
		close(s->dirtyfd);
	if (s->lockfd >= 0)
		close(s->lockfd);
	if (s->writefd > 0)
		close(s->writefd);
	close(s->dirfd);
}

/* Meta file: "OGm" version, key length (u16), reserved, data end (u64),
 * dead bytes (u64), chunk count (u32), then the key, then per chunk offset
 * (u64), length (u32), count (u32), first and last time (i64), checksum
 * (u32) and reserved (u32), and a CRC-32 of all before it. */
const char *
og_keymeta_parse(const unsigned char *b, size_t len, struct og_keymeta *m)
{
	size_t i, keylen, n;
	const unsigned char *e;
	uint64_t end_of_last = 0;

	if (len < META_HEADER + 4 || memcmp(b, META_MAGIC, 3) != 0)
		return "not a meta file";
	if (b[3] != OG_STORE_VERSION)
		return "unknown meta file version";
	if (crc32(0, b, len - 4) != og_get_le32(b + len - 4))
		return "meta file checksum mismatch";
	keylen = b[4] | b[5] << 8;
	n = og_get_le32(b + 24);
	if (keylen == 0 || keylen > OG_KEY_MAX ||
	    len != META_HEADER + keylen + n * META_ENTRY + 4)
		return "bad meta file size";
	memcpy(m->key, b + META_HEADER, keylen);
	m->key[keylen] = '\0';
	m->keylen = keylen;
	m->data_end = og_get_le64(b + 8);
	m->dead = og_get_le64(b + 16);
	m->nchunks = 0;
	if (n > m->cap) {
		m->chunks = og_reallocarray(m->chunks, n, sizeof *m->chunks);
		m->cap = n;
	}
	e = b + META_HEADER + keylen;
	for (i = 0; i < n; i++, e += META_ENTRY) {
		struct og_chunkref *c = &m->chunks[i];

		c->offset = og_get_le64(e);
		c->length = og_get_le32(e + 8);
		c->count = og_get_le32(e + 12);
		c->tmin = (int64_t)og_get_le64(e + 16);
		c->tmax = (int64_t)og_get_le64(e + 24);
		c->crc = og_get_le32(e + 32);
		if (c->count == 0 || c->count > OG_CHUNK_POINTS ||
		    c->tmin > c->tmax || c->length < OG_CHUNK_HEADER ||
		    c->offset + c->length > m->data_end ||
		    (i > 0 && c->tmin <= m->chunks[i - 1].tmax))
			return "bad chunk index in meta file";
		if (c->offset + c->length > end_of_last)
			end_of_last = c->offset + c->length;
	}
	m->nchunks = n;
	return NULL;
}

/* Reads NAME.meta: 0, -1 when the key has none, or -2 and in why what is
 * wrong. */
static int
read_meta(struct og_store *s, const char *name, struct og_keymeta *m,
    char *why, size_t whysize)
{
	char file[FILE_MAX];
	unsigned char *buf = NULL;
	const char *err = NULL;
	struct stat st;
	ssize_t got;
	int fd;

	snprintf(file, sizeof file, "%s.meta", name);
	if ((fd = openat(s->dirfd, file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
		if (errno == ENOENT)
			return -1;
		snprintf(why, whysize, "%s/%s: %s", s->path, file,
		    strerror(errno));
		return -2;
	}
	if (fstat(fd, &st) < 0)
		og_die("%s/%s:", s->path, file);
	if (!S_ISREG(st.st_mode))
		err = "not a regular file";
	else if (st.st_size > (off_t)1 << 30)
		err = "meta file too large";
	if (!err) {
		buf = og_malloc(st.st_size + 1);
		if ((got = read(fd, buf, st.st_size)) < 0)
			og_die("%s/%s:", s->path, file);
		err = got != st.st_size ? "short read" :
		    og_keymeta_parse(buf, got, m);
		free(buf);
	}
	close(fd);
	if (err) {
		snprintf(why, whysize, "%s/%s: %s", s->path, file, err);
		return -2;
	}
	return 0;
}

/* Reads chunk ref into raw and checks it: NULL, or what is wrong. */
static const char *
read_chunk_raw(int fd, const struct og_chunkref *ref, struct og_buf *raw)
{
	const char *err;

	raw->len = 0;
	og_buf_grow(raw, ref->length);
	if ((err = read_at(fd, raw->data, ref->length, ref->offset)))
		return err;
	if (og_chunk_crc((unsigned char *)raw->data, ref->length) != ref->crc)
		return "checksum mismatch";
	return NULL;
}

/* Makes the directories a long key's name needs. */
static void
mkdirs(struct og_store *s, const char *name)
{
	char dir[FILE_MAX];
	const char *p;

	for (p = strchr(name, '/'); p; p = strchr(p + 1, '/')) {
		snprintf(dir, sizeof dir, "%.*s", (int)(p - name), name);
		if (mkdirat(s->dirfd, dir, 0755) < 0 && errno != EEXIST)
			og_die("%s/%s:", s->path, dir);
	}
}

/*
 * Opens a key: reads its index and, if data and it has chunks, opens its
 * data file for reading.  Returns 0, or -1 when the store has no such key,
 * or -2 and in why what is wrong.  The key's files are then f's, to be
 * released by og_keyfile_close.
 */
int
og_keyfile_open(struct og_store *s, struct og_keyfile *f, const char *key,
    size_t keylen, int data, char *why, size_t whysize)
{
	int got;

	memset(f, 0, sizeof *f);
	f->fd = -1;
	f->name = store_name(key, keylen);
	got = read_meta(s, f->name, &f->meta, why, whysize);
	if (got < 0)
		return got;
	if (f->meta.keylen != keylen || memcmp(f->meta.key, key, keylen) != 0) {
		snprintf(why, whysize, "%s/%s.meta: holds key '%s', not the one"
		    " its name says", s->path, f->name, f->meta.key);
		return -2;
	}
	if (!data || f->meta.nchunks == 0)
		return 0;
	return og_keyfile_open_read(s, f, why, whysize) ? -2 : 0;
}

/* Opens f's data file to read, never through a symbolic link: NULL, or in
 * why what is wrong. */
const char *
og_keyfile_open_read(struct og_store *s, struct og_keyfile *f, char *why,
    size_t whysize)
{
	char file[FILE_MAX];

	snprintf(file, sizeof file, "%s.dat", f->name);
	if ((f->fd = openat(s->dirfd, file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
		snprintf(why, whysize, "%s/%s: %s", s->path, file,
		    strerror(errno));
		return why;
	}
	return NULL;
}

void
og_keyfile_close(struct og_keyfile *f)
{
	if (f->fd >= 0)
		close(f->fd);
	free(f->name);
	free(f->meta.chunks);
	memset(f, 0, sizeof *f);
	f->fd = -1;
}

/* Checks chunks [from, to) of f against their checksums: NULL, or in why
 * the first that is damaged, by file and offset. */
const char *
og_keyfile_verify(struct og_store *s, struct og_keyfile *f, size_t from,
    size_t to, char *why, size_t whysize)
{
	static struct og_buf raw;
	const char *err;
	size_t c;

	for (c = from; c < to; c++) {
		if ((err = read_chunk_raw(f->fd, &f->meta.chunks[c], &raw))) {
			snprintf(why, whysize, "%s/%s.dat: offset %llu: %s",
			    s->path, f->name,
			    (unsigned long long)f->meta.chunks[c].offset, err);
			return why;
		}
	}
	return NULL;
}

/* Reads and decodes chunk i of f as og_chunk_decode_decimal does (d and
 * scale may be NULL): NULL, or in why what is wrong, by file and offset. */
const char *
og_keyfile_load(struct og_store *s, struct og_keyfile *f, size_t i,
    int64_t *t, double *v, int64_t *d, int *scale, size_t *n, char *why,
    size_t whysize)
{
	static struct og_buf raw, dec;
	const struct og_chunkref *ref = &f->meta.chunks[i];
	const char *err;
	int sc;

	raw.len = 0;
	og_buf_grow(&raw, ref->length);
	err = read_at(f->fd, raw.data, ref->length, ref->offset);
	if (!err)
		err = og_chunk_decode_decimal((unsigned char *)raw.data,
		    ref->length, &dec, t, v, d, scale ? scale : &sc, n);
	if (!err && (*n != ref->count || t[0] != ref->tmin ||
	    t[*n - 1] != ref->tmax))
		err = "chunk does not match the index";
	if (!err)
		return NULL;
	snprintf(why, whysize, "%s/%s.dat: offset %llu: %s", s->path, f->name,
	    (unsigned long long)ref->offset, err);
	return why;
}

/* The same, dying when the chunk is damaged. */
void
og_keyfile_chunk(struct og_store *s, struct og_keyfile *f, size_t i,
    int64_t *t, double *v, int64_t *d, int *scale, size_t *n)
{
	char why[OG_STORE_WHY];

	if (og_keyfile_load(s, f, i, t, v, d, scale, n, why, sizeof why))
		og_die("%s", why);
}

/* Writes to .og-dirty, past its end. */
static void
append_dirty(struct og_store *s, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		if ((w = write(s->dirtyfd, p, n)) < 0) {
			if (errno == EINTR)
				continue;
			og_die("%s/.og-dirty: write error:", s->path);
		}
		p += w;
		n -= w;
	}
}

/* Names f in .og-dirty before anything is written past its committed
 * end: if the pack dies, the next one knows what to cut off. */
static void
list_dirty(struct og_store *s, struct og_keyfile *f)
{
	if (f->listed)
		return;
	if (s->dirtyfd < 0 && (s->dirtyfd = openat(s->dirfd, ".og-dirty",
	    O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0644)) < 0)
		og_die("%s/.og-dirty:", s->path);
	append_dirty(s, f->name, strlen(f->name));
	append_dirty(s, "\n", 1);
	f->listed = 1;
}

/*
 * What a pack that died left of a key: its .new files, and its data file
 * cut back to the committed end; removed when no pack committed the key,
 * if orphans.  A key whose meta file is damaged is left to og-pack -R.
 */
static void
clean_key(struct og_store *s, const char *name, int orphans)
{
	char file[FILE_MAX], why[OG_STORE_WHY];
	struct og_keymeta m = { 0 };
	struct stat st;
	int got, fd;

	snprintf(file, sizeof file, "%s.dat.new", name);
	unlinkat(s->dirfd, file, 0);
	snprintf(file, sizeof file, "%s.meta.new", name);
	unlinkat(s->dirfd, file, 0);
	snprintf(file, sizeof file, "%s.dat", name);
	got = read_meta(s, name, &m, why, sizeof why);
	if (got == -1 && orphans) {
		unlinkat(s->dirfd, file, 0);
	} else if (got == 0 && (fd = openat(s->dirfd, file, O_WRONLY |
	    O_CLOEXEC | O_NOFOLLOW)) >= 0) {
		if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
		    (uint64_t)st.st_size > m.data_end &&
		    ftruncate(fd, (off_t)m.data_end) < 0)
			og_warn("%s/%s: truncate:", s->path, file);
		close(fd);
	}
	free(m.chunks);
}

/* Cleans what the keys .og-dirty names were left with. */
static void
clean_dirty(struct og_store *s)
{
	char *buf, *line, *next, key[OG_KEY_MAX + 1];
	size_t len, keylen;

	if (!(buf = slurp(s, ".og-dirty", &len)))
		return;
	for (line = buf; (next = strchr(line, '\n')); line = next + 1) {
		*next = '\0';
		if (key_of_name(line, key, &keylen) == 0)
			clean_key(s, line, 1);
	}
	free(buf);
	unlinkat(s->dirfd, ".og-journal.tmp", 0);
	if (unlinkat(s->dirfd, ".og-dirty", 0) < 0)
		og_die("%s/.og-dirty:", s->path);
}

/*
 * A writer takes the writer lock before it writes, and first cleans what
 * a pack that died left: the journal's renames, then what .og-dirty names.
 */
void
og_store_lock(struct og_store *s)
{
	if (s->locked)
		return;
	flock_or_die(s, s->writefd, LOCK_EX);
	s->locked = 1;
	if (faccessat(s->dirfd, ".og-journal", F_OK, 0) == 0) {
		flock_or_die(s, s->lockfd, LOCK_EX);
		roll_forward(s);
		flock(s->lockfd, LOCK_UN);
	}
	clean_dirty(s);
}

void
og_store_unlock(struct og_store *s)
{
	if (!s->locked)
		return;
	flock(s->writefd, LOCK_UN);
	s->locked = 0;
}

/* What the writer wrote is committed or taken back: .og-dirty goes. */
void
og_store_clean(struct og_store *s)
{
	if (s->dirtyfd < 0)
		return;
	close(s->dirtyfd);
	s->dirtyfd = -1;
	if (unlinkat(s->dirfd, ".og-dirty", 0) < 0 && errno != ENOENT)
		og_die("%s/.og-dirty:", s->path);
}

/* A writer opens f's data file to append to it, never through a symbolic
 * link, checks it holds what the index says and cuts what a killed pack
 * left after: NULL, or in why what is wrong with it. */
const char *
og_keyfile_open_data(struct og_store *s, struct og_keyfile *f, char *why,
    size_t whysize)
{
	char file[FILE_MAX];
	struct stat st;
	int flags = O_RDWR | O_CLOEXEC | O_NOFOLLOW;

	if (f->fd >= 0)
		return NULL;
	list_dirty(s, f);
	mkdirs(s, f->name);
	snprintf(file, sizeof file, "%s.dat", f->name);
	if (f->meta.data_end == 0)
		flags |= O_CREAT;
	if ((f->fd = openat(s->dirfd, file, flags, 0644)) < 0) {
		snprintf(why, whysize, "%s/%s: %s", s->path, file,
		    strerror(errno));
		return why;
	}
	if (fstat(f->fd, &st) < 0)
		og_die("%s/%s:", s->path, file);
	if (!S_ISREG(st.st_mode))
		snprintf(why, whysize, "%s/%s: not a regular file", s->path,
		    file);
	else if ((uint64_t)st.st_size < f->meta.data_end)
		snprintf(why, whysize, "%s/%s: %lld bytes, shorter than the %llu"
		    " its meta file counts: damaged", s->path, file,
		    (long long)st.st_size, (unsigned long long)f->meta.data_end);
	else
		why = NULL;
	if (why) {
		og_keyfile_close_data(f);
		return why;
	}
	if ((uint64_t)st.st_size > f->meta.data_end &&
	    ftruncate(f->fd, (off_t)f->meta.data_end) < 0)
		og_die("%s/%s: truncate:", s->path, file);
	return NULL;
}

/* One descriptor at a time, however many keys a pack touches. */
void
og_keyfile_close_data(struct og_keyfile *f)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
}

/* Appends n bytes to f's open data file; returns where they start. */
uint64_t
og_keyfile_append(struct og_store *s, struct og_keyfile *f, const void *p,
    size_t n)
{
	uint64_t at = f->meta.data_end;

	if (write_at(f->fd, p, n, at) < 0)
		og_die("%s/%s.dat: write error:", s->path, f->name);
	f->meta.data_end += n;
	return at;
}

/* Rewrites f's data file as NAME.dat.new without its dead chunks: NULL,
 * or in why the chunk that could not be read. */
static const char *
compact(struct og_store *s, struct og_keyfile *f, char *why, size_t whysize)
{
	static struct og_buf raw;
	struct og_keymeta *m = &f->meta;
	char file[FILE_MAX];
	const char *err;
	uint64_t off = 0;
	size_t i;
	int fd;

	snprintf(file, sizeof file, "%s.dat.new", f->name);
	if ((fd = openat(s->dirfd, file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
	    O_NOFOLLOW, 0644)) < 0)
		og_die("%s/%s:", s->path, file);
	for (i = 0; i < m->nchunks; i++) {
		struct og_chunkref *r = &m->chunks[i];

		if ((err = read_chunk_raw(f->fd, r, &raw))) {
			snprintf(why, whysize, "%s/%s.dat: offset %llu: %s",
			    s->path, f->name, (unsigned long long)r->offset, err);
			close(fd);
			return why;
		}
		if (write_at(fd, raw.data, r->length, off) < 0)
			og_die("%s/%s: write error:", s->path, file);
		r->offset = off;
		off += r->length;
	}
	if (fdatasync(fd) < 0 || close(fd) < 0)
		og_die("%s/%s: fsync:", s->path, file);
	m->data_end = off;
	m->dead = 0;
	f->renewed = 1;
	return NULL;
}

/* Writes NAME.meta.new durably; og_store_commit puts it in place. */
static void
write_meta_new(struct og_store *s, const char *name, const struct og_keymeta *m)
{
	size_t len = META_HEADER + m->keylen + m->nchunks * META_ENTRY + 4, i;
	unsigned char *b = og_calloc(1, len), *e;
	char file[FILE_MAX];
	int fd;

	memcpy(b, META_MAGIC, 3);
	b[3] = OG_STORE_VERSION;
	b[4] = m->keylen & 0xff;
	b[5] = m->keylen >> 8;
	og_put_le64(b + 8, m->data_end);
	og_put_le64(b + 16, m->dead);
	og_put_le32(b + 24, (uint32_t)m->nchunks);
	memcpy(b + META_HEADER, m->key, m->keylen);
	e = b + META_HEADER + m->keylen;
	for (i = 0; i < m->nchunks; i++, e += META_ENTRY) {
		const struct og_chunkref *c = &m->chunks[i];

		og_put_le64(e, c->offset);
		og_put_le32(e + 8, c->length);
		og_put_le32(e + 12, c->count);
		og_put_le64(e + 16, (uint64_t)c->tmin);
		og_put_le64(e + 24, (uint64_t)c->tmax);
		og_put_le32(e + 32, c->crc);
	}
	og_put_le32(b + len - 4, (uint32_t)crc32(0, b, len - 4));
	snprintf(file, sizeof file, "%s.meta.new", name);
	if ((fd = openat(s->dirfd, file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
	    O_NOFOLLOW, 0644)) < 0)
		og_die("%s/%s:", s->path, file);
	if (write_at(fd, b, len, 0) < 0)
		og_die("%s/%s: write error:", s->path, file);
	if (fsync(fd) < 0 || close(fd) < 0)
		og_die("%s/%s: fsync:", s->path, file);
	free(b);
}

/*
 * Before commit: makes f's data durable, first rewriting the data file
 * without its dead chunks when they take more room than is worth keeping,
 * and writes its new index.  NULL, or in why what is damaged.
 */
const char *
og_keyfile_prepare(struct og_store *s, struct og_keyfile *f, char *why,
    size_t whysize)
{
	struct og_keymeta *m = &f->meta;
	uint64_t live = m->data_end - m->dead;
	const char *err;

	if ((err = og_keyfile_open_data(s, f, why, whysize)))
		return err;
	if (m->dead > live / 8 + 16384)
		err = compact(s, f, why, whysize);
	else if (fdatasync(f->fd) < 0)
		og_die("%s/%s.dat: fsync:", s->path, f->name);
	og_keyfile_close_data(f);
	if (!err)
		write_meta_new(s, f->name, m);
	return err;
}

/*
 * For og-pack -R: writes f's data file anew, of the chunks its index now
 * holds, all read through f's descriptor (none when the index is empty),
 * and the new index, for og_store_commit.
 */
void
og_keyfile_rewrite(struct og_store *s, struct og_keyfile *f)
{
	char why[OG_STORE_WHY];

	list_dirty(s, f);
	mkdirs(s, f->name);
	if (compact(s, f, why, sizeof why))
		og_die("%s", why);
	write_meta_new(s, f->name, &f->meta);
}

/*
 * A pack that fails before its commit point takes back what it wrote to
 * f, so that a full disk does not stay full; after kill -9 the next pack
 * does.  end is the data end at the last commit.
 */
void
og_keyfile_take_back(struct og_store *s, struct og_keyfile *f, uint64_t end)
{
	char file[FILE_MAX];
	int fd;

	snprintf(file, sizeof file, "%s.dat", f->name);
	if (end == 0) {
		unlinkat(s->dirfd, file, 0);
	} else if ((fd = openat(s->dirfd, file, O_WRONLY | O_CLOEXEC |
	    O_NOFOLLOW)) >= 0) {
		if (ftruncate(fd, (off_t)end) < 0)
			og_warn("%s/%s: truncate:", s->path, file);
		close(fd);
	}
	snprintf(file, sizeof file, "%s.dat.new", f->name);
	unlinkat(s->dirfd, file, 0);
	snprintf(file, sizeof file, "%s.meta.new", f->name);
	unlinkat(s->dirfd, file, 0);
}

/*
 * Makes a pack visible at once: the journal naming every new meta (and
 * data) file is the commit point; the renames after it are redone by
 * roll_forward if the pack dies among them.
 */
void
og_store_commit(struct og_store *s, struct og_keyfile **f, size_t n)
{
	struct og_buf j = { 0 };
	size_t i;
	int fd;

	if (n == 0)
		return;
	og_buf_add(&j, "og-journal 1\n", 13);
	for (i = 0; i < n; i++) {
		og_buf_add(&j, f[i]->name, strlen(f[i]->name));
		og_buf_add(&j, f[i]->renewed ? "\tdat\n" : "\tmeta\n",
		    f[i]->renewed ? 5 : 6);
	}
	og_buf_add(&j, "end\n", 4);
	if ((fd = openat(s->dirfd, ".og-journal.tmp",
	    O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644)) < 0)
		og_die("%s/.og-journal.tmp:", s->path);
	if (write_at(fd, j.data, j.len, 0) < 0)
		og_die("%s/.og-journal.tmp: write error:", s->path);
	if (fsync(fd) < 0 || close(fd) < 0)
		og_die("%s/.og-journal.tmp: fsync:", s->path);
	free(j.data);
	flock_or_die(s, s->lockfd, LOCK_EX);
	if (renameat(s->dirfd, ".og-journal.tmp", s->dirfd, ".og-journal") < 0)
		og_die("%s/.og-journal:", s->path);
	fsync_dir(s, ".og-journal");
	roll_forward(s);
	flock(s->lockfd, LOCK_UN);
}

/* Reads the chunk at off of a data file of size bytes into r, if one is
 * there whole and decodes. */
static int
chunk_at(int fd, uint64_t off, uint64_t size, struct og_chunkref *r)
{
	static struct og_buf raw, dec;
	static int64_t t[OG_CHUNK_POINTS];
	static double v[OG_CHUNK_POINTS];
	unsigned char h[OG_CHUNK_HEADER];
	uint64_t len;
	size_t n;

	if (read_at(fd, h, sizeof h, off) || memcmp(h, "OGc", 3) != 0)
		return 0;
	len = OG_CHUNK_HEADER + (uint64_t)og_get_le32(h + 28);
	if (len > size - off || len > CHUNK_MAX)
		return 0;
	raw.len = 0;
	og_buf_grow(&raw, len);
	if (read_at(fd, raw.data, len, off) ||
	    og_chunk_decode((unsigned char *)raw.data, len, &dec, t, v, &n))
		return 0;
	r->offset = off;
	r->length = (uint32_t)len;
	r->count = (uint32_t)n;
	r->tmin = t[0];
	r->tmax = t[n - 1];
	r->crc = og_get_le32(h + 36);
	return 1;
}

/* Where the next chunk magic after off is, or size. */
static uint64_t
next_magic(int fd, uint64_t off, uint64_t size)
{
	static char buf[SCAN_WINDOW];
	size_t n;
	char *hit;

	while (off + 3 <= size) {
		n = size - off < sizeof buf ? size - off : sizeof buf;
		if (read_at(fd, buf, n, off))
			return size;
		if ((hit = memmem(buf, n, "OGc", 3)))
			return off + (hit - buf);
		off += n - 2;
	}
	return size;
}

/* Adds r to m's chunks, found in file order, in place of those it
 * overlaps: a pack writes merged chunks after the chunks they replace. */
static void
keep_newest(struct og_keymeta *m, const struct og_chunkref *r)
{
	size_t i, j;

	for (i = j = 0; i < m->nchunks; i++)
		if (m->chunks[i].tmax < r->tmin || m->chunks[i].tmin > r->tmax)
			m->chunks[j++] = m->chunks[i];
	m->nchunks = j;
	if (m->nchunks == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 16;
		m->chunks = og_reallocarray(m->chunks, m->cap, sizeof *m->chunks);
	}
	m->chunks[m->nchunks++] = *r;
}

static int
by_time(const void *a, const void *b)
{
	const struct og_chunkref *x = a, *y = b;

	return (x->tmin > y->tmin) - (x->tmin < y->tmin);
}

/*
 * For og-pack -R, when f's meta file is lost or damaged: rebuilds its
 * index from the chunks in its data file (open in f), each one that
 * decodes whole but those a later one overlaps.  Returns the bytes that
 * hold no chunk.
 */
uint64_t
og_keyfile_scan(struct og_store *s, struct og_keyfile *f)
{
	struct og_keymeta *m = &f->meta;
	struct og_chunkref r;
	struct stat st;
	uint64_t off = 0, next, skipped = 0, size;
	size_t i;

	m->nchunks = 0;
	m->data_end = m->dead = 0;
	if (f->fd < 0)
		return 0;
	if (fstat(f->fd, &st) < 0)
		og_die("%s/%s.dat:", s->path, f->name);
	size = S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
	while (off < size) {
		if (size - off >= OG_CHUNK_HEADER && chunk_at(f->fd, off, size, &r)) {
			keep_newest(m, &r);
			off += r.length;
			continue;
		}
		next = next_magic(f->fd, off + 1, size);
		skipped += next - off;
		off = next;
	}
	if (m->nchunks > 1)
		qsort(m->chunks, m->nchunks, sizeof *m->chunks, by_time);
	for (i = 0; i < m->nchunks; i++)
		if (m->chunks[i].offset + m->chunks[i].length > m->data_end)
			m->data_end = m->chunks[i].offset + m->chunks[i].length;
	return skipped;
}

/* Byte order of keys, for qsort. */
static int
og_storekey_compare(const void *a, const void *b)
{
	const struct og_storekey *x = a, *y = b;
	size_t n = x->keylen < y->keylen ? x->keylen : y->keylen;
	int c = memcmp(x->key, y->key, n);

	return c ? c : (x->keylen > y->keylen) - (x->keylen < y->keylen);
}

/* The keys of the files under dir with a suffix in mask; into the
 * directories of long keys' names only, so never down another tree. */
static void
walk(struct og_store *s, const char *dir, int mask, struct og_storekey **keys,
    size_t *n, size_t *cap)
{
	DIR *d;
	struct dirent *de;
	int fd;

	fd = openat(s->dirfd, *dir ? dir : ".", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || !(d = fdopendir(fd)))
		og_die("%s/%s:", s->path, dir);
	while ((de = readdir(d))) {
		char name[FILE_MAX];
		size_t len;

		if (de->d_name[0] == '.')
			continue;
		snprintf(name, sizeof name, "%s%s%s", dir, *dir ? "/" : "",
		    de->d_name);
		if (de->d_type == DT_UNKNOWN) {
			struct stat st;

			if (fstatat(s->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			    S_ISDIR(st.st_mode))
				de->d_type = DT_DIR;
		}
		if (de->d_type == DT_DIR) {
			if (key_directory(de->d_name) && strlen(dir) < 800)
				walk(s, name, mask, keys, n, cap);
			continue;
		}
		if ((len = strip_suffix(de->d_name, mask)) == 0)
			continue;
		name[strlen(name) - strlen(de->d_name) + len] = '\0';
		if (*n == *cap) {
			*cap = *cap ? *cap * 2 : 64;
			*keys = og_reallocarray(*keys, *cap, sizeof **keys);
		}
		if (key_of_name(name, (*keys)[*n].key, &(*keys)[*n].keylen) < 0)
			continue;
		(*keys)[*n].key[(*keys)[*n].keylen] = '\0';
		(*n)++;
	}
	closedir(d);
}

/* All keys of the store, in byte order, each once: those with a meta file,
 * and with data those with a data file too. */
static struct og_storekey *
og_store_keys(struct og_store *s, int data, size_t *n)
{
	struct og_storekey *keys = NULL;
	size_t cap = 0, i, j;

	*n = 0;
	walk(s, "", data ? 3 : SUFFIX_META, &keys, n, &cap);
	if (*n > 1)
		qsort(keys, *n, sizeof *keys, og_storekey_compare);
	for (i = j = 0; i < *n; i++)
		if (j == 0 || og_storekey_compare(&keys[i], &keys[j - 1]))
			keys[j++] = keys[i];
	*n = j;
	return keys;
}

/* The keys named in argv, checked, in byte order and each once; all the
 * keys (og_store_keys) when argc is 0. */
struct og_storekey *
og_store_named(struct og_store *s, char **argv, int argc, int data,
    size_t *n)
{
	struct og_storekey *names;
	size_t i, j;

	if (argc == 0)
		return og_store_keys(s, data, n);
	names = og_calloc(argc, sizeof *names);
	for (i = 0; i < (size_t)argc; i++) {
		size_t len = strlen(argv[i]);

		if (!og_key_valid(argv[i], len))
			og_die("bad key '%.40s'", argv[i]);
		memcpy(names[i].key, argv[i], len + 1);
		names[i].keylen = len;
	}
	if (argc > 1)
		qsort(names, argc, sizeof *names, og_storekey_compare);
	for (i = j = 0; i < (size_t)argc; i++)
		if (j == 0 || og_storekey_compare(&names[i], &names[j - 1]))
			names[j++] = names[i];
	*n = j;
	return names;
}
