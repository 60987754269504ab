/* cairn: backup and disaster recovery for block volumes.
 *
 * The public surface is deliberately small (zstd): version and errors.  The
 * engine's internal headers live under src/ and are not installed.
 */
#ifndef CAIRN_H
#define CAIRN_H

#include "cairn/error.h"

#define CAIRN_VERSION_STRING "0.1.0"

#endif
