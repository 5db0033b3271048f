/* bytes.c: the byte level the store's formats are written in: growing
 * buffers, little-endian integers and the long varints (the short ones are
 * inline in og.h). */
#include <stdlib.h>
#include <string.h>

#include "og.h"

/* Room for n more bytes. */
void
og_buf_grow(struct og_buf *b, size_t n)
{
	if (b->cap - b->len >= n)
		return;
	b->cap = b->len + n + b->cap / 2 + 256;
	b->data = og_realloc(b->data, b->cap);
}

void
og_buf_add(struct og_buf *b, const void *p, size_t n)
{
	og_buf_grow(b, n);
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

uint32_t
og_get_le32(const unsigned char *p)
{
	return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

uint64_t
og_get_le64(const unsigned char *p)
{
	return og_get_le32(p) | (uint64_t)og_get_le32(p + 4) << 32;
}

void
og_put_le32(unsigned char *p, uint32_t v)
{
	p[0] = v, p[1] = v >> 8, p[2] = v >> 16, p[3] = v >> 24;
}

void
og_put_le64(unsigned char *p, uint64_t v)
{
	og_put_le32(p, (uint32_t)v);
	og_put_le32(p + 4, (uint32_t)(v >> 32));
}

int
og_get_long_varint(const unsigned char **pp, const unsigned char *end,
    uint64_t *v)
{
	const unsigned char *p = *pp;
	uint64_t x = 0;
	int shift;

	for (shift = 0; shift < 64 && p < end; shift += 7) {
		x |= (uint64_t)(*p & 0x7f) << shift;
		if (!(*p++ & 0x80)) {
			*v = x;
			*pp = p;
			return 0;
		}
	}
	return -1;
}
