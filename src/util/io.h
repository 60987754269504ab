/* Whole-buffer writes that retry short writes and EINTR, with the error
 * message naming the file. */
#ifndef CAIRN_UTIL_IO_H
#define CAIRN_UTIL_IO_H

#include <stddef.h>
#include <stdint.h>

/* write(2) until len bytes are out. */
int cairn_write_all(int fd, const void *data, size_t len, const char *path);
/* pwrite(2) until len bytes are out at off. */
int cairn_pwrite_all(int fd, const void *data, size_t len, uint64_t off, const char *path);

/* fsyncs the directory holding path, so a rename into it is durable. */
int cairn_fsync_parent(const char *path);
/* The last component of path, the name a volume goes by unless it is given
 * one; path itself when it has no '/' or ends in one. */
const char *cairn_path_base(const char *path);

#endif
