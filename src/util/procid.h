/* Who runs a process, precisely enough to tell later whether it still runs:
 * the host name, the kernel's boot id, the pid and the pid's start time
 * (clock ticks since boot, /proc/PID/stat field 22).  A pid reused by
 * another process, or a reboot, is then not mistaken for the original.
 * Used for job rows (state/jobs.h) and for repository leases and activity
 * markers (repo/lease.h). */
#ifndef CAIRN_UTIL_PROCID_H
#define CAIRN_UTIL_PROCID_H

#include <stdint.h>
#include <sys/types.h>

struct cairn_proc_id {
	char host[256];
	char boot_id[40]; /* "" when unknown */
	int64_t pid;
	uint64_t start; /* 0 when unknown */
};

/* This process. */
void cairn_proc_id_self(struct cairn_proc_id *ret);
/* Start time of pid in clock ticks since boot; CAIRN_ENOTFOUND when there
 * is no such process (no message set). */
int cairn_proc_start_time(pid_t pid, uint64_t *ret);

enum {
	CAIRN_PROC_DEAD = 0,
	CAIRN_PROC_ALIVE = 1,
	CAIRN_PROC_UNKNOWN = 2, /* another host: cannot tell from here */
};
/* Whether the process p names still runs, as far as this host can tell. */
int cairn_proc_id_alive(const struct cairn_proc_id *p);

#endif
