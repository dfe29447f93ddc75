/* pty.h - a pseudo-terminal's state as the fds member says it
 * (formats/fds.md, "Terminals"), and its queued bytes: what the dump
 * (ptydump.c) and the restore (ptyplan.c) share, so that a queue is
 * put back by the very code that refills it at a restore. */
#ifndef CKPT_PTY_H
#define CKPT_PTY_H
#include <stddef.h>
#include <sys/types.h>
#include <termios.h>
#include <sys/ioctl.h>

/* termios as "IFLAG,OFLAG,CFLAG,LFLAG,LINE,CC" (flags in hex, CC the
 * NCCS control characters, two hex digits each) into buf: 0, or -1
 * when it does not fit */
int pty_termios_text(const struct termios *t, char *buf, size_t len);
/* the text back onto t (which keeps its speeds): 0, or -1 */
int pty_termios_parse(const char *s, struct termios *t);
/* struct winsize as "ROWS,COLS,XPIXEL,YPIXEL", and back */
int pty_winsize_text(const struct winsize *w, char *buf, size_t len);
int pty_winsize_parse(const char *s, struct winsize *w);

/* The slave's unix98 index from its device number, -1 if it is none */
int pty_index_of(dev_t rdev);

/* A queue member (ptys/N): "in LEN out LEN\n", then the bytes queued
 * for the slave's reader, then those queued for the master's */
struct pty_queue {
	char *in, *out;          /* malloc'd, or NULL */
	size_t nin, nout;
};

/* The bytes queued each way on the pair of master (a copy of the
 * process's fd) and slave (an fd of our own on it), taken out and then
 * put back as they were: q filled.  0, or -errno. */
int pty_queue_take(int master, int slave, struct pty_queue *q);
/* q's bytes into the pair: those for the slave's reader written to the
 * master with the slave's input processing off (as typed, once), those
 * for the master's reader written to the slave with its output
 * processing off; the termios as it was after.  0, or -errno. */
int pty_queue_put(int master, int slave, const struct pty_queue *q);
/* q as a member's bytes (malloc'd), and a member's bytes as q (whose
 * pointers then point into text): 0, or -1 */
char *pty_queue_text(const struct pty_queue *q, size_t *len);
int pty_queue_parse(const char *text, size_t len, struct pty_queue *q);

#endif
