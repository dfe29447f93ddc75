/* rseqmine - threads that registered rseq areas of their own.
 *
 * usage: rseqmine
 *
 * Meant to run with GLIBC_TUNABLES=glibc.pthread.rseq=0 (glibc then
 * registers none); a thread that has one of glibc's unregisters it
 * first.  The main thread and a second thread each register an area of
 * their own (static, aligned), then it prints "pid N", "area main
 * 0xADDR", "area thread 0xADDR", "ready rseqmine".  SIGUSR1 or SIGTERM:
 * in each thread, check that its own area is the registered one: its
 * cpu_id is a CPU (not -1, unregistered, nor -2) and unregistering it
 * with the same address, length and signature succeeds (then it is
 * registered again): "verify ok" (or "done ok"), else "FAIL ..." and
 * exit 1.
 */
#include <pthread.h>
#include <sys/rseq.h>
#include <sys/syscall.h>

#include "prog.h"

static struct rseq areas[2] __attribute__((aligned(32)));
static int req[2], rep[2];

static long rseq_call(struct rseq *area, int flags)
{
	return syscall(SYS_rseq, area, 32, flags, RSEQ_SIG) < 0 ? -errno : 0;
}

/* glibc's area out of the way, if it registered one, and ours in */
static int own_register(struct rseq *area)
{
	char *glibc = (char *)__builtin_thread_pointer() + __rseq_offset;
	static const unsigned lens[] = { 32, 64, 128 };
	unsigned i;

	for (i = 0; __rseq_size && i < sizeof lens / sizeof *lens; i++)
		if (syscall(SYS_rseq, glibc, lens[i], RSEQ_FLAG_UNREGISTER, RSEQ_SIG) == 0)
			break;
	return rseq_call(area, 0) < 0 ? -1 : 0;
}

/* "" when area is this thread's registration, else why not */
static const char *own_check(struct rseq *area)
{
	static char why[96];
	int cpu = (int)*(volatile int32_t *)&area->cpu_id;
	long e;

	if (cpu < 0)
		return snprintf(why, sizeof why, "cpu_id %d", cpu), why;
	if ((e = rseq_call(area, RSEQ_FLAG_UNREGISTER)) < 0)
		return snprintf(why, sizeof why, "unregister: %ld", e), why;
	if ((e = rseq_call(area, 0)) < 0)
		return snprintf(why, sizeof why, "register again: %ld", e), why;
	return "";
}

static void *thread_main(void *arg)
{
	const char *why;
	char b;

	(void)arg;
	why = own_register(&areas[1]) < 0 ? "cannot register" : "";
	if (write(rep[1], why, strlen(why) + 1) < 0)
		return NULL;
	while (read(req[0], &b, 1) == 1) {
		why = own_check(&areas[1]);
		if (write(rep[1], why, strlen(why) + 1) < 0)
			break;
	}
	return NULL;
}

/* the second thread's word: "" or why not */
static int thread_says(const char *what)
{
	char why[96];

	if (read(rep[0], why, sizeof why) <= 0)
		return printf("FAIL %s: the second thread does not answer\n", what), -1;
	if (why[0])
		return printf("FAIL %s: the second thread: %s\n", what, why), -1;
	return 0;
}

static int verify(void)
{
	const char *why = own_check(&areas[0]);

	if (why[0])
		return printf("FAIL main thread: %s\n", why), -1;
	if (write(req[1], "c", 1) != 1)
		return printf("FAIL write\n"), -1;
	return thread_says("verify");
}

int main(void)
{
	pthread_t th;

	if (pipe(req) < 0 || pipe(rep) < 0 || own_register(&areas[0]) < 0)
		return printf("FAIL cannot register the main thread's own area\n"), 1;
	if (pthread_create(&th, NULL, thread_main, NULL) || thread_says("start") < 0)
		return 1;
	printf("area main %p\narea thread %p\n", (void *)&areas[0], (void *)&areas[1]);
	if (verify() < 0)
		return 1;
	return serve_verify("rseqmine", verify);
}
