/* libFuzzer target: key objects (format.h KEY OBJECT), the one object read
 * before anything is authenticated. */
#include "cairn/error.h"
#include "fuzz_common.h"
#include "repo/repo.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cairn_key_object k;
	if (cairn_key_object_parse(data, size, &k) != 0)
		return 0;
	if (size != CAIRN_KEY_OBJECT_LEN || k.log2n > CAIRN_SCRYPT_LOG2N_MAX || k.r == 0 || k.p == 0)
		abort();
	/* Unwrapping runs scrypt at the header's cost: only try cheap ones
	 * (the seeds are made at 2^10), to keep executions fast. */
	if (k.log2n <= 11 && k.r <= 8 && k.p <= 1) {
		uint8_t master[32];
		int r = cairn_key_object_unwrap(&k, data, FUZZ_PASS, strlen(FUZZ_PASS), master);
		if (r != 0 && r != CAIRN_EPASSPHRASE)
			abort();
	}
	return 0;
}
