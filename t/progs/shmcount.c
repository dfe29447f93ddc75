/* shmcount - a parent and its child counting in one shared page, each
 * checking that it sees the other's writes.
 *
 * usage: shmcount anon|memfd|memfdopen|sysv|sysvro|sysvpart|sysvkey|file:PATH|unlinked:PATH
 *
 * The page is MAP_SHARED|MAP_ANONYMOUS, a memfd mapped MAP_SHARED (the
 * fd closed; memfdopen: kept open, "memfd fd N" says which), or a SysV
 * segment (shmget/shmat, IPC_RMID at once: it lives while attached;
 * 4000 bytes, mode 0640; sysvro: 0440, for root; sysvpart: 2 pages, the second unmapped
 * after shmat).  sysvkey: a SysV segment with a key, not
 * removed (it outlives the program: "shmid N" says which, for the
 * caller to remove).  file:PATH: the file PATH (made, one page, kept),
 * mapped MAP_SHARED; unlinked:PATH: the same, removed once mapped.  The parent forks after mapping it, so both
 * use the same address.  Each side, every 5 ms: counts its own tick in
 * the page, echoes the other side's token, and checks that the other's
 * count has moved within its own last 1000 ticks.  Prints "pid P",
 * "child C", "region shared 0xADDR 1", "ready shmcount kind=K".
 * SIGUSR1 (to either): write a new token, wait (5 s at most) for the
 * other side to echo it, and print "verify ok parent|child mine=N
 * other=M".  SIGTERM to the parent: it passes SIGTERM on to the child,
 * reaps it, and says "done ok parent=N child=M" when the child exited
 * 0.  Any check that fails: "FAIL parent|child ...", exit 1. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "prog.h"

#define PAGE 4096
#define STALL_TICKS 1000
#define SYSV_SIZE 4000

struct shared {
	volatile uint64_t count[2];     /* [0] the parent's, [1] the child's */
	volatile uint64_t token[2];     /* written by the side */
	volatile uint64_t echo[2];      /* the other side's token, echoed */
};

static const char *who[2] = { "parent", "child" };

static struct shared *map_shared(const char *kind)
{
	void *p = MAP_FAILED;

	if (strcmp(kind, "anon") == 0) {
		p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	} else if (strcmp(kind, "memfd") == 0 || strcmp(kind, "memfdopen") == 0) {
		int fd = memfd_create("shmcount", 0);
		if (fd < 0 || ftruncate(fd, PAGE) < 0)
			return perror("shmcount: memfd"), NULL;
		p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (strcmp(kind, "memfd") == 0)
			close(fd);
		else
			printf("memfd fd %d\n", fd);
	} else if (strcmp(kind, "sysvpart") == 0) {
		/* two pages attached, the second unmapped again */
		int id = shmget(IPC_PRIVATE, 2 * PAGE, IPC_CREAT | IPC_EXCL | 0600);
		if (id < 0 || (p = shmat(id, NULL, 0)) == (void *)-1)
			return perror("shmcount: shmget"), NULL;
		shmctl(id, IPC_RMID, NULL);
		munmap((char *)p + PAGE, PAGE);
	} else if (!strcmp(kind, "sysv") || !strcmp(kind, "sysvkey") || !strcmp(kind, "sysvro")) {
		int keep = strcmp(kind, "sysvkey") == 0;
		/* not a whole page, and group-readable (sysvro: read-only
		 * even to its owner, whom only root's CAP_IPC_OWNER lets
		 * attach it to write): a restore gives both back */
		int id = shmget(keep ? (key_t)getpid() : IPC_PRIVATE, SYSV_SIZE,
				IPC_CREAT | IPC_EXCL | (strcmp(kind, "sysvro") ? 0640 : 0440));
		if (id < 0)
			return perror("shmcount: shmget"), NULL;
		if (keep)
			printf("shmid %d\n", id);
		p = shmat(id, NULL, 0);
		if (!keep)
			shmctl(id, IPC_RMID, NULL);
		if (p == (void *)-1)
			p = MAP_FAILED;
	} else if (strncmp(kind, "file:", 5) == 0 || strncmp(kind, "unlinked:", 9) == 0) {
		const char *path = strchr(kind, ':') + 1;
		int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
		if (fd < 0 || ftruncate(fd, PAGE) < 0)
			return perror("shmcount: file"), NULL;
		p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		close(fd);
		if (kind[0] == 'u')
			unlink(path);
	} else {
		return NULL;
	}
	if (p == MAP_FAILED)
		return perror("shmcount: map"), NULL;
	return p;
}

/* one tick of side s: count, echo, and see the other one move */
static void tick(struct shared *sh, int s, uint64_t *seen, uint64_t *stall)
{
	sh->count[s]++;
	sh->echo[s] = sh->token[!s];
	if (sh->count[!s] != *seen) {
		*seen = sh->count[!s];
		*stall = 0;
	} else if (++*stall >= STALL_TICKS) {
		printf("FAIL %s: the %s's count stays at %" PRIu64 " for %d ticks\n", who[s],
		       who[!s], *seen, STALL_TICKS);
		exit(1);
	}
}

/* a new token, echoed by the other side within 5 s */
static void verify(struct shared *sh, int s)
{
	uint64_t t = ((uint64_t)getpid() << 32) | (sh->count[s] + 1);
	uint64_t seen = sh->count[!s], stall = 0;

	want_verify = 0;
	sh->token[s] = t;
	for (int i = 0; i < 1000 && sh->echo[!s] != t; i++) {
		tick(sh, s, &seen, &stall);
		nap_ms(5);
	}
	if (sh->echo[!s] != t) {
		printf("FAIL %s: the %s does not echo token 0x%" PRIx64 " (it echoes 0x%" PRIx64 ")\n",
		       who[s], who[!s], t, sh->echo[!s]);
		exit(1);
	}
	printf("verify ok %s mine=%" PRIu64 " other=%" PRIu64 "\n", who[s], sh->count[s],
	       sh->count[!s]);
}

static void count(struct shared *sh, int s)
{
	uint64_t seen = sh->count[!s], stall = 0;

	while (!want_exit) {
		if (want_verify)
			verify(sh, s);
		tick(sh, s, &seen, &stall);
		nap_ms(5);
	}
}

int main(int argc, char **argv)
{
	struct shared *sh;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc != 2 || !(sh = map_shared(argv[1]))) {
		fprintf(stderr, "usage: shmcount anon|memfd|memfdopen|sysv|sysvro|sysvpart|sysvkey|file:PATH|unlinked:PATH\n");
		return 2;
	}
	signals_init();
	pid_t c = fork();
	if (c < 0)
		return perror("fork"), 1;
	if (c == 0) {
		count(sh, 1);
		return 0;
	}
	printf("pid %d\nchild %d\nregion shared %p 1\nready shmcount kind=%s\n", (int)getpid(),
	       (int)c, (void *)sh, argv[1]);
	count(sh, 0);
	if (stop_child(c) < 0)
		return 1;
	printf("done ok parent=%" PRIu64 " child=%" PRIu64 "\n", sh->count[0], sh->count[1]);
	return 0;
}
