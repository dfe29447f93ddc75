/* show.c - libFuzzer target: any bytes as ckpt-show's input, through
 * its whole reader (lib/imgshow.c): the stream, the manifest, every
 * text member it parses, the pages counted.  It must fail cleanly,
 * never crash, leak or read out of bounds.  ckpt-show writes nothing
 * but its output.  Build and run: make fuzz */
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "err.h"
#include "imgshow.h"
#include "io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct show_image im;
	int fd = memfd_create("fuzz", MFD_CLOEXEC);

	argv0 = "ckpt-show";
	if (fd < 0 || write_all(fd, data, size) < 0 || lseek(fd, 0, SEEK_SET) < 0)
		die("memfd:");
	show_read(&im, NULL, fd, "fuzz");
	show_free(&im);
	close(fd);
	return 0;
}
