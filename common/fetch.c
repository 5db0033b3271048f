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

double
og_fetch_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

void
og_fetch_init(struct og_fetcher *f, const struct og_fetch_opts *o)
{
	memset(f, 0, sizeof *f);
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
}

void
og_fetch_free(struct og_fetcher *f)
{
	curl_multi_cleanup(f->multi);
	free(f->queue);
	curl_global_cleanup();
}

/* The queue is kept sorted by priority, then by arrival. */
static int
before(const struct og_req *a, const struct og_req *b)
{
	return a->prio != b->prio ? a->prio < b->prio : a->seq < b->seq;
}

static void
enqueue(struct og_fetcher *f, struct og_req *r)
{
	size_t lo = 0, hi = f->nqueue;

	if (f->nqueue == f->capqueue) {
		f->capqueue = f->capqueue ? 2 * f->capqueue : 64;
		f->queue = og_reallocarray(f->queue, f->capqueue,
		    sizeof *f->queue);
	}
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (before(f->queue[mid], r))
			lo = mid + 1;
		else
			hi = mid;
	}
	memmove(f->queue + lo + 1, f->queue + lo,
	    (f->nqueue - lo) * sizeof *f->queue);
	f->queue[lo] = r;
	f->nqueue++;
}

void
og_fetch_add(struct og_fetcher *f, struct og_req *r)
{
	r->seq = f->seq++;
	r->tries = 0;
	r->not_before = 0;
	r->ok = 0;
	r->status = 0;
	r->why[0] = '\0';
	enqueue(f, r);
}

static size_t
take(char *data, size_t size, size_t n, void *arg)
{
	struct og_req *r = arg;

	n *= size;
	if (n > r->max - r->len) {
		r->too_big = 1;
		return 0;
	}
	if (r->len + n + 1 > r->cap) {
		while (r->len + n + 1 > r->cap)
			r->cap = r->cap ? 2 * r->cap : 1 << 14;
		r->body = og_realloc(r->body, r->cap);
	}
	memcpy(r->body + r->len, data, n);
	r->len += n;
	r->body[r->len] = '\0';
	return n;
}

static void
start(struct og_fetcher *f, struct og_req *r)
{
	char hdr[64 + OG_TOKEN_MAX];
	double timeout = f->o.timeout > 0 ? f->o.timeout : 60;
	double connect = timeout < 15 ? timeout : 15;
	CURL *h;

	if (!(h = curl_easy_init()))
		og_die("cannot initialise libcurl");
	r->handle = h;
	r->len = 0;
	r->too_big = 0;
	r->errbuf[0] = '\0';
	r->max = r->max ? r->max : (size_t)64 << 20;
	r->headers = NULL;
	r->headers = curl_slist_append(r->headers, "X-Version: 1.0");
	if (r->token) {
		snprintf(hdr, sizeof hdr, "X-Token: %s", r->token);
		r->headers = curl_slist_append(r->headers, hdr);
		explicit_bzero(hdr, sizeof hdr);
	}
	if (r->accept) {
		snprintf(hdr, sizeof hdr, "Accept: %s", r->accept);
		r->headers = curl_slist_append(r->headers, hdr);
	}
	if (!r->headers)
		og_die("out of memory");
	curl_easy_setopt(h, CURLOPT_URL, r->url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, r->headers);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)(connect * 1000));
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(timeout * 1000));
	curl_easy_setopt(h, CURLOPT_USERAGENT, "og-pull/" OG_VERSION);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, take);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, r->errbuf);
	curl_easy_setopt(h, CURLOPT_PRIVATE, r);
	if (f->o.insecure) {
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	r->tries++;
	r->started = og_fetch_now();
	if (curl_multi_add_handle(f->multi, h) != CURLM_OK)
		og_die("cannot start a transfer");
	f->active++;
	f->requests++;
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
const char *
og_fetch_where(const char *url)
{
	const char *p = strstr(url, "://");

	if (!p)
		return url;
	p += 3;
	p += strcspn(p, "/");
	return *p ? p : "/";
}

static void
finish(struct og_fetcher *f, struct og_req *r, CURLcode rc)
{
	double wait = 0, took = og_fetch_now() - r->started;
	curl_off_t after = -1;
	int retry = 0;

	curl_easy_getinfo(r->handle, CURLINFO_RESPONSE_CODE, &r->status);
	if (rc == CURLE_OK)
		curl_easy_getinfo(r->handle, CURLINFO_RETRY_AFTER, &after);
	curl_multi_remove_handle(f->multi, r->handle);
	curl_easy_cleanup(r->handle);
	curl_slist_free_all(r->headers);
	r->handle = NULL;
	r->headers = NULL;
	f->active--;
	if (rc != CURLE_OK) {
		if (r->too_big)
			snprintf(r->why, sizeof r->why,
			    "answer larger than %zu bytes", r->max);
		else
			snprintf(r->why, sizeof r->why, "%s",
			    r->errbuf[0] ? r->errbuf : curl_easy_strerror(rc));
		retry = retryable_code(rc) && !r->too_big;
		r->status = 0;
	} else if (r->status >= 200 && r->status < 300) {
		r->ok = 1;
		f->bytes += r->len;
	} else {
		snprintf(r->why, sizeof r->why, "HTTP %ld", r->status);
		retry = r->status == 408 || r->status == 429 ||
		    r->status >= 500;
	}
	if (f->o.verbose)
		og_warn("GET %s: %s, %zu bytes, %.3f s", og_fetch_where(r->url),
		    r->ok ? "ok" : r->why, r->len, took);
	if (retry && r->tries < f->o.tries) {
		wait = f->o.backoff * pow(2, r->tries - 1);
		if (f->o.backoff_max > 0 && wait > f->o.backoff_max)
			wait = f->o.backoff_max;
		if (after >= 0 && after > wait)
			wait = after;
		if (wait <= RETRY_AFTER_MAX) {
			if (f->o.verbose)
				og_warn("GET %s: try %d of %d in %.3g s",
				    og_fetch_where(r->url), r->tries + 1,
				    f->o.tries, wait);
			r->not_before = og_fetch_now() + wait;
			r->len = 0;
			f->retries++;
			enqueue(f, r);
			return;
		}
		snprintf(r->why + strlen(r->why), sizeof r->why - strlen(r->why),
		    ", server asks to wait %jd s", (intmax_t)after);
	} else if (retry && r->tries > 1) {
		snprintf(r->why + strlen(r->why), sizeof r->why - strlen(r->why),
		    " (after %d tries)", r->tries);
	}
	r->done(r);
}

/* The first queued request whose time has come, or NULL and in *wake the
 * earliest time one will. */
static struct og_req *
next_ready(struct og_fetcher *f, double now, double *wake)
{
	struct og_req *r;
	size_t i;

	for (i = 0; i < f->nqueue; i++) {
		if (f->queue[i]->not_before <= now) {
			r = f->queue[i];
			memmove(f->queue + i, f->queue + i + 1,
			    (f->nqueue - i - 1) * sizeof *f->queue);
			f->nqueue--;
			return r;
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
	struct og_req *r;
	CURLMsg *msg;
	double now, wake;
	int running, left, ms;

	while (f->nqueue > 0 || f->active > 0) {
		now = og_fetch_now();
		wake = now + 0.2;
		while (f->active < (size_t)f->o.jobs &&
		    (r = next_ready(f, now, &wake)))
			start(f, r);
		curl_multi_perform(f->multi, &running);
		while ((msg = curl_multi_info_read(f->multi, &left))) {
			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE,
			    (char **)&r);
			finish(f, r, msg->data.result);
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
