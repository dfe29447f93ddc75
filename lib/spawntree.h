/* spawntree.h - the processes of a tree restore (formats/manifest.md):
 * made before any of them becomes its image's, from the manifest
 * alone, each by its parent with its old pid (clone3 set_tid), so
 * that a restored parent's waitpid sees its restored children.
 * Session leaders call setsid and group leaders setpgid as they are
 * made, before their children; the others join their group once every
 * process exists.  A zombie exits with its status at once after that,
 * unreaped: its parent reaps it once restored.  Every other process
 * waits on its socket until ckpt-thaw sends what it becomes (tree_become:
 * its core, fds and pipes), then goes on as spawn_become. */
#ifndef CKPT_SPAWNTREE_H
#define CKPT_SPAWNTREE_H
#include <sys/types.h>

#include "coreread.h"
#include "spawn.h"

struct tree_node {
	const struct img_mproc *m;  /* its manifest line */
	int parent;                 /* its parent's node, -1: the root */
	int sock, peer;             /* ckpt-thaw's end of its socket, its own */
	int made;                   /* it said so: it is ours to kill */
};

struct spawn_tree {
	struct tree_node *node;     /* in manifest order: parents first */
	unsigned n;
	const char *restorer;
	int newns;                  /* the root is a reaper's child */
	pid_t child;                /* ckpt-thaw's child: the root or the reaper */
};

/* the nodes of manifest m: 0, or -1 after a message */
int tree_init(struct spawn_tree *t, const struct img_manifest *m, const char *restorer);
/* Every process made.  root says how the root is: its core (the pid),
 * fds (for the reaper), newns, userns.  0; SPAWN_TAKEN when the root's
 * pid was taken in this namespace, nothing made; -1 after a message
 * naming the pid (tree_kill then). */
int tree_build(struct spawn_tree *t, struct spawn *root);
/* node i becomes sp's process (sp->core, fds, creds; sp->child is set
 * for messages); fds opened by ckpt-thaw are passed, and kept here
 * (sp->keep_src).  0 once it has them, -1 after a message.  It then
 * execs the restorer, or says on sp->err_r why it could not: not
 * waited for here, so that the processes of a job do it at once (a
 * job of 50 spent 7 ms a process waiting, bench/tree); the caller
 * takes the word with spawn_exec_said before anything is written. */
int tree_become(struct spawn_tree *t, unsigned i, struct spawn *sp);
/* every process made, killed and reaped */
void tree_kill(struct spawn_tree *t);
void tree_free(struct spawn_tree *t);

#endif
