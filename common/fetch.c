/* fetch.c: many GETs at once over libcurl's multi interface, with
 * keep-alive, per-try timeouts and retries with exponential backoff.
 * Requests carry a token in a header; it never reaches a message. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "og.h"

#define RETRY_AFTER_MAX 600.0
#define BODY_MAX ((size_t)64 << 20)

/* A request as the caller asked for it, and its tries. */
struct transfer {
	struct og_req r;
	struct og_body body;
	uint64_t seq;
	int tries;
	double not_before, started;
	CURL *handle;
	struct curl_slist *headers;
	char errbuf[CURL_ERROR_SIZE];
};

struct og_fetcher {
	struct og_fetch_opts o;
	CURLM *multi;
	struct transfer **queue;
	size_t nqueue, capqueue, active;
	uint64_t seq, bytes;
};

double
og_fetch_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

struct og_fetcher *
og_fetch_new(const struct og_fetch_opts *o)
{
	struct og_fetcher *f = og_calloc(1, sizeof *f);

	f->o = *o;
	if (f->o.jobs < 1)
		f->o.jobs = 1;
	if (f->o.tries < 1)
		f->o.tries = 1;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		og_die("cannot initialise libcurl");
	if (!(f->multi = curl_multi_init()))
		og_die("cannot initialise libcurl");
	curl_multi_setopt(f->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
	    (long)f->o.jobs);
	curl_multi_setopt(f->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS,
	    (long)f->o.jobs);
	curl_multi_setopt(f->multi, CURLMOPT_MAXCONNECTS, (long)f->o.jobs);
	return f;
}

void
og_fetch_free(struct og_fetcher *f)
{
	curl_multi_cleanup(f->multi);
	free(f->queue);
	free(f);
	curl_global_cleanup();
}

uint64_t
og_fetch_bytes(const struct og_fetcher *f)
{
	return f->bytes;
}

/* The queue is kept sorted by priority, then by arrival. */
static int
before(const struct transfer *a, const struct transfer *b)
{
	return a->r.prio != b->r.prio ? a->r.prio < b->r.prio : a->seq < b->seq;
}

static void
enqueue(struct og_fetcher *f, struct transfer *x)
{
	size_t lo = 0, hi = f->nqueue;

	if (f->nqueue == f->capqueue) {
		f->capqueue = f->capqueue ? 2 * f->capqueue : 64;
		f->queue = og_reallocarray(f->queue, f->capqueue,
		    sizeof *f->queue);
	}
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (before(f->queue[mid], x))
			lo = mid + 1;
		else
			hi = mid;
	}
	memmove(f->queue + lo + 1, f->queue + lo,
	    (f->nqueue - lo) * sizeof *f->queue);
	f->queue[lo] = x;
	f->nqueue++;
}

void
og_fetch_add(struct og_fetcher *f, const struct og_req *r)
{
	struct transfer *x = og_calloc(1, sizeof *x);

	x->r = *r;
	x->r.url = og_strdup(r->url);
	x->r.ok = 0;
	x->r.status = 0;
	x->r.why[0] = '\0';
	x->r.body = NULL;
	x->r.len = 0;
	x->body.max = r->max ? r->max : BODY_MAX;
	x->seq = f->seq++;
	enqueue(f, x);
}

static void
start(struct og_fetcher *f, struct transfer *x)
{
	struct og_req *r = &x->r;
	char hdr[64 + OG_TOKEN_MAX];
	double timeout = f->o.timeout > 0 ? f->o.timeout : 60;
	double connect = timeout < 15 ? timeout : 15;
	CURL *h;

	if (!(h = curl_easy_init()))
		og_die("cannot initialise libcurl");
	x->handle = h;
	x->body.len = 0;
	x->body.too_big = 0;
	x->errbuf[0] = '\0';
	x->headers = curl_slist_append(NULL, "X-Version: 1.0");
	if (r->token) {
		snprintf(hdr, sizeof hdr, "X-Token: %s", r->token);
		x->headers = curl_slist_append(x->headers, hdr);
		explicit_bzero(hdr, sizeof hdr);
	}
	if (r->accept) {
		snprintf(hdr, sizeof hdr, "Accept: %s", r->accept);
		x->headers = curl_slist_append(x->headers, hdr);
	}
	if (!x->headers)
		og_die("out of memory");
	curl_easy_setopt(h, CURLOPT_URL, r->url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, x->headers);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)(connect * 1000));
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(timeout * 1000));
	curl_easy_setopt(h, CURLOPT_USERAGENT, "og-pull/" OG_VERSION);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, og_body_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &x->body);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(h, CURLOPT_PRIVATE, x);
	if (f->o.insecure) {
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	x->tries++;
	x->started = og_fetch_now();
	if (curl_multi_add_handle(f->multi, h) != CURLM_OK)
		og_die("cannot start a transfer");
	f->active++;
}

static int
retryable_code(CURLcode rc)
{
	switch (rc) {
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
	case CURLE_WRITE_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_OUT_OF_MEMORY:
	case CURLE_TOO_MANY_REDIRECTS:
		return 0;
	default:
		return 1;
	}
}

/* The path and query only: a base URL may carry user:password@. */
static const char *
og_fetch_where(const char *url)
{
	const char *p = strstr(url, "://");

	if (!p)
		return url;
	p += 3;
	p += strcspn(p, "/");
	return *p ? p : "/";
}

/* Hands the answer to done, then forgets the request. */
static void
settle(struct transfer *x)
{
	struct og_req *r = &x->r;

	if (x->body.data)
		x->body.data[x->body.len] = '\0';	/* a retry's is shorter */
	r->body = x->body.data;
	r->len = x->body.len;
	r->done(r);
	free(r->body);
	free(r->url);
	free(x);
}

static void
finish(struct og_fetcher *f, struct transfer *x, CURLcode rc)
{
	struct og_req *r = &x->r;
	double wait = 0, took = og_fetch_now() - x->started;
	curl_off_t after = -1;
	int retry = 0;

	curl_easy_getinfo(x->handle, CURLINFO_RESPONSE_CODE, &r->status);
	if (rc == CURLE_OK)
		curl_easy_getinfo(x->handle, CURLINFO_RETRY_AFTER, &after);
	curl_multi_remove_handle(f->multi, x->handle);
	curl_easy_cleanup(x->handle);
	curl_slist_free_all(x->headers);
	x->handle = NULL;
	x->headers = NULL;
	f->active--;
	if (rc != CURLE_OK) {
		if (x->body.too_big)
			snprintf(r->why, sizeof r->why,
			    "answer larger than %zu bytes", x->body.max);
		else
			snprintf(r->why, sizeof r->why, "%s",
			    x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc));
		retry = retryable_code(rc) && !x->body.too_big;
		r->status = 0;
	} else if (r->status >= 200 && r->status < 300) {
		r->ok = 1;
		f->bytes += x->body.len;
	} else {
		snprintf(r->why, sizeof r->why, "HTTP %ld", r->status);
		retry = r->status == 408 || r->status == 429 ||
		    r->status >= 500;
	}
	if (f->o.verbose)
		og_warn("GET %s: %s, %zu bytes, %.3f s", og_fetch_where(r->url),
		    r->ok ? "ok" : r->why, x->body.len, took);
	if (retry && x->tries < f->o.tries) {
		wait = f->o.backoff * pow(2, x->tries - 1);
		if (f->o.backoff_max > 0 && wait > f->o.backoff_max)
			wait = f->o.backoff_max;
		if (after >= 0 && after > wait)
			wait = after;
		if (wait <= RETRY_AFTER_MAX) {
			if (f->o.verbose)
				og_warn("GET %s: try %d of %d in %.3g s",
				    og_fetch_where(r->url), x->tries + 1,
				    f->o.tries, wait);
			x->not_before = og_fetch_now() + wait;
			enqueue(f, x);
			return;
		}
		snprintf(r->why + strlen(r->why), sizeof r->why - strlen(r->why),
		    ", server asks to wait %jd s", (intmax_t)after);
	} else if (retry && x->tries > 1) {
		snprintf(r->why + strlen(r->why), sizeof r->why - strlen(r->why),
		    " (after %d tries)", x->tries);
	}
	settle(x);
}

/* The first queued request whose time has come, or NULL and in *wake the
 * earliest time one will. */
static struct transfer *
next_ready(struct og_fetcher *f, double now, double *wake)
{
	struct transfer *x;
	size_t i;

	for (i = 0; i < f->nqueue; i++) {
		if (f->queue[i]->not_before <= now) {
			x = f->queue[i];
			memmove(f->queue + i, f->queue + i + 1,
			    (f->nqueue - i - 1) * sizeof *f->queue);
			f->nqueue--;
			return x;
		}
		if (f->queue[i]->not_before < *wake)
			*wake = f->queue[i]->not_before;
	}
	return NULL;
}

static int
any_ready(struct og_fetcher *f, double now, double *wake)
{
	size_t i;

	for (i = 0; i < f->nqueue; i++) {
		if (f->queue[i]->not_before <= now)
			return 1;
		if (f->queue[i]->not_before < *wake)
			*wake = f->queue[i]->not_before;
	}
	return 0;
}

void
og_fetch_run(struct og_fetcher *f, void (*tick)(void *), void *arg)
{
	struct transfer *x;
	CURLMsg *msg;
	double now, wake;
	int running, left, ms;

	while (f->nqueue > 0 || f->active > 0) {
		now = og_fetch_now();
		wake = now + 0.2;
		while (f->active < (size_t)f->o.jobs &&
		    (x = next_ready(f, now, &wake)))
			start(f, x);
		curl_multi_perform(f->multi, &running);
		while ((msg = curl_multi_info_read(f->multi, &left))) {
			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE,
			    (char **)&x);
			finish(f, x, msg->data.result);
		}
		if (tick)
			tick(arg);
		if (f->nqueue > 0 && f->active < (size_t)f->o.jobs) {
			now = og_fetch_now();
			wake = now + 0.2;
			if (any_ready(f, now, &wake))
				continue;
			ms = (int)ceil((wake - now) * 1000);
		} else {
			ms = 200;
		}
		if (ms < 0)
			ms = 0;
		if (f->active > 0 || ms > 0)
			curl_multi_poll(f->multi, NULL, 0, ms, NULL);
	}
}
