/* table.c: the one string hash (64-bit FNV-1a) and a small open-addressing
 * table over it.  The table holds item numbers, not items: the caller keeps
 * its items in an array and tells a match from a collision itself, so one
 * table serves keys, sensors and sites alike. */
#include <stdlib.h>

#include "og.h"

uint64_t
og_hash(const void *p, size_t len)
{
	const unsigned char *c = p;
	uint64_t h = 14695981039346656037ULL;

	while (len--)
		h = (h ^ *c++) * 1099511628211ULL;
	return h;
}

/* The items added with hash h, one a call, from *probe = 0 on; 0 when
 * there are no more. */
int
og_table_next(const struct og_table *t, uint64_t h, size_t *probe,
    size_t *item)
{
	const struct og_table_slot *s;

	if (!t->slot)
		return 0;
	for (;;) {
		s = &t->slot[(h + (*probe)++) & t->mask];
		if (s->item == 0)
			return 0;
		if (s->hash == h) {
			*item = s->item - 1;
			return 1;
		}
	}
}

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
