#include "source/volinfo.h"
#include "util/error.h"

#include <blkid/blkid.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

static int dup_value(blkid_probe pr, const char *name, char **ret)
{
	const char *v = NULL;
	size_t len = 0;
	if (blkid_probe_lookup_value(pr, name, &v, &len) != 0 || !v || !*v)
		return 0;
	*ret = strndup(v, len);
	return *ret ? 0 : cairn_error_nomem();
}

int cairn_volume_probe(int fd, uint64_t size, struct cairn_volume_info *ret)
{
	memset(ret, 0, sizeof(*ret));
	struct stat st;
	int ssz = 0;
	if (fstat(fd, &st) == 0 && S_ISBLK(st.st_mode) && ioctl(fd, BLKSSZGET, &ssz) == 0 && ssz > 0)
		ret->logical_block_size = (uint32_t)ssz;
	else
		ret->logical_block_size = 512;
	blkid_probe pr = blkid_new_probe();
	if (!pr)
		return 0;
	int r = 0;
	if (blkid_probe_set_device(pr, fd, 0, (blkid_loff_t)size) == 0) {
		blkid_probe_enable_superblocks(pr, 1);
		blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE | BLKID_SUBLKS_LABEL | BLKID_SUBLKS_UUID);
		blkid_probe_enable_partitions(pr, 1);
		/* 0: found one; 1: nothing; -2: ambiguous (several signatures). */
		if (blkid_do_safeprobe(pr) == 0) {
			if ((r = dup_value(pr, "TYPE", &ret->fs_type)) >= 0 && (r = dup_value(pr, "LABEL", &ret->label)) >= 0)
				r = dup_value(pr, "UUID", &ret->uuid);
			if (r >= 0 && !ret->fs_type)
				r = dup_value(pr, "PTTYPE", &ret->fs_type); /* a partitioned disk: "gpt", "dos" */
		}
	}
	blkid_free_probe(pr);
	if (r < 0)
		cairn_volume_info_clear(ret);
	return r;
}
