/* cow.h - ckpt-freeze --cow (doc/design.md, "COW mode"): while the job
 * is frozen each ckpt-dumpmem stage scans its process, copies what a
 * snapshot cannot hold, has the shim make the snapshot and tells
 * ckpt-freeze it is ready; the job thaws; each stage then writes its
 * members when ckpt-freeze gives it the stream offset, the pages read
 * from the snapshot. */
#ifndef CKPT_COW_H
#define CKPT_COW_H
#include <stdint.h>
#include <sys/types.h>

#include "maps.h"
#include "pagescan.h"

struct cow {
	int chan;          /* --cow FD, to ckpt-freeze; -1: no --cow */
	int child;         /* --cow-child: CKPT_COW_CHILD */
	int sock;          /* the connection to the snapshot */
	pid_t pid;         /* the snapshot */
	int mem_fd;        /* its /proc/self/mem and pagemap */
	int pagemap_fd;
	int stat_fd;       /* its /proc/self/stat (lib/cowguess.h) */
	int held_fd;       /* memfd: the held runs' pages, in run order */
};

void cow_init(struct cow *c);
/* --cow FD in a stage of ckpt-freeze: the channel checked; the stage
 * dies with ckpt-freeze (then its snapshot ends), and keeps none of
 * ckpt-freeze's fds but stdio, the channel and the n fds named by the
 * option values keep (NULL: none): a connection to a process of the
 * job held here would outlive the thaw.  0 or -1 after a message. */
int cow_stage_init(struct cow *c, const char *arg, const char *const *keep, int n);
/* --cow with an index: the hash of every page of runs (index.h), the
 * held ones read from the held copy, the others from the snapshot.
 * 0, or -errno with *bad the address that could not be read. */
int cow_hash_runs(const struct cow *c, const struct run_list *runs, uint64_t *h, uint64_t *bad);
void cow_close(struct cow *c);

/* What a snapshot does not hold, by region: MAP_SHARED memory (the
 * snapshot maps the same pages, which the program goes on writing),
 * MADV_DONTFORK regions (not in the copy), MADV_WIPEONFORK ones (zero
 * there), orphans (their pages not written come from a file that may
 * still change), and the shim's own (libckpt.so's and the anonymous
 * region right after it, its bss): the snapshot runs the shim's code,
 * which writes there.  smaps: /proc/PID/smaps, for the VmFlags of
 * region i of reg, whose kind is kind.  1 held, 0 not. */
int cow_region_held(const char *smaps, const struct map_region *reg, size_t i,
		    enum map_kind kind);
/* The runs of runs marked held copied, in order, into a new memfd
 * c->held_fd, read from the frozen process's mem fd: 0 or -1 after a
 * message */
int cow_hold(struct cow *c, pid_t pid, int mem_fd, const struct run_list *runs);
/* The snapshot of the frozen process behind sock (CKPT_OP_COW) and its
 * mem and pagemap fds: 0 or -1 after a message */
int cow_snapshot(struct cow *c, pid_t pid, int sock);

/* The stage's side of the channel: scanned (its part of the job's shm
 * table saved, the next process's stage may start; 'S' when the
 * process is a child subreaper, else 'R'), then its snapshot taken
 * ('K': the process may thaw), then the job thawed ('T': the stage
 * may scan its snapshot, off the thaw's way), then the offset in the
 * stream where its output starts (8 bytes, host order): 0, or -1
 * after a message (ckpt-freeze is gone: none) */
int cow_stage_ready(struct cow *c, pid_t pid, int sub);
int cow_stage_snapshot(struct cow *c, pid_t pid);
int cow_stage_thawed(struct cow *c);
int cow_stage_wait(struct cow *c, pid_t pid, uint64_t *off);
/* ckpt-freeze's side: the channel, ch[1] the stage's end; wait for the
 * stage of pid to have scanned: 0 or 1 (it is a child subreaper), or
 * -1 when the stage ended first (its message is its own); for its
 * snapshot: 0 or -1 so; once the job is thawed, say so; then give it
 * its offset: 0 or -1 */
int cow_freeze_channel(pid_t pid, int ch[2]);
int cow_freeze_ready(int chan);
int cow_freeze_snapshot(int chan);
void cow_freeze_thawed(int chan);
int cow_freeze_go(int chan, pid_t pid, uint64_t off);

#endif
