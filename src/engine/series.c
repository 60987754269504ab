/* One series per source (engine.h, cairn_series_check): a volume name that
 * came by default does not silently join the backups of another disk that
 * happens to share its base name. */
#include "engine/engine.h"
#include "source/volinfo.h"
#include "source/volume.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/log.h"
#include "util/time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* A name the kernel hands out in order of discovery (/dev/sdb, /dev/dm-3,
 * /dev/nvme0n1): after a reboot it may name another disk, so it does not
 * tell that the disk it named then is not this one. */
static bool kernel_device_name(const char *path)
{
	return strncmp(path, "/dev/", 5) == 0 && path[5] && !strchr(path + 5, '/');
}

/* The file system UUID libblkid finds on the volume at path (malloc'd), or
 * NULL.  Reads the superblock only. */
static char *probe_uuid(const char *path)
{
	_cleanup_(cairn_volume_freep) struct cairn_volume *v = NULL;
	if (cairn_volume_open(path, &v) < 0) {
		cairn_error_clear();
		return NULL;
	}
	struct cairn_volume_info info = { 0 };
	char *uuid = NULL;
	if (cairn_volume_probe(v->fd, v->size, &info) >= 0 && info.uuid && *info.uuid)
		uuid = TAKE_PTR(info.uuid);
	cairn_volume_info_clear(&info);
	return uuid;
}

/* Whether the backup m was made from the volume at path (its stable path)
 * on host. */
static bool same_source(const struct cairn_manifest *m, const char *path, const char *host)
{
	/* Written without them (never by cairn itself): nothing to go by. */
	if (!m->hostname || !*m->hostname || !m->source || !*m->source)
		return true;
	if (strcmp(m->hostname, host) == 0) {
		if (strcmp(m->source, path) == 0)
			return true;
		/* The same file by another path (a directory renamed or reached
		 * through a link since), or a device under its older name. */
		struct stat st;
		int same = stat(path, &st) == 0 ? cairn_volume_same_as(m->source, &st) : -1;
		if (same == 1)
			return true;
		/* The recorded path names another volume here and now: two
		 * volumes, whatever their file systems say (clones of one
		 * image share a UUID). */
		if (same == 0 && !kernel_device_name(m->source))
			return false;
	}
	/* Another host, a path that is gone, or a device renumbered: the file
	 * system's UUID is what is left to tell. */
	if (!m->info.uuid || !*m->info.uuid)
		return false;
	_cleanup_free_ char *uuid = probe_uuid(path);
	return uuid && strcasecmp(uuid, m->info.uuid) == 0;
}

int cairn_series_check(const struct cairn_manifest_list *l, const char *volume, const char *path, bool name_given,
		       const char *name_option)
{
	const struct cairn_manifest *m = cairn_manifest_latest(l, volume);
	if (!m)
		return 0;
	char host[256] = "";
	gethostname(host, sizeof(host) - 1);
	if (same_source(m, path, host))
		return 0;
	char created[48];
	cairn_time_format(m->created_us / 1000000, created, sizeof(created));
	if (name_given) {
		cairn_log_info("volume %s: continuing the series of %s on %s (newest %.12s of %s), as the name was given",
			       volume, m->source, m->hostname, m->idhex, created);
		return 0;
	}
	const char *opt = name_option ? name_option : "--name";
	return cairn_error_set(CAIRN_EEXIST,
			       "volume name '%s' is taken by the backups of another source, %s on host %s (newest %.12s "
			       "of %s): give this one another name with %s, or add it to that series by naming it '%s' "
			       "explicitly",
			       volume, m->source, m->hostname, m->idhex, created, opt, volume);
}
