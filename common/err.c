/* err.c: diagnostics, prefixed with the program name. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "og.h"

const char *argv0 = "og";

const struct option og_long_options[] = {
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

void
og_setprog(const char *name)
{
	const char *slash = strrchr(name, '/');

	argv0 = slash ? slash + 1 : name;
	og_zone_from_env();
}

static void
vmessage(const char *fmt, va_list ap)
{
	int saved = errno;
	size_t len = strlen(fmt);

	fprintf(stderr, "%s: ", argv0);
	vfprintf(stderr, fmt, ap);
	if (len > 0 && fmt[len - 1] == ':')
		fprintf(stderr, " %s", strerror(saved));
	fputc('\n', stderr);
}

void
og_die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmessage(fmt, ap);
	va_end(ap);
	exit(OG_EXIT_DATA);
}

/* A bad option value: the reason, and exit status 2 like any usage error. */
void
og_usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmessage(fmt, ap);
	va_end(ap);
	exit(OG_EXIT_USAGE);
}

void
og_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmessage(fmt, ap);
	va_end(ap);
}

void
og_version(void)
{
	printf("%s (og) %s\n", argv0, OG_VERSION);
	exit(0);
}

const char *
og_why(char *why, size_t whysize, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, whysize, fmt, ap);
	va_end(ap);
	return why;
}
