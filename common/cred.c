/* cred.c: secrets kept in a file only its owner can read, never in argv. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "og.h"

/* Sent in a header line, a token must not end it or split it. */
int
og_token_ok(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len >= OG_TOKEN_MAX - 16)
		return 0;
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f)
			return 0;
	return 1;
}

static void
check_private(const char *path, int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		og_die("%s:", path);
	if (!S_ISREG(st.st_mode))
		og_die("%s: not a regular file", path);
	if (st.st_mode & 077)
		og_die("%s: token file readable by others (mode %04o); "
		    "chmod 600 it", path, (unsigned)(st.st_mode & 07777));
}

void
og_cred_read(struct og_creds *cr, const char *path,
    const char *(*check)(const char *name, const char *secret))
{
	struct og_reader rd;
	struct og_cred *c;
	char *line, *secret;
	const char *why;
	size_t len, cap = 0, n;

	memset(cr, 0, sizeof *cr);
	cr->path = path;
	og_reader_open(&rd, path);
	check_private(path, rd.fd);
	while ((line = og_read_line(&rd, &len))) {
		if (len == 0 || line[0] == '#')
			continue;
		n = strcspn(line, " \t");
		secret = line + n + strspn(line + n, " \t");
		line[n] = '\0';
		if (check && (why = check(line, secret)))
			og_die("%s:%ju: %s", path, rd.lineno, why);
		if (cr->n == cap) {
			cap = cap ? 2 * cap : 16;
			cr->c = og_reallocarray(cr->c, cap, sizeof *cr->c);
		}
		c = &cr->c[cr->n++];
		c->name = og_strdup(line);
		c->secret = og_strdup(secret);
		explicit_bzero(secret, strlen(secret));
	}
	og_reader_close(&rd);
}

const char *
og_cred_find(const struct og_creds *cr, const char *name)
{
	size_t i;

	for (i = 0; i < cr->n; i++)
		if (strcmp(cr->c[i].name, name) == 0)
			return cr->c[i].secret;
	return NULL;
}

void
og_cred_free(struct og_creds *cr)
{
	size_t i;

	for (i = 0; i < cr->n; i++) {
		explicit_bzero(cr->c[i].secret, strlen(cr->c[i].secret));
		free(cr->c[i].secret);
		free(cr->c[i].name);
	}
	free(cr->c);
	memset(cr, 0, sizeof *cr);
}
