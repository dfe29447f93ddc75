/* io.c - whole reads and writes, retried on EINTR */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io.h"

int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len) {
		n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= n;
	}
	return 0;
}

ssize_t read_all(int fd, void *buf, size_t len)
{
	char *p = buf;
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		n = read(fd, p + got, len - got);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		got += n;
	}
	return got;
}

char *read_fd_all(int fd, size_t *lenp)
{
	size_t cap = 8192, len = 0;
	char *buf = malloc(cap), *nb;
	ssize_t n;

	if (!buf)
		return NULL;
	for (;;) {
		if (len + 1 >= cap) {
			nb = realloc(buf, cap *= 2);
			if (!nb)
				goto fail;
			buf = nb;
		}
		n = pread(fd, buf + len, cap - len - 1, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail;
		if (n == 0)
			break;
		len += n;
	}
	buf[len] = 0;
	if (lenp)
		*lenp = len;
	return buf;
fail:
	n = errno;
	free(buf);
	errno = n;
	return NULL;
}

char *read_file(const char *path, size_t *lenp)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), e;
	char *s;

	if (fd < 0)
		return NULL;
	s = read_fd_all(fd, lenp);
	e = errno;
	close(fd);
	errno = e;
	return s;
}

int fd_private(int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 07777) == 0600)
		return 0;
	return fchmod(fd, 0600) < 0 ? -errno : 0;
}
