/* meta.c: the sensor sheet as og-meta prints it,
 * SENSOR<TAB>SITE<TAB>CATEGORY<TAB>TYPE<TAB>UNIT, '-' for an empty field. */
#include <stdlib.h>
#include <string.h>

#include "og.h"

static size_t
split(char *line, char **field, size_t max)
{
	size_t n = 0;
	char *tab;

	for (;;) {
		if (n < max)
			field[n] = line;
		n++;
		if (!(tab = strchr(line, '\t')))
			return n;
		*tab = '\0';
		line = tab + 1;
	}
}

static size_t
site_index(struct og_meta *m, const char *site)
{
	size_t i;

	for (i = 0; i < m->nsites; i++)
		if (strcmp(m->sites[i], site) == 0)
			return i;
	m->sites = og_reallocarray(m->sites, m->nsites + 1, sizeof *m->sites);
	m->sites[m->nsites] = og_strdup(site);
	return m->nsites++;
}

void
og_meta_read(struct og_meta *m, const char *path)
{
	struct og_reader rd;
	struct og_sensor *s;
	char *line, *f[5];
	size_t len, i;

	memset(m, 0, sizeof *m);
	og_reader_open(&rd, path);
	rd.name = path;
	while ((line = og_read_line(&rd, &len))) {
		if (rd.lineno == 1 && strncmp(line, "sensor\tsite\t", 12) == 0)
			continue;
		if (rd.lineno == 1 && !memchr(line, '\t', len) &&
		    (memchr(line, ',', len) || memchr(line, ';', len)) &&
		    strcasestr(line, "sensor"))
			og_die("%s:1: a sheet (CSV), not og-meta's output: run "
			    "'og-meta SHEET >META' and give META", path);
		if (memchr(line, '\r', len))
			og_die("%s:%ju: CR in line (DOS line ends?)", path,
			    rd.lineno);
		if (split(line, f, 5) != 5)
			og_die("%s:%ju: expected 5 tab-separated fields: "
			    "SENSOR SITE CATEGORY TYPE UNIT", path, rd.lineno);
		for (i = 0; i < 5; i++)
			if (!*f[i])
				og_die("%s:%ju: empty field %zu (use '-')", path,
				    rd.lineno, i + 1);
		if (!og_key_valid(f[0], strlen(f[0])))
			og_die("%s:%ju: bad sensor '%.40s'", path, rd.lineno,
			    f[0]);
		if (!og_key_valid(f[1], strlen(f[1])) || strchr(f[1], '/'))
			og_die("%s:%ju: bad site '%.40s'", path, rd.lineno, f[1]);
		if (strcmp(f[2], "-") != 0 && og_category(f[2]) < 0)
			og_die("%s:%ju: unknown category '%.40s' (%s)", path,
			    rd.lineno, f[2], og_category_names());
		for (i = 0; i < m->n; i++)
			if (strcmp(m->sensors[i].sensor, f[0]) == 0)
				og_die("%s:%ju: sensor '%s' listed twice", path,
				    rd.lineno, f[0]);
		m->sensors = og_reallocarray(m->sensors, m->n + 1,
		    sizeof *m->sensors);
		s = &m->sensors[m->n++];
		s->sensor = og_strdup(f[0]);
		s->site = site_index(m, f[1]);
		s->category = og_strdup(f[2]);
		s->type = og_strdup(f[3]);
		s->unit = og_strdup(f[4]);
	}
	og_reader_close(&rd);
}

struct og_sensor *
og_meta_find(struct og_meta *m, const char *key, size_t keylen)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		if (strlen(m->sensors[i].sensor) == keylen &&
		    memcmp(m->sensors[i].sensor, key, keylen) == 0)
			return &m->sensors[i];
	return NULL;
}

void
og_meta_free(struct og_meta *m)
{
	size_t i;

	for (i = 0; i < m->n; i++) {
		free(m->sensors[i].sensor);
		free(m->sensors[i].category);
		free(m->sensors[i].type);
		free(m->sensors[i].unit);
	}
	for (i = 0; i < m->nsites; i++)
		free(m->sites[i]);
	free(m->sensors);
	free(m->sites);
	memset(m, 0, sizeof *m);
}
