/* fdf_timer - a timerfd set to a wall-clock time (t/fidelity-fds.bats,
 * issue 17).
 *
 * usage: fdf_timer
 *
 * A CLOCK_REALTIME timerfd set with TFD_TIMER_ABSTIME |
 * TFD_TIMER_CANCEL_ON_SET to now + 1000 s.  Prints "open t FD".  Check
 * (SIGUSR1, SIGTERM): fdinfo says the same settime flags, and the
 * time it will fire (now + what timerfd_gettime says is left) is the
 * one it was set to, within 1 s: "timer flags=03 kept=1" (a timer
 * restored as "1000 s from the restore" would be late by the time
 * between the checkpoint and the restore). */
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>

#include "prog.h"

static int fd;
static time_t target;

/* "settime flags:" of fd's fdinfo, octal */
static unsigned settime_flags(void)
{
	char path[64], line[128];
	unsigned flags = ~0u;
	FILE *f;

	snprintf(path, sizeof path, "/proc/self/fdinfo/%d", fd);
	if (!(f = fopen(path, "r")))
		return flags;
	while (fgets(line, sizeof line, f))
		sscanf(line, "settime flags: %o", &flags);
	fclose(f);
	return flags;
}

static int verify(void)
{
	struct itimerspec its;
	struct timespec now;
	long long fires;

	if (timerfd_gettime(fd, &its) < 0 || clock_gettime(CLOCK_REALTIME, &now) < 0)
		return printf("FAIL timer: %s\n", strerror(errno)), -1;
	fires = (long long)now.tv_sec + its.it_value.tv_sec +
		(now.tv_nsec + its.it_value.tv_nsec >= 1000000000);
	printf("timer flags=0%o kept=%d\n", settime_flags(), llabs(fires - (long long)target) <= 1);
	if (llabs(fires - (long long)target) > 1)
		printf("timer fires=%lld target=%lld\n", fires, (long long)target);
	return 0;
}

int main(void)
{
	struct itimerspec its = { 0 };
	struct timespec now;

	if ((fd = timerfd_create(CLOCK_REALTIME, 0)) < 0 || clock_gettime(CLOCK_REALTIME, &now) < 0)
		return printf("FAIL timerfd: %s\n", strerror(errno)), 1;
	target = now.tv_sec + 1000;
	its.it_value.tv_sec = target;
	if (timerfd_settime(fd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &its, NULL) < 0)
		return printf("FAIL settime: %s\n", strerror(errno)), 1;
	printf("open t %d\n", fd);
	return serve_verify("fdf_timer", verify);
}
