/* Cancellation: a signal handler (or the daemon) sets the flag; long work
 * in any layer polls it at safe points and stops with CAIRN_ECANCELED,
 * leaving nothing half-written. */
#ifndef CAIRN_UTIL_CANCEL_H
#define CAIRN_UTIL_CANCEL_H

#include <signal.h>
#include <stdbool.h>

extern volatile sig_atomic_t cairn_cancel_requested;

static inline bool cairn_cancel_check(void)
{
	return cairn_cancel_requested != 0;
}

#endif
