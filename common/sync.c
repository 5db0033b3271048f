/* sync.c: sensors' records from the Flukso API, fetched concurrently and
 * printed in order: the tmpo blocks of each sensor (chosen from its sync
 * list, checked, a malformed one replaced by the blocks under it) or its
 * sensor-API answer. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "og.h"

enum { IDLE, QUEUED, FETCHED, BAD, MISSING };

/* A fetched block waits for its turn compressed: decoded, it takes a
 * hundred times the room (38 kB of gzip, 7 MB of readings). */
struct block {
	struct og_tmpo_id id;
	int state;
	char *body;
	size_t len;
};

/* Records print in order of adding sensors, each sensor's blocks in time
 * order as soon as every earlier one is settled; fetches are issued in that
 * order too, at most window (2 x jobs) blocks ahead of the printing, so
 * memory is bounded by the blocks in flight, not by the length of the
 * history.  A block is checked when its turn comes: a malformed one then
 * has the blocks under it fetched. */
struct sensor {
	char *id, *token;
	int64_t start, end, cut;
	struct block *b;	/* sorted by lvl, then bid */
	struct block **order;	/* by bid, a covering block first */
	size_t nb, next, issue, records;
	int failed, listed, asked;
	struct og_tmpo_data api;
};

struct og_sync {
	struct og_sync_opts o;
	struct og_fetcher *fetcher;
	struct sensor *sensors;
	size_t nsensors, cap, ndone, nissue, held, window;
	int failed, shown;
	uint64_t nblocks;
	double shown_at;
};

struct job {
	struct og_sync *y;
	struct sensor *s;
	struct block *b;	/* NULL: the sync list or the api answer */
};

static void
clear_progress(struct og_sync *y)
{
	if (y->shown)
		fputs("\r\033[K", stderr);
	y->shown = 0;
}

#define report(y, ...) (clear_progress(y), og_warn(__VA_ARGS__))

static void
tick(void *arg)
{
	struct og_sync *y = arg;
	double now = og_fetch_now();

	if (!y->o.progress || now - y->shown_at < 0.25)
		return;
	y->shown_at = now;
	fprintf(stderr, "\r%s: %zu/%zu sensors, %ju blocks, %.1f MB\033[K",
	    argv0, y->ndone, y->nsensors, (uintmax_t)y->nblocks,
	    og_fetch_bytes(y->fetcher) / 1e6);
	y->shown = 1;
}

static void done(struct og_req *r);
static void start_api(struct og_sync *y, struct sensor *s);

static void
get(struct og_sync *y, struct sensor *s, struct block *b, const char *path,
    const char *accept)
{
	struct job *j = og_malloc(sizeof *j);
	struct og_req r = { 0 };
	size_t n = strlen(y->o.base) + strlen(path) + 1;

	j->y = y;
	j->s = s;
	j->b = b;
	r.url = og_malloc(n);
	snprintf(r.url, n, "%s%s", y->o.base, path);
	r.token = s->token;
	r.accept = accept;
	r.prio = s - y->sensors;
	r.done = done;
	r.ctx = j;
	og_fetch_add(y->fetcher, &r);
	free(r.url);
}

static void
get_block(struct og_sync *y, struct sensor *s, struct block *b)
{
	char path[128 + OG_KEY_MAX];

	snprintf(path, sizeof path, "/sensor/%s/tmpo/%jd/%d/%jd", s->id,
	    (intmax_t)b->id.rid, b->id.lvl, (intmax_t)b->id.bid);
	b->state = QUEUED;
	y->held++;
	get(y, s, b, path, "application/gzip");
}

static int
cmp_id(const void *a, const void *b)
{
	const struct og_tmpo_id *x = a, *y = b;

	if (x->lvl != y->lvl)
		return x->lvl < y->lvl ? -1 : 1;
	return x->bid < y->bid ? -1 : x->bid > y->bid;
}

static struct block *
find(struct sensor *s, int lvl, int64_t bid)
{
	struct og_tmpo_id key = { 0, bid, lvl };

	return bsearch(&key, s->b, s->nb, sizeof *s->b, cmp_id);
}

/* A block is wanted when no higher block in the list covers it, or every
 * one that does turned out malformed: then its time is still ours. */
static int
wanted(struct sensor *s, struct block *b)
{
	struct block *a;
	size_t i;

	for (i = s->nb; i-- > 0 && s->b[i].id.lvl > b->id.lvl;) {
		if (i + 1 < s->nb && s->b[i + 1].id.lvl == s->b[i].id.lvl)
			continue;	/* each level once */
		a = find(s, s->b[i].id.lvl, b->id.bid &
		    ~(((int64_t)1 << s->b[i].id.lvl) - 1));
		if (a && a->state != BAD)
			return 0;
	}
	return 1;
}

static int
cmp_time(const void *a, const void *b)
{
	const struct block *x = *(struct block *const *)a;
	const struct block *y = *(struct block *const *)b;

	if (x->id.bid != y->id.bid)
		return x->id.bid < y->id.bid ? -1 : 1;
	return y->id.lvl - x->id.lvl;
}

/* The blocks under the malformed order[i], up to where the issuing has
 * come (beyond, it finds them itself): fetched now, past the window, for
 * the printing waits on them. */
static void
replace(struct og_sync *y, struct sensor *s, size_t i)
{
	struct block *b, *bad = s->order[i];
	int64_t end = bad->id.bid + ((int64_t)1 << bad->id.lvl);

	while (++i < s->issue && (b = s->order[i])->id.bid < end)
		if (b->state == IDLE && wanted(s, b))
			get_block(y, s, b);
}

/* Fetches in printing order while fewer than window blocks are held. */
static void
feed(struct og_sync *y)
{
	struct sensor *s;
	struct block *b;

	if (y->nissue < y->ndone)
		y->nissue = y->ndone;	/* printed before all was issued */
	while (y->held < y->window && y->nissue < y->nsensors) {
		s = &y->sensors[y->nissue];
		if (y->o.api && !s->asked) {
			s->asked = 1;
			y->held++;
			start_api(y, s);
			continue;
		}
		if (y->o.api || (s->listed && s->issue == s->nb)) {
			y->nissue++;
			continue;
		}
		if (!s->listed)
			return;
		b = s->order[s->issue++];
		if (b->state == IDLE && wanted(s, b))
			get_block(y, s, b);
	}
}

static void
sync_list(struct og_sync *y, struct sensor *s, struct og_req *r)
{
	struct og_tmpo_id *ids;
	const char *err;
	char why[256];
	size_t n, i, k;
	int64_t use = y->o.rid;

	if ((err = og_tmpo_sync_parse(r->body, r->len, &ids, &n, why,
	    sizeof why))) {
		report(y, "%s: %s", s->id, err);
		s->failed = 1;
		return;
	}
	for (i = 0; y->o.rid < 0 && i < n; i++)
		if (ids[i].rid > use)
			use = ids[i].rid;
	if (n > 1)
		qsort(ids, n, sizeof *ids, cmp_id);
	s->b = og_calloc(n + 1, sizeof *s->b);
	for (i = k = 0; i < n; i++) {
		if (ids[i].rid != use || ids[i].bid +
		    ((int64_t)1 << ids[i].lvl) <= s->start ||
		    ids[i].bid >= s->end)
			continue;
		if (k > 0 && cmp_id(&s->b[k - 1].id, &ids[i]) == 0)
			continue;
		s->b[k++].id = ids[i];
	}
	s->nb = k;
	free(ids);
	s->order = og_reallocarray(NULL, k + 1, sizeof *s->order);
	for (i = 0; i < k; i++)
		s->order[i] = &s->b[i];
	qsort(s->order, k, sizeof *s->order, cmp_time);
}

static void
block_done(struct og_sync *y, struct sensor *s, struct block *b,
    struct og_req *r)
{
	if (!r->ok) {
		report(y, "%s rid %jd lvl %d bid %jd: %s", s->id,
		    (intmax_t)b->id.rid, b->id.lvl, (intmax_t)b->id.bid, r->why);
		b->state = MISSING;
		if (b->id.bid < s->cut)
			s->cut = b->id.bid;
		return;
	}
	y->nblocks++;
	b->body = r->body;
	b->len = r->len;
	r->body = NULL;
	b->state = FETCHED;
}

static void
emit_data(struct sensor *s, const struct og_tmpo_data *d)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		if (d->t[i] >= s->start && d->t[i] < s->end &&
		    d->t[i] < s->cut) {
			og_out_record(s->id, strlen(s->id), d->t[i], d->v[i]);
			s->records++;
		}
}

/* Prints what the sensor's settled blocks allow; 1 when all is printed. */
static int
advance(struct og_sync *y, struct sensor *s)
{
	struct og_tmpo_data d;
	struct block *b;
	const char *err;
	char why[256];

	if (!s->listed)
		return 0;
	while (s->next < s->nb) {
		b = s->order[s->next];
		if (b->state == IDLE) {
			if (wanted(s, b)) {
				get_block(y, s, b);
				return 0;
			}
			s->next++;
			continue;
		}
		if (b->state == QUEUED)
			return 0;
		if (b->state == FETCHED && (err = og_tmpo_block((unsigned char *)
		    b->body, b->len, b->id.bid, b->id.lvl, !y->o.strict, &d, why,
		    sizeof why))) {
			report(y, "%s rid %jd lvl %d bid %jd: %s", s->id,
			    (intmax_t)b->id.rid, b->id.lvl, (intmax_t)b->id.bid,
			    err);
			b->state = BAD;
			s->failed = 1;
			replace(y, s, s->next);
		} else if (b->state == FETCHED) {
			if (d.salvaged && !y->o.quiet)
				report(y, "%s rid %jd lvl %d bid %jd: salvaged: "
				    "%zu extra v entr%s at child boundaries", s->id,
				    (intmax_t)b->id.rid, b->id.lvl,
				    (intmax_t)b->id.bid, d.salvaged,
				    d.salvaged == 1 ? "y" : "ies");
			emit_data(s, &d);
			free(d.t);
			free(d.v);
		}
		free(b->body);
		b->body = NULL;
		y->held--;
		s->next++;
	}
	if (y->o.api) {
		emit_data(s, &s->api);
		free(s->api.t);
		free(s->api.v);
		y->held--;
	}
	return 1;
}

static void
finish(struct og_sync *y, struct sensor *s)
{
	if (s->cut != INT64_MAX) {
		s->failed = 1;
		if (!y->o.quiet)
			report(y, "%s: records from %jd on held back until "
			    "that block can be fetched", s->id, (intmax_t)s->cut);
	}
	if (y->o.verbose)
		report(y, "%s: %zu records", s->id, s->records);
	if (s->failed)
		y->failed = 1;
	free(s->b);
	free(s->order);
	explicit_bzero(s->token, strlen(s->token));
	free(s->token);
	free(s->id);
	s->b = NULL;
	s->order = NULL;
	s->nb = s->issue = 0;
}

/* Sensors print in order of adding. */
static void
emit_ready(struct og_sync *y)
{
	while (y->ndone < y->nsensors && advance(y, &y->sensors[y->ndone]))
		finish(y, &y->sensors[y->ndone++]);
}

static void
done(struct og_req *r)
{
	struct job *j = r->ctx;
	struct og_sync *y = j->y;
	struct sensor *s = j->s;
	const char *err;
	char why[256];
	size_t i;

	if (j->b) {
		block_done(y, s, j->b, r);
	} else if (!r->ok) {
		report(y, "%s: %s", s->id, r->why);
		s->failed = 1;
		s->listed = 1;
	} else if (y->o.api) {
		s->listed = 1;
		y->nblocks++;
		if ((err = og_tmpo_api_parse(r->body, r->len, &s->api, why,
		    sizeof why))) {
			report(y, "%s: %s", s->id, err);
			s->failed = 1;
		}
		for (i = 0; i < s->api.n; i++)
			s->api.t[i] -= y->o.res_seconds;
	} else {
		s->listed = 1;
		sync_list(y, s, r);
	}
	free(j);
	emit_ready(y);
	feed(y);
}

static void
start_api(struct og_sync *y, struct sensor *s)
{
	char path[512 + OG_KEY_MAX];
	int64_t from = s->start;
	int n;

	if (from == INT64_MIN)
		from = (s->end == INT64_MAX ? (int64_t)time(NULL) :
		    s->end) - 86400;
	n = snprintf(path, sizeof path,
	    "/sensor/%s?start=%jd&end=%jd&resolution=%s", s->id,
	    (intmax_t)from, (intmax_t)(s->end == INT64_MAX ?
	    (int64_t)time(NULL) : s->end), y->o.res);
	if (y->o.unit)
		snprintf(path + n, sizeof path - n, "&unit=%s", y->o.unit);
	get(y, s, NULL, path, "application/json");
}

static void
start_sync(struct og_sync *y, struct sensor *s)
{
	char path[512 + OG_KEY_MAX];
	int64_t from = s->start, bid, rid = y->o.rid < 0 ? 0 : y->o.rid;

	/* Blocks of level 8 end on multiples of 256: asking for those after
	 * the one ending at or before START gives every block that ends
	 * after it. */
	bid = from == INT64_MIN ? -1 : (from >> 8 << 8) - 256;
	if (bid < 0)
		snprintf(path, sizeof path,
		    "/sensor/%s/tmpo/sync?rid=%jd&lvl=0&bid=0", s->id,
		    (intmax_t)rid);
	else
		snprintf(path, sizeof path,
		    "/sensor/%s/tmpo/sync?rid=%jd&lvl=8&bid=%jd", s->id,
		    (intmax_t)rid, (intmax_t)bid);
	get(y, s, NULL, path, "application/json");
}

struct og_sync *
og_sync_new(const struct og_sync_opts *o)
{
	struct og_sync *y = og_calloc(1, sizeof *y);

	y->o = *o;
	return y;
}

int
og_sync_add(struct og_sync *y, const char *id, const char *token,
    int64_t start, int64_t end)
{
	struct sensor *s;
	size_t i;

	for (i = 0; i < y->nsensors; i++)
		if (strcmp(y->sensors[i].id, id) == 0)
			return -1;
	if (y->nsensors == y->cap) {
		y->cap = y->cap ? 2 * y->cap : 16;
		y->sensors = og_reallocarray(y->sensors, y->cap,
		    sizeof *y->sensors);
	}
	s = &y->sensors[y->nsensors++];
	memset(s, 0, sizeof *s);
	s->id = og_strdup(id);
	s->token = og_strdup(token);
	s->start = start;
	s->end = end;
	s->cut = INT64_MAX;
	return 0;
}

int
og_sync_run(struct og_sync *y)
{
	size_t i;

	y->fetcher = og_fetch_new(&y->o.fetch);
	y->window = 2 * y->o.fetch.jobs;
	for (i = 0; !y->o.api && i < y->nsensors; i++)
		start_sync(y, &y->sensors[i]);
	feed(y);
	og_fetch_run(y->fetcher, tick, y);
	clear_progress(y);
	og_fetch_free(y->fetcher);
	y->fetcher = NULL;
	return y->failed;
}

void
og_sync_free(struct og_sync *y)
{
	size_t i;

	for (i = y->ndone; i < y->nsensors; i++)
		finish(y, &y->sensors[i]);
	free(y->sensors);
	free(y);
}
