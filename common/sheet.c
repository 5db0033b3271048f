/* sheet.c: the sensor sheet: its columns, its rows, and the checks that make
 * it safe to feed to the other tools. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "og.h"

#define SHOWN_MAX (4 * 48 + 8)

const char *const og_categories[OG_NCATEGORIES] = {
	"gridImport", "gridExport", "gridNet", "gridCons", "pvProd",
	"gridSub", "gridGas", "gridWater", "heatProd",
};

/* Meters of these types feed the site metrics, so they need a category. */
static const char *const energy_types[] = { "electricity", "gas", "water", "heat" };

int
og_category(const char *name)
{
	int i;

	for (i = 0; i < OG_NCATEGORIES; i++)
		if (strcmp(name, og_categories[i]) == 0)
			return i;
	return -1;
}

const char *
og_category_names(void)
{
	static char names[OG_NCATEGORIES * 16];
	int i;

	if (!names[0])
		for (i = 0; i < OG_NCATEGORIES; i++) {
			if (i > 0)
				strcat(names, ", ");
			strcat(names, og_categories[i]);
		}
	return names;
}

static int
needs_category(const char *type)
{
	size_t i;

	if (!*type)
		return 1;
	for (i = 0; i < sizeof energy_types / sizeof *energy_types; i++)
		if (strcasecmp(type, energy_types[i]) == 0)
			return 1;
	return 0;
}

int
og_sheet_column(const struct og_sheet *s, const char *name)
{
	size_t i;

	for (i = 0; i < s->ncols; i++)
		if (*s->col[i] && strcasecmp(s->col[i], name) == 0)
			return i;
	return -1;
}

const char *
og_sheet_value(const struct og_sheet *s, size_t row, int col)
{
	return col < 0 ? "" : s->rows[row].val[col];
}

/* A value as a message shows it: quoted, shortened, control bytes escaped. */
static const char *
shown(char buf[SHOWN_MAX], const char *s)
{
	char *p = buf;
	size_t i;

	*p++ = '\'';
	for (i = 0; s[i] && i < 48; i++) {
		unsigned char c = s[i];

		if (c >= ' ' && c != 0x7f) {
			*p++ = c;
		} else {
			snprintf(p, 5, "\\%03o", c);
			p += 4;
		}
	}
	if (s[i])
		p = (char *)memcpy(p, "...", 3) + 3;
	*p++ = '\'';
	*p = '\0';
	return buf;
}

static int
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' ||
	    c == '\f';
}

static const char *
trim(const char *s, size_t *n)
{
	while (*n > 0 && is_space(*s)) {
		s++;
		(*n)--;
	}
	while (*n > 0 && is_space(s[*n - 1]))
		(*n)--;
	return s;
}

/* The fields of one CSV record as a block: ncols pointers, then the
 * trimmed values they point at, so one free() releases the lot. */
static char **
make_row(const struct og_csv *c, size_t ncols)
{
	const char *v;
	size_t i, n, total = 0;
	char **row, *p;

	for (i = 0; i < ncols && i < c->nfields; i++) {
		n = c->len[i];
		trim(c->field[i], &n);
		total += n + 1;
	}
	total += ncols - i;
	row = og_malloc(ncols * sizeof *row + total);
	p = (char *)(row + ncols);
	for (i = 0; i < ncols; i++) {
		n = i < c->nfields ? c->len[i] : 0;
		v = i < c->nfields ? trim(c->field[i], &n) : "";
		row[i] = memcpy(p, v, n);
		p[n] = '\0';
		p += n + 1;
	}
	return row;
}

/* The number of fields up to the last one that is not blank. */
static size_t
used_fields(const struct og_csv *c)
{
	size_t n = c->nfields, len;

	for (; n > 0; n--) {
		len = c->len[n - 1];
		trim(c->field[n - 1], &len);
		if (len > 0)
			break;
	}
	return n;
}

/* The row index of an earlier sensor with the same id, or -1 after
 * remembering this one in seen, a table of rows by sensor. */
static long
seen_before(struct og_table *seen, const struct og_sheet *s, size_t row)
{
	const char *id = s->rows[row].val[s->sensor];
	uint64_t h = og_hash(id, strlen(id));
	size_t probe = 0, i;

	while (og_table_next(seen, h, &probe, &i))
		if (strcmp(s->rows[i].val[s->sensor], id) == 0)
			return i;
	og_table_add(seen, h, row);
	return -1;
}

/* A needed column the header lacks: name the columns it has, which shows a
 * sheet of another separator or a header that is not the first line. */
static const char *
missing(const struct og_sheet *s, const char *name, char *why,
    size_t whysize)
{
	char a[SHOWN_MAX];
	size_t i, len;

	if (s->ncols && strncmp(s->col[0], "\xef\xbb\xbf", 3) == 0) {
		snprintf(why, whysize, "missing column '%s': the header starts "
		    "with a second UTF-8 byte order mark (BOM)", name);
		return why;
	}
	len = snprintf(why, whysize, "missing column '%s' (the header has",
	    name);
	for (i = 0; i < s->ncols && len < whysize; i++)
		len += snprintf(why + len, whysize - len, "%s %s",
		    i ? "," : "", shown(a, s->col[i]));
	if (len < whysize)
		snprintf(why + len, whysize - len, ")");
	return why;
}

static const char *
read_header(struct og_sheet *s, const struct og_csv *c, char *why,
    size_t whysize)
{
	char a[SHOWN_MAX];
	size_t i, j;

	s->ncols = c->nfields;
	s->col = make_row(c, s->ncols);
	for (i = 0; i < s->ncols; i++)
		for (j = 0; j < i && *s->col[i]; j++)
			if (strcasecmp(s->col[i], s->col[j]) == 0) {
				snprintf(why, whysize,
				    "duplicate column %s (columns %zu and %zu)",
				    shown(a, s->col[i]), j + 1, i + 1);
				return why;
			}
	s->sensor = og_sheet_column(s, "sensor");
	s->site = og_sheet_column(s, "site");
	s->category = og_sheet_column(s, "category");
	s->type = og_sheet_column(s, "type");
	if (s->sensor < 0)
		return missing(s, "sensor", why, whysize);
	if (s->site < 0)
		return missing(s, "site", why, whysize);
	return NULL;
}

static const char *
bad_key(char *why, size_t whysize, const char *what, const char *key)
{
	char a[SHOWN_MAX];

	snprintf(why, whysize, "bad %s %s: it names records, so it must be "
	    "printable ASCII without spaces%s, at most %d bytes", what,
	    shown(a, key), strcmp(what, "site") == 0 ? " or '/'" : "",
	    OG_KEY_MAX);
	return why;
}

static const char *
check_row(struct og_sheet *s, struct og_table *seen, char *why, size_t whysize)
{
	size_t r = s->nrows - 1;
	const char *sensor = s->rows[r].val[s->sensor];
	const char *site = s->rows[r].val[s->site];
	const char *type = og_sheet_value(s, r, s->type);
	const char *category = og_sheet_value(s, r, s->category);
	char a[SHOWN_MAX];
	long first;

	if (!*sensor)
		return "empty sensor";
	if (!og_key_valid(sensor, strlen(sensor)))
		return bad_key(why, whysize, "sensor", sensor);
	if ((first = seen_before(seen, s, r)) >= 0) {
		snprintf(why, whysize, "duplicate sensor %s (first on row %ju)",
		    shown(a, sensor), s->rows[first].num);
		return why;
	}
	if (!*site) {
		snprintf(why, whysize, "empty site for sensor %s",
		    shown(a, sensor));
		return why;
	}
	if (!og_key_valid(site, strlen(site)) || strchr(site, '/'))
		return bad_key(why, whysize, "site", site);
	if (*category && og_category(category) < 0) {
		snprintf(why, whysize, "unknown category %s (valid: %s)",
		    shown(a, category), og_category_names());
		return why;
	}
	/* needs_category() passes only an empty or a known type */
	if (!*category && needs_category(type) && s->category < 0) {
		snprintf(why, whysize, "no category column, but the %s%ssensor "
		    "%s needs one", type, *type ? " " : "", shown(a, sensor));
		return why;
	}
	if (!*category && needs_category(type)) {
		snprintf(why, whysize, "empty category for %s%ssensor %s "
		    "(valid: %s)", type, *type ? " " : "", shown(a, sensor),
		    og_category_names());
		return why;
	}
	return NULL;
}

static const char *
csv_error(const struct og_sheet *s, const struct og_csv *c, const char *err,
    char *why, size_t whysize)
{
	char a[SHOWN_MAX];
	size_t n;

	if (c->nfields < s->ncols && *s->col[c->nfields])
		snprintf(why, whysize, "%s in column %s", err,
		    shown(a, s->col[c->nfields]));
	else
		snprintf(why, whysize, "%s in field %zu", err, c->nfields + 1);
	n = strlen(why);
	if (c->errline != c->row)
		snprintf(why + n, whysize - n, " (line %ju)", c->errline);
	return why;
}

const char *
og_sheet_parse(struct og_sheet *s, const char *data, size_t len,
    uintmax_t *row, char *why, size_t whysize)
{
	struct og_csv c;
	struct og_table seen = { 0 };
	const char *err = NULL;
	size_t n;
	int r;

	memset(s, 0, sizeof *s);
	s->sensor = s->site = s->category = s->type = -1;
	og_csv_init(&c, data, len);
	if ((r = og_csv_next(&c, &err)) == 0)
		err = "empty sheet (no header row)";
	else if (r > 0)
		err = read_header(s, &c, why, whysize);
	*row = c.row;
	while (!err && (r = og_csv_next(&c, &err)) > 0) {
		*row = c.row;
		if ((n = used_fields(&c)) == 0)
			continue;
		s->rows = og_reallocarray(s->rows, s->nrows + 1,
		    sizeof *s->rows);
		s->rows[s->nrows].num = c.row;
		s->rows[s->nrows++].val = make_row(&c, s->ncols);
		if (n > s->ncols) {
			snprintf(why, whysize, "%zu fields, but the header "
			    "names %zu columns", n, s->ncols);
			err = why;
		} else {
			err = check_row(s, &seen, why, whysize);
		}
	}
	if (r < 0) {
		*row = c.row;
		err = csv_error(s, &c, err, why, whysize);
	}
	og_csv_free(&c);
	og_table_free(&seen);
	return err;
}

void
og_sheet_free(struct og_sheet *s)
{
	size_t i;

	for (i = 0; i < s->nrows; i++)
		free(s->rows[i].val);
	free(s->rows);
	free(s->col);
	memset(s, 0, sizeof *s);
}
