/* dirtyscan - a dirty scan of a running process, as a checkpoint makes
 * it (lib/dirty.c), printed: the tests' window on dirty tracking.
 * Links the lib (Makefile); not a program ckpt runs.
 *
 * usage: dirtyscan PID [ADDR:PAGES...]
 *
 * Freezes PID, asks its shim for the epoch, scans (which protects the
 * pages again, as a checkpoint's scan does), thaws.  No image is
 * written, so this is a checkpoint that fails after its scan: the shim
 * forgets its epoch.  Prints
 *     since ID|-
 *     tracked N new N refused N hot N
 * and for each ADDR:PAGES one line "ADDR FLAGS", a W for each page
 * dirty_written() says was written since the epoch (or is not
 * tracked), a dot for each unchanged one.  Exit 0, 1 on failure, 2
 * usage. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "dirty.h"
#include "err.h"
#include "freeze.h"
#include "io.h"
#include "maps.h"

static const char usage[] = "dirtyscan PID [ADDR:PAGES...]";

static char *smaps_read(pid_t pid)
{
	char path[64];
	size_t len;
	char *s;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/smaps", (int)pid);
	if (!(f = fopen(path, "re")))
		return NULL;
	s = read_fd_all(fileno(f), &len);
	fclose(f);
	return s;
}

/* the scan of the frozen pid on sock, into d: 0 or -1 */
static int scan(pid_t pid, int sock, struct dirty *d)
{
	static struct ckpt_proc_rec rec;
	int fds[CKPT_PROCFD_COUNT], r, i;
	struct ctl_call c = { .op = CKPT_OP_PROC, .reply = &rec, .replen = sizeof rec,
			      .rfds = fds, .nrfds = CKPT_PROCFD_COUNT };
	struct map_region *reg = NULL;
	size_t len, n = 0, bad;
	char *maps, *smaps;

	if ((r = ctl_call(sock, &c)) < 0 || c.nrfds != CKPT_PROCFD_COUNT)
		return warnerr(r ? r : -EPROTO, "pid %d: process record:", (int)pid), -1;
	maps = read_fd_all(fds[CKPT_PROCFD_MAPS], &len);
	smaps = smaps_read(pid);
	r = maps && maps_parse(maps, len, &reg, &n, &bad) == 0 ? 0 : -1;
	if (r < 0)
		warn("pid %d: maps:", (int)pid);
	else
		r = dirty_collect(d, pid, sock, fds[CKPT_PROCFD_PAGEMAP], reg, n, smaps, NULL);
	for (i = 0; i < CKPT_PROCFD_COUNT; i++)
		close(fds[i]);
	free(reg);
	free(maps);
	free(smaps);
	return r;
}

static void range_print(const struct dirty *d, const char *arg)
{
	unsigned long long a;
	unsigned long n, i;
	struct dirty_walk w;

	if (sscanf(arg, "%llx:%lu", &a, &n) != 2 || n > 1 << 20)
		die("%s: not ADDR:PAGES", arg);
	printf("%#llx ", a);
	dirty_walk_init(&w, d);   /* each range's own walk: the ranges in any order */
	for (i = 0; i < n; i++)
		putchar(dirty_walk_written(&w, a + i * 4096) ? 'W' : '.');
	putchar('\n');
}

int main(int argc, char **argv)
{
	struct dirty d;
	pid_t pid;
	int sock, r, i;

	prog_init(argv);
	if (argc < 2 || (pid = atoi(argv[1])) <= 0) {
		fprintf(stderr, "usage: %s\n", usage);
		return 2;
	}
	if ((sock = freeze_open(pid, 0)) < 0)
		return 1;
	r = scan(pid, sock, &d);
	if (freeze_thaw(sock, pid) < 0 || r < 0)
		return 1;
	printf("since %s\n", dirty_since(&d) ? dirty_since(&d) : "-");
	printf("tracked %zu new %zu refused %zu hot %zu\n", d.ntracked, d.nnew, d.nrefused,
	       d.nhot);
	for (i = 2; i < argc; i++)
		range_print(&d, argv[i]);
	dirty_free(&d);
	return 0;
}
