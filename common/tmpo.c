/* tmpo.c: Flukso tmpo blocks, sync lists and sensor-API answers, checked.
 * Nothing here exits on bad input: each reader returns NULL or what is
 * wrong, so a bad block costs that block only. */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "og.h"

#define GUNZIP_MAX ((size_t)256 << 20)

static const char *
og_gunzip(const unsigned char *in, size_t len, char **out, size_t *outlen,
    char *why, size_t whysize)
{
	z_stream z;
	char *buf = NULL;
	size_t cap = 0, have = 0;
	int rc;

	*out = NULL;
	*outlen = 0;
	memset(&z, 0, sizeof z);
	if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
		return og_why(why, whysize, "gzip: cannot initialise zlib");
	z.next_in = (unsigned char *)in;
	do {
		if (have + 1 >= cap) {
			if (cap >= GUNZIP_MAX) {
				inflateEnd(&z);
				free(buf);
				return og_why(why, whysize,
				    "gzip data expands beyond %zu MB",
				    GUNZIP_MAX >> 20);
			}
			cap = cap ? 2 * cap : 4 * len + 4096;
			buf = og_realloc(buf, cap);
		}
		z.next_out = (unsigned char *)buf + have;
		z.avail_out = cap - 1 - have;
		/* len may exceed what one avail_in holds: feed in pieces */
		if (z.avail_in == 0 && len > (size_t)(z.next_in - in)) {
			size_t left = len - (z.next_in - in);
			z.avail_in = left > (1u << 30) ? 1u << 30 : left;
		}
		rc = inflate(&z, Z_NO_FLUSH);
		have = cap - 1 - z.avail_out;
		if (rc == Z_BUF_ERROR && z.avail_in == 0 &&
		    (size_t)(z.next_in - in) == len) {
			inflateEnd(&z);
			free(buf);
			return og_why(why, whysize, "gzip data truncated");
		}
		if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
			og_why(why, whysize, "bad gzip data (%s)",
			    z.msg ? z.msg : "zlib error");
			inflateEnd(&z);
			free(buf);
			return why;
		}
	} while (rc != Z_STREAM_END);
	if ((size_t)(z.next_in - in) != len) {
		inflateEnd(&z);
		free(buf);
		return og_why(why, whysize, "bad gzip data (data after the end)");
	}
	inflateEnd(&z);
	buf[have] = '\0';
	*out = buf;
	*outlen = have;
	return NULL;
}

static const char *
parse_json(struct og_json *j, const char *s, size_t len, char *why,
    size_t whysize)
{
	const char *err;
	size_t pos;

	if ((err = og_json_parse(j, s, len, &pos)))
		return og_why(why, whysize, "bad JSON at byte %zu: %s", pos, err);
	return NULL;
}

/* [time, value]: time an integer, value a number (integral or not). */
static int
pair(const struct og_json *j, size_t i, int64_t *t, double *v, int64_t *iv,
    int *integral)
{
	if (i == 0 || j->tok[i].type != OG_JSON_ARRAY || j->tok[i].size != 2)
		return -1;
	if (og_json_int64(j, i + 1, t) < 0)
		return -1;
	*integral = og_json_int64(j, i + 2, iv) == 0;
	if (og_json_double(j, i + 2, v) < 0)
		return -1;
	return 0;
}

static int
add_ok(int64_t a, int64_t b, int64_t *sum)
{
	return !__builtin_add_overflow(a, b, sum);
}

/* A block's JSON, its head and tail, and where its arrays are. */
struct block {
	struct og_json j;
	size_t ta, va, n, extra;	/* n times, n + extra values */
	int64_t bid, end, t0, tn, ih, itail;
	double vh, vtail;
	int allint;		/* head, tail and v all integers */
};

static const char *
block_parse(struct block *b, const char *json, size_t len, int salvage,
    char *why, size_t whysize)
{
	struct og_json *j = &b->j;
	const char *err;
	size_t h, i, vi, nv;
	int hint, tint;
	int64_t dv;

	if ((err = parse_json(j, json, len, why, whysize)))
		return err;
	if (j->tok[0].type != OG_JSON_OBJECT)
		return og_why(why, whysize, "not a JSON object");
	if (!(h = og_json_member(j, 0, "h")) ||
	    j->tok[h].type != OG_JSON_OBJECT)
		return og_why(why, whysize, "no header \"h\"");
	if (pair(j, og_json_member(j, h, "head"), &b->t0, &b->vh, &b->ih,
	    &hint) < 0)
		return og_why(why, whysize, "bad or missing head");
	if (pair(j, og_json_member(j, h, "tail"), &b->tn, &b->vtail, &b->itail,
	    &tint) < 0)
		return og_why(why, whysize, "bad or missing tail");
	b->ta = og_json_member(j, 0, "t");
	b->va = og_json_member(j, 0, "v");
	if (!b->ta || j->tok[b->ta].type != OG_JSON_ARRAY ||
	    !b->va || j->tok[b->va].type != OG_JSON_ARRAY)
		return og_why(why, whysize, "no arrays \"t\" and \"v\"");
	b->n = j->tok[b->ta].size;
	nv = j->tok[b->va].size;
	if (nv < b->n || (nv > b->n && !salvage))
		return og_why(why, whysize, "v has %zu values, t has %zu", nv, b->n);
	if (b->n == 0)
		return og_why(why, whysize, "no values");
	b->extra = nv - b->n;
	b->allint = hint && tint;
	for (i = 0, vi = b->va + 1; b->allint && i < nv; i++, vi++)
		if (og_json_int64(j, vi, &dv) < 0)
			b->allint = 0;
	return NULL;
}

/* Old firmware, joining the level 8 children (256 s from bid) of a
 * compacted block, wrote one v entry too many at each joint. */
static int
new_child(const struct block *b, const int64_t *t, size_t i)
{
	return i > 0 && (t[i] - b->bid) >> 8 != (t[i - 1] - b->bid) >> 8;
}

/* The running sums of t into d->t, each delta checked; they must end
 * exactly at tail. */
static const char *
block_times(struct block *b, struct og_tmpo_data *d, char *why,
    size_t whysize)
{
	int64_t tsum = b->t0, dt;
	size_t i, ti, joints = 0;

	for (i = 0, ti = b->ta + 1; i < b->n; i++, ti++) {
		if (og_json_int64(&b->j, ti, &dt) < 0)
			return og_why(why, whysize, "t[%zu] is not an integer", i);
		if (i == 0 ? dt != 0 : dt <= 0)
			return og_why(why, whysize, i == 0 ? "t[0] is not 0" :
			    "times not increasing at t[%zu]", i);
		if (!add_ok(tsum, dt, &tsum))
			return og_why(why, whysize, "time overflows at t[%zu]", i);
		if (tsum < b->bid || tsum >= b->end)
			return og_why(why, whysize, "time %jd at t[%zu] is outside "
			    "the block", (intmax_t)tsum, i);
		d->t[i] = tsum;
		joints += new_child(b, d->t, i);
	}
	if (tsum != b->tn)
		return og_why(why, whysize, "times end at %jd, tail says %jd",
		    (intmax_t)tsum, (intmax_t)b->tn);
	if (joints != b->extra && b->extra > 0)
		return og_why(why, whysize, "v has %zu values, t has %zu: %zu "
		    "extra, but %zu child boundar%s", b->n + b->extra, b->n,
		    b->extra, joints, joints == 1 ? "y" : "ies");
	return NULL;
}

/* v[k] and v[k + 1] where record i starts a new child: either is the
 * one too many, so they must agree. */
static const char *
joint(struct block *b, size_t k, size_t i, char *why, size_t whysize)
{
	char x[OG_NUMBER_MAX], y[OG_NUMBER_MAX];
	size_t vi = b->va + 1 + k;
	double p, q;

	if (og_json_double(&b->j, vi, &p) < 0 || !isfinite(p))
		return og_why(why, whysize, "v[%zu] is not a number", k);
	if (og_json_double(&b->j, vi + 1, &q) < 0 || !isfinite(q))
		return og_why(why, whysize, "v[%zu] is not a number", k + 1);
	if (p == q)
		return NULL;
	return og_why(why, whysize, "v has %zu values, t has %zu: v[%zu] = %.*s "
	    "and v[%zu] = %.*s differ at the child boundary before t[%zu] "
	    "(ambiguous)", b->n + b->extra, b->n, k,
	    (int)og_format_value(x, p), x, k + 1, (int)og_format_value(y, q),
	    y, i);
}

/* The running sums of v into d->v, each delta checked, one of the two
 * entries at each joint of a salvaged block skipped; they must end at
 * tail, exactly for integers, within 1e-9 relative for fractions (the
 * meter's own sum may differ in the last bits). */
static const char *
block_values(struct block *b, struct og_tmpo_data *d, char *why,
    size_t whysize)
{
	int64_t isum = b->ih, dv;
	double fsum = b->vh, fdv;
	char x[OG_NUMBER_MAX], y[OG_NUMBER_MAX];
	const char *err;
	size_t i, k;

	for (i = k = 0; i < b->n; i++, k++) {
		if (b->extra && new_child(b, d->t, i) &&
		    (err = joint(b, k++, i, why, whysize)))
			return err;
		if (og_json_double(&b->j, b->va + 1 + k, &fdv) < 0 ||
		    !isfinite(fdv))
			return og_why(why, whysize, "v[%zu] is not a number", k);
		if (i == 0 && fdv != 0)
			return og_why(why, whysize, "v[0] is not 0");
		if (b->allint) {
			og_json_int64(&b->j, b->va + 1 + k, &dv);
			if (!add_ok(isum, dv, &isum))
				return og_why(why, whysize,
				    "value overflows at v[%zu]", k);
			fsum = (double)isum;
		} else {
			fsum += fdv;
		}
		d->v[i] = fsum;
	}
	if (b->allint ? isum == b->itail :
	    fabs(fsum - b->vtail) <= 1e-9 * fmax(1, fabs(b->vtail)))
		return NULL;
	if (b->extra)
		return og_why(why, whysize, "v has %zu values, t has %zu: without "
		    "the extra entries, values end at %.*s, tail says %.*s",
		    b->n + b->extra, b->n, (int)og_format_value(x, fsum), x,
		    (int)og_format_value(y, b->vtail), y);
	return og_why(why, whysize, "values end at %.*s, tail says %.*s",
	    (int)og_format_value(x, fsum), x,
	    (int)og_format_value(y, b->vtail), y);
}

const char *
og_tmpo_decode(const char *json, size_t len, int64_t bid, int lvl,
    int salvage, struct og_tmpo_data *d, char *why, size_t whysize)
{
	struct block b = { .bid = bid, .end = bid + ((int64_t)1 << lvl) };
	const char *err;

	memset(d, 0, sizeof *d);
	if (!(err = block_parse(&b, json, len, salvage, why, whysize))) {
		d->t = og_reallocarray(NULL, b.n, sizeof *d->t);
		d->v = og_reallocarray(NULL, b.n, sizeof *d->v);
		if (!(err = block_times(&b, d, why, whysize)))
			err = block_values(&b, d, why, whysize);
	}
	og_json_free(&b.j);
	if (err) {
		free(d->t);
		free(d->v);
		memset(d, 0, sizeof *d);
	} else {
		d->n = b.n;
		d->salvaged = b.extra;
	}
	return err;
}

const char *
og_tmpo_block(const unsigned char *body, size_t len, int64_t bid, int lvl,
    int salvage, struct og_tmpo_data *d, char *why, size_t whysize)
{
	const char *err;
	char *json;
	size_t n;

	memset(d, 0, sizeof *d);
	if (len < 2 || body[0] != 0x1f || body[1] != 0x8b)
		return og_why(why, whysize, "not gzip data");
	if ((err = og_gunzip(body, len, &json, &n, why, whysize)))
		return err;
	err = og_tmpo_decode(json, n, bid, lvl, salvage, d, why, whysize);
	free(json);
	return err;
}

static int
member_int(const struct og_json *j, size_t obj, const char *key, int64_t *v)
{
	return og_json_int64(j, og_json_member(j, obj, key), v);
}

const char *
og_tmpo_sync_parse(const char *s, size_t len, struct og_tmpo_id **ids,
    size_t *n, char *why, size_t whysize)
{
	struct og_json j = { 0 };
	const char *err;
	size_t i, k;
	int64_t rid, lvl, bid;

	*ids = NULL;
	*n = 0;
	if ((err = parse_json(&j, s, len, why, whysize)))
		goto out;
	if (j.tok[0].type != OG_JSON_ARRAY) {
		err = og_why(why, whysize, "sync list is not a JSON array");
		goto out;
	}
	*ids = og_reallocarray(NULL, j.tok[0].size + 1, sizeof **ids);
	for (i = 1, k = 0; k < j.tok[0].size; k++, i = j.tok[i].next) {
		if (j.tok[i].type != OG_JSON_OBJECT ||
		    member_int(&j, i, "rid", &rid) < 0 ||
		    member_int(&j, i, "lvl", &lvl) < 0 ||
		    member_int(&j, i, "bid", &bid) < 0) {
			err = og_why(why, whysize, "sync list entry %zu lacks "
			    "integers rid, lvl and bid", k + 1);
			goto out;
		}
		if (rid < 0 || lvl < 0 || lvl > 40 || bid < 0 ||
		    bid > INT64_MAX - ((int64_t)1 << lvl) ||
		    bid % ((int64_t)1 << lvl) != 0) {
			err = og_why(why, whysize, "sync list entry %zu: bad block "
			    "rid %jd lvl %jd bid %jd", k + 1, (intmax_t)rid,
			    (intmax_t)lvl, (intmax_t)bid);
			goto out;
		}
		(*ids)[k].rid = rid;
		(*ids)[k].lvl = lvl;
		(*ids)[k].bid = bid;
	}
	*n = k;
out:
	og_json_free(&j);
	if (err) {
		free(*ids);
		*ids = NULL;
	}
	return err;
}

const char *
og_tmpo_api_parse(const char *s, size_t len, struct og_tmpo_data *d,
    char *why, size_t whysize)
{
	struct og_json j = { 0 };
	const char *err;
	size_t i, k, n;
	double tf;

	memset(d, 0, sizeof *d);
	if ((err = parse_json(&j, s, len, why, whysize)))
		goto out;
	if (j.tok[0].type != OG_JSON_ARRAY) {
		err = og_why(why, whysize, "answer is not a JSON array");
		goto out;
	}
	n = j.tok[0].size;
	d->t = og_reallocarray(NULL, n + 1, sizeof *d->t);
	d->v = og_reallocarray(NULL, n + 1, sizeof *d->v);
	for (i = 1, k = 0; k < n; k++, i = j.tok[i].next) {
		if (j.tok[i].type != OG_JSON_ARRAY || j.tok[i].size != 2) {
			err = og_why(why, whysize, "item %zu is not a pair", k + 1);
			goto out;
		}
		if (og_json_int64(&j, i + 1, &d->t[k]) < 0) {
			if (og_json_double(&j, i + 1, &tf) < 0 || tf != floor(tf) ||
			    fabs(tf) > 9e15) {
				err = og_why(why, whysize, "item %zu: bad time",
				    k + 1);
				goto out;
			}
			d->t[k] = (int64_t)tf;
		}
		if (k > 0 && d->t[k] <= d->t[k - 1]) {
			err = og_why(why, whysize, "item %zu: times not "
			    "increasing", k + 1);
			goto out;
		}
		if (og_json_double(&j, i + 2, &d->v[k]) == 0)
			continue;
		if (og_json_is(&j, i + 2, "nan") ||
		    j.tok[i + 2].type == OG_JSON_NULL) {
			d->v[k] = NAN;
			continue;
		}
		err = og_why(why, whysize, "item %zu: bad value", k + 1);
		goto out;
	}
	d->n = n;
out:
	og_json_free(&j);
	if (err) {
		free(d->t);
		free(d->v);
		d->t = NULL;
		d->v = NULL;
	}
	return err;
}

int
og_tmpo_sensor_ok(const char *s, size_t len)
{
	size_t i;

	if (len != 32)
		return 0;
	for (i = 0; i < len; i++)
		if (!isxdigit((unsigned char)s[i]))
			return 0;
	return 1;
}
