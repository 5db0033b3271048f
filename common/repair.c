/* repair.c: og-pack -R: the damaged keys of a store made whole again,
 * each chunk that decodes kept and the rest dropped, a lost index rebuilt
 * from the chunks; the keys changed are committed at once, as a pack is. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "og.h"

static void
out_count(uintmax_t n, const char *what)
{
	char buf[64];

	snprintf(buf, sizeof buf, "%ju %s%s", n, what, n == 1 ? "" : "s");
	og_out_str(buf);
}

static void
out_kept(const struct og_keymeta *m)
{
	uintmax_t records = 0;
	size_t i;

	for (i = 0; i < m->nchunks; i++)
		records += m->chunks[i].count;
	out_count(m->nchunks, "chunk");
	og_out_str(", ");
	out_count(records, "record");
}

/* Drops the chunks of f that do not decode whole, naming each; returns
 * how many records they held, and in *chunks how many they were. */
static uintmax_t
drop_damaged(struct og_store *s, struct og_keyfile *f, size_t *chunks)
{
	static int64_t t[OG_CHUNK_POINTS];
	static double v[OG_CHUNK_POINTS];
	struct og_keymeta *m = &f->meta;
	char why[OG_STORE_WHY];
	uintmax_t records = 0;
	size_t i, j, n;

	*chunks = 0;
	for (i = j = 0; i < m->nchunks; i++) {
		struct og_chunkref *c = &m->chunks[i];

		if (f->fd >= 0 && !og_keyfile_load(s, f, i, t, v, NULL, NULL,
		    &n, why, sizeof why)) {
			m->chunks[j++] = *c;
			continue;
		}
		if (f->fd >= 0)
			og_warn("%s: %u records dropped (%lld to %lld)", why,
			    c->count, (long long)c->tmin, (long long)c->tmax);
		records += c->count;
		(*chunks)++;
	}
	m->nchunks = j;
	return records;
}

/*
 * Repairs one key: 0 when it was whole (f closed), 1 when f is to be
 * written anew, -1 when the store has no such key.
 */
static int
repair_key(struct og_store *s, struct og_keyfile *f,
    const struct og_storekey *k)
{
	char why[OG_STORE_WHY], datawhy[OG_STORE_WHY];
	const char *nodata;
	uintmax_t records;
	size_t chunks;
	int got;

	got = og_keyfile_open(s, f, k->key, k->keylen, 0, why, sizeof why);
	nodata = og_keyfile_open_read(s, f, datawhy, sizeof datawhy);
	if (got == -1 && nodata) {
		og_warn("%s: no such key", k->key);
		og_keyfile_close(f);
		return -1;
	}
	og_out(k->key, k->keylen);
	og_out_char('\t');
	if (got != 0) {
		if (got == -2)
			og_warn("%s: index rebuilt from the data file", why);
		else
			og_warn("%.*s: no meta file: index rebuilt from the "
			    "data file", (int)k->keylen, k->key);
		memcpy(f->meta.key, k->key, k->keylen + 1);
		f->meta.keylen = k->keylen;
		records = og_keyfile_scan(s, f);
		og_out_str("index rebuilt: kept ");
		out_kept(&f->meta);
		og_out_str("; ");
		out_count(records, "byte");
		og_out_str(" held no chunk\n");
		return 1;
	}
	if (nodata && f->meta.nchunks > 0)
		og_warn("%s", datawhy);
	if ((records = drop_damaged(s, f, &chunks)) == 0) {
		og_out_str("intact: ");
		out_kept(&f->meta);
		og_out_char('\n');
		og_keyfile_close(f);
		return 0;
	}
	og_out_str("kept ");
	out_kept(&f->meta);
	og_out_str("; dropped ");
	out_count(chunks, "chunk");
	og_out_str(", ");
	out_count(records, "record");
	og_out_char('\n');
	return 1;
}

int
og_pack_repair(const char *path, char **argv, int argc)
{
	struct og_store s;
	struct og_storekey *names;
	struct og_keyfile *files, **changed;
	size_t n, i, nchanged = 0;
	int status = 0, got;

	og_store_open(&s, path, 1);
	og_store_lock(&s);
	names = og_store_named(&s, argv, argc, 1, &n);
	files = og_calloc(n + 1, sizeof *files);
	changed = og_calloc(n + 1, sizeof *changed);
	for (i = 0; i < n; i++) {
		got = repair_key(&s, &files[i], &names[i]);
		og_out_flush();
		if (got < 0)
			status = 1;
		else if (got > 0)
			changed[nchanged++] = &files[i];
	}
	for (i = 0; i < nchanged; i++)
		og_keyfile_rewrite(&s, changed[i]);
	og_store_commit(&s, changed, nchanged);
	og_store_clean(&s);
	for (i = 0; i < nchanged; i++)
		og_keyfile_close(changed[i]);
	free(changed);
	free(files);
	free(names);
	og_store_close(&s);
	return status;
}
