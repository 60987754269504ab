/* cairn-genrepo: fills a repository with N synthetic blobs, for the scale
 * benchmark (bench/scale.sh).
 *
 * Real backups cannot reach 50M blobs in a benchmark's time (50M chunks of
 * 4 KiB are 200 GiB to read, hash and seal), so this writes what a backup
 * would leave behind, through cairn's own code: tiny unique blobs (64 bytes
 * each: a per-run random seed and a counter), each id computed and each
 * blob sealed by the blob codec, packed by the pack writer (8,192 blobs a
 * pack, as a backup packs them at most), stored as packs, and indexed by
 * index objects written by cairn_index_write_fresh().  `cairn check` then
 * finds a consistent repository: every pack's TOC matches the index.  No
 * backup names these blobs; they only weigh on the index, which is what the
 * benchmark measures.
 *
 * One index of 32 packs (262,144 blobs, one index object's worth) is held
 * at a time, so the generator's memory does not grow with N.
 *
 * Usage: cairn-genrepo REPO N   (passphrase in CAIRN_PASSPHRASE)
 */
#include "crypto/crypto.h"
#include "repo/index.h"
#include "repo/objects.h"
#include "repo/pack.h"
#include "repo/repo.h"
#include "store/store.h"
#include "util/cleanup.h"
#include "util/error.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BLOB_LEN 64
#define BLOBS_PER_PACK 8192u
#define PACKS_PER_INDEX 32u

static int fail(int r, const char *what)
{
	char msg[1024];
	cairn_error_copy(msg, sizeof(msg));
	fprintf(stderr, "cairn-genrepo: %s: %s (error %d)\n", what, msg, r);
	return 1;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: cairn-genrepo REPO N   (passphrase in CAIRN_PASSPHRASE)\n");
		return 2;
	}
	char *end;
	unsigned long long n = strtoull(argv[2], &end, 10);
	if (*end || n == 0) {
		fprintf(stderr, "cairn-genrepo: N must be a positive count of blobs, not '%s'\n", argv[2]);
		return 2;
	}
	const char *pass = getenv("CAIRN_PASSPHRASE");
	if (!pass) {
		fprintf(stderr, "cairn-genrepo: CAIRN_PASSPHRASE is not set\n");
		return 2;
	}

	struct cairn_store *store = NULL;
	int r = cairn_store_open(argv[1], &store);
	if (r < 0)
		return fail(r, "opening the store");
	_cleanup_(cairn_repo_freep) struct cairn_repo *repo = NULL;
	if ((r = cairn_repo_open(store, pass, strlen(pass), &repo)) < 0)
		return fail(r, "opening the repository");

	struct cairn_blob_codec codec;
	if ((r = cairn_blob_codec_init(&codec, repo)) < 0)
		return fail(r, "making the codec");
	struct cairn_pack_writer w = { 0 };
	struct cairn_buf sealed = CAIRN_BUF_INIT;

	/* Unique content per run: a random seed, then the blob's number. */
	uint8_t plain[BLOB_LEN] = { 0 };
	if ((r = cairn_random(plain, 16)) < 0)
		return fail(r, "seeding");

	double t0 = now(), last = t0;
	unsigned long long done = 0, packs = 0;
	while (done < n) {
		_cleanup_(cairn_index_freep) struct cairn_index *idx = NULL;
		if ((r = cairn_index_new(&idx)) < 0)
			return fail(r, "making an index");
		for (unsigned p = 0; p < PACKS_PER_INDEX && done < n; p++) {
			uint32_t slot;
			if ((r = cairn_pack_writer_begin(&w)) < 0 ||
			    (r = cairn_index_add_pack(idx, w.id, true, &slot)) < 0)
				return fail(r, "starting a pack");
			for (unsigned b = 0; b < BLOBS_PER_PACK && done < n; b++, done++) {
				memcpy(plain + 16, &done, sizeof(done));
				struct cairn_blob_ref ref = { .pack = slot, .raw_len = BLOB_LEN,
							      .type = CAIRN_BLOB_CHUNK };
				if ((r = cairn_hasher_id(codec.hasher, plain, BLOB_LEN, ref.id)) < 0)
					return fail(r, "hashing");
				cairn_buf_clear(&sealed);
				if ((r = cairn_blob_encode(&codec, ref.id, plain, BLOB_LEN, false, &sealed, &ref.flags,
							   &ref.stored_len)) < 0)
					return fail(r, "sealing");
				if ((r = cairn_pack_writer_add(&w, &ref, sealed.data)) < 0)
					return fail(r, "packing");
				if ((r = cairn_index_insert(idx, &ref)) < 0)
					return fail(r, "indexing");
			}
			if ((r = cairn_pack_writer_finish(&w, codec.aead)) < 0)
				return fail(r, "finishing a pack");
			if ((r = cairn_object_put(repo, CAIRN_OBJ_PACK, w.id, w.data.data, w.data.len, 0)) < 0)
				return fail(r, "storing a pack");
			packs++;
		}
		if ((r = cairn_index_write_fresh(idx, repo, NULL)) < 0)
			return fail(r, "writing an index object");
		if (now() - last > 10) {
			last = now();
			fprintf(stderr, "cairn-genrepo: %llu of %llu blobs (%.0f s)\n", done, n, last - t0);
		}
	}
	printf("cairn-genrepo: %llu blobs in %llu packs in %.1f s\n", done, packs, now() - t0);
	cairn_buf_free(&sealed);
	cairn_pack_writer_free(&w);
	cairn_blob_codec_free(&codec);
	return 0;
}
