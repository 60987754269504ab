/* Scope-bound cleanup (casync's util.h): a variable declared with
 * _cleanup_free_ or _cleanup_(fn) is released when it leaves scope, so every
 * early `return r;` is leak-free.  Every *_free function accepts NULL. */
#ifndef CAIRN_UTIL_CLEANUP_H
#define CAIRN_UTIL_CLEANUP_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)
#define _cleanup_fclose_ _cleanup_(fclosep)

static inline void freep(void *p)
{
	free(*(void **)p);
}

static inline void closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}

static inline void fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

static inline void closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}

/* DEFINE_TRIVIAL_CLEANUP_FUNC(struct foo *, foo_free) defines foo_freep(). */
#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func)        \
	static inline void func##p(type *p)            \
	{                                              \
		func(*p);                              \
	}

/* Hands ownership out of a cleanup variable: return TAKE_PTR(x); */
#define TAKE_PTR(p)                           \
	({                                    \
		__typeof__(p) _ptr_ = (p);    \
		(p) = NULL;                   \
		_ptr_;                        \
	})

#define TAKE_FD(fd)                           \
	({                                    \
		int _fd_ = (fd);              \
		(fd) = -1;                    \
		_fd_;                         \
	})

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

#endif
