/* progress.c - the progress line (progress.h).  Writes with write(2)
 * straight to fd 2, one line redrawn after "\r" and cleared to its end,
 * so that it mixes with nothing buffered. */
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "human.h"
#include "progress.h"

#define STEP (256u << 10)      /* bytes between looks at the clock */
#define EVERY_NS 200000000LL   /* between two lines */

static struct {
	int on;
	enum progress_side side;
	uint64_t total, done, next;
	long long t0, last;    /* ns */
} pg;

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void say(const char *line, int n)
{
	if (n > 0 && write(2, line, (size_t)n) < 0)
		pg.on = 0;   /* nowhere to say it: say nothing more */
}

/* "ckpt-thaw:  45% 1.2 GiB of 2.7 GiB, 850.0 MiB/s, 2 s left" */
static void draw(long long t)
{
	char line[256], a[32], b[32], r[32];
	double secs = (t - pg.t0) / 1e9, rate = secs > 0 ? pg.done / secs : 0;
	int n;

	bytes_human(pg.done, a, sizeof a);
	bytes_human(rate, r, sizeof r);
	if (pg.total && pg.done <= pg.total)
		n = snprintf(line, sizeof line, "\r%s: %3d%% %s of %s, %s/s, %.0f s left\033[K",
			     argv0, (int)(100.0 * pg.done / pg.total), a,
			     bytes_human(pg.total, b, sizeof b), r,
			     rate > 0 ? (pg.total - pg.done) / rate : 0.0);
	else
		n = snprintf(line, sizeof line, "\r%s: %s, %s/s\033[K", argv0, a, r);
	say(line, n < (int)sizeof line ? n : (int)sizeof line - 1);
	pg.last = t;
}

/* "ckpt-thaw: 2.7 GiB in 3.1 s, 880.0 MiB/s", and a newline */
static void draw_last(long long t)
{
	char line[256], a[32], r[32];
	double secs = (t - pg.t0) / 1e9;
	int n;

	n = snprintf(line, sizeof line, "\r%s: %s in %.1f s, %s/s\033[K\n", argv0,
		     bytes_human(pg.done, a, sizeof a), secs,
		     bytes_human(secs > 0 ? pg.done / secs : 0, r, sizeof r));
	say(line, n < (int)sizeof line ? n : (int)sizeof line - 1);
}

void progress_start(enum progress_side side, enum progress_mode mode, uint64_t total)
{
	pg.on = mode == PROGRESS_ON || (mode == PROGRESS_AUTO && isatty(2));
	pg.side = side;
	pg.total = total;
	pg.done = 0;
	pg.next = STEP;
	pg.t0 = pg.last = now_ns();
}

static void tick(enum progress_side side, uint64_t done)
{
	long long t;

	if (!pg.on || side != pg.side)
		return;
	pg.done = done;
	if (done < pg.next)
		return;
	pg.next = done + STEP;
	t = now_ns();
	if (t - pg.last >= EVERY_NS)
		draw(t);
}

void progress_in(uint64_t done)
{
	tick(PROGRESS_IN, done);
}

void progress_out(uint64_t done)
{
	tick(PROGRESS_OUT, done);
}

void progress_done(enum progress_side side)
{
	if (!pg.on || side != pg.side)
		return;
	draw_last(now_ns());
	pg.on = 0;
}

void progress_input(int fd)
{
	struct stat st;

	if (pg.on && pg.side == PROGRESS_IN && !pg.total && fstat(fd, &st) == 0 &&
	    S_ISREG(st.st_mode))
		pg.total = st.st_size;
}
