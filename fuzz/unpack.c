/* unpack.c - libFuzzer target: any bytes through the image reader
 * (lib/pack.c, lib/tarread.c) as ckpt-unpack and ckpt-thaw use it.
 * It must fail cleanly, never crash, leak or read out of bounds.
 * Build and run: make fuzz [FUZZ_SECONDS=N] */
#include <stddef.h>
#include <stdint.h>

#include "pack.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pack_in in;
	static char buf[1 << 16];
	ssize_t n;
	int r;

	if (pack_in_open_mem(&in, data, size) == 0) {
		while ((r = pack_in_next(&in)) > 0)
			while ((n = pack_in_read(&in, buf, sizeof buf)) > 0)
				;
	}
	pack_in_close(&in);
	return 0;
}
