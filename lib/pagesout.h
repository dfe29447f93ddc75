/* pagesout.h - the data of a pages member (formats/memory.md), in the
 * order of the runs: the shim vmsplices the pages straight into stdout
 * when it is a pipe (no copy at all), else into a relay pipe of ours
 * spliced on to stdout; runs vmsplice cannot take are read through the
 * process's mem fd. */
#ifndef CKPT_PAGESOUT_H
#define CKPT_PAGESOUT_H
#include <sys/types.h>

#include "pagescan.h"
#include "tar.h"

struct pages_out {
	pid_t pid;
	int sock;                  /* the frozen connection to its shim */
	int mem_fd;                /* its /proc/PID/mem */
	struct tar_out *tar;       /* the stream, on fd 1 */
	/* pages_out_write's own */
	const struct run_list *runs;
	int out_pipe;              /* stdout is a pipe: the shim vmsplices
	                            * straight into it */
	int relay[2];              /* else a pipe of ours, spliced on */
	int relay_copy;            /* stdout takes no splice: read+write */
	int held_fd;               /* --cow: the pages of the held runs of
	                            * held (lib/cow.h), one run after the
	                            * other; the runs stored may be fewer
	                            * (an increment) */
	const struct run_list *held;
	size_t held_i;             /* pages_out_write's: where held is */
	uint64_t held_base;
};

/* The member name with every run's bytes, pid, sock, mem_fd and tar
 * set: 0, or -1 after a message (the stream is then cut short) */
int pages_out_write(struct pages_out *o, const char *name, const struct run_list *runs);
/* one run's pages read through mem_fd, into tar: 0, or -1 after a
 * message */
int pages_run_copy(struct pages_out *o, const struct page_run *run);

#endif
