/* freeze.h - holding a process frozen, for the commands that dump it */
#ifndef CKPT_FREEZE_H
#define CKPT_FREEZE_H
#include <stddef.h>
#include <sys/types.h>

/* Connect to pid's shim and freeze every thread.  Returns the socket,
 * which holds the freeze until it is closed or thawed; -1 after a
 * message naming the pid and the reason. */
int freeze_open(pid_t pid, unsigned timeout_ms);
/* The same on s, a connection to pid's shim (ctl_open): 0; -1 after a
 * message, s closed; or -ECONNRESET or -EPIPE, silently and s still
 * open, when the shim went away (the process exited or exec'd). */
int freeze_on(int s, pid_t pid, unsigned timeout_ms);
/* freeze_on in two halves, so that many processes park at once: the
 * request sent on s (0 or -errno, s open either way), then the reply
 * taken and checked (freeze_on's returns) */
int freeze_ask(int s, unsigned timeout_ms);
int freeze_answer(int s, pid_t pid, unsigned timeout_ms);
/* Release the threads and close the socket; 0, or -1 after a message.
 * A process that exits or execs as it is thawed is a note, and 0: the
 * stream was complete before. */
int freeze_thaw(int sock, pid_t pid);
/* What a thaw's answer r (0 or -errno) means: 0, or -1 after a
 * message; an exit or exec as it was thawed is a note (none if quiet) */
int thaw_result(pid_t pid, int r, int quiet);
/* When fd is a pipe, wait until its reader has taken every byte in it:
 * pages vmspliced into it still belong to the frozen process, so the
 * process may only run on once they are read.  0 or -errno. */
int drain_wait(int fd);
/* The fd of a stage's --control option: check it is a socket; -1 after
 * a message otherwise. */
int control_fd_parse(const char *arg);
/* "KEY: value" of a /proc status file, into out; 0 or -1 */
int status_field(const char *path, const char *key, char *out, size_t len);
/* refuse to write a binary stream to a terminal */
void stdout_check(void);

#endif
