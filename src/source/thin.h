/* Change tracking from LVM thin-pool metadata: thin_delta (from
 * thin-provisioning-tools) compares the block mappings of two thin devices
 * of one pool, e.g. the base snapshot a parent backup read and a new
 * snapshot of the same origin.  Blocks that map to the same data block in
 * both hold the same bytes; every other mapped block may have changed.
 *
 * thin_delta prints XML:
 *   <superblock ... data_block_size="128" ...>      (512-byte sectors)
 *     <diff left="1" right="2">
 *       <same begin="0" length="1"/>
 *       <different begin="1" length="1"/>          (blocks)
 *       <left_only begin="3" length="2"/>
 *       <right_only begin="5" length="1"/>
 *     </diff>
 *   </superblock>
 * different, left_only and right_only ranges are changes; same ranges and
 * blocks mapped in neither device (zeros in both) are not.
 */
#ifndef CAIRN_SOURCE_THIN_H
#define CAIRN_SOURCE_THIN_H

#include "source/changes.h"

#include <stddef.h>
#include <stdint.h>

/* Parses thin_delta's output into byte ranges of out, clipped to size.
 * CAIRN_ECORRUPT for output it does not understand.  Fuzzed. */
int cairn_thin_delta_parse(const char *xml, size_t len, uint64_t size, struct cairn_change_map *out);

/* Runs `thin_delta [-m] --snap1 A --snap2 B METADATA` and parses it.  With
 * metadata_snap, thin_delta reads the pool's reserved metadata snapshot (a
 * live pool); the caller reserves and releases it.  Sets out->method to
 * "thin-delta". */
int cairn_thin_delta_run(const char *metadata, uint64_t snap1, uint64_t snap2, bool metadata_snap, uint64_t size,
			 struct cairn_change_map *out);

#endif
