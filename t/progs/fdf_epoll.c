/* fdf_epoll - epoll registrations whose fd number no longer names the
 * watched file (t/fidelity-fds.bats, issue 17).
 *
 * usage: fdf_epoll moved | twice | gone
 *
 * An epoll ep watches an eventfd "plain" (data 0x10) at its own
 * number, as a program usually does, and then, by mode:
 * moved: eventfd A (count 1) added as fd a (data 0x11), then dup'ed to
 *        a2 and fd a closed: the epoll still watches A under number a.
 *        Check: epoll_wait reports 0x10 and 0x11; fdinfo of ep says
 *        "tfd: a"; EPOLL_CTL_DEL of a2 gives ENOENT (A is watched as
 *        a, not a2); EPOLL_CTL_MOD of plain works: "moved ... ok".
 * twice: eventfd A added as fd a (data 0x11), kept as a2, then eventfd
 *        B dup2'ed over a and added (data 0x12): two registrations
 *        under number a.  Check: epoll_wait reports 0x10, 0x11 and
 *        0x12, fdinfo shows tfd a twice: "twice ... ok".
 * gone:  eventfd A added as fd a, a child forked that holds it, fd a
 *        closed in the parent: the watched file is in no fd of the
 *        process.  (Refused at the checkpoint.)  Check: 0x11 reported.
 * Prints "open NAME FD", "pid N", "ready fdf_epoll"; SIGUSR1: the check
 * and "verify ok"; SIGTERM: the check, then "done ok". */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/eventfd.h>

#include "prog.h"

static int ep, plain, a, a2, child;
static const char *mode;

static int fail(const char *what)
{
	printf("FAIL %s: %s\n", what, strerror(errno));
	fflush(stdout);
	return -1;
}

static int add(int fd, uint64_t data)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = data };

	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

/* the data words epoll_wait reports, as a bit set of data - 0x10 */
static unsigned reported(void)
{
	struct epoll_event ev[8];
	unsigned set = 0;
	int n, i;

	n = epoll_wait(ep, ev, 8, 1000);
	for (i = 0; i < n; i++)
		set |= 1u << (ev[i].data.u64 - 0x10);
	return set;
}

/* how many "tfd: FD " lines fdinfo of ep has */
static int tfd_lines(int fd)
{
	char path[64], line[256], want[32];
	FILE *f;
	int n = 0;

	snprintf(path, sizeof path, "/proc/self/fdinfo/%d", ep);
	snprintf(want, sizeof want, "tfd: %8d ", fd);
	if (!(f = fopen(path, "r")))
		return -1;
	while (fgets(line, sizeof line, f))
		n += !strncmp(line, want, strlen(want));
	fclose(f);
	return n;
}

static int verify(void)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET, .data.u64 = 0x10 };
	unsigned set = reported(), want = !strcmp(mode, "twice") ? 7 : 3;
	int lines = tfd_lines(a), want_lines = !strcmp(mode, "twice") ? 2 : 1;
	int del, mod;

	del = a2 < 0 || (epoll_ctl(ep, EPOLL_CTL_DEL, a2, NULL) < 0 && errno == ENOENT);
	mod = epoll_ctl(ep, EPOLL_CTL_MOD, plain, &ev) == 0;
	printf("%s reported=0x%x tfd_lines=%d del_enoent=%d mod=%d\n", mode, set, lines, del, mod);
	if (set != want || lines != want_lines || !del || !mod)
		return fail("epoll");
	printf("%s ok\n", mode);
	return 0;
}

static int finish_child(void)
{
	if (child > 0)
		kill(child, SIGKILL);
	return 0;
}

int main(int argc, char **argv)
{
	int b;

	if (argc != 2)
		return fprintf(stderr, "usage: fdf_epoll moved|twice|gone\n"), 2;
	mode = argv[1];
	if ((ep = epoll_create1(0)) < 0 || (plain = eventfd(1, 0)) < 0 || add(plain, 0x10) < 0 ||
	    (a = eventfd(1, 0)) < 0 || add(a, 0x11) < 0 || (a2 = dup(a)) < 0)
		return fail("setup"), 1;
	if (!strcmp(mode, "twice")) {
		if ((b = eventfd(1, 0)) < 0 || dup2(b, a) < 0 || close(b) < 0 || add(a, 0x12) < 0)
			return fail("twice"), 1;
	} else if (!strcmp(mode, "gone")) {
		if ((child = fork()) == 0) {
			/* ends with its parent, however that ends */
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			for (;;)
				pause();
		}
		close(a2);
		a2 = -1;
		close(a);
	} else {
		close(a);
	}
	printf("open ep %d\nopen plain %d\nopen a %d\nopen a2 %d\n", ep, plain, a, a2);
	b = serve_verify("fdf_epoll", verify);
	finish_child();
	return b;
}
