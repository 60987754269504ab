/* Synthetic index for scale measurements: adds NBLOBS random blobs to the
 * index of a local repository, in packs of PER_PACK blobs, as index
 * objects of the usual size, with an empty file for each pack (a backup
 * checks that the packs its index names exist; nothing reads them unless
 * a restore or check needs a synthetic blob).
 *
 *   cc -O2 -Isrc -Iinclude -Ibuild bench/gen_index.c build/libcairn.a \
 *      -lcrypto -lzstd -llz4 -ljansson -lsqlite3 -lblkid -lm -lpthread -o gen_index
 *   CAIRN_PASSPHRASE=... ./gen_index REPO_DIR NBLOBS [PER_PACK]
 */
#include "repo/index.h"
#include "repo/pack.h"
#include "repo/repo.h"
#include "store/store.h"
#include "util/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static void fill(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		rng ^= rng << 13;
		rng ^= rng >> 7;
		rng ^= rng << 17;
		p[i] = (uint8_t)(rng >> 29);
	}
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: gen_index REPO_DIR NBLOBS [PER_PACK]\n");
		return 2;
	}
	const char *pass = getenv("CAIRN_PASSPHRASE");
	uint64_t total = strtoull(argv[2], NULL, 10);
	uint64_t per_pack = argc > 3 ? strtoull(argv[3], NULL, 10) : 4096;
	if (!pass || !total || !per_pack) {
		fprintf(stderr, "gen_index: CAIRN_PASSPHRASE, NBLOBS and PER_PACK must be set\n");
		return 2;
	}
	struct cairn_store *s = NULL;
	struct cairn_repo *repo = NULL;
	int r = cairn_store_local_open(argv[1], &s);
	if (r >= 0)
		r = cairn_repo_open(s, pass, strlen(pass), &repo);
	uint8_t seed[8];
	cairn_random(seed, 8);
	memcpy(&rng, seed, 8);
	rng |= 1;
	uint64_t done = 0;
	while (r >= 0 && done < total) {
		struct cairn_index *idx = NULL;
		if ((r = cairn_index_new(&idx)) < 0)
			break;
		/* One index object's worth at a time. */
		uint64_t batch = total - done < CAIRN_INDEX_OBJECT_ENTRIES ? total - done : CAIRN_INDEX_OBJECT_ENTRIES;
		for (uint64_t i = 0; r >= 0 && i < batch; i += per_pack) {
			uint8_t pid[CAIRN_PACK_ID_LEN];
			char key[80];
			uint32_t slot;
			fill(pid, sizeof(pid));
			cairn_pack_key(pid, key);
			if ((r = cairn_store_put(repo->store, key, "", 0, 0)) < 0 ||
			    (r = cairn_index_add_pack(idx, pid, true, &slot)) < 0)
				break;
			for (uint64_t k = 0; r >= 0 && k < per_pack && i + k < batch; k++) {
				struct cairn_blob_ref ref = { .pack = slot, .offset = (uint32_t)(k * 4124),
							      .stored_len = 4124, .raw_len = 4096 };
				fill(ref.id, sizeof(ref.id));
				r = cairn_index_insert(idx, &ref);
			}
		}
		if (r >= 0)
			r = cairn_index_write_fresh(idx, repo, NULL);
		cairn_index_free(idx);
		done += batch;
	}
	if (r < 0) {
		fprintf(stderr, "gen_index: %s\n", cairn_error_message());
		return 1;
	}
	printf("%llu blobs added\n", (unsigned long long)done);
	cairn_repo_free(repo);
	return 0;
}
