/* libFuzzer harness: one line of the record format, and the numbers and
 * times inside it; a value that parses must print and read back exactly. */
#include <stdint.h>
#include <string.h>

#include "og.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct og_record r;
	char why[256], buf[OG_NUMBER_MAX];
	double v, back;
	int64_t t;

	og_parse_record((const char *)data, size, &r, why, sizeof why);
	og_parse_time_iso((const char *)data, size, &t);
	if (og_parse_value((const char *)data, size, &v) == 0) {
		size_t n = og_format_value(buf, v);

		if (og_parse_value(buf, n, &back) < 0 ||
		    (v == v && memcmp(&v, &back, sizeof v) != 0))
			__builtin_trap();
	}
	return 0;
}
