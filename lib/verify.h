/* verify.h - ckpt-thaw --verify: the restored job, as /proc shows it,
 * against what its image recorded (doc/ckpt-thaw.1, VERIFY) */
#ifndef CKPT_VERIFY_H
#define CKPT_VERIFY_H

struct thaw_job;

/* Every process of a restored job (thawjob_restore done) compared with
 * its image: its ids and credentials per thread, capabilities,
 * no_new_privs, umask, personality, rlimits, signal dispositions,
 * process attributes, exe, cwd, threads, mappings with their
 * protection and flags, fds with their kind, target and flags.  The
 * job runs meanwhile: a comparison that finds a difference is made
 * again, for up to ms milliseconds, since the last threads of a
 * process set their names and affinity as they resume.  Each
 * difference left is one message "verify: pid PID: WHAT: image X,
 * live Y"; returns how many. */
int verify_job(const struct thaw_job *t, long ms);

#endif
