/* http.c: fetch one URL's whole body with libcurl's easy interface. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "og.h"

#define CONNECT_TIMEOUT 15L
#define MAX_REDIRECTS 5L

int
og_http_is_url(const char *s)
{
	return strncasecmp(s, "http://", 7) == 0 ||
	    strncasecmp(s, "https://", 8) == 0;
}

/* scheme://host[:port] and "/..." when there is more: a spreadsheet's
 * export link carries its key in the path or the query, and a URL may
 * carry user:password@, none of which belong in a message or a log. */
const char *
og_http_safe_url(const char *url, char *buf, size_t size)
{
	const char *host = strstr(url, "://"), *end, *at;

	if (!host) {
		snprintf(buf, size, "<url>");
		return buf;
	}
	host += 3;
	end = host + strcspn(host, "/?#");
	if ((at = memchr(host, '@', end - host)))
		host = at + 1;
	snprintf(buf, size, "%.*s%.*s%s", (int)(strstr(url, "://") + 3 - url),
	    url, (int)(end - host), host, *end && strcmp(end, "/") ? "/..." : "");
	return buf;
}

size_t
og_body_write(char *data, size_t size, size_t n, void *body)
{
	struct og_body *b = body;

	n *= size;
	if (n > b->max - b->len) {
		b->too_big = 1;
		return 0;
	}
	if (b->len + n + 1 > b->cap) {
		while (b->len + n + 1 > b->cap)
			b->cap = b->cap ? 2 * b->cap : 1 << 14;
		b->data = og_realloc(b->data, b->cap);
	}
	memcpy(b->data + b->len, data, n);
	b->len += n;
	b->data[b->len] = '\0';
	return n;
}

const char *
og_http_get(const char *url, long timeout, size_t max, char **body,
    size_t *len, char *why, size_t whysize)
{
	struct og_body b = { NULL, 0, 0, max, 0 };
	char err[CURL_ERROR_SIZE] = "", agent[64];
	CURLcode rc;
	CURL *h;
	long status = 0;

	*body = NULL;
	*len = 0;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return "cannot initialise libcurl";
	if (!(h = curl_easy_init())) {
		curl_global_cleanup();
		return "cannot initialise libcurl";
	}
	snprintf(agent, sizeof agent, "%s/%s", argv0, OG_VERSION);
	curl_easy_setopt(h, CURLOPT_URL, url);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(h, CURLOPT_PROTOCOLS, CURLPROTO_HTTP | CURLPROTO_HTTPS);
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS,
	    CURLPROTO_HTTP | CURLPROTO_HTTPS);
#endif
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(h, CURLOPT_MAXREDIRS, MAX_REDIRECTS);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, timeout);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(h, CURLOPT_USERAGENT, agent);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, err);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, og_body_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
	rc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(h);
	curl_global_cleanup();
	if (b.too_big)
		snprintf(why, whysize, "body larger than %zu bytes", max);
	else if (rc != CURLE_OK)
		snprintf(why, whysize, "%s", *err ? err : curl_easy_strerror(rc));
	else if (status >= 400)
		snprintf(why, whysize, "HTTP %ld", status);
	else {
		*body = b.data ? b.data : og_calloc(1, 1);
		*len = b.len;
		return NULL;
	}
	free(b.data);
	return why;
}
