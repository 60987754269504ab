/* cairn public error codes.
 *
 * Every function in cairn that can fail returns int: 0 (or a non-negative
 * count) on success, one of the negative codes below on failure.  The
 * human-readable message of the last failure is kept per thread and read with
 * cairn_error_message(); callers propagate with `if (r < 0) return r;`
 * (casync, libgit2).  Codes are stable: tests and the CLI's exit status rely
 * on them.
 */
#ifndef CAIRN_ERROR_H
#define CAIRN_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

enum cairn_error_code {
	CAIRN_OK = 0,
	CAIRN_ENOMEM = -1,      /* out of memory */
	CAIRN_EINVAL = -2,      /* bad argument or usage */
	CAIRN_EIO = -3,         /* I/O error reading or writing */
	CAIRN_ENOTFOUND = -4,   /* object, backup or file does not exist */
	CAIRN_EEXIST = -5,      /* object already exists (conditional create) */
	CAIRN_ECORRUPT = -6,    /* authentication or structure check failed */
	CAIRN_EPASSPHRASE = -7, /* no key of the repository opens with the passphrase */
	CAIRN_EVERSION = -8,    /* repository format version not understood */
	CAIRN_ENOTREPO = -9,    /* path is not a cairn repository */
	CAIRN_EAMBIGUOUS = -10, /* backup id prefix matches several backups */
	CAIRN_ENOSPC = -11,     /* no space left on device */
	CAIRN_EBUSY = -12,      /* target in use (mounted, locked) */
	CAIRN_EPERM = -13,      /* permission denied */
	CAIRN_ECRYPTO = -14,    /* the crypto library failed */
	CAIRN_ECANCELED = -15,  /* interrupted by the user or a signal */
	CAIRN_ETOOSMALL = -16,  /* restore target smaller than the volume */
	CAIRN_ENET = -17,       /* network or server error (retries exhausted) */
	CAIRN_EAUTH = -18,      /* credentials rejected by a server */
	CAIRN_EUNSUPPORTED = -19, /* operation not supported by this store or source */
	CAIRN_ETIMEOUT = -20,   /* a bounded wait ran out (freeze watchdog, lease) */
};

/* Short, stable name of a code ("ENOTFOUND"); never NULL. */
const char *cairn_error_name(int code);

/* Message of the last error on this thread; "" when none.  Borrowed. */
const char *cairn_error_message(void);

#ifdef __cplusplus
}
#endif
#endif
