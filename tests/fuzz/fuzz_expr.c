/* libFuzzer harness: og-metric's arguments: site metric expressions,
 * intervals and time-of-day windows. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "og.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct og_expr e;
	struct og_interval iv;
	struct og_window w;
	char *s = malloc(size + 1), why[256];

	memcpy(s, data, size);
	s[size] = '\0';
	memset(&e, 0, sizeof e);
	if (!og_expr_parse(s, &e, why, sizeof why))
		og_expr_free(&e);
	og_interval_parse(s, &iv);
	og_window_parse(s, &w);
	free(s);
	return 0;
}
