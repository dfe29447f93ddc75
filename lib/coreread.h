/* coreread.h - reading the text members a restore needs: ckpt/manifest,
 * proc/PID/core, proc/PID/threads (formats/manifest.md, core.md,
 * threads.md).  Unknown keys are skipped; a malformed line is an error
 * naming the member and the line. */
#ifndef CKPT_COREREAD_H
#define CKPT_COREREAD_H
#include <stdint.h>
#include <sys/types.h>

#include "proto.h"

#define IMAGE_VERSION 1        /* the newest format this tree reads */
#define IMAGE_PROCS_MAX 1024
/* sockout lines: connections to outside the job that come back reset */
#define IMAGE_SOCKOUT_MAX 1024
#define IMAGE_AUXV_MAX 62      /* pairs, AT_NULL not included */
#define IMAGE_GROUPS_MAX 256

struct img_mproc {         /* a proc or zombie line of the manifest */
	pid_t pid, ppid, pgid, sid; /* pgid, sid 0: an older two-field proc
	                        * line (then the core's are the ones) */
	int zombie;            /* exited, not reaped: no members */
	int status;            /* a zombie's wait status */
	int ctty;              /* a session leader whose terminal is the
	                        * job's pty ctty - 1 (a ctty line), or 0 */
	int ctty_fd;           /* ckpt-thaw's: that terminal, made before
	                        * the tree (ptyplan.h), or -1 */
};

struct img_manifest {
	int version;
	int kill;              /* the writer kills the processes after the
	                        * stream, and ends it once they are gone */
	char kernel[256], arch[32];
	char id[33];           /* the image's id, "" when absent */
	char parent[33];       /* its parent's id: "" for a full image */
	pid_t root;
	unsigned nprocs;       /* proc and zombie lines, parents first */
	struct img_mproc proc[IMAGE_PROCS_MAX];
	unsigned nsockout;     /* unix sockets connected to outside the job */
	uint64_t sockout[IMAGE_SOCKOUT_MAX];   /* (sockout lines): reset */
};

/* the signals queued, each with its siginfo (`siginfo` lines), in the
 * kernel's order */
#define IMG_SIGINFO_SIZE 128
struct img_sigq {
	unsigned char (*v)[IMG_SIGINFO_SIZE];
	unsigned n;
};

struct img_core {
	pid_t pid, ppid, pgid, sid;
	uint64_t starttime;    /* clock ticks after boot; 0: not recorded */
	uid_t uid[4];
	gid_t gid[4];
	gid_t groups[IMAGE_GROUPS_MAX];
	unsigned ngroups;
	uint64_t cap[5];       /* inh prm eff bnd amb (formats/core.md) */
	uint32_t securebits;
	int nnp;               /* no_new_privs */
	unsigned umask;
	char cwd[4096], exe[4096], comm[64];
	unsigned long personality;
	int dumpable;
	uint64_t brk;
	uint64_t mm[10];       /* start_code .. env_end, as in core.md */
	uint64_t auxv[2 * IMAGE_AUXV_MAX];
	unsigned nauxv;        /* pairs */
	struct ckpt_rlimit rlimit[16];
	struct ckpt_ksigaction sigaction[64];
	struct ckpt_itimer itimer[3];
	uint64_t sigpending, xcr0;
	struct img_sigq sigq;  /* the process's queue */
	uint64_t vdso[2], vdso_hash, vvar[2], vclock[2];
	pid_t ctl_tid;
	int freeze_sig;
	int seen_vdso;
	/* process attributes (formats/core.md); each only when its line
	 * was there (attrs: IMG_ATTR_* bits) */
	int oom_score_adj;
	uint32_t loginuid;
	int thp_disable, subreaper;
	unsigned attrs;
};

enum { IMG_ATTR_OOM = 1, IMG_ATTR_LOGINUID = 2, IMG_ATTR_THP = 4, IMG_ATTR_SUBREAPER = 8 };

/* a thread's credentials (formats/threads.md); a record without them
 * has the core's */
struct img_creds {
	unsigned uid[4], gid[4];
	unsigned groups[IMAGE_GROUPS_MAX];
	unsigned ngroups;
	uint64_t cap[5];
	uint32_t securebits;
	int nnp;
	int seen;              /* the record had its own */
};

struct img_thread {
	pid_t tid;
	int role;              /* enum ckpt_role */
	uint64_t frame, fs, gs;
	struct ckpt_park park;
	uint64_t sigpending;
	struct img_sigq sigq;  /* the thread's own queue */
	uint64_t rseq[3];      /* area, length, signature; area 0: none */
	struct img_creds cr;
};

/* Each parses text (NUL-terminated) of member name; 0, or -1 after a
 * message "NAME line N: ...".  The manifest's process lines are
 * checked to make a tree: the root first, every other parent an
 * earlier proc line, no pid twice. */
int manifest_parse(char *text, const char *name, struct img_manifest *m);
int core_parse(char *text, const char *name, struct img_core *c);
/* what core_parse allocated (c stays parsed but for its queue) */
void core_free(struct img_core *c);
/* *tp gets a malloc'd array of *np records */
/* the manifest line of pid, or NULL */
const struct img_mproc *manifest_proc(const struct img_manifest *m, pid_t pid);
int threads_parse(char *text, const char *name, struct img_thread **tp, unsigned *np);
/* the n records threads_parse made, and the array */
void threads_free(struct img_thread *t, unsigned n);
/* the credentials of each thread without its own: the core's */
void threads_creds_default(const struct img_core *c, struct img_thread *t, unsigned n);

#endif
