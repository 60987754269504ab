/* LVM logical volumes as snapshot sources, through the lvm2 command-line
 * tools (lvs, lvcreate, lvremove, lvconvert) and dmsetup, which is how
 * LVM is meant to be driven from outside.
 *
 *   thin LV   snapshot = `lvcreate -s -n NAME -kn -ay VG/LV` (a thin
 *             snapshot in the same pool, no size); change tracking between
 *             two thin snapshots of one pool with thin_delta (source/thin.h)
 *             on the pool's reserved metadata snapshot;
 *   thick LV  snapshot = `lvcreate -s -L SIZE -n NAME VG/LV` with a COW area
 *             of a quarter of the origin (at least 64 MiB): it must hold
 *             every block the origin rewrites while the snapshot exists, or
 *             LVM invalidates it; no change tracking (full read).
 * Revert is `lvconvert --merge`, which consumes the snapshot.
 *
 * Nothing here can run without device-mapper; the parsers are tested
 * without it, the rest end to end where the kernel allows.
 */
#ifndef CAIRN_SOURCE_LVM_H
#define CAIRN_SOURCE_LVM_H

#include "source/changes.h"

#include <stdbool.h>
#include <stdint.h>

struct cairn_lvm_lv {
	char vg[128], lv[128], pool[128]; /* pool empty unless thin */
	char attr[16];                    /* lv_attr, e.g. "Vwi-a-tz--" */
	uint64_t size;                    /* bytes */
	uint64_t thin_id;                 /* device id in the pool; 0 unless thin */
	bool thin;
};

/* Parses one line of `lvs --noheadings --nosuffix --units b --separator '|'
 * -o vg_name,lv_name,lv_attr,pool_lv,lv_size,thin_id`.  CAIRN_EINVAL. */
int cairn_lvm_parse_lvs(const char *line, struct cairn_lvm_lv *ret);

/* 1 and *ret when the block device at path is an LVM logical volume; 0 when
 * it is not, or when lvm2 is not installed. */
int cairn_lvm_lookup(const char *path, struct cairn_lvm_lv *ret);

/* Device-mapper name of VG/LV (dashes in either doubled, joined by one). */
void cairn_lvm_dm_name(const char *vg, const char *lv, char *out, size_t size);

/* Makes the snapshot VG/name of lv; *ret_path = "/dev/VG/NAME" (malloc'd). */
int cairn_lvm_snapshot(const struct cairn_lvm_lv *lv, const char *name, char **ret_path);
/* lvremove -f VG/NAME; a missing LV is not an error. */
int cairn_lvm_remove(const char *vg, const char *name);
/* lvconvert --merge VG/NAME: the origin returns to the snapshot (at once
 * when the origin is not open, else at its next activation). */
int cairn_lvm_merge(const char *vg, const char *name);

/* Changed ranges between two thin LVs of one pool (thin_delta on the
 * pool's metadata snapshot, reserved and released around it). */
int cairn_lvm_thin_changes(const struct cairn_lvm_lv *base, const struct cairn_lvm_lv *cur, uint64_t size,
			   struct cairn_change_map *out);

#endif
