/* og-meta: read the sensor sheet, check it, select from it, print it. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "og.h"

#define HTTP_TIMEOUT 60L
#define SHEET_MAX (64 << 20)

static const char usage_text[] =
    "usage: og-meta [-H] [-c CATEGORY]... [-S SITE]... [-t TYPE]... [-f FIELD,...] SHEET\n"
    "       og-meta [-H] [-c CATEGORY]... [-S SITE]... [-t TYPE]... -l sites SHEET\n"
    "Print the sensors of SHEET (CSV path, - or http(s) URL), tab-separated.\n"
    "  -c CATEGORY  only sensors of this category (repeatable)\n"
    "  -S SITE      only sensors of this site (repeatable)\n"
    "  -t TYPE      only sensors of this type (repeatable)\n"
    "  -f FIELDS    print these columns (default sensor,site,category,type,unit)\n"
    "  -H           print a header line first\n"
    "  -l sites     list sites with their sensor count and categories\n"
    "  -h  this help    -V  version\n";

static const char *default_fields[] = { "sensor", "site", "category", "type", "unit" };

struct list {
	const char **v;
	size_t n;
};

struct site {
	const char *name;
	size_t count;
	unsigned categories;	/* bit i: og_categories[i] */
};

/* File-scope, so that what og_die leaves behind is still reachable and
 * leak checkers stay quiet. */
static struct list categories, sites, types, fields;
static struct og_sheet sheet;
static const char *sheet_name;
static char *sheet_text;
static int *columns;
static struct site *site_list;
static struct og_table site_table;

static void
add(struct list *l, const char *s)
{
	l->v = og_reallocarray(l->v, l->n + 1, sizeof *l->v);
	l->v[l->n++] = s;
}

static void
parse_fields(const char *arg)
{
	char *copy, *rest, *name;

	if (!*arg || *arg == ',' || arg[strlen(arg) - 1] == ',' ||
	    strstr(arg, ",,")) {
		og_usage_error("-f: empty field name in '%s'", arg);
	}
	copy = rest = og_strdup(arg);
	while ((name = strsep(&rest, ",")))
		add(&fields, og_strdup(name));
	free(copy);
}

/* The whole sheet in memory: nothing is printed before all of it is known
 * to be good. */
static size_t
slurp(const char *src)
{
	static char safe[256];
	char why[512];
	size_t len, cap = 0;
	ssize_t n;
	int fd = 0;

	if (og_http_is_url(src)) {
		sheet_name = og_http_safe_url(src, safe, sizeof safe);
		if (og_http_get(src, HTTP_TIMEOUT, SHEET_MAX, &sheet_text, &len,
		    why, sizeof why))
			og_die("%s: %s", sheet_name, why);
		/* what a spreadsheet serves for a link that is not shared */
		if (sheet_text[strspn(sheet_text, " \t\r\n")] == '<')
			og_die("%s: an HTML page, not CSV (is the sheet "
			    "shared, and the link its CSV export?)", sheet_name);
		return len;
	}
	sheet_name = strcmp(src, "-") == 0 ? "<stdin>" : src;
	if (strcmp(src, "-") != 0 && (fd = open(src, O_RDONLY | O_CLOEXEC)) < 0)
		og_die("%s:", src);
	for (len = 0;; len += n) {
		if (len > SHEET_MAX)
			og_die("%s: larger than %d bytes", sheet_name,
			    SHEET_MAX);
		if (len == cap) {
			cap = cap ? 2 * cap : 1 << 16;
			if (cap > SHEET_MAX)
				cap = SHEET_MAX + 1;
			sheet_text = og_realloc(sheet_text, cap);
		}
		if ((n = read(fd, sheet_text + len, cap - len)) == 0)
			break;
		if (n < 0 && errno == EINTR)
			n = 0;
		else if (n < 0)
			og_die("%s: read error:", sheet_name);
	}
	if (fd > 0)
		close(fd);
	return len;
}

static int
listed(const struct list *l, const char *s, int icase)
{
	size_t i;

	if (l->n == 0)
		return 1;
	for (i = 0; i < l->n; i++)
		if ((icase ? strcasecmp : strcmp)(l->v[i], s) == 0)
			return 1;
	return 0;
}

static int
selected(size_t r)
{
	return listed(&categories, og_sheet_value(&sheet, r, sheet.category), 0) &&
	    listed(&sites, og_sheet_value(&sheet, r, sheet.site), 0) &&
	    listed(&types, og_sheet_value(&sheet, r, sheet.type), 1);
}

/* A -S naming no site at all is more likely a typo than a wish for nothing. */
static void
check_sites(void)
{
	size_t i, r;

	for (i = 0; i < sites.n; i++) {
		for (r = 0; r < sheet.nrows; r++)
			if (strcmp(og_sheet_value(&sheet, r, sheet.site),
			    sites.v[i]) == 0)
				break;
		if (r == sheet.nrows)
			og_die("%s: no site '%s'", sheet_name, sites.v[i]);
	}
}

/* Tabs and line ends inside a value print as spaces, so that one sensor
 * stays one line of tab-separated fields; an empty value prints as "-". */
static void
out_value(const char *s)
{
	if (!*s)
		og_out_char('-');
	for (; *s; s++) {
		if (*s == '\r' && s[1] == '\n')
			continue;
		og_out_char(*s == '\t' || *s == '\r' || *s == '\n' ? ' ' : *s);
	}
}

static const char *
column_names(void)
{
	static char names[512];
	size_t i, n = 0;

	for (i = 0; i < sheet.ncols && n < sizeof names; i++)
		if (*sheet.col[i])
			n += snprintf(names + n, sizeof names - n, "%s%s",
			    n ? ", " : "", sheet.col[i]);
	if (n >= sizeof names)
		strcpy(names + sizeof names - 4, "...");
	return names;
}

static void
print_sensors(int header, int chosen)
{
	size_t i, r;

	columns = og_calloc(fields.n, sizeof *columns);
	for (i = 0; i < fields.n; i++)
		if ((columns[i] = og_sheet_column(&sheet, fields.v[i])) < 0 &&
		    chosen)
			og_die("%s: no column '%s' (the sheet has: %s)",
			    sheet_name, fields.v[i], column_names());
	for (i = 0; header && i < fields.n; i++) {
		og_out_str(fields.v[i]);
		og_out_char(i + 1 < fields.n ? '\t' : '\n');
	}
	for (r = 0; r < sheet.nrows; r++) {
		if (!selected(r))
			continue;
		for (i = 0; i < fields.n; i++) {
			out_value(og_sheet_value(&sheet, r, columns[i]));
			og_out_char(i + 1 < fields.n ? '\t' : '\n');
		}
	}
}

/* The site named s, found through a hash table, so that many sites do not
 * cost quadratic time; a new one is added as the nsites-th. */
static struct site *
site_of(const char *s, size_t *nsites)
{
	uint64_t h = og_hash(s, strlen(s));
	size_t probe = 0, i;

	while (og_table_next(&site_table, h, &probe, &i))
		if (strcmp(site_list[i].name, s) == 0)
			return &site_list[i];
	site_list[*nsites].name = s;
	og_table_add(&site_table, h, *nsites);
	return &site_list[(*nsites)++];
}

/* SITE COUNT CATEGORIES, sites in the order they first appear, categories
 * in the order og_categories gives them. */
static void
print_sites(int header)
{
	size_t nsites = 0, i, r;
	struct site *site;
	char num[32];
	int c, any;

	site_list = og_calloc(sheet.nrows, sizeof *site_list);
	for (r = 0; r < sheet.nrows; r++) {
		if (!selected(r))
			continue;
		site = site_of(og_sheet_value(&sheet, r, sheet.site), &nsites);
		site->count++;
		if ((c = og_category(og_sheet_value(&sheet, r,
		    sheet.category))) >= 0)
			site->categories |= 1u << c;
	}
	if (header)
		og_out_str("site\tsensors\tcategories\n");
	for (i = 0; i < nsites; i++) {
		og_out_str(site_list[i].name);
		og_out_char('\t');
		og_out(num, snprintf(num, sizeof num, "%zu", site_list[i].count));
		og_out_char('\t');
		for (any = 0, c = 0; c < OG_NCATEGORIES; c++)
			if (site_list[i].categories & 1u << c) {
				if (any++)
					og_out_char(',');
				og_out_str(og_categories[c]);
			}
		og_out_str(any ? "\n" : "-\n");
	}
}

int
main(int argc, char *argv[])
{
	const char *err;
	char why[512];
	size_t len;
	uintmax_t row;
	int c, chosen, header = 0, list_sites = 0;

	og_setprog(argv[0]);
	while ((c = getopt_long(argc, argv, "c:f:Hhl:S:t:V",
	    og_long_options, NULL)) != -1) {
		switch (c) {
		case 'c':
			if (og_category(optarg) < 0) {
				og_usage_error("unknown category '%s' (valid: %s)",
				    optarg, og_category_names());
			}
			add(&categories, optarg);
			break;
		case 'f':
			parse_fields(optarg);
			break;
		case 'H':
			header = 1;
			break;
		case 'h':
			og_usage(usage_text, 0);
		case 'l':
			if (strcmp(optarg, "sites") != 0) {
				og_usage_error("-l: unknown list '%s' (valid: sites)",
				    optarg);
			}
			list_sites = 1;
			break;
		case 'S':
			add(&sites, optarg);
			break;
		case 't':
			add(&types, optarg);
			break;
		case 'V':
			og_version();
		default:
			og_usage(usage_text, OG_EXIT_USAGE);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 1)
		og_usage(usage_text, OG_EXIT_USAGE);
	if (list_sites && fields.n) {
		og_usage_error("-f and -l do not combine");
	}
	if (!(chosen = fields.n > 0))
		for (c = 0; c < (int)(sizeof default_fields /
		    sizeof *default_fields); c++)
			add(&fields, og_strdup(default_fields[c]));

	len = slurp(argv[0]);
	if ((err = og_sheet_parse(&sheet, sheet_text, len, &row, why,
	    sizeof why))) {
		if (row)
			og_die("%s:%ju: %s", sheet_name, row, err);
		og_die("%s: %s", sheet_name, err);
	}
	check_sites();
	if (list_sites)
		print_sites(header);
	else
		print_sensors(header, chosen);
	og_out_close();
	og_sheet_free(&sheet);
	free(sheet_text);
	free(columns);
	free(site_list);
	og_table_free(&site_table);
	free(categories.v);
	free(sites.v);
	free(types.v);
	while (fields.n > 0)
		free((char *)fields.v[--fields.n]);
	free(fields.v);
	return 0;
}
