/* stackdeep - a program whose main stack grows on demand, deep.
 *
 * usage: stackdeep [-g] KIB
 *
 * Prints "pid N", "stack START-END" (its [stack] in /proc/self/maps,
 * hex) and "ready stackdeep", then sleeps.  SIGUSR1: recurse KIB KiB
 * deep on the main stack, each frame a 4 KiB array of a pattern, check
 * every frame's pattern on the way back, then say "verify ok stack
 * START-END" (the [stack] now, grown to cover the recursion), or "FAIL
 * ..." and exit 1 if it did not grow that far.  SIGTERM: "done ok".
 * -g: also a region of its own, 64 KiB mapped MAP_GROWSDOWN with 16 MiB
 * free below ("gd START-END" before "ready"), its top page a pattern;
 * each SIGUSR1 then writes one byte a page down to KIB KiB below its
 * start, as a stack of its own would, and checks the pattern (a region
 * that does not grow dies of SIGSEGV). */
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

#define GD_SIZE (64 << 10)

/* the -g region: GD_SIZE of MAP_GROWSDOWN at the top of 16 MiB found
 * free, its top page a pattern; NULL when it cannot be made */
static char *gd_make(void)
{
	char *free16 = mmap(NULL, (16 << 20) + GD_SIZE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *gd;

	if (free16 == MAP_FAILED)
		return NULL;
	munmap(free16, (16 << 20) + GD_SIZE);
	gd = mmap(free16 + (16 << 20), GD_SIZE, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS | MAP_GROWSDOWN | MAP_FIXED_NOREPLACE, -1, 0);
	if (gd == MAP_FAILED)
		return NULL;
	for (int i = 0; i < 4096; i++)
		gd[GD_SIZE - 4096 + i] = (char)(i * 13 + 1);
	return gd;
}

/* a byte a page down from gd to kib KiB below it, then the pattern:
 * 0, or -1 */
static int gd_grow(char *gd, long kib)
{
	volatile char *p;

	for (p = gd - 1; p >= gd - kib * 1024; p -= 4096)
		*p = 1;
	for (int i = 0; i < 4096; i++)
		if (gd[GD_SIZE - 4096 + i] != (char)(i * 13 + 1))
			return -1;
	return 0;
}

int main(int argc, char **argv)
{
	unsigned long s0, e0, s, e;
	int g = argc == 3 && !strcmp(argv[1], "-g");
	long kib = argc == 2 + g ? atol(argv[1 + g]) : 0;
	char *gd = NULL;

	if (kib <= 0 || kib > 8192) {
		fprintf(stderr, "usage: stackdeep [-g] KIB\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (stack_range(&s0, &e0) < 0)
		return printf("FAIL no [stack] in /proc/self/maps\n"), 1;
	if (g && !(gd = gd_make()))
		return printf("FAIL no MAP_GROWSDOWN region: errno %d\n", errno), 1;
	printf("pid %d\nstack %lx-%lx\n", (int)getpid(), s0, e0);
	if (gd)
		printf("gd %lx-%lx\n", (unsigned long)gd, (unsigned long)gd + GD_SIZE);
	printf("ready stackdeep\n");
	signals_init();
	for (;;) {
		wait_request();
		if (want_exit)
			break;
		if (deep((int)(kib / 4)))
			return printf("FAIL a frame lost its pattern\n"), 1;
		if (stack_range(&s, &e) < 0 || e - s < (unsigned long)kib * 1024)
			return printf("FAIL the stack did not grow to %ld KiB\n", kib), 1;
		if (gd && gd_grow(gd, kib) < 0)
			return printf("FAIL the gd region lost its pattern\n"), 1;
		printf("verify ok stack %lx-%lx\n", s, e);
		want_verify = 0;
	}
	printf("done ok\n");
	return 0;
}
