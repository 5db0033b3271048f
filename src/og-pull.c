/* og-pull: fetch sensor data from the Flukso API. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "og.h"

static const char usage_text[] =
    "usage: og-pull [-kqv] [-m tmpo|api] [-u BASEURL] [-s START] [-e END] [-r RES]\n"
    "               [-U UNIT] [-j N] [-R RID] [-t SECONDS] [-K TOKENFILE]\n"
    "Read SENSOR TAB TOKEN [TAB SINCE] lines on stdin; print their records.\n"
    "  -K FILE   tokens from FILE (SENSOR TOKEN lines, mode 0600); stdin\n"
    "            then has SENSOR [TAB SINCE] lines\n"
    "  -m MODE   tmpo (raw blocks, default) or api (averaged values)\n"
    "  -u URL    API base URL (default $OG_API_URL or https://api.flukso.net)\n"
    "  -s START  only records from START on    -e END  only before END\n"
    "  -r RES    api resolution: minute 15min hour day week month year\n"
    "  -U UNIT   api unit: watt kwhperyear lpermin lperday m3peryear\n"
    "  -j N      concurrent connections (default 8)\n"
    "  -R RID    tmpo recycle id (default: the highest)\n"
    "  -t SEC    give up a try after SEC seconds (default 60)\n"
    "  -k        do not verify https certificates\n"
    "  -q        quiet    -v  verbose\n"
    "  -h  this help    -V  version\n";

enum { IDLE, QUEUED, FETCHED, BAD, MISSING };

/* A fetched block waits for its turn compressed: decoded, it takes a
 * hundred times the room (38 kB of gzip, 7 MB of readings). */
struct block {
	struct og_tmpo_id id;
	int state;
	char *body;
	size_t len;
};

/* Records print in input order of sensors, each sensor's blocks in time
 * order as soon as every earlier one is settled; fetches are issued in that
 * order too, at most window (2 x -j) blocks ahead of the printing, so
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

struct job {
	struct sensor *s;
	struct block *b;	/* NULL: the sync list or the api answer */
};

static struct og_fetcher *fetcher;
static struct sensor *sensors;
static size_t nsensors, ndone, nissue, held, window;
static const char *base = "https://api.flukso.net", *res = "minute", *unit;
static int64_t res_seconds;

/* The sensor API stamps each value with the end of its interval; records
 * are stamped with the start, as og-metric's buckets are. */
static const struct {
	const char *name;
	int64_t seconds;
} resolutions[] = {
	{ "minute", 60 }, { "15min", 900 }, { "hour", 3600 },
	{ "day", 86400 }, { "week", 604800 }, { "month", 2592000 },
	{ "year", 31536000 }, { NULL, 0 },
};
static int api, quiet, verbose, failed, progress, shown;
static int64_t rid = -1;
static uint64_t nblocks;

static void
clear_progress(void)
{
	if (shown)
		fputs("\r\033[K", stderr);
	shown = 0;
}

#define report(...) (clear_progress(), og_warn(__VA_ARGS__))

static void
tick(void *arg)
{
	static double last;
	double now = og_fetch_now();

	(void)arg;
	if (!progress || now - last < 0.25)
		return;
	last = now;
	fprintf(stderr, "\r%s: %zu/%zu sensors, %ju blocks, %.1f MB\033[K",
	    argv0, ndone, nsensors, (uintmax_t)nblocks,
	    og_fetch_bytes(fetcher) / 1e6);
	shown = 1;
}

static void done(struct og_req *r);
static void start_api(struct sensor *s);

static void
get(struct sensor *s, struct block *b, const char *path, const char *accept)
{
	struct job *j = og_malloc(sizeof *j);
	struct og_req r = { 0 };
	size_t n = strlen(base) + strlen(path) + 1;

	j->s = s;
	j->b = b;
	r.url = og_malloc(n);
	snprintf(r.url, n, "%s%s", base, path);
	r.token = s->token;
	r.accept = accept;
	r.prio = s - sensors;
	r.done = done;
	r.ctx = j;
	og_fetch_add(fetcher, &r);
	free(r.url);
}

static void
get_block(struct sensor *s, struct block *b)
{
	char path[128 + OG_KEY_MAX];

	snprintf(path, sizeof path, "/sensor/%s/tmpo/%jd/%d/%jd", s->id,
	    (intmax_t)b->id.rid, b->id.lvl, (intmax_t)b->id.bid);
	b->state = QUEUED;
	held++;
	get(s, b, path, "application/gzip");
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
replace(struct sensor *s, size_t i)
{
	struct block *b, *bad = s->order[i];
	int64_t end = bad->id.bid + ((int64_t)1 << bad->id.lvl);

	while (++i < s->issue && (b = s->order[i])->id.bid < end)
		if (b->state == IDLE && wanted(s, b))
			get_block(s, b);
}

/* Fetches in printing order while fewer than window blocks are held. */
static void
feed(void)
{
	struct sensor *s;
	struct block *b;

	if (nissue < ndone)
		nissue = ndone;	/* printed before all was issued */
	while (held < window && nissue < nsensors) {
		s = &sensors[nissue];
		if (api && !s->asked) {
			s->asked = 1;
			held++;
			start_api(s);
			continue;
		}
		if (api || (s->listed && s->issue == s->nb)) {
			nissue++;
			continue;
		}
		if (!s->listed)
			return;
		b = s->order[s->issue++];
		if (b->state == IDLE && wanted(s, b))
			get_block(s, b);
	}
}

static void
sync_list(struct sensor *s, struct og_req *r)
{
	struct og_tmpo_id *ids;
	const char *err;
	char why[256];
	size_t n, i, k;
	int64_t use = rid;

	if ((err = og_tmpo_sync_parse(r->body, r->len, &ids, &n, why,
	    sizeof why))) {
		report("%s: %s", s->id, err);
		s->failed = 1;
		return;
	}
	for (i = 0; rid < 0 && i < n; i++)
		if (ids[i].rid > use)
			use = ids[i].rid;
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
block_done(struct sensor *s, struct block *b, struct og_req *r)
{
	if (!r->ok) {
		report("%s rid %jd lvl %d bid %jd: %s", s->id,
		    (intmax_t)b->id.rid, b->id.lvl, (intmax_t)b->id.bid, r->why);
		b->state = MISSING;
		if (b->id.bid < s->cut)
			s->cut = b->id.bid;
		return;
	}
	nblocks++;
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
advance(struct sensor *s)
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
				get_block(s, b);
				return 0;
			}
			s->next++;
			continue;
		}
		if (b->state == QUEUED)
			return 0;
		if (b->state == FETCHED && (err = og_tmpo_block((unsigned char *)
		    b->body, b->len, b->id.bid, b->id.lvl, &d, why, sizeof why))) {
			report("%s rid %jd lvl %d bid %jd: %s", s->id,
			    (intmax_t)b->id.rid, b->id.lvl, (intmax_t)b->id.bid,
			    err);
			b->state = BAD;
			s->failed = 1;
			replace(s, s->next);
		} else if (b->state == FETCHED) {
			emit_data(s, &d);
			free(d.t);
			free(d.v);
		}
		free(b->body);
		b->body = NULL;
		held--;
		s->next++;
	}
	if (api) {
		emit_data(s, &s->api);
		free(s->api.t);
		free(s->api.v);
		held--;
	}
	return 1;
}

static void
finish(struct sensor *s)
{
	if (s->cut != INT64_MAX) {
		s->failed = 1;
		if (!quiet)
			report("%s: records from %jd on held back until "
			    "that block can be fetched", s->id, (intmax_t)s->cut);
	}
	if (verbose)
		report("%s: %zu records", s->id, s->records);
	if (s->failed)
		failed = 1;
	free(s->b);
	free(s->order);
	explicit_bzero(s->token, strlen(s->token));
	free(s->token);
	free(s->id);
	s->b = NULL;
	s->order = NULL;
	s->nb = s->issue = 0;
}

/* Sensors print in input order. */
static void
emit_ready(void)
{
	while (ndone < nsensors && advance(&sensors[ndone]))
		finish(&sensors[ndone++]);
}

static void
done(struct og_req *r)
{
	struct job *j = r->ctx;
	struct sensor *s = j->s;
	const char *err;
	char why[256];
	size_t i;

	if (j->b) {
		block_done(s, j->b, r);
	} else if (!r->ok) {
		report("%s: %s", s->id, r->why);
		s->failed = 1;
		s->listed = 1;
	} else if (api) {
		s->listed = 1;
		nblocks++;
		if ((err = og_tmpo_api_parse(r->body, r->len, &s->api, why,
		    sizeof why))) {
			report("%s: %s", s->id, err);
			s->failed = 1;
		}
		for (i = 0; i < s->api.n; i++)
			s->api.t[i] -= res_seconds;
	} else {
		s->listed = 1;
		sync_list(s, r);
	}
	free(j);
	emit_ready();
	feed();
}

static void
start_api(struct sensor *s)
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
	    (int64_t)time(NULL) : s->end), res);
	if (unit)
		snprintf(path + n, sizeof path - n, "&unit=%s", unit);
	get(s, NULL, path, "application/json");
}

static void
start_sync(struct sensor *s)
{
	char path[512 + OG_KEY_MAX];
	int64_t from = s->start, bid;

	/* Blocks of level 8 end on multiples of 256: asking for those after
	 * the one ending at or before START gives every block that ends
	 * after it. */
	bid = from == INT64_MIN ? -1 : (from >> 8 << 8) - 256;
	if (bid < 0)
		snprintf(path, sizeof path,
		    "/sensor/%s/tmpo/sync?rid=%jd&lvl=0&bid=0", s->id,
		    (intmax_t)(rid < 0 ? 0 : rid));
	else
		snprintf(path, sizeof path,
		    "/sensor/%s/tmpo/sync?rid=%jd&lvl=8&bid=%jd", s->id,
		    (intmax_t)(rid < 0 ? 0 : rid), (intmax_t)bid);
	get(s, NULL, path, "application/json");
}

static int
unit_ok(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > 64)
		return 0;
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_')
			return 0;
	return 1;
}

/* A Flukso sensor id is 32 hex digits.  A bad one is not shown: it may be
 * a token in the wrong column. */
static int
sensor_ok(const char *s, size_t len)
{
	size_t i;

	if (len != 32)
		return 0;
	for (i = 0; i < len; i++)
		if (!isxdigit((unsigned char)s[i]))
			return 0;
	return 1;
}

static int
token_ok(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len >= OG_TOKEN_MAX - 16)
		return 0;
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f)
			return 0;
	return 1;
}

struct token {
	char *id, *token;
};
static struct token *tokens;
static size_t ntokens;

/* -K: lines SENSOR TOKEN (a tab or spaces between) in a file no one else
 * may read. */
static void
read_tokens(const char *path)
{
	struct og_reader rd;
	struct stat st;
	char *line, *tok;
	size_t len, cap = 0, n;

	og_reader_open(&rd, path);
	if (fstat(rd.fd, &st) < 0)
		og_die("%s:", path);
	if (!S_ISREG(st.st_mode))
		og_die("%s: not a regular file", path);
	if (st.st_mode & 077)
		og_die("%s: token file readable by others (mode %04o); "
		    "chmod 600 it", path, (unsigned)(st.st_mode & 07777));
	while ((line = og_read_line(&rd, &len))) {
		n = strcspn(line, " \t");
		tok = line + n + strspn(line + n, " \t");
		if (len == 0 || line[0] == '#')
			continue;
		line[n] = '\0';
		if (!sensor_ok(line, n))
			og_die("%s:%ju: bad sensor id (expected 32 hex digits)",
			    path, rd.lineno);
		if (!token_ok(tok, strlen(tok)))
			og_die("%s:%ju: expected SENSOR TOKEN", path, rd.lineno);
		if (ntokens == cap) {
			cap = cap ? 2 * cap : 16;
			tokens = og_reallocarray(tokens, cap, sizeof *tokens);
		}
		tokens[ntokens].id = og_strdup(line);
		tokens[ntokens++].token = og_strdup(tok);
		explicit_bzero(tok, strlen(tok));
	}
	og_reader_close(&rd);
}

static void
free_tokens(void)
{
	size_t i;

	for (i = 0; i < ntokens; i++) {
		explicit_bzero(tokens[i].token, strlen(tokens[i].token));
		free(tokens[i].token);
		free(tokens[i].id);
	}
	free(tokens);
}

/* SENSOR<TAB>TOKEN[<TAB>SINCE], or with -K SENSOR[<TAB>SINCE]; a bad line
 * is reported (never its token) and skipped. */
static void
read_sensors(int64_t start, int64_t end, const char *tokfile)
{
	struct og_reader rd;
	struct sensor *s;
	char *line, *tab, *tok, *since;
	size_t len, cap = 0, i;
	int64_t t;

	og_reader_open(&rd, NULL);
	while ((line = og_read_line(&rd, &len))) {
		if (len == 0)
			continue;
		tab = memchr(line, '\t', len);
		if (tokfile) {
			tok = NULL;
			since = tab ? tab + 1 : NULL;
		} else {
			tok = tab ? tab + 1 : NULL;
			since = tok ? memchr(tok, '\t', line + len - tok) : NULL;
			if (since)
				*since++ = '\0';
		}
		if (!tab && !tokfile) {
			report("%s:%ju: expected SENSOR TAB TOKEN [TAB SINCE]",
			    rd.name, rd.lineno);
			failed = 1;
			continue;
		}
		if (!sensor_ok(line, tab ? (size_t)(tab - line) : len)) {
			report("%s:%ju: bad sensor id (expected 32 hex digits)",
			    rd.name, rd.lineno);
			failed = 1;
			continue;
		}
		if (tab)
			*tab = '\0';
		if (tokfile) {
			for (i = 0; i < ntokens && strcmp(tokens[i].id, line); i++)
				;
			if (i == ntokens) {
				report("%s:%ju: %s: no token in %s", rd.name,
				    rd.lineno, line, tokfile);
				failed = 1;
				continue;
			}
			tok = tokens[i].token;
		} else if (!token_ok(tok, strlen(tok))) {
			report("%s:%ju: %s: bad token", rd.name, rd.lineno, line);
			failed = 1;
			continue;
		}
		t = start;
		if (since && og_parse_int64(since, strlen(since), &t) < 0) {
			report("%s:%ju: %s: bad time '%s'", rd.name, rd.lineno,
			    line, since);
			failed = 1;
			continue;
		}
		for (i = 0; i < nsensors && strcmp(sensors[i].id, line); i++)
			;
		if (i < nsensors) {
			report("%s:%ju: %s: sensor given twice", rd.name,
			    rd.lineno, line);
			failed = 1;
			continue;
		}
		if (nsensors == cap) {
			cap = cap ? 2 * cap : 16;
			sensors = og_reallocarray(sensors, cap, sizeof *sensors);
		}
		s = &sensors[nsensors++];
		memset(s, 0, sizeof *s);
		s->id = og_strdup(line);
		s->token = og_strdup(tok);
		s->start = t;
		s->end = end;
		s->cut = INT64_MAX;
		if (!tokfile)
			explicit_bzero(tok, strlen(tok));
	}
	og_reader_close(&rd);
}

static int64_t
time_arg(const char *s)
{
	int64_t t;

	if (og_parse_time_arg(s, &t) < 0)
		og_die("bad time '%s'", s);
	return t;
}

static double
env_number(const char *name, double def, double min, double max)
{
	const char *s = getenv(name);
	double v;

	if (!s || !*s)
		return def;
	if (og_parse_value(s, strlen(s), &v) < 0 || !(v >= min && v <= max))
		og_die("bad %s '%s'", name, s);
	return v;
}

/* Tokens travel in a header: in clear only to this machine. */
static void
check_base(const char *url)
{
	const char *host;
	size_t n;

	if (strncasecmp(url, "https://", 8) == 0)
		return;
	if (strncasecmp(url, "http://", 7) != 0) {
		og_warn("%s: not an http or https URL", url);
		exit(OG_EXIT_USAGE);
	}
	host = url + 7;
	n = strcspn(host, "/:?#");
	if ((n == 9 && strncmp(host, "127.0.0.1", 9) == 0) ||
	    (n == 9 && strncasecmp(host, "localhost", 9) == 0) ||
	    strncmp(host, "[::1]", 5) == 0)
		return;
	og_warn("%s: plain http only to this machine (127.0.0.1, localhost, "
	    "[::1]); use https", url);
	exit(OG_EXIT_USAGE);
}

int
main(int argc, char *argv[])
{
	struct og_fetch_opts o = { 8, 5, 0, 0, 60, 1, 60 };
	const char *mode = "tmpo", *tokfile = NULL, *e;
	int64_t start = INT64_MIN, end = INT64_MAX, n;
	static char *baseurl;
	size_t i;
	int c;

	og_setprog(argv[0]);
	if ((e = getenv("OG_API_URL")) && *e)
		base = e;
	while ((c = getopt(argc, argv, "e:hj:K:km:qR:r:s:t:U:u:Vv")) != -1) {
		switch (c) {
		case 'h':
			og_usage(usage_text, 0);
		case 'V':
			og_version();
		case 'e':
			end = time_arg(optarg);
			break;
		case 'j':
			if (og_parse_int64(optarg, strlen(optarg), &n) < 0 ||
			    n < 1 || n > 64)
				og_usage_error("bad -j '%s': 1 to 64", optarg);
			o.jobs = n;
			break;
		case 'K':
			tokfile = optarg;
			break;
		case 'k':
			o.insecure = 1;
			break;
		case 'm':
			mode = optarg;
			break;
		case 'q':
			quiet = 1;
			verbose = 0;
			break;
		case 'R':
			if (og_parse_int64(optarg, strlen(optarg), &rid) < 0 ||
			    rid < 0)
				og_usage_error("bad -R '%s': a recycle id, 0 or more",
				    optarg);
			break;
		case 'r':
			res = optarg;
			break;
		case 's':
			start = time_arg(optarg);
			break;
		case 't':
			if (og_parse_value(optarg, strlen(optarg), &o.timeout) < 0 ||
			    !(o.timeout > 0 && o.timeout <= 86400))
				og_usage_error("bad -t '%s': seconds, more than 0 and"
				    " at most 86400", optarg);
			break;
		case 'U':
			unit = optarg;
			break;
		case 'u':
			base = optarg;
			break;
		case 'v':
			verbose = 1;
			quiet = 0;
			break;
		default:
			og_usage(usage_text, OG_EXIT_USAGE);
		}
	}
	if (optind != argc)
		og_usage(usage_text, OG_EXIT_USAGE);
	if (strcmp(mode, "tmpo") == 0)
		api = 0;
	else if (strcmp(mode, "api") == 0)
		api = 1;
	else
		og_usage(usage_text, OG_EXIT_USAGE);
	for (i = 0; resolutions[i].name; i++)
		if (strcmp(res, resolutions[i].name) == 0)
			res_seconds = resolutions[i].seconds;
	if (!res_seconds)
		og_usage_error("bad -r '%s': minute 15min hour day week month year",
		    res);
	if (unit && !unit_ok(unit, strlen(unit)))
		og_usage_error("bad -U '%s'", unit);
	if (start != INT64_MIN && end != INT64_MAX && start >= end)
		og_die("-s START must be before -e END");
	check_base(base);
	baseurl = og_strdup(base);
	for (i = strlen(baseurl); i > 0 && baseurl[i - 1] == '/'; i--)
		baseurl[i - 1] = '\0';
	base = baseurl;
	o.verbose = verbose;
	o.tries = env_number("OG_PULL_TRIES", 5, 1, 100);
	o.backoff = env_number("OG_PULL_BACKOFF", 1, 0, 3600);
	o.backoff_max = 60 > o.backoff ? 60 : o.backoff;
	progress = !quiet && !verbose && isatty(2);

	if (tokfile)
		read_tokens(tokfile);
	read_sensors(start, end, tokfile);
	free_tokens();
	fetcher = og_fetch_new(&o);
	window = 2 * o.jobs;
	for (i = 0; !api && i < nsensors; i++)
		start_sync(&sensors[i]);
	feed();
	og_fetch_run(fetcher, tick, NULL);
	clear_progress();
	og_fetch_free(fetcher);
	free(sensors);
	free(baseurl);
	og_out_close();
	return failed ? OG_EXIT_DATA : 0;
}
