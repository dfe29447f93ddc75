/* chain.c - libFuzzer target: any bytes as a two-link incremental
 * chain through ckpt-unpack's merge (lib/chain.c): the first four bytes
 * (little-endian) are the base's length, the base follows, the rest is
 * the increment.  It must fail cleanly, never crash, leak or read out
 * of bounds; the merged stream goes to /dev/null.  Build and run:
 * make fuzz */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "chain.h"
#include "err.h"
#include "io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int link_fd(const uint8_t *data, size_t size, char *path, size_t cap)
{
	int fd = memfd_create("fuzz", MFD_CLOEXEC);

	if (fd < 0 || write_all(fd, data, size) < 0)
		die("memfd:");
	snprintf(path, cap, "/proc/self/fd/%d", fd);
	return fd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int out = -1;
	char p0[64], p1[64];
	char *paths[2] = { p0, p1 };
	uint32_t n;
	int a, b;

	argv0 = "ckpt-unpack";
	if (out < 0 && (out = open("/dev/null", O_WRONLY | O_CLOEXEC)) < 0)
		die("/dev/null:");
	if (size < 4)
		return 0;
	memcpy(&n, data, 4);
	if (n > size - 4)
		return 0;
	a = link_fd(data + 4, n, p0, sizeof p0);
	b = link_fd(data + 4 + n, size - 4 - n, p1, sizeof p1);
	chain_merge(paths, 2, out);
	close(a);
	close(b);
	return 0;
}
