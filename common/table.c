/* table.c: a small open-addressing table over the one string hash, og.h's
 * og_hash (64-bit FNV-1a), which like the lookup, og_table_next, is inline
 * for the lookups of every record.  The table holds item numbers, not
 * items: the caller keeps its items in an array and tells a match from a
 * collision itself, so one table serves keys, sensors and sites alike. */
#include <stdlib.h>

#include "og.h"

static void
place(struct og_table *t, uint64_t h, size_t item1)
{
	size_t j;

	for (j = h & t->mask; t->slot[j].item; j = (j + 1) & t->mask)
		;
	t->slot[j].hash = h;
	t->slot[j].item = item1;
}

/* Adds item under hash h; the table stays at most half full. */
void
og_table_add(struct og_table *t, uint64_t h, size_t item)
{
	struct og_table_slot *old = t->slot;
	size_t i, oldsize = old ? t->mask + 1 : 0;

	if (2 * (t->n + 1) > oldsize) {
		t->mask = oldsize ? 2 * oldsize - 1 : 63;
		t->slot = og_calloc(t->mask + 1, sizeof *t->slot);
		for (i = 0; i < oldsize; i++)
			if (old[i].item)
				place(t, old[i].hash, old[i].item);
		free(old);
	}
	place(t, h, item + 1);
	t->n++;
}

void
og_table_free(struct og_table *t)
{
	free(t->slot);
	t->slot = NULL;
	t->mask = t->n = 0;
}
