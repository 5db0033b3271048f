/* libFuzzer harness: what the Flukso API answers: a gzip tmpo block, its
 * JSON, a sync list and a sensor-API answer. */
#include <stdint.h>
#include <stdlib.h>

#include "og.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct og_tmpo_data d = { 0 };
	struct og_tmpo_id *ids = NULL;
	struct og_json j = { 0 };
	char why[256];
	size_t n = 0, errpos;

	if (!og_tmpo_block(data, size, 1404224768, 8, &d, why, sizeof why)) {
		free(d.t);
		free(d.v);
	}
	d = (struct og_tmpo_data){ 0 };
	if (!og_tmpo_decode((const char *)data, size, 1404224768, 8, &d, why,
	    sizeof why)) {
		free(d.t);
		free(d.v);
	}
	d = (struct og_tmpo_data){ 0 };
	if (!og_tmpo_api_parse((const char *)data, size, &d, why, sizeof why)) {
		free(d.t);
		free(d.v);
	}
	if (!og_tmpo_sync_parse((const char *)data, size, &ids, &n, why,
	    sizeof why))
		free(ids);
	og_json_parse(&j, (const char *)data, size, &errpos);
	og_json_free(&j);
	return 0;
}
