/* bench/compbench: what each --compression mode does to one image, through
 * cairn's own compressor (compress/), chunk by chunk as a backup sees it.
 *
 *   build/cairn-compbench IMAGE [CHUNK_SIZE] [MODE...]
 *
 * Reads IMAGE in chunks of CHUNK_SIZE (default 64 KiB), leaves out all-zero
 * chunks (cairn never stores them) and, for each MODE (default: none lz4
 * zstd:-5 zstd:-3 zstd:-1 zstd:1 zstd:3 zstd:6 zstd:19), compresses each
 * remaining chunk on one thread, as one backup worker does.  Prints one
 * tab-separated line per mode:
 * mode, chunks, MiB in, MiB out (raw chunks counted whole), ratio, MB/s of
 * input per core (CPU time of the compression calls), chunks the probe
 * stored raw untried, chunks stored raw after a pass that did not pay.
 * COMPBENCH_EVERY=N takes every Nth non-zero chunk only.  docs/design.md
 * (compression) holds its output for the two benchmark images. */
#include "compress/compress.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int all_zero(const uint8_t *p, size_t n)
{
	return p[0] == 0 && memcmp(p, p + 1, n - 1) == 0;
}

int main(int argc, char **argv)
{
	static const char *const default_modes[] = { "none",   "lz4",    "zstd:-5", "zstd:-3", "zstd:-1",
						     "zstd:1", "zstd:3", "zstd:6",  "zstd:19" };
	if (argc < 2) {
		fprintf(stderr, "usage: %s IMAGE [CHUNK_SIZE] [MODE...]\n", argv[0]);
		return 2;
	}
	size_t chunk = argc > 2 ? strtoul(argv[2], NULL, 0) : 65536;
	const char *const *modes = default_modes;
	int nmodes = (int)(sizeof(default_modes) / sizeof(default_modes[0]));
	if (argc > 3) {
		modes = (const char *const *)argv + 3;
		nmodes = argc - 3;
	}
	int fd = open(argv[1], O_RDONLY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || chunk < 4096) {
		perror(argv[1]);
		return 1;
	}
	const uint8_t *img = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (img == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	size_t nchunks = (size_t)st.st_size / chunk;
	uint8_t *out = malloc(cairn_comp_bound(chunk));
	size_t *live = malloc(nchunks * sizeof(*live));
	size_t nlive = 0;
	/* COMPBENCH_EVERY=N: every Nth non-zero chunk only (a sample, for the
	 * slow levels). */
	size_t every = getenv("COMPBENCH_EVERY") ? strtoul(getenv("COMPBENCH_EVERY"), NULL, 10) : 1, seen = 0;
	for (size_t i = 0; i < nchunks; i++)
		if (!all_zero(img + i * chunk, chunk) && seen++ % (every ? every : 1) == 0)
			live[nlive++] = i;
	printf("# %s: %zu chunks of %zu bytes, %zu not all zero (%.1f MiB)\n", argv[1], nchunks, chunk, nlive,
	       (double)nlive * chunk / 1048576.0);
	printf("mode\tchunks\tMiB_in\tMiB_out\tratio\tMBps_core\tprobe_raw\tpass_raw\n");
	for (int m = 0; m < nmodes; m++) {
		struct cairn_comp_mode mode;
		struct cairn_comp *z = NULL;
		if (cairn_comp_mode_parse(modes[m], &mode) < 0 || cairn_comp_new(&mode, &z) < 0) {
			fprintf(stderr, "bad mode %s\n", modes[m]);
			return 2;
		}
		uint64_t in = 0, stored = 0;
		size_t probe_raw = 0, pass_raw = 0;
		double cpu = 0;
		for (size_t k = 0; k < nlive; k++) {
			const uint8_t *p = img + live[k] * chunk;
			size_t clen;
			enum cairn_comp_used used;
			double t0 = cpu_now();
			if (cairn_comp_compress(z, p, chunk, out, cairn_comp_bound(chunk), &clen, &used) < 0)
				return 1;
			cpu += cpu_now() - t0;
			in += chunk;
			stored += used == CAIRN_COMP_USED_RAW ? chunk : clen;
			if (used == CAIRN_COMP_USED_RAW && mode.algo != CAIRN_COMP_NONE) {
				if (cairn_comp_looks_incompressible(p, chunk))
					probe_raw++;
				else
					pass_raw++;
			}
		}
		printf("%s\t%zu\t%.1f\t%.1f\t%.3f\t%.0f\t%zu\t%zu\n", modes[m], nlive, (double)in / 1048576.0,
		       (double)stored / 1048576.0, (double)in / (double)stored, cpu > 0 ? (double)in / 1e6 / cpu : 0.0,
		       probe_raw, pass_raw);
		fflush(stdout);
		cairn_comp_free(z);
	}
	free(out);
	free(live);
	return 0;
}
