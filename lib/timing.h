/* timing.h - CKPT_TIMING=1: where a command's time goes, phase by
 * phase, on stderr (bench/restore reads it) */
#ifndef CKPT_TIMING_H
#define CKPT_TIMING_H
#include <stdint.h>

/* reads CKPT_TIMING; the clock starts */
void timing_init(void);
int timing_on(void);
/* CLOCK_MONOTONIC in ns when timing is on, else 0 */
uint64_t timing_ns(void);
/* one phase done: its length, and the time since the start */
void timing_phase(const char *what);
/* one line: what took ms (a part of the phase before) */
void timing_part(const char *what, uint64_t ns, const char *note);
/* when the process runs, on the wall clock: for a caller's own t0 */
void timing_running_at(void);

#endif
