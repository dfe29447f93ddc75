/* timing.c - phases on stderr (timing.h) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "timing.h"

static struct {
	int on;
	uint64_t start, last;
} tm;

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

void timing_init(void)
{
	const char *e = getenv("CKPT_TIMING");

	tm.on = e && *e && strcmp(e, "0") != 0;
	tm.start = tm.last = mono_ns();
}

int timing_on(void)
{
	return tm.on;
}

uint64_t timing_ns(void)
{
	return tm.on ? mono_ns() : 0;
}

void timing_phase(const char *what)
{
	uint64_t now;

	if (!tm.on)
		return;
	now = mono_ns();
	fprintf(stderr, "%s: timing %-44s %9.3f ms  (at %9.3f ms)\n", argv0, what,
		(now - tm.last) / 1e6, (now - tm.start) / 1e6);
	tm.last = now;
}

void timing_part(const char *what, uint64_t ns, const char *note)
{
	if (tm.on)
		fprintf(stderr, "%s: timing   of which: %-20s %9.3f ms%s\n", argv0, what, ns / 1e6, note);
}

void timing_running_at(void)
{
	struct timespec ts;

	if (!tm.on)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	fprintf(stderr, "%s: timing running at epoch_ns %lld%09ld\n", argv0,
		(long long)ts.tv_sec, ts.tv_nsec);
}
