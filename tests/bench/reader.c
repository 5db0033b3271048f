/*
 * reader: og's record reader alone, for the benchmark of its speed against
 * wc -l and cat.  Reads records from the files named, or standard input,
 * and prints how many there were, how many runs of one key, the sum of
 * their times and of their values that are not nan, so that no reading
 * can be left out and the numbers can be checked.
 *
 *   reader [FILE...]
 */
#include <math.h>
#include <stdio.h>

#include "og.h"

int
main(int argc, char *argv[])
{
	struct og_reader rd;
	struct og_record r;
	unsigned long long records = 0, runs = 0, lastrun = 0;
	long long times = 0;
	double values = 0;
	int i;

	og_setprog("reader");
	for (i = 1; i < argc || i == 1; i++) {
		og_reader_open(&rd, i < argc ? argv[i] : NULL);
		while (og_read_record(&rd, &r)) {
			records++;
			if (r.run != lastrun) {
				runs++;
				lastrun = r.run;
			}
			times += r.time;
			if (!isnan(r.value))
				values += r.value;
		}
		og_reader_close(&rd);
	}
	printf("%llu\t%llu\t%lld\t%.6e\n", records, runs, times, values);
	return 0;
}
