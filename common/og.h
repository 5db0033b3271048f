/* og.h: the library every og tool links, grouped by concern; one section
 * per file in common/. */
#ifndef OG_H
#define OG_H

#include <getopt.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define OG_VERSION "0.1"

#define OG_EXIT_DATA 1	/* runtime or data error */
#define OG_EXIT_USAGE 2

/*
 * Basics: diagnostics, memory, hashing.
 */

/* err.c: diagnostics prefixed with the program name; a format ending in ':'
 * gets ": strerror(errno)" appended.  og_long_options are --help and
 * --version, as GNU users type them, for getopt_long: -h and -V. */
extern const char *argv0;
extern const struct option og_long_options[];
void og_setprog(const char *name);
void og_die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
void og_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void og_usage_error(const char *fmt, ...)
    __attribute__((noreturn, format(printf, 1, 2)));
void og_version(void) __attribute__((noreturn));
/* og_why: what is wrong, formatted into why; returns why. */
const char *og_why(char *why, size_t whysize, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* alloc.c: allocation that never returns NULL. */
void *og_malloc(size_t size);
void *og_calloc(size_t n, size_t size);
void *og_realloc(void *p, size_t size);
void *og_reallocarray(void *p, size_t n, size_t size);
char *og_strdup(const char *s);
char *og_strndup(const char *s, size_t n);

/* table.c: og_hash is 64-bit FNV-1a.  An og_table finds item numbers
 * (indices into the caller's array) by hash: og_table_next puts the next
 * item added with hash h in *item and returns 1, from *probe = 0 on, or
 * returns 0 when there is none left; the caller tells a match from a
 * collision.  A zeroed table is empty. */
struct og_table_slot {
	uint64_t hash;
	size_t item;		/* the item + 1; 0 for an empty slot */
};
struct og_table {
	struct og_table_slot *slot;
	size_t mask, n;
};
void og_table_add(struct og_table *t, uint64_t h, size_t item);
void og_table_free(struct og_table *t);

static inline uint64_t
og_hash(const void *p, size_t len)
{
	const unsigned char *c = p;
	uint64_t h = 14695981039346656037ULL;

	while (len--)
		h = (h ^ *c++) * 1099511628211ULL;
	return h;
}

static inline int
og_table_next(const struct og_table *t, uint64_t h, size_t *probe,
    size_t *item)
{
	const struct og_table_slot *s;

	if (!t->slot)
		return 0;
	for (;;) {
		s = &t->slot[(h + (*probe)++) & t->mask];
		if (s->item == 0)
			return 0;
		if (s->hash == h) {
			*item = s->item - 1;
			return 1;
		}
	}
}

/*
 * Records and numbers: the record format every tool reads and writes,
 * and the numbers and times in it.
 */

/* number.c: exact decimal <-> double.  Values print as the shortest
 * decimal that reads back to the same double, in the style of Python's
 * repr(): "0.1", "450.0", "-0.0", "1e-05", "1.5e+16", "nan", into
 * OG_NUMBER_MAX bytes.  og_scan_value reads a plain decimal at p, before
 * end (a sign, at most 19 digits and a point), and returns where it stops,
 * or NULL if there is none: og_parse_value may still read it.  og_digits8
 * reads the digits at p, at most 8 of them, into *n and returns how many
 * there are; the 8 bytes from p on must be readable, whatever they hold.
 * og_format_decimal prints the double d / 10^s so, faster, where |d| <
 * 10^15, or returns 0 (it may write past the text, within those bytes);
 * og_put_digits writes the last count digits of n, zeros included, inline
 * for printing loops. */
#define OG_NUMBER_MAX 32
int og_parse_value(const char *s, size_t len, double *v);
const char *og_scan_value(const char *p, const char *end, double *v);
size_t og_format_value(char *buf, double v);
int og_parse_int64(const char *s, size_t len, int64_t *v);
size_t og_format_int64(char *buf, int64_t v);
size_t og_format_decimal(char *buf, int64_t d, int s);
extern const char og_digit_pairs[200];	/* "00" to "99" */
#define OG_POW10_EXACT 22
extern const double og_pow10[OG_POW10_EXACT + 1];	/* 10^i, exact */
extern const uint64_t og_pow10_u64[20];		/* 10^0 to 10^19 */

/*
 * Eight bytes at p as one little-endian word, each less '0': a byte is a
 * digit if it is then below 10, which bit 7 of (b & 0x7f) + 0x76 and of b
 * tells without carries between bytes; the lowest such bit says where
 * the digits stop.  The digits are shifted to the top of the word, with
 * zeros (leading zeros) below them, and combined pairwise, the first of
 * each pair being the lower: 10 * a + b in 16-bit lanes, then 100 * a + b
 * in 32-bit lanes, then 10000 * a + b, each one multiplication that puts
 * the sum in the pair's upper half.
 */
static inline int
og_digits8(const char *p, uint64_t *n)
{
	const uint64_t zeros = 0x3030303030303030;
	uint64_t w, stop;
	int count;

	memcpy(&w, p, sizeof w);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	w = __builtin_bswap64(w);
#endif
	w ^= zeros;
	stop = (((w & 0x7f7f7f7f7f7f7f7f) + 0x7676767676767676) | w) &
	    0x8080808080808080;
	count = stop ? __builtin_ctzll(stop) >> 3 : 8;
	/* two shifts of at most 32: a shift by 64, for no digits, is undefined */
	w = (w << (32 - 4 * count)) << (32 - 4 * count);
	w = (w * (1 + (10 << 8)) >> 8) & 0x00ff00ff00ff00ff;
	w = (w * (1 + (100 << 16)) >> 16) & 0x0000ffff0000ffff;
	*n = w * (1 + (10000ULL << 32)) >> 32;
	return count;
}

static inline void
og_put_digits(char *buf, uint32_t n, int count)
{
	for (buf += count; count >= 2; count -= 2) {
		buf -= 2;
		memcpy(buf, og_digit_pairs + 2 * (n % 100), 2);
		n /= 100;
	}
	if (count)
		buf[-1] = '0' + n % 10;
}

/* timefmt.c: Unix seconds <-> ISO 8601 and civil dates.
 * og_parse_time_iso needs an explicit offset or Z; og_parse_time_arg also
 * takes Unix seconds and dates or date-times in the local zone (TZ).
 * og_set_zone (-z) and og_zone_from_env (TZ, by og_setprog) refuse a zone
 * the zone database does not know, as a usage error. */
#define OG_TIME_MAX 32
int64_t og_days_from_civil(int64_t y, int m, int d);
void og_civil_from_days(int64_t days, int64_t *y, int *m, int *d);
int og_parse_time_iso(const char *s, size_t len, int64_t *t);
int og_parse_time_arg(const char *s, int64_t *t);
int64_t og_local_offset(int64_t t);
int64_t og_local_to_utc(int64_t civil);
size_t og_format_time_iso(char *buf, int64_t t);
void og_set_zone(const char *zone);
void og_zone_from_env(void);

/* record.c: the record format KEY<TAB>TIME<TAB>VALUE<LF>.
 * og_parse_record checks one line (without its LF) and returns NULL or a
 * description of what is wrong; the reader dies naming input and line.
 * og_read_record's key stays valid until the next read; records of one run
 * (consecutive records of a reader with one key) share a run number, which
 * no other run in the process has, so a caller can know the key unchanged
 * without comparing it.  og_parse_record sets run to 0: no run.
 * og_record_loop calls fn for every record of the argc files named in argv
 * ("-" is stdin), or of stdin when there are none, with the reader that
 * names its input and line; og_line_loop does the same for every line. */
#define OG_KEY_MAX 255
struct og_record {
	const char *key;
	size_t keylen;
	int64_t time;
	double value;
	uint64_t run;
};
struct og_reader {
	int fd;
	const char *name;
	char *buf;
	size_t cap, start, end;
	uintmax_t lineno;
	int eof;
	uint64_t lead, leadvalue;	/* a time's first 8 digits, as read */
	char key[OG_KEY_MAX + 1];	/* the current run's key, then a tab */
	size_t keylen;
	uint64_t run;
};
const char *og_parse_record(const char *line, size_t len, struct og_record *r,
    char *why, size_t whysize);
void og_reader_open(struct og_reader *rd, const char *path);
void og_reader_close(struct og_reader *rd);
int og_read_record(struct og_reader *rd, struct og_record *r);
char *og_read_line(struct og_reader *rd, size_t *len);
int og_key_valid(const char *key, size_t len);
typedef void og_record_fn(void *ctx, struct og_record *r,
    const struct og_reader *rd);
typedef void og_line_fn(void *ctx, char *line, size_t len,
    const struct og_reader *rd);
void og_record_loop(int argc, char **argv, og_record_fn *fn, void *ctx);
void og_line_loop(int argc, char **argv, og_line_fn *fn, void *ctx);
/* og_printable: the first max bytes of s for a message, each byte outside
 * printable ASCII as \ooo, "..." after them if s is longer; buf holds
 * OG_PRINTABLE_SIZE(max) bytes.  Returns the length written. */
#define OG_PRINTABLE_SIZE(max) (4 * (max) + 4)
size_t og_printable(char *buf, const char *s, size_t n, size_t max);

/* output.c: buffered stdout; a failed write is fatal, not silent.
 * og_usage prints the whole help text to stdout and exits 0 (status 0), or
 * its first line, the synopsis, to stderr and exits status. */
extern int og_iso_times;	/* -T: print times as local ISO 8601 */
void og_out(const void *p, size_t n);
void og_out_str(const char *s);
void og_out_char(int c);
void og_out_time(int64_t t);
void og_out_value(double v);
void og_out_record(const char *key, size_t keylen, int64_t t, double v);
void og_out_records(const char *key, size_t keylen, const int64_t *t,
    const double *v, const int64_t *d, int scale, size_t n);
void og_out_flush(void);
void og_out_close(void);
void og_usage(const char *text, int status) __attribute__((noreturn));

/*
 * The store: chunks of records, their codecs, and the files that hold
 * them.
 */

/* bytes.c: the bytes the store's formats are made of.  An og_buf grows as
 * it is added to; integers are little-endian; varints are LEB128, with
 * zigzag for signed values, inline for the decoders' inner loops but for
 * the rare long ones. */
struct og_buf {
	char *data;
	size_t len, cap;
};
void og_buf_grow(struct og_buf *b, size_t n);
void og_buf_add(struct og_buf *b, const void *p, size_t n);
uint32_t og_get_le32(const unsigned char *p);
uint64_t og_get_le64(const unsigned char *p);
void og_put_le32(unsigned char *p, uint32_t v);
void og_put_le64(unsigned char *p, uint64_t v);

static inline uint64_t
og_zigzag(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static inline int64_t
og_unzigzag(uint64_t u)
{
	return (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
}

static inline unsigned char *
og_put_varint(unsigned char *p, uint64_t v)
{
	while (v >= 0x80) {
		*p++ = (unsigned char)v | 0x80;
		v >>= 7;
	}
	*p++ = (unsigned char)v;
	return p;
}

int og_get_long_varint(const unsigned char **pp, const unsigned char *end,
    uint64_t *v);

static inline __attribute__((always_inline)) int
og_get_varint(const unsigned char **pp, const unsigned char *end,
    uint64_t *v)
{
	if (*pp < end && **pp < 0x80) {
		*v = *(*pp)++;
		return 0;
	}
	return og_get_long_varint(pp, end, v);
}

static inline int
og_varint_len(uint64_t v)
{
	int n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

/* chunk.c: a compressed run of up to OG_CHUNK_POINTS records of one key. */
#define OG_CHUNK_VERSION 5
#define OG_CHUNK_HEADER 40
#define OG_CHUNK_POINTS 16384
void og_chunk_encode(struct og_buf *out, const int64_t *t, const double *v,
    size_t n);
const char *og_chunk_decode(const unsigned char *c, size_t len,
    struct og_buf *scratch, int64_t *t, double *v, size_t *count);
const char *og_chunk_decode_decimal(const unsigned char *c, size_t len,
    struct og_buf *scratch, int64_t *t, double *v, int64_t *d, int *scale,
    size_t *count);
uint32_t og_chunk_crc(const unsigned char *c, size_t len);

/* rate.c: pulse times coded against a model of their rate, with a range
 * coder.  og_rate_write appends to b the steps of the n times t, in the
 * bit stream of model (0 to OG_RATE_MODELS - 1, the newest the smallest),
 * the model's noise allowance being rho (0 to OG_RATE_RHOS - 1) or, for
 * -1, the rho that codes them smallest, as judged on the first sample
 * times, and returns the rho; og_rate_read reads the len bytes at p back
 * into t[1] to t[n - 1], t[0] given, and returns NULL or what is wrong. */
#define OG_RATE_RHOS 2
#define OG_RATE_MODELS 3
int og_rate_write(struct og_buf *b, const int64_t *t, size_t n, int model,
    int rho, size_t sample);
const char *og_rate_read(const unsigned char *p, size_t len, int64_t *t,
    size_t n, int model, int rho);

/* decimal.c: values that are decimals M * 10^e of up to 15 significant
 * digits, e the chunk's (-22 to 22), |M| < 2^53, but for a few kept whole;
 * M = Q * step + R, Q coded against a prediction (how: 0 none, 1 the Q
 * before, 2 the Q before and its change).  og_decimal_fit chooses e, the
 * step and the prediction, 0 if the values are not such decimals, or,
 * given scale >= 0 (every value is D / 10^scale), if plain decimals do as
 * well; og_decimal_write appends the fitted values' columns;
 * og_decimal_read reads them back (M into dec, with -e in *scale). */
struct og_decimal {
	int e, how;
	int64_t step;
	size_t m, nexc;		/* values not nan, of them kept whole */
};
int og_decimal_fit(struct og_decimal *d, const double *v, size_t n,
    int scale);
unsigned char *og_decimal_write(const struct og_decimal *d, const double *v,
    size_t n, unsigned char *p, const unsigned char *start, size_t *cut,
    size_t *ncut);
const char *og_decimal_read(const unsigned char **pp,
    const unsigned char *end, double *v, size_t n, size_t m, int64_t *dec,
    int *scale);

/* grid.c: doubles computed from a counter, coded on their grid. */
enum { OG_GRID_QUANTA, OG_GRID_COUNTER };
struct og_grid {
	double k, unit, step;	/* value = k * (X * unit), unit = 2^-e */
	int e, s;		/* s: decimal quantum 10^-s of X * unit */
	int64_t offset;		/* counter: added to the running sum */
	size_t m, nexc;		/* values not nan, of them kept whole */
};
int og_grid_fit(struct og_grid *g, const double *v, size_t n);
void og_grid_quantum(struct og_grid *g);
int og_grid_counter(struct og_grid *g);
unsigned char *og_grid_write(const struct og_grid *g, int how,
    const double *v, size_t n, unsigned char *p, const unsigned char *start,
    size_t *cut, size_t *ncut);
const char *og_grid_read(const unsigned char **pp, const unsigned char *end,
    int how, double *v, size_t n);

/* store.c: the store directory, its marker, key files, locks and
 * journal; no other file knows the names of a store's files.
 * og_store_open refuses a directory that is not a store (not marked, not
 * empty, not made by an earlier og); a writer creates and marks it.
 * og_keyfile_open reads a key's index and, with data, opens its data file
 * for reading: 0, -1 when the store has no such key, or -2 and in why
 * (OG_STORE_WHY bytes) what is wrong.  og_keyfile_close releases it,
 * whatever the open returned.  og_keyfile_verify checks chunks [from, to)
 * against their checksums; og_keyfile_load reads and decodes one, as
 * og_chunk_decode_decimal does, and og_keyfile_chunk dies if it is
 * damaged.  The rest is for writers, between og_store_lock (which first
 * cleans what a writer that died left) and og_store_unlock: a key's data
 * file is appended to, then og_keyfile_prepare makes it durable
 * (compacted when dead chunks take too much room) and writes its new
 * index, which og_store_commit makes visible for all keys at once;
 * og_keyfile_take_back removes what an uncommitted pack wrote, and
 * og_store_clean forgets what a writer wrote once it is committed or taken
 * back.  Functions that return a why name a damaged key's file; runtime
 * errors (a failed write, a full disk) die.  og_keyfile_scan rebuilds a
 * lost index from the chunks of the data file and og_keyfile_rewrite
 * writes a key anew from its index, for og-pack -R. */
#define OG_STORE_VERSION 1
#define OG_STORE_WHY 4400
struct og_store {
	const char *path;
	int dirfd, lockfd, writefd, dirtyfd, writer, locked;
};
struct og_chunkref {
	uint64_t offset;
	uint32_t length, count, crc;
	int64_t tmin, tmax;
};
struct og_keymeta {
	char key[OG_KEY_MAX + 1];
	size_t keylen;
	uint64_t data_end, dead;
	struct og_chunkref *chunks;
	size_t nchunks, cap;
};
struct og_keyfile {
	struct og_keymeta meta;	/* the key's index */
	char *name;		/* store.c's */
	int fd;			/* the data file, or -1 */
	int renewed;		/* the data file was compacted */
	int listed;		/* in the list of keys being written */
};
struct og_storekey {
	char key[OG_KEY_MAX + 1];
	size_t keylen;
};
void og_store_open(struct og_store *s, const char *path, int writer);
void og_store_close(struct og_store *s);
void og_store_snapshot_begin(struct og_store *s);
void og_store_snapshot_end(struct og_store *s);
/* og_store_named: the keys named in argv, checked, in byte order and each
 * once; with argc 0 every key with a meta file (and with data, also those
 * with a data file only). */
struct og_storekey *og_store_named(struct og_store *s, char **argv, int argc,
    int data, size_t *n);
const char *og_keymeta_parse(const unsigned char *b, size_t len,
    struct og_keymeta *m);
int og_keyfile_open(struct og_store *s, struct og_keyfile *f, const char *key,
    size_t keylen, int data, char *why, size_t whysize);
const char *og_keyfile_open_read(struct og_store *s, struct og_keyfile *f,
    char *why, size_t whysize);
void og_keyfile_close(struct og_keyfile *f);
const char *og_keyfile_verify(struct og_store *s, struct og_keyfile *f,
    size_t from, size_t to, char *why, size_t whysize);
const char *og_keyfile_load(struct og_store *s, struct og_keyfile *f,
    size_t i, int64_t *t, double *v, int64_t *d, int *scale, size_t *n,
    char *why, size_t whysize);
void og_keyfile_chunk(struct og_store *s, struct og_keyfile *f, size_t i,
    int64_t *t, double *v, int64_t *d, int *scale, size_t *n);
void og_store_lock(struct og_store *s);
void og_store_unlock(struct og_store *s);
void og_store_clean(struct og_store *s);
const char *og_keyfile_open_data(struct og_store *s, struct og_keyfile *f,
    char *why, size_t whysize);
void og_keyfile_close_data(struct og_keyfile *f);
uint64_t og_keyfile_append(struct og_store *s, struct og_keyfile *f,
    const void *p, size_t n);
const char *og_keyfile_prepare(struct og_store *s, struct og_keyfile *f,
    char *why, size_t whysize);
void og_keyfile_take_back(struct og_store *s, struct og_keyfile *f,
    uint64_t end);
void og_store_commit(struct og_store *s, struct og_keyfile **f, size_t n);
uint64_t og_keyfile_scan(struct og_store *s, struct og_keyfile *f);
void og_keyfile_rewrite(struct og_store *s, struct og_keyfile *f);

/* pool.c: chunks encoded on n worker threads.  The caller fills the job
 * og_pool_slot gives (NULL while all are taken) and submits it; og_pool_head
 * gives back the oldest once encoded (waiting for it if wait is set), and
 * og_pool_pop frees it: jobs come back in the order they were given. */
struct og_job {
	int64_t t[OG_CHUNK_POINTS];
	double v[OG_CHUNK_POINTS];
	size_t n;
	struct og_buf out;	/* the chunk */
	void *owner;		/* the caller's */
	int state;
};
struct og_pool;
struct og_pool *og_pool_new(int n);
struct og_job *og_pool_slot(struct og_pool *pool);
void og_pool_submit(struct og_pool *pool, struct og_job *j);
struct og_job *og_pool_head(struct og_pool *pool, int wait);
void og_pool_pop(struct og_pool *pool);

/* packer.c: a pack session.  og_pack_begin opens STORE to write (creating
 * it if missing); og_pack_add buffers a record, the last of a key's
 * records at one time winning; og_pack_commit merges all into the keys'
 * chunks, makes them visible at once and ends the session.  The session
 * takes the store's writer lock (one writer at a time) when it first
 * writes, and holds it to the end.  A key whose files are found damaged
 * is named and left as it is, its records dropped, and og_pack_commit
 * returns 1; the other keys are committed.  og_pack_abort, for an exit
 * handler, takes back what a session that dies before its commit wrote. */
struct og_packkey;
struct og_pack {
	struct og_store store;
	struct og_packkey **keys, *last;	/* keys by first record */
	uint64_t run;		/* the record run whose key last is */
	size_t nkeys, buffered;
	struct og_table table;	/* of keys */
	int open, committing, damaged;
	int threads;		/* encoding chunks; set after og_pack_begin */
};
void og_pack_begin(struct og_pack *p, const char *path);
void og_pack_add(struct og_pack *p, const struct og_record *r);
int og_pack_commit(struct og_pack *p);
void og_pack_abort(struct og_pack *p);

/* repair.c: og-pack -R.  og_pack_repair keeps the chunks of the n keys
 * named (all when n is 0) that decode whole, drops the rest, rebuilds a
 * lost or damaged index from the chunks of the data file, commits the
 * keys it changed at once and reports on stdout per key what it kept and
 * dropped; it returns 1 if a key named was not found. */
int og_pack_repair(const char *path, char **keys, int n);

/*
 * The sheet: the sensors, their sites and categories.
 */

/* csv.c: an RFC 4180 reader over a buffer in memory: quoted fields with
 * commas, quotes and line ends, a UTF-8 BOM, CRLF, LF or CR line ends; ';'
 * separates fields instead of ',' when the first line holds more of them.
 * og_csv_next gives 1 and the record's fields, 0 at the end, or -1 and what
 * is wrong; it never exits on bad input (only when memory runs out). */
struct og_csv {
	char **field;		/* the record's fields, NUL-terminated, */
	size_t *len;		/* their lengths, */
	size_t nfields;		/* valid until the next call */
	uintmax_t row;		/* the record's number, the first being 1 */
	uintmax_t line;		/* the line it starts on */
	uintmax_t errline;	/* the line an error points at */
	char sep;		/* ',' or, from the header line, ';' */
	const char *p, *end;
	uintmax_t nextline;
	char *buf;
	size_t buflen, bufcap, fieldcap, *off;
};
void og_csv_init(struct og_csv *c, const char *data, size_t len);
int og_csv_next(struct og_csv *c, const char **why);
void og_csv_free(struct og_csv *c);

/* sheet.c: the sensor sheet, a CSV with a header row naming its columns
 * (case-insensitively, any order).  og_sheet_parse reads and checks it all
 * and returns NULL, or a description of the first problem and its CSV
 * record number in *row (0 when it is not about one row).  Values are
 * trimmed of white space; a column the sheet lacks reads as "". */
#define OG_NCATEGORIES 9
extern const char *const og_categories[OG_NCATEGORIES];
struct og_sheet_row {
	uintmax_t num;		/* CSV record number, the header being 1 */
	char **val;		/* ncols values */
};
struct og_sheet {
	size_t ncols, nrows;
	char **col;		/* column names as the header spells them */
	struct og_sheet_row *rows;
	int sensor, site, category, type;	/* column indices or -1 */
};
int og_category(const char *name);
const char *og_category_names(void);
const char *og_sheet_parse(struct og_sheet *s, const char *data, size_t len,
    uintmax_t *row, char *why, size_t whysize);
void og_sheet_free(struct og_sheet *s);
int og_sheet_column(const struct og_sheet *s, const char *name);
const char *og_sheet_value(const struct og_sheet *s, size_t row, int col);

/* meta.c: the sensor sheet as og-meta prints it,
 * SENSOR<TAB>SITE<TAB>CATEGORY<TAB>TYPE<TAB>UNIT ('-' for empty); a bad line
 * is fatal, naming file and line.  Categories are og_category()'s. */
struct og_sensor {
	char *sensor, *category, *type, *unit;
	size_t site;	/* index into og_meta.sites */
};
struct og_meta {
	struct og_sensor *sensors;
	size_t n;
	char **sites;	/* in order of first appearance */
	size_t nsites;
};
void og_meta_read(struct og_meta *m, const char *path);
struct og_sensor *og_meta_find(struct og_meta *m, const char *key,
    size_t keylen);
void og_meta_free(struct og_meta *m);

/*
 * Metrics: buckets, aggregates, site metrics and degree days.
 */

/* interval.c: buckets of fixed length aligned to the epoch (Ns Nmin Nh) or
 * calendar buckets starting at local midnight (Nd, Nw from Monday, Nmo,
 * Ny); local time-of-day windows HH:MM-HH:MM, [from, to), which may cross
 * midnight. */
enum og_unit { OG_SECONDS, OG_DAYS, OG_WEEKS, OG_MONTHS, OG_YEARS };
struct og_interval {
	enum og_unit unit;
	int64_t n;	/* seconds for OG_SECONDS, else a count of units */
};
struct og_window {
	int from, to;	/* seconds after local midnight */
};
int og_interval_parse(const char *s, struct og_interval *iv);
int64_t og_interval_start(const struct og_interval *iv, int64_t t);
int64_t og_interval_next(const struct og_interval *iv, int64_t start);
int64_t og_time_of_day(int64_t t);
int og_window_parse(const char *s, struct og_window *w);
int og_window_has(const struct og_window *w, int64_t t);

/* agg.c: the aggregates of one bucket.  Sums are exact (independent of the
 * order of samples and merges) and rounded once; percentiles interpolate
 * linearly between ranks as numpy's default does.  A partial state line is
 * KEY START COUNT NANS COVERED SUM MIN MAX FIRST_T FIRST LAST_T LAST [SAMPLE...]
 * with SUM written as [-]0xHEXp[+-]E; samples beyond 4096 follow on lines
 * KEY START * SAMPLE.... */
struct og_xsum {
	int lo, n;	/* limbs of 32 bits from 2^(32 lo - 1074) */
	uint32_t adds;
	int64_t *limb;
	unsigned __int128 near;	/* the values near the first, in units */
	int near_at;		/* of 2^(anchor - 1075): 4096 - anchor, or 0 */
	uint32_t near_adds;
};
struct og_state;
struct og_agg {
	double (*value)(struct og_state *s, double pct);
	double pct;
	int samples, empty;	/* keeps every sample; has a value of none */
	int sums;		/* needs only the sum and the counts */
	char name[16];
};
struct og_state {
	int64_t start, end;
	int64_t count, nans;	/* samples with a value, and nan samples */
	int64_t covered;	/* -d: seconds of the bucket whose use is known */
	int sorted;
	struct og_xsum sum;
	double min, max, first, last;
	int64_t first_t, last_t;
	double *samples;
	size_t nsamples, capsamples;
};
void og_xsum_add(struct og_xsum *x, double v);
void og_xsum_merge(struct og_xsum *x, struct og_xsum *y);
double og_xsum_value(struct og_xsum *x);
size_t og_xsum_format(struct og_xsum *x, char *buf);
int og_xsum_parse(struct og_xsum *x, const char *s, size_t len);
void og_xsum_free(struct og_xsum *x);
int og_agg_parse(const char *list, struct og_agg **aggs, size_t *n,
    const char **bad);
const char *og_agg_names(void);
void og_state_init(struct og_state *s, int64_t start, int64_t end);
void og_state_free(struct og_state *s);
void og_state_add(struct og_state *s, int64_t t, double v, int keep);
void og_state_add_sum(struct og_state *s, double v);
void og_state_merge(struct og_state *s, struct og_state *o);
double og_state_value(struct og_state *s, const struct og_agg *a);
void og_state_write(struct og_state *s, const char *key, size_t keylen,
    int64_t start);
const char *og_state_parse(const char *p, const char *end,
    struct og_state *s);

/* expr.c: site metrics NAME=EXPR, EXPR a sum of categories with + and -
 * and constant factors (gridGas*10, 0.5*pvProd, gridGas/1000).  A category
 * named twice is one term.  Returns NULL or what is wrong; never exits. */
struct og_term {
	char cat[32];
	double factor, divisor;	/* the term is factor * category / divisor */
};
struct og_expr {
	char name[64];
	struct og_term *terms;
	size_t nterms;
};
const char *og_expr_parse(const char *s, struct og_expr *e, char *why,
    size_t whysize);
void og_expr_free(struct og_expr *e);

/* series.c: every key's open buckets, fed samples, counter readings (-d)
 * or partial states (--merge).  A bucket is handed to emit once a sample of
 * its key arrives in a later bucket (unless hold or profile), else at
 * og_series_finish, keys in order of first appearance; opened, if set, is
 * told when a key moves on to a new bucket (--partial marks it so that
 * --merge closes buckets at the same points a single run does). */
struct og_series {
	char *key;
	size_t keylen;
	struct og_state *open;	/* sorted by start */
	size_t nopen, capopen;
	int64_t written;	/* buckets before this one are written */
	int has_last;		/* -d: the last reading */
	int reversible;		/* -d: falls can be export; -1 not asked yet */
	int64_t last_t;
	double last_c;
};
struct og_series_set {
	struct og_interval iv;
	int64_t profile;	/* -P: slot seconds, buckets by time of day */
	struct og_window win;
	int window, counter, hold, keep_samples;
	int sums_only;		/* the aggregates need only og_state_add_sum */
	int64_t gap;		/* -d: the longest time interpolated; 0 any */
	double max_fall;	/* -d: the fastest export, units an hour */
	int (*reversible)(void *ctx, struct og_series *k);
	void (*emit)(void *ctx, struct og_series *k, struct og_state *s);
	void (*opened)(void *ctx, struct og_series *k, int64_t start);
	void *ctx;
	struct og_series **order, *last;	/* keys by first sample */
	struct og_table table;	/* of order */
	uint64_t run;		/* the record run whose key last is */
	uint64_t fast_run;	/* run, when plain samples: no -d, -w, -P */
	size_t n;
};
void og_series_init(struct og_series_set *set);
void og_series_sample(struct og_series_set *set, struct og_record *r,
    const char *name, uintmax_t line);
void og_series_state(struct og_series_set *set, struct og_record *r,
    struct og_state *in, const char *name, uintmax_t line);
void og_series_finish(struct og_series_set *set);

/* site.c: site metrics.  Per site and bucket, each term of an expression
 * is the sum of the site's sensors of its category (0 if it has none); a
 * needed sensor without a value makes the result nan.  Keys are
 * SITE/NAME, or SITE/NAME/AGG with several aggregates. */
struct og_sites {
	struct og_meta *meta;
	struct og_expr *exprs;
	size_t nexprs, naggs;
	int *slot;		/* per sheet sensor: its slot in its site, or -1 */
	size_t *nslots;		/* per site */
	size_t **sensors;	/* per site: the sensor of each slot */
	struct site_row *rows;
	size_t nrows, cap, *table;
};
void og_sites_init(struct og_sites *s, struct og_meta *m,
    struct og_expr *exprs, size_t nexprs, size_t naggs);
void og_sites_add(struct og_sites *s, size_t sensor, int64_t start,
    const double *v);
void og_sites_finish(struct og_sites *s, const struct og_agg *aggs,
    void (*out)(const char *key, size_t keylen, int64_t t, double v));

/* degday.c: degree days per key from daily means (og-metric --hdd,
 * --cdd), as opengrid's compute_degree_days: the temperature equivalent
 * 0.6 T(d) + 0.3 T(d-1) + 0.1 T(d-2), nan without all three, and per base
 * b, HDD max(0, b - teq) or CDD max(0, teq - b), nan with teq.  Each day
 * of a key goes to out as KEY/temp_equivalent, then KEY/HDD_b or
 * KEY/CDD_b per base in the order given, b as written; days without a
 * mean between a key's days are written as nan.  og_degday_add takes a
 * key's days in time order; og_degday_bases returns NULL or what is
 * wrong with a list such as "13,16.5". */
struct og_degday_base {
	char name[80];		/* "/HDD_16.5" */
	size_t namelen;
	double value;
	int cooling;
};
struct og_degday {
	struct og_degday_base *bases;
	size_t nbases;
	void (*out)(const char *key, size_t keylen, int64_t t, double v);
	struct og_degday_key **keys;	/* by first day */
	size_t n;
	struct og_table table;	/* of keys */
};
void og_degday_init(struct og_degday *d,
    void (*out)(const char *key, size_t keylen, int64_t t, double v));
const char *og_degday_bases(struct og_degday *d, const char *list,
    int cooling, char *why, size_t whysize);
void og_degday_add(struct og_degday *d, const char *key, size_t keylen,
    int64_t day, double mean);
void og_degday_free(struct og_degday *d);

/*
 * Regression: og-fit's least squares and the statistics of its terms.
 */

/* tdist.c: Student's t distribution with df degrees of freedom (df > 0,
 * not necessarily whole), to about 1e-12 relative, tails included, up to
 * 10^4 degrees of freedom (1e-10 at 10^6).  og_betainc is the regularized incomplete beta function
 * I_x(a,b); og_t_tail2 is P(|T| > |t|), the two-sided p-value of t;
 * og_t_isf is the t with P(T > t) = q.  nan for arguments out of range. */
double og_betainc(double a, double b, double x);
double og_t_tail2(double t, double df);
double og_t_cdf(double t, double df);
double og_t_isf(double q, double df);

/* lsq.c: linear least squares min |y - Xb| by Householder QR, X given as
 * p columns of n values.  og_lsq_fit returns -1, or the first column
 * whose part orthogonal to the columns before it is no longer than tol
 * times the column (a linear combination of them: nothing else is then
 * set).  og_lsq_cov gives element (j,k) of (X'X)^-1, og_lsq_leverage
 * x'(X'X)^-1 x for a row x of p values.  The buffers are kept for the
 * next fit. */
struct og_lsq {
	size_t n, p;
	double *coef;		/* p */
	double *resid;		/* n: y - Xb */
	double ssr;		/* the sum of the squared residuals */
	double *a, *qty, *rinv;	/* R and the reflections, Q'y, R^-1 */
	size_t cap_a, cap_n, cap_p;
};
int og_lsq_fit(struct og_lsq *f, const double *const *cols, size_t p,
    const double *y, size_t n, double tol);
double og_lsq_cov(const struct og_lsq *f, size_t j, size_t k);
double og_lsq_leverage(const struct og_lsq *f, const double *x);
void og_lsq_free(struct og_lsq *f);

/* ols.c: ordinary least squares whose first column is the intercept (all
 * ones), with the statistics statsmodels' OLS gives: og_ols_fit returns
 * -1, or the first column that is (to 1e-9 of its length) a linear
 * combination of those before it.  og_ols_predict gives the prediction
 * at a row x and its interval +- tq standard deviations of a new
 * observation, tq a quantile of t with df_resid degrees of freedom, as
 * statsmodels' wls_prediction_std does. */
struct og_ols {
	struct og_lsq lsq;
	size_t n, p, cap;
	double *coef, *se, *pvalue;	/* p each */
	double ssr, df_resid, scale;	/* scale: ssr / df_resid */
	double r2, adj_r2, llf, aic, bic;
};
int og_ols_fit(struct og_ols *m, const double *const *cols, size_t p,
    const double *y, size_t n);
void og_ols_predict(const struct og_ols *m, const double *x, double tq,
    double *pred, double *lo, double *hi);
void og_ols_free(struct og_ols *m);

/* stepwise.c: the terms of a linear model of y chosen from candidate
 * columns as opengrid's MultiVarLinReg chooses them: forward by BIC from
 * the intercept alone, pruning terms whose p-value is above pmax, until a
 * round adds nothing.  A candidate that is a linear combination of the
 * model's terms is passed over, collinear being told once per candidate.
 * og_stepwise_run sets terms (indices into cand, in the order they
 * entered) and model, their fit: coefficient 0 the intercept, j + 1
 * terms[j]. */
struct og_stepwise {
	const double *const *cand;	/* ncand columns of n values */
	size_t ncand, n;
	const double *y;
	double pmax;
	void (*collinear)(void *ctx, size_t cand);
	void *ctx;
	size_t *terms, nterms;
	struct og_ols model;
	double *ones;
	const double **cols;
};
void og_stepwise_run(struct og_stepwise *s);
void og_stepwise_free(struct og_stepwise *s);

/*
 * Network: HTTP, and the Flukso API's answers.
 */

/* http.c: one whole-body GET with libcurl: http and https only (https
 * verifies certificates), redirects followed, connect and total timeouts,
 * at most max bytes.  og_http_get returns NULL and the body (NUL-terminated,
 * the caller frees it), or a description of the failure.  Neither it nor
 * og_http_safe_url (the URL without credentials, path or query, for
 * messages) ever reveals a secret the URL carries.  og_body_write is the
 * libcurl write callback that collects a body into an og_body, refusing
 * (too_big) what would pass max bytes. */
struct og_body {
	char *data;		/* NUL-terminated once anything arrived */
	size_t len, cap, max;
	int too_big;
};
int og_http_is_url(const char *s);
const char *og_http_safe_url(const char *url, char *buf, size_t size);
const char *og_http_get(const char *url, long timeout, size_t max, char **body,
    size_t *len, char *why, size_t whysize);
size_t og_body_write(char *data, size_t size, size_t n, void *body);

/* json.c: a strict JSON reader (RFC 8259) into a flat token array, the
 * root at index 0: jsmn tokenizes, a pass over its tokens refuses what
 * jsmn lets through.  An array's or object's size counts its elements or
 * members; an object's member is a STRING token (the name) followed by the
 * value's tokens; next is the index after a token's whole subtree.  String
 * tokens span the text between the quotes, escapes left as they are.
 * og_json_parse returns NULL or what is wrong, at byte *errpos; it never
 * exits on bad input (texts of 2 GB or more, or nested deeper than 64, are
 * refused).  og_json_member gives a member's value token or 0.
 * og_json_text copies a string token for a message into size bytes:
 * escapes undone (\b \f \n \r \t as spaces), other control characters
 * as '?', cut to fit (not inside a UTF-8 sequence); -1 if the token is
 * not a string. */
enum og_json_type { OG_JSON_NULL, OG_JSON_FALSE, OG_JSON_TRUE,
	OG_JSON_NUMBER, OG_JSON_STRING, OG_JSON_ARRAY, OG_JSON_OBJECT };
struct og_json_tok {	/* small: a tmpo block has two a record */
	uint32_t start, len, size, next;
	int type;
};
struct og_json {
	const char *s;
	struct og_json_tok *tok;
	size_t n, cap;
};
const char *og_json_parse(struct og_json *j, const char *s, size_t len,
    size_t *errpos);
void og_json_free(struct og_json *j);
size_t og_json_member(const struct og_json *j, size_t obj, const char *key);
int og_json_int64(const struct og_json *j, size_t i, int64_t *v);
int og_json_double(const struct og_json *j, size_t i, double *v);
int og_json_is(const struct og_json *j, size_t i, const char *text);
int og_json_text(const struct og_json *j, size_t i, char *buf, size_t size);

/* tmpo.c: the Flukso API's answers, checked; each returns NULL or what is
 * wrong (in why) and never exits on bad input.  og_tmpo_block decodes one
 * gzip-compressed tmpo block covering [bid, bid + 2^lvl): it is valid when
 * len(t) == len(v), t[0] == v[0] == 0, times strictly increase inside the
 * block and the running sums from head end exactly at tail (within 1e-9
 * relative when values are fractional).  With salvage, a block that old
 * Flukso firmware compacted wrongly is taken too: v has one entry more
 * than t at each boundary between records in different level 8 children
 * (256 s slots from bid), the two entries there agree, and without one of
 * each pair the rules hold; salvaged counts the entries dropped.
 * og_tmpo_sync_parse reads a sync list, og_tmpo_api_parse a sensor-API
 * answer ([time, value] pairs, "nan" or null for a missing value).  Arrays
 * in og_tmpo_data belong to the caller.  og_tmpo_sensor_ok: a Flukso
 * sensor id is 32 hex digits. */
struct og_tmpo_id {
	int64_t rid, bid;
	int lvl;
};
struct og_tmpo_data {
	int64_t *t;
	double *v;
	size_t n, salvaged;
};
const char *og_tmpo_decode(const char *json, size_t len, int64_t bid, int lvl,
    int salvage, struct og_tmpo_data *d, char *why, size_t whysize);
const char *og_tmpo_block(const unsigned char *body, size_t len, int64_t bid,
    int lvl, int salvage, struct og_tmpo_data *d, char *why, size_t whysize);
const char *og_tmpo_sync_parse(const char *s, size_t len,
    struct og_tmpo_id **ids, size_t *n, char *why, size_t whysize);
const char *og_tmpo_api_parse(const char *s, size_t len,
    struct og_tmpo_data *d, char *why, size_t whysize);
int og_tmpo_sensor_ok(const char *s, size_t len);

/* fetch.c: concurrent GETs (libcurl multi, keep-alive, at most jobs at
 * once), each with X-Version: 1.0 and the request's token as X-Token, which
 * no message ever shows.  A try that fails on the network, with 408, 429 or
 * 5xx, is tried again after backoff * 2^(try-1) seconds (at most
 * backoff_max, at least what Retry-After asks), up to tries in all;
 * redirects are not followed.  Requests start in order of prio, then of
 * adding; done is called once per request with ok set, or status and why.
 * Messages name a URL by its path and query only.
 * og_fetch_bytes counts the bytes of the bodies received whole. */
#define OG_TOKEN_MAX 256
struct og_fetch_opts {
	int jobs, tries, insecure, verbose;
	double timeout, backoff, backoff_max;	/* seconds */
};
struct og_req {
	char *url;		/* og_fetch_add copies it */
	const char *token, *accept;
	long prio;
	void (*done)(struct og_req *r);
	void *ctx;
	size_t max;		/* most bytes of body taken (0: 64 MB) */
	/* the answer, for done; done may keep body and set it NULL, the
	 * fetcher frees what is left when done returns */
	int ok;
	long status;		/* HTTP status, 0 on a network failure */
	char why[256];
	char *body;		/* NUL-terminated */
	size_t len;
};
struct og_fetcher;
double og_fetch_now(void);
struct og_fetcher *og_fetch_new(const struct og_fetch_opts *o);
void og_fetch_add(struct og_fetcher *f, const struct og_req *r);
void og_fetch_run(struct og_fetcher *f, void (*tick)(void *), void *arg);
uint64_t og_fetch_bytes(const struct og_fetcher *f);
void og_fetch_free(struct og_fetcher *f);

/* sync.c: the records of sensors from the Flukso API, printed as they
 * settle: sensors in order of og_sync_add, each one's records in time
 * order and within [start, end).  In tmpo mode each sensor's sync list
 * chooses its blocks (the highest rid, or rid; the highest level covering
 * a time), each checked by og_tmpo_block (salvaged unless strict, and
 * then named unless quiet), a malformed one replaced by the listed blocks
 * under it; records from a block that cannot be fetched on are held back.
 * In api mode each sensor is one sensor-API answer.  Failures are
 * reported per sensor or block, never with a token; og_sync_run returns 1
 * if anything failed, else 0.  og_sync_add returns -1 for a sensor added
 * before. */
struct og_sync_opts {
	struct og_fetch_opts fetch;
	const char *base;	/* the API's URL, without a trailing '/' */
	int64_t rid;		/* -1: the highest listed */
	int api;		/* the sensor API, at res (and unit) */
	const char *res, *unit;
	int64_t res_seconds;	/* what the API's times are ahead: it stamps
				 * an interval's end, records its start */
	int strict;		/* no salvage of tmpo blocks */
	int quiet, verbose, progress;
};
struct og_sync;
struct og_sync *og_sync_new(const struct og_sync_opts *o);
int og_sync_add(struct og_sync *y, const char *id, const char *token,
    int64_t start, int64_t end);
int og_sync_run(struct og_sync *y);
void og_sync_free(struct og_sync *y);

/* cred.c: secrets from a file only its owner may read or write (a regular
 * file, mode 0600 or stricter), never from argv: lines NAME SECRET, a tab
 * or spaces between; empty lines and lines starting with '#' are skipped.
 * og_cred_read dies on any other file, and on a line check refuses
 * (naming file, line and check's reason, never the secret).  A token is
 * 1 to OG_TOKEN_MAX - 17 bytes without space or control byte. */
struct og_cred {
	char *name, *secret;
};
struct og_creds {
	const char *path;
	struct og_cred *c;
	size_t n;
};
void og_cred_read(struct og_creds *cr, const char *path,
    const char *(*check)(const char *name, const char *secret));
const char *og_cred_find(const struct og_creds *cr, const char *name);
void og_cred_free(struct og_creds *cr);
int og_token_ok(const char *s, size_t len);

/* mqtt.c: a Fluksometer's readings, live from an MQTT broker.  Topics
 * /sensor/ID/counter and /sensor/ID/gauge carry [time, value] or
 * [time, value, "unit"] (og_mqtt_reading, which keeps its tokens in j),
 * /sensor/ID/tmpo/RID/LVL/BID/gz a gzip tmpo block (og_mqtt_topic reads
 * the topic).  og_mqtt_run subscribes with QoS 1 to the sensors added, or
 * to every sensor, and prints each message's records, flushed, as it
 * comes: a counter as ID, a gauge as ID/gauge, a block's records, checked
 * by og_tmpo_block, as ID; a bad message is named by its topic and the
 * stream goes on.  A connection that fails or is lost is tried again after
 * backoff seconds, doubled up to 60 each time, and said so.  It returns at
 * SIGTERM or SIGINT, between two messages, or after idle seconds without
 * a message: 1 if a message was bad or no connection was ever made, else
 * 0.  og_mqtt_login sets a user and password, which no message ever
 * shows; its copy of the password is wiped once handed to libmosquitto.
 * og_mqtt_url reads
 * mqtt://HOST[:PORT] and mqtts://HOST[:PORT] (a user or password in it is
 * refused); each returns NULL or what is wrong. */
struct og_mqtt_opts {
	const char *url;
	const char *id;		/* a persistent session; NULL: a clean one */
	double idle;		/* seconds; 0: never stop */
	double backoff;		/* seconds before the first new try */
	int insecure;		/* mqtts: no certificate check */
	int strict;		/* no salvage of tmpo blocks */
	int quiet, verbose;
};
struct og_mqtt_addr {
	char host[256];
	int port, tls;
};
enum og_mqtt_kind { OG_MQTT_COUNTER, OG_MQTT_GAUGE, OG_MQTT_TMPO };
struct og_mqtt_topic {
	enum og_mqtt_kind kind;
	char sensor[33];
	struct og_tmpo_id id;	/* OG_MQTT_TMPO: the block */
};
struct og_mqtt;
const char *og_mqtt_url(const char *url, struct og_mqtt_addr *a);
const char *og_mqtt_topic(const char *topic, struct og_mqtt_topic *tp,
    char *why, size_t whysize);
const char *og_mqtt_reading(struct og_json *j, const char *payload,
    size_t len, int64_t *t, double *v, char *why, size_t whysize);
struct og_mqtt *og_mqtt_new(const struct og_mqtt_opts *o, const char **why);
int og_mqtt_add(struct og_mqtt *q, const char *sensor);
void og_mqtt_login(struct og_mqtt *q, const char *user, const char *password);
int og_mqtt_run(struct og_mqtt *q);
void og_mqtt_free(struct og_mqtt *q);

/* weather.c: hourly weather at a place from Open-Meteo's historical weather
 * API, GET BASE/v1/archive with the variables temperature_2m (degrees C),
 * shortwave_radiation (W/m2, the mean of the hour before), wind_speed_10m
 * (m/s) and relative_humidity_2m (%), in UTC and Unix seconds: one
 * request per calendar year (UTC) of the days [start, end) touches (end
 * INT64_MAX: now), fetched through fetch.c without a token.  It prints
 * the records in [start, end) keyed by the variables' names, each
 * variable's together in time order, null as nan; a year that cannot be
 * fetched is reported with the API's reason, and the years after it are
 * held back.  og_weather_run returns 1 if anything failed, else 0.
 * og_weather_location reads LAT,LON, degrees from -90 to 90 and -180 to
 * 180, or returns -1. */
struct og_weather_opts {
	struct og_fetch_opts fetch;
	const char *base;	/* without a trailing '/' */
	double lat, lon;
	int64_t start, end;
	int quiet;
};
int og_weather_location(const char *s, double *lat, double *lon);
int og_weather_run(const struct og_weather_opts *o);

#endif
