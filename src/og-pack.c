/* og-pack: add records to a store. */
#include <stdlib.h>
#include <unistd.h>

#include "og.h"

static const char usage_text[] =
    "usage: og-pack [-q] STORE [FILE...]\n"
    "Add records (KEY TAB TIME TAB VALUE) from FILEs or stdin to STORE.\n"
    "  -q  quiet: no progress line on a terminal\n"
    "  -h  this help    -V  version\n";

static struct og_pack pack;
static uintmax_t total;
static int progress;

/* og_die exits: what the pack wrote so far is taken back on the way out. */
static void
abort_pack(void)
{
	og_pack_abort(&pack);
}

static void
add(void *ctx, struct og_record *r, const struct og_reader *rd)
{
	(void)ctx, (void)rd;
	og_pack_add(&pack, r);
	if (progress && ++total % (1 << 20) == 0)
		fprintf(stderr, "\rog-pack: %ju records, %zu keys", total,
		    pack.nkeys);
}

int
main(int argc, char *argv[])
{
	int c, quiet = 0;

	og_setprog(argv[0]);
	while ((c = getopt_long(argc, argv, "hqV",
	    og_long_options, NULL)) != -1) {
		switch (c) {
		case 'h':
			og_usage(usage_text, 0);
		case 'q':
			quiet = 1;
			break;
		case 'V':
			og_version();
		default:
			og_usage(usage_text, OG_EXIT_USAGE);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1 || !*argv[0])
		og_usage(usage_text, OG_EXIT_USAGE);
	progress = !quiet && isatty(2);
	og_pack_begin(&pack, argv[0]);
	atexit(abort_pack);
	og_record_loop(argc - 1, argv + 1, add, NULL);
	og_pack_commit(&pack);
	if (progress && total >= (1 << 20))
		fprintf(stderr, "\rog-pack: %ju records, %zu keys\n", total,
		    pack.nkeys);
	return 0;
}
