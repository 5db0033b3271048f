/* og-unpack: print records from a store. */
#include <stdlib.h>
#include <unistd.h>

#include "og.h"

static const char usage_text[] =
    "usage: og-unpack [-lmTx] [-s START] [-e END] STORE [KEY...]\n"
    "Print the records of KEYs (all keys when none) from STORE.\n"
    "  -s START  from START (inclusive; Unix seconds or ISO 8601)\n"
    "  -e END    until END (exclusive)\n"
    "  -m        merge keys into one stream in time order\n"
    "  -l        list KEY COUNT FIRST LAST per key\n"
    "  -T        print times as ISO 8601 in the local zone\n"
    "  -x        stop at the first damaged file\n"
    "  -h  this help    -V  version\n";

int
main(int argc, char *argv[])
{
	int c;
	int64_t start = INT64_MIN, end = INT64_MAX;

	og_setprog(argv[0]);
	while ((c = getopt(argc, argv, "e:hlms:TVx")) != -1) {
		switch (c) {
		case 'e':
			if (og_parse_time_arg(optarg, &end) < 0)
				og_die("bad time '%s'", optarg);
			break;
		case 'h':
			og_usage(usage_text, 0);
		case 'l':
		case 'm':
		case 'x':
			break;
		case 's':
			if (og_parse_time_arg(optarg, &start) < 0)
				og_die("bad time '%s'", optarg);
			break;
		case 'T':
			og_iso_times = 1;
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
	(void)start, (void)end;
	og_die("the store is not implemented yet");
}
