/* thawjob.h - the restore of a job (doc/restore.md, "Trees"): its
 * image read process by process, the pid namespace chosen, every
 * process made from the manifest and built in stream order, then the
 * go once all are.  What belongs to the job is here; what belongs to
 * one process is a struct thaw_proc. */
#ifndef CKPT_THAWJOB_H
#define CKPT_THAWJOB_H
#include <sys/types.h>

#include "fdplan.h"
#include "imageread.h"
#include "jobobj.h"
#include "pidused.h"
#include "planstatus.h"
#include "rules.h"
#include "spawntree.h"

/* one process of the restore: what the image says of it, and its
 * restorer once made */
struct thaw_proc {
	struct img_proc img;
	struct restorer rst;
	int held;                  /* a memfd with its page data, or -1 */
	pid_t feeder;              /* feeds its pages (pages_feed_ahead), or 0 */
	int exec_r;                /* its word on its exec (tree_become), or -1 */
};

struct thaw_job {
	struct img_in in;
	struct fd_attach attach;
	int same_ns, newns, userns; /* restore in a new pid (and user) ns */
	const char *rules_path;    /* --files-rules: restart paths */
	struct rules rules;
	int hold;                  /* 1: read the whole stream first, the pages
	                            * into held (thawjob_ns) */
	int read_all;              /* the stream was read to its trailer */
	struct thaw_proc *procs;   /* one per manifest line: [0] the root */
	unsigned nprocs;
	struct spawn_tree tree;    /* how the processes are made */
	struct jobobjs objs;       /* the memory its processes share */
	struct pid_groups groups;  /* for the thread ids (tids_check) */
	char restorer[4096];
};

/* Each returns 0, or -1 after a message; after a -1, thawjob_kill. */
/* the manifest, then the root's members up to its pages */
int thawjob_read(struct thaw_job *t);
/* In this pid namespace with the old ids (root, and they are free),
 * else in a new one (--same-ns: an error naming the id).  When the
 * root's pid is held by the image's own process, to be killed once the
 * stream is read (ckpt-freeze --kill PID | ckpt-thaw), the stream is
 * read first, the pages into memory, and the choice made again. */
int thawjob_ns(struct thaw_job *t);
/* Every process made, each built in stream order, the trailer read,
 * the saved files put in place, then every process its go and its OK.
 * t->tree.child is then ckpt-thaw's child: the root, or the reaper. */
int thawjob_restore(struct thaw_job *t);
/* every process made, killed and reaped: a bad image leaves none */
void thawjob_kill(struct thaw_job *t);
/* what the reading made (fdplan_free also closes the fds held) */
void thawjob_free(struct thaw_job *t);

#endif
