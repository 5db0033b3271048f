/* libFuzzer harness: what the Flukso API answers: a gzip tmpo block, its
 * JSON, a sync list and a sensor-API answer.  The tokens of a text the
 * JSON reader takes must form one tree over the text. */
#include <stdint.h>
#include <stdlib.h>

#include "og.h"

/* The subtree at token i: inside [lo, hi) of the text, its children
 * (members: a string and a value) within its next; returns its next. */
static size_t
check_tree(const struct og_json *j, size_t i, size_t lo, size_t hi)
{
	const struct og_json_tok *t = &j->tok[i];
	size_t k, c = i + 1, per;

	if (i >= j->n || t->start < lo || t->start + t->len > hi ||
	    t->next <= i || t->next > j->n)
		abort();
	if (t->type != OG_JSON_ARRAY && t->type != OG_JSON_OBJECT) {
		if (t->next != i + 1 || t->size != 0)
			abort();
		return t->next;
	}
	per = t->type == OG_JSON_OBJECT ? 2 : 1;
	for (k = 0; k < t->size * per; k++) {
		if (per == 2 && k % 2 == 0 && j->tok[c].type != OG_JSON_STRING)
			abort();
		c = check_tree(j, c, t->start + 1, t->start + t->len - 1);
	}
	if (c != t->next)
		abort();
	return c;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct og_tmpo_data d = { 0 };
	struct og_tmpo_id *ids = NULL;
	struct og_json j = { 0 };
	char why[256];
	size_t n = 0, errpos;

	/* bid 0, level 40: any time of a real block is inside, and its
	 * children are those of its own bid, so salvage is tried */
	if (!og_tmpo_block(data, size, 0, 40, 1, &d, why, sizeof why)) {
		free(d.t);
		free(d.v);
	}
	d = (struct og_tmpo_data){ 0 };
	if (!og_tmpo_decode((const char *)data, size, 1404224768, 8, 1, &d, why,
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
	if (!og_json_parse(&j, (const char *)data, size, &errpos) &&
	    check_tree(&j, 0, 0, size) != j.n)
		abort();
	og_json_free(&j);
	return 0;
}
