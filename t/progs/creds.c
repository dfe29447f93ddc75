/* creds - credentials a restore must bring back exactly, per thread.
 *
 * usage: creds MODE      (run as root)
 *
 * MODE sets the state, in every thread unless said:
 *   none     no capabilities at all: the five sets empty
 *   caps     some: permitted {kill, net_bind_service}, effective
 *            {net_bind_service}, inheritable both, ambient
 *            {net_bind_service}, bounding both; securebits NOROOT and
 *            KEEP_CAPS
 *   nnp      no_new_privs set (capabilities left as they are)
 *   groups   uid 0 with the supplementary groups 4 24 100 1234
 *   threads  two more threads with their own credentials, set with
 *            raw syscalls (which, unlike glibc's, act on one thread):
 *            one takes uid 4321 gid 1234, one keeps only kill in its
 *            effective set; the main thread stays as it was
 * Then prints "pid N", one "creds TID ..." line per thread (its Uid,
 * Gid, Groups, Cap*, NoNewPrivs and securebits), and "ready creds".
 * SIGUSR1: every thread reads its own credentials again and compares;
 * prints "verify ok" or "FAIL TID KEY: now ..., was ...".  SIGTERM:
 * the same, then "done ok" and exit 0.
 */
#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "prog.h"

#define NT 3                    /* threads: main and two workers */
#define KEYS 10

static const char *const keys[KEYS] = {
	"Uid", "Gid", "Groups", "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb",
	"NoNewPrivs", "Seccomp",
};

struct rec {
	pid_t tid;
	char v[KEYS + 1][256];  /* the status values, then securebits */
};

static struct rec was[NT], now[NT];
static volatile int gen = 1, done[NT];  /* done: 1 after setup, then gen */
static int nthreads = 1;

static void die(const char *what)
{
	printf("FAIL setup %s: %s\n", what, strerror(errno));
	exit(1);
}

/* this thread's credentials, as the kernel shows them */
static void creds_read(struct rec *r)
{
	char path[64], line[512];
	FILE *f;
	int k;

	r->tid = syscall(SYS_gettid);
	snprintf(path, sizeof path, "/proc/self/task/%d/status", (int)r->tid);
	if (!(f = fopen(path, "r")))
		die(path);
	while (fgets(line, sizeof line, f))
		for (k = 0; k < KEYS; k++)
			if (!strncmp(line, keys[k], strlen(keys[k])) && line[strlen(keys[k])] == ':')
				snprintf(r->v[k], sizeof r->v[k], "%s",
					 line + strlen(keys[k]) + 1 + strspn(line + strlen(keys[k]) + 1, "\t "));
	fclose(f);
	snprintf(r->v[KEYS], sizeof r->v[KEYS], "%d\n", prctl(PR_GET_SECUREBITS));
}

static void caps_set(uint64_t eff, uint64_t prm, uint64_t inh)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2] = {
		{ (uint32_t)eff, (uint32_t)prm, (uint32_t)inh },
		{ (uint32_t)(eff >> 32), (uint32_t)(prm >> 32), (uint32_t)(inh >> 32) },
	};

	if (syscall(SYS_capset, &h, d) < 0)
		die("capset");
}

static uint64_t permitted(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d) < 0)
		die("capget");
	return d[0].permitted | (uint64_t)d[1].permitted << 32;
}

static void bounding_keep(uint64_t keep)
{
	int c;

	for (c = 0; c < 64; c++)
		if (!(keep >> c & 1) && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
			die("PR_CAPBSET_DROP");
}

#define BIT(c) (1ULL << (c))

static void mode_caps(int none)
{
	uint64_t two = BIT(CAP_KILL) | BIT(CAP_NET_BIND_SERVICE);

	if (none) {
		bounding_keep(0);
		caps_set(0, 0, 0);
		return;
	}
	if (prctl(PR_SET_SECUREBITS, SECBIT_NOROOT | SECBIT_KEEP_CAPS) < 0)
		die("PR_SET_SECUREBITS");
	caps_set(permitted(), permitted(), two);
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_BIND_SERVICE, 0, 0) < 0)
		die("PR_CAP_AMBIENT_RAISE");
	bounding_keep(two);
	caps_set(BIT(CAP_NET_BIND_SERVICE), two, two);
}

/* a worker: its own credentials, then a check each time gen moves */
static void *worker(void *arg)
{
	long i = (long)arg;
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	int seen = 1;

	if (i == 1 && (syscall(SYS_setresgid, 1234, 1234, 1234) < 0 ||
		       syscall(SYS_setresuid, 4321, 4321, 4321) < 0))
		die("setresuid in a thread");
	if (i == 2)
		caps_set(BIT(CAP_KILL), permitted(), 0);
	creds_read(&was[i]);
	__atomic_store_n(&done[i], 1, __ATOMIC_RELEASE);
	for (;;) {
		while (__atomic_load_n(&gen, __ATOMIC_ACQUIRE) == seen)
			nanosleep(&ts, NULL);
		seen = gen;
		creds_read(&now[i]);
		__atomic_store_n(&done[i], seen, __ATOMIC_RELEASE);
	}
	return NULL;
}

static void threads_start(void)
{
	pthread_t t;
	long i;

	for (i = 1; i < NT; i++) {
		if (pthread_create(&t, NULL, worker, (void *)i))
			die("pthread_create");
		while (!__atomic_load_n(&done[i], __ATOMIC_ACQUIRE))
			usleep(1000);
	}
	nthreads = NT;
}

static void setup(const char *mode)
{
	static const gid_t groups[] = { 4, 24, 100, 1234 };

	if (!strcmp(mode, "none") || !strcmp(mode, "caps"))
		mode_caps(!strcmp(mode, "none"));
	else if (!strcmp(mode, "nnp")) {
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
			die("PR_SET_NO_NEW_PRIVS");
	} else if (!strcmp(mode, "groups")) {
		if (setgroups(4, groups) < 0)
			die("setgroups");
	} else if (!strcmp(mode, "threads")) {
		threads_start();
	} else {
		fprintf(stderr, "creds: unknown mode %s\n", mode);
		exit(2);
	}
	creds_read(&was[0]);
}

/* every thread reads its credentials again; 0 when all are the same */
static int check(void)
{
	int i, k, bad = 0, g = __atomic_add_fetch(&gen, 1, __ATOMIC_SEQ_CST);

	creds_read(&now[0]);
	for (i = 1; i < nthreads; i++)
		while (__atomic_load_n(&done[i], __ATOMIC_ACQUIRE) != g)
			usleep(1000);
	for (i = 0; i < nthreads; i++)
		for (k = 0; k <= KEYS; k++)
			if (strcmp(was[i].v[k], now[i].v[k]) || was[i].tid != now[i].tid) {
				printf("FAIL %d %s: now %.*s, was %s", (int)was[i].tid,
				       k < KEYS ? keys[k] : "securebits",
				       (int)strlen(now[i].v[k]) - 1, now[i].v[k], was[i].v[k]);
				bad = 1;
			}
	fflush(stdout);
	return bad;
}

int main(int argc, char **argv)
{
	int i;

	if (argc != 2) {
		fprintf(stderr, "usage: creds none|caps|nnp|groups|threads\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	signals_init();
	setup(argv[1]);
	printf("pid %d\n", (int)getpid());
	for (i = 0; i < nthreads; i++)
		printf("creds %d uid %.*s caps %.*s securebits %s", (int)was[i].tid,
		       (int)strlen(was[i].v[0]) - 1, was[i].v[0],
		       (int)strlen(was[i].v[5]) - 1, was[i].v[5], was[i].v[KEYS]);
	printf("ready creds\n");
	for (;;) {
		wait_request();
		if (check())
			return 1;
		if (verified())
			return 0;
	}
}
