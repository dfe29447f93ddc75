/* thaw.c - libFuzzer target: any bytes as ckpt-thaw's input, through
 * its whole stream path up to (not including) making the process:
 * the stream reader, the manifest, each member in order, the checks
 * against this machine: thawjob_read (lib/thawjob.c), what ckpt-thaw
 * runs first.  It must fail cleanly, never crash, leak or read out of
 * bounds.
 *
 * Saved file contents (files/N) are written where the fds member
 * says: Landlock (kernel 5.13+) takes every write to the file system
 * away, but beneath the fuzzer's own directory (FUZZ_DIR, default
 * build/fuzz), before the first input.  Build and run: make fuzz */
#include <fcntl.h>
#include <linux/landlock.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "err.h"
#include "io.h"
#include "kcompat.h"
#include "thawjob.h"

static struct thaw_job thaw;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FS_WRITES (LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_REMOVE_DIR | \
	LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_MAKE_CHAR | \
	LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG | \
	LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_MAKE_FIFO | \
	LANDLOCK_ACCESS_FS_MAKE_BLOCK | LANDLOCK_ACCESS_FS_MAKE_SYM | \
	LANDLOCK_ACCESS_FS_REFER | LANDLOCK_ACCESS_FS_TRUNCATE)

/* no file written outside dir, or die: a fuzzer must not scribble
 * over the machine it runs on */
static void writes_only_beneath(const char *dir)
{
	struct landlock_ruleset_attr ra = { .handled_access_fs = FS_WRITES };
	struct landlock_path_beneath_attr pb = { .allowed_access = FS_WRITES };
	int rs;

	rs = syscall(SYS_landlock_create_ruleset, &ra, sizeof ra, 0);
	if (rs < 0)
		die("landlock (needs kernel 6.2+ for TRUNCATE):");
	if ((pb.parent_fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		die("%s:", dir);
	if (syscall(SYS_landlock_add_rule, rs, LANDLOCK_RULE_PATH_BENEATH, &pb, 0) < 0 ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    syscall(SYS_landlock_restrict_self, rs, 0) < 0)
		die("landlock:");
	close(pb.parent_fd);
	close(rs);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir = getenv("FUZZ_DIR");

	(void)argc;
	(void)argv;
	argv0 = "ckpt-thaw";
	writes_only_beneath(dir && *dir ? dir : "build/fuzz");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct thaw_job *t = &thaw;
	int fd = memfd_create("fuzz", MFD_CLOEXEC);

	if (fd < 0 || write_all(fd, data, size) < 0 || lseek(fd, 0, SEEK_SET) < 0)
		die("memfd:");
	memset(t, 0, sizeof *t);
	if (stream_open(&t->in.st, NULL, fd, "fuzz") == 0) {
		thawjob_read(t);
		stream_close(&t->in.st);
	}
	thawjob_free(t);
	close(fd);
	return 0;
}
