/* Volume attributes a restored volume inherits (recorded in the manifest's
 * volume_info): the logical block size, and the file system's type, label
 * and UUID as libblkid probes them from the volume's bytes. */
#ifndef CAIRN_SOURCE_VOLINFO_H
#define CAIRN_SOURCE_VOLINFO_H

#include "util/volinfo.h"

#include <stdint.h>

/* Probes the open volume of size bytes.  Fields that cannot be told stay
 * unset; only out of memory is an error.  An image file reports the 512
 * bytes a loop device presents it with. */
int cairn_volume_probe(int fd, uint64_t size, struct cairn_volume_info *ret);

#endif
