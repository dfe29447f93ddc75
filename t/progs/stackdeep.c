/* stackdeep - a program whose main stack grows on demand, deep.
 *
 * usage: stackdeep KIB
 *
 * Prints "pid N", "stack START-END" (its [stack] in /proc/self/maps,
 * hex) and "ready stackdeep", then sleeps.  SIGUSR1: recurse KIB KiB
 * deep on the main stack, each frame a 4 KiB array of a pattern, check
 * every frame's pattern on the way back, then say "verify ok stack
 * START-END" (the [stack] now, grown to cover the recursion), or "FAIL
 * ..." and exit 1 if it did not grow that far.  SIGTERM: "done ok". */
#include <sys/mman.h>

#include "prog.h"

/* the [stack] line of /proc/self/maps: 0, or -1 */
static int stack_range(unsigned long *start, unsigned long *end)
{
	char line[512];
	FILE *f = fopen("/proc/self/maps", "re");
	int found = -1;

	while (f && found < 0 && fgets(line, sizeof line, f))
		if (strstr(line, "[stack]") && sscanf(line, "%lx-%lx", start, end) == 2)
			found = 0;
	if (f)
		fclose(f);
	return found;
}

/* n more frames of 4 KiB below this one: the number of frames whose
 * pattern was wrong */
static int __attribute__((noinline)) deep(int n)
{
	volatile unsigned char frame[4096];
	int bad = 0, i;

	for (i = 0; i < (int)sizeof frame; i++)
		frame[i] = (unsigned char)(n * 7 + i);
	if (n > 1)
		bad = deep(n - 1);
	for (i = 0; i < (int)sizeof frame; i++)
		if (frame[i] != (unsigned char)(n * 7 + i))
			return bad + 1;
	return bad;
}

int main(int argc, char **argv)
{
	unsigned long s0, e0, s, e;
	long kib = argc == 2 ? atol(argv[1]) : 0;

	if (kib <= 0) {
		fprintf(stderr, "usage: stackdeep KIB\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (stack_range(&s0, &e0) < 0)
		return printf("FAIL no [stack] in /proc/self/maps\n"), 1;
	printf("pid %d\nstack %lx-%lx\nready stackdeep\n", (int)getpid(), s0, e0);
	signals_init();
	for (;;) {
		wait_request();
		if (want_exit)
			break;
		if (deep((int)(kib / 4)))
			return printf("FAIL a frame lost its pattern\n"), 1;
		if (stack_range(&s, &e) < 0 || e - s < (unsigned long)kib * 1024)
			return printf("FAIL the stack did not grow to %ld KiB\n", kib), 1;
		printf("verify ok stack %lx-%lx\n", s, e);
		want_verify = 0;
	}
	printf("done ok\n");
	return 0;
}
