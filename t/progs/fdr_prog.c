/* fdr_prog - open files as told, then say what each fd sees, for the
 * restore tests of the open-file policy (t/fdrestore.bats).
 *
 * usage: fdr_prog SPEC...
 *
 * SPEC is NAME:MODE:POS:PATH[:CONTENT].  With CONTENT the file is first
 * created (or truncated) holding CONTENT (\n in it is a newline).  Then
 * PATH is opened with MODE: r (O_RDONLY), w (O_WRONLY), rw (O_RDWR),
 * a (O_WRONLY|O_APPEND); a trailing u (ru, rwu, ...) unlinks PATH once
 * it is open, a trailing m (rm, rwm) maps the whole file MAP_SHARED
 * (writable with rw), a trailing l takes a POSIX lock (fcntl F_SETLK) on
 * the whole file, a write lock unless read-only.  POS is the offset to seek to, or "end".  PATH may not
 * hold ':' (CONTENT may).
 *
 * Prints "pid N", "open NAME FD" for each, "ready fdr_prog", then waits.
 * SIGUSR1: for each fd, in order,
 *   at NAME fd=FD pos=POS size=SIZE data=BYTES link=READLINK
 * (BYTES: the whole file, read through /proc/self/fd/FD, every byte that
 * is not a printable non-space as \xHH; READLINK: /proc/self/fd/FD, last
 * since it may hold spaces), then acts through the fd itself: a readable
 * one read()s 4 bytes ("read NAME BYTES pos=POS"), a write-only one
 * write()s "more\n" ("wrote NAME pos=POS"); a mapped one first says
 * "map NAME BYTES" (the mapping's bytes) and, when writable, stores 'M'
 * in its first byte ("mapped NAME"); then "verify ok".
 * SIGTERM: the same, then "done ok" and exit 0.  An error: "FAIL ...". */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "prog.h"

struct ent {
	char *name;
	int fd, wronly, rw;
	char *map;                 /* MAP_SHARED of the whole file, or NULL */
	size_t maplen;
};

static void unescape(char *s)
{
	char *d = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] == 'n')
			*d++ = '\n', s++;
		else
			*d++ = *s;
	}
	*d = 0;
}

static int open_spec(char *spec, struct ent *e)
{
	char *name = strtok(spec, ":"), *mode = strtok(NULL, ":"), *pos = strtok(NULL, ":"),
	     *path = strtok(NULL, ":"), *content = strtok(NULL, ""), *m;
	int flags, fd, unl = 0, map = 0, lock = 0;
	off_t off;

	if (!name || !mode || !pos || !path)
		return fprintf(stderr, "fdr_prog: bad spec\n"), -1;
	m = mode;
	if (!strncmp(m, "rw", 2))
		flags = O_RDWR, m += 2;
	else if (*m == 'r')
		flags = O_RDONLY, m++;
	else if (*m == 'w')
		flags = O_WRONLY, m++;
	else if (*m == 'a')
		flags = O_WRONLY | O_APPEND, m++;
	else
		return fprintf(stderr, "fdr_prog: bad mode %s\n", mode), -1;
	for (; *m == 'u' || *m == 'm' || *m == 'l'; m++)
		*m == 'u' ? (unl = 1) : *m == 'm' ? (map = 1) : (lock = 1);
	if (*m)
		return fprintf(stderr, "fdr_prog: bad mode %s\n", mode), -1;
	if (content) {
		size_t len;
		unescape(content);
		len = strlen(content);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0 || write(fd, content, len) != (ssize_t)len || close(fd) < 0)
			return perror(path), -1;
	}
	fd = open(path, flags);
	if (fd < 0)
		return perror(path), -1;
	off = strcmp(pos, "end") ? lseek(fd, atoll(pos), SEEK_SET) : lseek(fd, 0, SEEK_END);
	if (off < 0)
		return perror(path), -1;
	if (unl && unlink(path) < 0)
		return perror(path), -1;
	e->name = name;
	e->fd = fd;
	e->wronly = (flags & O_ACCMODE) == O_WRONLY;
	e->rw = (flags & O_ACCMODE) == O_RDWR;
	if (lock) {
		struct flock fl = { .l_type = (flags & O_ACCMODE) == O_RDONLY ? F_RDLCK : F_WRLCK,
				    .l_whence = SEEK_SET };

		if (fcntl(fd, F_SETLK, &fl) < 0)
			return perror(path), -1;
	}
	if (map) {
		e->maplen = lseek(fd, 0, SEEK_END);
		if (lseek(fd, off, SEEK_SET) < 0 || !e->maplen)
			return fprintf(stderr, "fdr_prog: %s: nothing to map\n", path), -1;
		e->map = mmap(NULL, e->maplen, PROT_READ | (e->rw ? PROT_WRITE : 0), MAP_SHARED, fd, 0);
		if (e->map == MAP_FAILED)
			return perror(path), -1;
	}
	return 0;
}

static int report(struct ent *e)
{
	char proc[64], link[4096], buf[65536];
	struct stat st;
	ssize_t n, ln;
	int rfd;

	snprintf(proc, sizeof proc, "/proc/self/fd/%d", e->fd);
	ln = readlink(proc, link, sizeof link - 1);
	rfd = open(proc, O_RDONLY);
	if (ln < 0 || rfd < 0 || fstat(e->fd, &st) < 0) {
		printf("FAIL %s: fd %d: %s\n", e->name, e->fd, strerror(errno));
		return -1;
	}
	link[ln] = 0;
	n = pread(rfd, buf, sizeof buf, 0);
	close(rfd);
	if (n < 0) {
		printf("FAIL %s: read: %s\n", e->name, strerror(errno));
		return -1;
	}
	printf("at %s fd=%d pos=%lld size=%lld data=", e->name, e->fd,
	       (long long)lseek(e->fd, 0, SEEK_CUR), (long long)st.st_size);
	put_bytes(buf, n);
	printf(" link=%s\n", link);
	return 0;
}

static int act(struct ent *e)
{
	char buf[4];
	ssize_t n;

	if (e->map) {
		printf("map %s ", e->name);
		put_bytes(e->map, e->maplen);
		printf("\n");
		if (e->rw)
			e->map[0] = 'M', printf("mapped %s\n", e->name);
	}

	if (e->wronly) {
		if (write(e->fd, "more\n", 5) != 5) {
			printf("FAIL %s: write: %s\n", e->name, strerror(errno));
			return -1;
		}
		printf("wrote %s pos=%lld\n", e->name, (long long)lseek(e->fd, 0, SEEK_CUR));
		return 0;
	}
	n = read(e->fd, buf, sizeof buf);
	if (n < 0) {
		printf("FAIL %s: read: %s\n", e->name, strerror(errno));
		return -1;
	}
	printf("read %s ", e->name);
	put_bytes(buf, n);
	printf(" pos=%lld\n", (long long)lseek(e->fd, 0, SEEK_CUR));
	return 0;
}

int main(int argc, char **argv)
{
	struct ent *ents;
	int i, n = argc - 1;

	if (n < 1)
		return fprintf(stderr, "usage: fdr_prog NAME:MODE:POS:PATH[:CONTENT]...\n"), 2;
	ents = calloc(n, sizeof *ents);
	for (i = 0; i < n; i++)
		if (open_spec(argv[i + 1], &ents[i]) < 0)
			return 1;
	printf("pid %d\n", (int)getpid());
	for (i = 0; i < n; i++)
		printf("open %s %d\n", ents[i].name, ents[i].fd);
	printf("ready fdr_prog\n");
	fflush(stdout);
	signals_init();
	for (;;) {
		int bad = 0;
		wait_request();
		for (i = 0; i < n; i++)
			bad |= report(&ents[i]) < 0;
		for (i = 0; i < n; i++)
			bad |= act(&ents[i]) < 0;
		if (bad) {
			fflush(stdout);
			return 1;
		}
		if (verified())
			return 0;
	}
}
