/* progress.h - one updating line on stderr saying how a stream goes:
 * bytes done, rate, and with a known total the percent and time left.
 * On when stderr is a terminal (or forced), off otherwise.  The
 * commands pick the side they report, the input they read (lib/pack.c
 * counts it) or the stream they write (lib/tar.c counts it); the
 * counting sides call in for every read or write, so a call costs a
 * compare until a line is due (every 200 ms at most). */
#ifndef CKPT_PROGRESS_H
#define CKPT_PROGRESS_H
#include <stdint.h>

enum progress_mode { PROGRESS_AUTO, PROGRESS_ON, PROGRESS_OFF };
enum progress_side { PROGRESS_IN, PROGRESS_OUT };

/* report side from now on (total: its bytes if known, else 0) */
void progress_start(enum progress_side side, enum progress_mode mode, uint64_t total);
/* done: the bytes of that side so far */
void progress_in(uint64_t done);
void progress_out(uint64_t done);
/* the side's end: the last line, and a newline */
void progress_done(enum progress_side side);
/* the input is fd (lib/pack.c): its size is the total when it is a
 * regular file and none was given */
void progress_input(int fd);

#endif
