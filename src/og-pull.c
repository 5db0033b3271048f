/* og-pull: fetch sensor data from the Flukso API. */
#include <stdlib.h>
#include <unistd.h>

#include "og.h"

static const char usage_text[] =
    "usage: og-pull [-kqv] [-m tmpo|api] [-u BASEURL] [-s START] [-e END] [-r RES]\n"
    "               [-U UNIT] [-j N] [-R RID]\n"
    "Read SENSOR TAB TOKEN [TAB SINCE] lines on stdin; print their records.\n"
    "  -m MODE   tmpo (raw blocks, default) or api (averaged values)\n"
    "  -u URL    API base URL (default $OG_API_URL or https://api.flukso.net)\n"
    "  -s START  only records from START on    -e END  only before END\n"
    "  -r RES    api resolution: minute 15min hour day week month year\n"
    "  -U UNIT   api unit: watt kwhperyear lpermin lperday m3peryear\n"
    "  -j N      concurrent connections (default 8)\n"
    "  -R RID    tmpo recycle id (default: the highest)\n"
    "  -k        do not verify https certificates\n"
    "  -q        quiet    -v  verbose\n"
    "  -h  this help    -V  version\n";

int
main(int argc, char *argv[])
{
	int c;

	og_setprog(argv[0]);
	while ((c = getopt(argc, argv, "e:hj:km:qR:r:s:U:u:Vv")) != -1) {
		switch (c) {
		case 'h':
			og_usage(usage_text, 0);
		case 'V':
			og_version();
		case 'e':
		case 'j':
		case 'k':
		case 'm':
		case 'q':
		case 'R':
		case 'r':
		case 's':
		case 'U':
		case 'u':
		case 'v':
			break;
		default:
			og_usage(usage_text, OG_EXIT_USAGE);
		}
	}
	if (optind != argc)
		og_usage(usage_text, OG_EXIT_USAGE);
	og_die("pulling is not implemented yet");
}
