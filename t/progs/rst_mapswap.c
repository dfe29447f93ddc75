/* rst_mapswap - a private file mapping whose file is replaced at its
 * path while it stays mapped: the mapping must keep the old bytes.
 *
 * usage: rst_mapswap FILE
 *
 * Maps FILE (at least one page, made by the test) MAP_PRIVATE
 * read-only and keeps a copy of its bytes.  Prints "pid N", "ready
 * rst_mapswap".  The test then puts another file at FILE's path (a
 * rename over it), so the file there is not the one mapped.  SIGUSR1:
 * the mapping still holds the copy; "verify ok".  SIGTERM: the same,
 * "done ok", exit 0.  A mismatch: "FAIL ..." and exit 1. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "prog.h"

int main(int argc, char **argv)
{
	struct stat st;
	char *map, *copy;
	int fd;

	if (argc != 2) {
		fprintf(stderr, "usage: rst_mapswap FILE\n");
		return 2;
	}
	signals_init();
	fd = open(argv[1], O_RDONLY);
	if (fd < 0 || fstat(fd, &st) < 0 || st.st_size < 4096) {
		perror(argv[1]);
		return 1;
	}
	map = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	copy = malloc(st.st_size);
	if (map == MAP_FAILED || !copy)
		return perror("mmap"), 1;
	close(fd);   /* the mapping alone holds the file */
	memcpy(copy, map, st.st_size);
	printf("pid %d\nready rst_mapswap\n", (int)getpid());
	fflush(stdout);
	for (;;) {
		wait_request();
		if (memcmp(map, copy, st.st_size)) {
			printf("FAIL the mapping no longer holds the file it mapped\n");
			return 1;
		}
		if (verified())
			return 0;
	}
}
