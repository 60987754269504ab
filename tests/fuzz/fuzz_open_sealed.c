/* libFuzzer target: arbitrary bytes read from a repository, as each kind
 * of sealed object, opened with a fixed key and (when that succeeds) handed
 * to the matching parser.  Almost every input fails authentication: this
 * checks that the opening path rejects anything cleanly, whatever the
 * lengths; the seeds (sealed with the same key) drive the parsers. */
#include "cairn/error.h"
#include "fuzz_common.h"
#include "compress/compress.h"
#include "repo/index.h"
#include "repo/manifest.h"
#include "repo/pack.h"
#include "repo/repo.h"
#include "repo/tree.h"

#include <stdlib.h>
#include <string.h>

static struct cairn_blob_codec codec;
static struct cairn_buf out = CAIRN_BUF_INIT;

static void init_once(void)
{
	if (codec.aead)
		return;
	if (cairn_aead_new(fuzz_ek, &codec.aead) != 0 || cairn_hasher_new(fuzz_ik, &codec.hasher) != 0 ||
	    cairn_comp_new(NULL, &codec.comp) != 0)
		abort();
}

static void opened_config(const uint8_t *in, size_t len)
{
	/* As open does: magic and version first, then the seal over the rest
	 * with the header as additional data. */
	if (len < CAIRN_CONFIG_HEADER_LEN || memcmp(in, CAIRN_CONFIG_MAGIC, CAIRN_MAGIC_LEN) != 0 ||
	    cairn_le32(in + CAIRN_MAGIC_LEN) != CAIRN_FORMAT_VERSION)
		return;
	if (cairn_repo_unseal(codec.aead, CAIRN_AAD_CONFIG, in, CAIRN_CONFIG_HEADER_LEN, in + CAIRN_CONFIG_HEADER_LEN,
			      len - CAIRN_CONFIG_HEADER_LEN, &out) != 0)
		return;
	struct cairn_repo_config c;
	(void)cairn_config_parse_json(out.data, out.len, &c);
}

static void opened_manifest(const uint8_t *in, size_t len)
{
	if (cairn_repo_unseal(codec.aead, CAIRN_AAD_MANIFEST, fuzz_name, CAIRN_BACKUP_ID_LEN, in, len, &out) != 0)
		return;
	struct cairn_manifest *m = NULL;
	if (cairn_manifest_parse(out.data, out.len, &m) == 0)
		cairn_manifest_free(m);
}

static void opened_index(const uint8_t *in, size_t len)
{
	if (cairn_repo_unseal(codec.aead, CAIRN_AAD_INDEX, fuzz_name, CAIRN_INDEX_NAME_LEN, in, len, &out) != 0)
		return;
	struct cairn_index *idx = NULL;
	if (cairn_index_new(&idx) != 0)
		abort();
	(void)cairn_index_decode(idx, out.data, out.len);
	cairn_index_free(idx);
}

static void opened_toc(const uint8_t *in, size_t len)
{
	if (cairn_repo_unseal(codec.aead, CAIRN_AAD_TOC, fuzz_name, CAIRN_PACK_ID_LEN, in, len, &out) != 0)
		return;
	struct cairn_toc_entry *t = NULL;
	size_t n = 0;
	if (cairn_toc_parse(out.data, out.len, FUZZ_TOC_DATA_END, &t, &n) == 0)
		free(t);
}

static void opened_blob(const uint8_t *in, size_t len)
{
	/* The index entry the blob would be read through, then the blob. */
	if (len < CAIRN_ID_LEN + 5)
		return;
	struct cairn_blob_ref ref;
	memset(&ref, 0, sizeof(ref));
	memcpy(ref.id, in, CAIRN_ID_LEN);
	ref.raw_len = cairn_le32(in + CAIRN_ID_LEN);
	ref.flags = in[CAIRN_ID_LEN + 4];
	ref.type = CAIRN_BLOB_TREE;
	in += CAIRN_ID_LEN + 5;
	len -= CAIRN_ID_LEN + 5;
	if (len > UINT32_MAX || ref.raw_len > CAIRN_NODE_HEADER_LEN + CAIRN_TREE_FANOUT * CAIRN_ID_LEN)
		return; /* the index refuses such entries before any read */
	ref.stored_len = (uint32_t)len;
	uint8_t *plain = malloc(ref.raw_len ? ref.raw_len : 1);
	if (!plain)
		abort();
	if (cairn_blob_decode(&codec, &ref, in, plain) == 0 && ref.raw_len >= CAIRN_NODE_HEADER_LEN) {
		const uint8_t *ids;
		(void)cairn_tree_node_parse(plain, ref.raw_len, plain[0], cairn_le32(plain + 4), &ids);
	}
	free(plain);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	init_once();
	const uint8_t *in = data + 1;
	size_t len = size - 1;
	switch (data[0] % FUZZ_SEL_COUNT) {
	case FUZZ_SEL_CONFIG:
		opened_config(in, len);
		break;
	case FUZZ_SEL_MANIFEST:
		opened_manifest(in, len);
		break;
	case FUZZ_SEL_INDEX:
		opened_index(in, len);
		break;
	case FUZZ_SEL_TOC:
		opened_toc(in, len);
		break;
	case FUZZ_SEL_BLOB:
		opened_blob(in, len);
		break;
	}
	/* Each input starts from the same state (an empty scratch buffer), so
	 * a crash reproduces from its input alone. */
	cairn_buf_free(&codec.scratch);
	cairn_buf_free(&out);
	return 0;
}
