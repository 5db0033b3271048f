/* libFuzzer harness: the CSV reader and the sensor sheet's checks. */
#include <stdint.h>
#include <stdlib.h>

#include "og.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct og_csv c;
	struct og_sheet s = { 0 };
	const char *why;
	char msg[256];
	uintmax_t row;

	og_csv_init(&c, (const char *)data, size);
	while (og_csv_next(&c, &why) > 0)
		;
	og_csv_free(&c);
	og_sheet_parse(&s, (const char *)data, size, &row, msg, sizeof msg);
	og_sheet_free(&s);
	return 0;
}
