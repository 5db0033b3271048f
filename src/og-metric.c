/* og-metric: resample, aggregate and combine records. */
#include <getopt.h>
#include <stdlib.h>
#include <unistd.h>

#include "og.h"

static const char usage_text[] =
    "usage: og-metric [-drT] [-i INTERVAL] [-a AGG] [-g SECONDS] [-w HH:MM-HH:MM]\n"
    "                 [-z ZONE] [-P INTERVAL] [-M META -x NAME=EXPR]...\n"
    "                 [--partial | --merge] [FILE...]\n"
    "Turn records into metrics; with no INTERVAL, pass records through checked.\n"
    "  -i INTERVAL  buckets: Ns Nmin Nh (fixed), Nd Nw Nmo Ny (calendar, local)\n"
    "  -a AGG       mean min max sum count first last pNN (comma-separated)\n"
    "  -d           input is a cumulative counter: consumption per bucket\n"
    "  -g SECONDS   longest gap -d interpolates across (default 3600)\n"
    "  -r           per-bucket quantity to an average rate\n"
    "  -w HH:MM-HH:MM  keep samples in this local time-of-day window\n"
    "  -P INTERVAL  profile: mean per local time of day\n"
    "  -M META      sensor sheet (og-meta output) for site metrics\n"
    "  -x NAME=EXPR site metric, e.g. siteCons=gridNet+gridImport+pvProd-gridExport+gridCons\n"
    "  -z ZONE      time zone for calendar buckets and -T (default TZ)\n"
    "  -T           print times as ISO 8601 in the local zone\n"
    "  --partial    write mergeable partial state\n"
    "  --merge      combine partial streams\n"
    "  -h  this help    -V  version\n";

static const struct option long_options[] = {
	{ "partial", no_argument, NULL, 'p' },
	{ "merge", no_argument, NULL, 'm' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

int
main(int argc, char *argv[])
{
	struct og_reader rd;
	struct og_record r;
	int c, i, transform = 0;

	og_setprog(argv[0]);
	while ((c = getopt_long(argc, argv, "a:dg:hi:M:P:rTVw:x:z:", long_options,
	    NULL)) != -1) {
		switch (c) {
		case 'a':
		case 'd':
		case 'g':
		case 'i':
		case 'M':
		case 'm':
		case 'P':
		case 'p':
		case 'r':
		case 'w':
		case 'x':
			transform = 1;
			break;
		case 'h':
			og_usage(usage_text, 0);
		case 'T':
			og_iso_times = 1;
			break;
		case 'V':
			og_version();
		case 'z':
			og_set_zone(optarg);
			break;
		default:
			og_usage(usage_text, OG_EXIT_USAGE);
		}
	}
	argc -= optind;
	argv += optind;
	if (transform)
		og_die("metrics are not implemented yet");
	for (i = 0; i < (argc ? argc : 1); i++) {
		og_reader_open(&rd, argc ? argv[i] : "-");
		while (og_read_record(&rd, &r))
			og_out_record(r.key, r.keylen, r.time, r.value);
		og_reader_close(&rd);
	}
	og_out_close();
	return 0;
}
