/* alloc.c: allocation that never returns NULL. */
#include <stdlib.h>
#include <string.h>

#include "og.h"

void *
og_malloc(size_t size)
{
	void *p = malloc(size ? size : 1);

	if (!p)
		og_die("malloc:");
	return p;
}

void *
og_calloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (!p)
		og_die("calloc:");
	return p;
}

void *
og_realloc(void *p, size_t size)
{
	p = realloc(p, size ? size : 1);
	if (!p)
		og_die("realloc:");
	return p;
}

void *
og_reallocarray(void *p, size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size)
		og_die("reallocarray: overflow");
	return og_realloc(p, n * size);
}

char *
og_strdup(const char *s)
{
	size_t n = strlen(s) + 1;

	return memcpy(og_malloc(n), s, n);
}

/* The n bytes at s, NUL-terminated. */
char *
og_strndup(const char *s, size_t n)
{
	char *d = memcpy(og_malloc(n + 1), s, n);

	d[n] = '\0';
	return d;
}
