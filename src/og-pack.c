/* og-pack: add records to a store. */
#include <stdlib.h>
#include <unistd.h>

#include "og.h"

static const char usage_text[] =
    "usage: og-pack [-q] STORE [FILE...]\n"
    "Add records (KEY TAB TIME TAB VALUE) from FILEs or stdin to STORE.\n"
    "  -q  quiet: no progress line\n"
    "  -h  this help    -V  version\n";

int
main(int argc, char *argv[])
{
	int c, quiet = 0;

	og_setprog(argv[0]);
	while ((c = getopt(argc, argv, "hqV")) != -1) {
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
	if (argc < 1)
		og_usage(usage_text, OG_EXIT_USAGE);
	(void)quiet;
	og_die("the store is not implemented yet");
}
