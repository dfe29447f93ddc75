/* io.h - whole reads and writes, retried on EINTR */
#ifndef CKPT_IO_H
#define CKPT_IO_H
#include <stddef.h>
#include <sys/types.h>

/* 0, or -errno; a short write is retried until done */
int write_all(int fd, const void *buf, size_t len);
/* bytes read (< len only at end of file), or -errno */
ssize_t read_all(int fd, void *buf, size_t len);
/* the whole of a (proc) file read through fd from offset 0 into a
 * malloc'd buffer, NUL-terminated; *lenp gets the length.  NULL on error */
char *read_fd_all(int fd, size_t *lenp);
char *read_file(const char *path, size_t *lenp);
/* An image holds process memory: when fd is a regular file of ours
 * (the shell's `> img.tar`, made with the umask), make it 0600.  A
 * pipe, a device, or another user's file is left alone.  0, or -errno
 * from fchmod. */
int fd_private(int fd);

#endif
