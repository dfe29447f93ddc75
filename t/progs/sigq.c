/* sigq - signals queued and blocked, each with its siginfo.
 *
 * usage: sigq
 *
 * Every thread blocks SIGRTMIN+2, +3, +4 and SIGUSR2.  Queued to the
 * process: SIGRTMIN+2 three times by sigqueue (values 101, 102, 103),
 * then once by a child process (value 104, the child's pid), and
 * SIGUSR2 by the child with kill (SI_USER, its pid and uid).  Queued
 * to the main thread: SIGRTMIN+4 by tgkill (SI_TKILL).  Queued to a
 * second thread: SIGRTMIN+3 twice by pthread_sigqueue (values 201,
 * 202).  Prints "pid N", "ready sigq".  SIGUSR1 or SIGTERM: each
 * thread takes its pending signals (sigtimedwait, nothing waits),
 * checks each siginfo and count, prints one line ("sigq process ...",
 * "sigq main ...", "sigq thread ..."), and queues them again as they
 * were, so a next check finds them; "verify ok" (or "done ok"), else
 * "FAIL ..." and exit 1.
 */
#include <pthread.h>
#include <sys/syscall.h>

#include "prog.h"

#define RT_PROC (SIGRTMIN + 2)
#define RT_THREAD (SIGRTMIN + 3)
#define RT_TKILL (SIGRTMIN + 4)
#define MAXQ 16

static pid_t child;
static int tkill_code = 1;   /* what tgkill gave, at the first check */
static int req[2], rep[2];   /* to the second thread and back */

static void blocked_set(sigset_t *s)
{
	sigemptyset(s);
	sigaddset(s, RT_PROC);
	sigaddset(s, RT_THREAD);
	sigaddset(s, RT_TKILL);
	sigaddset(s, SIGUSR2);
}

/* every signal of set the thread has pending, taken: their count */
static int take(const sigset_t *set, siginfo_t *v)
{
	struct timespec zero = { 0, 0 };
	int n = 0;

	while (n < MAXQ && sigtimedwait(set, &v[n], &zero) > 0)
		n++;
	return n;
}

/* queued again as it was: the kernel lets a thread queue any siginfo
 * to itself (and the main thread to its process) */
static void requeue(const siginfo_t *v, int n, int to_thread)
{
	int i;

	for (i = 0; i < n; i++)
		if (to_thread)
			syscall(SYS_rt_tgsigqueueinfo, getpid(), gettid(), v[i].si_signo, &v[i]);
		else
			syscall(SYS_rt_sigqueueinfo, getpid(), v[i].si_signo, &v[i]);
}

static int value_is(const siginfo_t *s, int sig, int code, pid_t pid, int value)
{
	return s->si_signo == sig && s->si_code == code && s->si_pid == pid &&
	       s->si_uid == getuid() && s->si_value.sival_int == value;
}

/* the second thread's own queue: SIGRTMIN+3 twice */
static const char *thread_check(void)
{
	static char line[128];
	siginfo_t v[MAXQ];
	sigset_t set;
	int n;

	sigemptyset(&set);
	sigaddset(&set, RT_THREAD);
	n = take(&set, v);
	if (n != 2 || !value_is(&v[0], RT_THREAD, SI_QUEUE, getpid(), 201) ||
	    !value_is(&v[1], RT_THREAD, SI_QUEUE, getpid(), 202))
		snprintf(line, sizeof line, "FAIL thread: %d signals, first code %d value %d", n,
			 n ? v[0].si_code : 0, n ? v[0].si_value.sival_int : 0);
	else
		snprintf(line, sizeof line, "sigq thread rt+3 values=201,202");
	requeue(v, n, 1);
	return line;
}

static void *thread_main(void *arg)
{
	const char *line;
	char b;

	(void)arg;
	while (read(req[0], &b, 1) == 1) {
		line = thread_check();
		if (write(rep[1], line, strlen(line) + 1) < 0)
			break;
	}
	return NULL;
}

/* the process's queue and the main thread's: 0, or -1 after FAIL */
static int main_check(void)
{
	siginfo_t v[MAXQ], t[MAXQ];
	sigset_t set, tk;
	int n, k, ok;

	sigemptyset(&tk);
	sigaddset(&tk, RT_TKILL);
	k = take(&tk, t);
	blocked_set(&set);
	n = take(&set, v);
	if (k == 1 && tkill_code == 1)
		tkill_code = t[0].si_code;   /* SI_USER on 6.18, SI_TKILL before */
	ok = k == 1 && t[0].si_code == tkill_code && t[0].si_pid == getpid() && n == 5 &&
	     value_is(&v[0], SIGUSR2, SI_USER, child, 0) && v[0].si_code == SI_USER &&
	     value_is(&v[1], RT_PROC, SI_QUEUE, getpid(), 101) &&
	     value_is(&v[2], RT_PROC, SI_QUEUE, getpid(), 102) &&
	     value_is(&v[3], RT_PROC, SI_QUEUE, getpid(), 103) &&
	     value_is(&v[4], RT_PROC, SI_QUEUE, child, 104);
	requeue(t, k, 1);
	requeue(v, n, 0);
	if (!ok)
		return printf("FAIL process: %d and %d signals, first %d code %d pid %d\n", n, k,
			      n ? v[0].si_signo : 0, n ? v[0].si_code : 0, n ? (int)v[0].si_pid : 0), -1;
	printf("sigq process usr2=kill:child rt+2 values=101,102,103,104:child\n");
	printf("sigq main rt+4=tkill code=%d\n", tkill_code);
	return 0;
}

static int verify(void)
{
	char line[128];
	ssize_t n;

	if (main_check() < 0)
		return -1;
	if (write(req[1], "c", 1) != 1 || (n = read(rep[0], line, sizeof line)) <= 0)
		return printf("FAIL the second thread does not answer\n"), -1;
	printf("%s\n", line);
	return strncmp(line, "FAIL", 4) ? 0 : -1;
}

/* the child queues one value and sends SIGUSR2 with kill, then ends */
static int child_send(void)
{
	union sigval val = { .sival_int = 104 };
	int st;

	if ((child = fork()) == 0) {
		kill(getppid(), SIGUSR2);
		sigqueue(getppid(), RT_PROC, val);
		_exit(0);
	}
	if (child < 0 || waitpid(child, &st, 0) != child || st != 0)
		return printf("FAIL child\n"), -1;
	return 0;
}

int main(void)
{
	union sigval val;
	pthread_t th;
	sigset_t set;
	int i;

	blocked_set(&set);
	sigprocmask(SIG_BLOCK, &set, NULL);
	if (pipe(req) < 0 || pipe(rep) < 0 || pthread_create(&th, NULL, thread_main, NULL))
		return printf("FAIL setup\n"), 1;
	for (i = 0; i < 3; i++) {
		val.sival_int = 101 + i;
		sigqueue(getpid(), RT_PROC, val);
	}
	for (i = 0; i < 2; i++) {
		val.sival_int = 201 + i;
		pthread_sigqueue(th, RT_THREAD, val);
	}
	syscall(SYS_tgkill, getpid(), gettid(), RT_TKILL);
	if (child_send() < 0 || verify() < 0)
		return 1;
	fflush(stdout);
	return serve_verify("sigq", verify);
}
