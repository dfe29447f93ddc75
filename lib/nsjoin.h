/* nsjoin.h - checkpointing a job that ckpt-thaw restored in a new pid
 * namespace (doc/design.md, "A job in a pid namespace of its own").
 * Its processes have there the pids they had, which its image must
 * hold and its shim's socket is named by; from outside they have
 * others.  So the tool works from inside: it joins the job's
 * namespaces and goes on in a child there, where /proc and every pid
 * are the job's own. */
#ifndef CKPT_NSJOIN_H
#define CKPT_NSJOIN_H
#include <sys/types.h>

/* pid itself when it runs in our pid namespace.  Else join its user
 * namespace (when not ours, and ours to join: never as root, whose
 * tools must not run in a mount namespace its user can change), its
 * mount and pid namespaces, and fork: the child returns pid as the
 * job sees it; the parent waits for it and exits with its status.
 * Dies with a message naming pid when that cannot be done. */
pid_t ns_follow(pid_t pid);
/* the child says the stream is whole: a --kill that ends the
 * namespace (and the child with it) then still counts as success */
void ns_stream_done(void);

#endif
