/* kproc.h - what the kernel says of a process, read by the tool
 * itself (doc/design.md, "Trust"): /proc/PID opened here and tied to
 * the process behind the control socket by a pidfd, so that neither
 * the shim nor a recycled pid can put ids, pids or an executable in an
 * image.  The shim's word is checked against this, never copied. */
#ifndef CKPT_KPROC_H
#define CKPT_KPROC_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define KCREDS_GROUPS_MAX 256

/* one task's credentials, from its /proc status */
struct kcreds {
	uint32_t uid[4], gid[4];        /* real, effective, saved, fs */
	uint32_t groups[KCREDS_GROUPS_MAX];
	unsigned ngroups;
	uint64_t cap[5];                /* enum kcap order */
	int nnp;                        /* NoNewPrivs */
	int seccomp, filters;           /* Seccomp, Seccomp_filters */
};

enum kcap { KCAP_INH, KCAP_PRM, KCAP_EFF, KCAP_BND, KCAP_AMB };

struct kproc {
	pid_t pid;
	int pidfd;                      /* the process behind the socket */
	int dirfd;                      /* /proc/PID of that process */
};

/* Tie k to pid, the process that listens on sock (SO_PEERPIDFD): 0, or
 * -1 after a message naming the pid. */
int kproc_open(struct kproc *k, pid_t pid, int sock);
void kproc_close(struct kproc *k);
/* rel under /proc/PID (e.g. "stat", "task/TID/status"), read whole
 * and NUL-terminated, checked to be still the process's; NULL, errno */
char *kproc_read(const struct kproc *k, const char *rel, size_t *lenp);
/* readlink of rel under /proc/PID ("exe"); 0 or -1, errno */
int kproc_link(const struct kproc *k, const char *rel, char *buf, size_t len);
/* the shim's /proc/self/stat fd names the same process (pid and start
 * time): 0, or -1 after a message */
int kproc_same(const struct kproc *k, int shim_stat_fd);
/* the same, without a message: 1 or 0 */
int kproc_is(const struct kproc *k, int stat_fd);
/* every task's Seccomp field is 0: 0, or -1 after a message naming the
 * thread and its state (a filter cannot be restored) */
int kproc_no_seccomp(const struct kproc *k);
/* 0 when k has no Linux AIO context (io_setup: its ring shows in maps
 * as "/[aio] (deleted)"), which a restore cannot make again; else -1
 * after a message naming the first one's id (its ring's address) */
int kproc_no_aio(const struct kproc *k);

/* the number in /proc/self/NAME (oom_score_adj, loginuid), read with
 * open and read only (a restore's child calls it); -1 if unreadable */
long long self_number(const char *name);

/* the value of "Key:" in a /proc status text, tabs made spaces */
const char *status_value(const char *status, const char *key, char *out, size_t len);
/* the last id of a status line with one per pid namespace level (NSpid:
 * the innermost); *levels, when not NULL, how many; -1 if none */
long status_inner_id(const char *status, const char *key, int *levels);
/* credentials from a task's status text: 0, or -1 (EPROTO) */
int kcreds_parse(const char *status, struct kcreds *c);
/* credentials of task tid (the main thread: tid = pid): 0, or -1 */
int kcreds_read(const struct kproc *k, pid_t tid, struct kcreds *c);
/* the uid, gid, groups, caps, securebits and no-new-privs lines of a
 * core or threads member (formats/core.md) */
void kcreds_write(FILE *f, const struct kcreds *c, uint32_t securebits);

#endif
