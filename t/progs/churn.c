/* churn - MIB MiB of present, incompressible memory, of which a part
 * is rewritten on demand: the program of bench/incremental.
 *
 * usage: churn MIB
 *
 * Fills MIB MiB of anonymous memory with a pseudo-random stream and
 * prints "ready churn pid=P mib=M".  SIGUSR1: rewrites 256 pages (1
 * MiB) chosen at random with new random bytes, prints "changed N" (N
 * counts the SIGUSR1s).  SIGTERM: exit 0.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "prog.h"

#define PG 4096

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void fill(uint64_t *w, size_t n, uint64_t *s)
{
	for (size_t i = 0; i < n; i++)
		w[i] = rnd(s);
}

int main(int argc, char **argv)
{
	size_t mib = argc == 2 ? strtoul(argv[1], NULL, 10) : 0, pages, i;
	uint64_t seed = 0x9e3779b97f4a7c15ull, *mem;
	int changes = 0;

	if (!mib) {
		fprintf(stderr, "usage: churn MIB\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	signals_init();
	pages = mib << 8;
	mem = mmap(NULL, pages * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return perror("mmap"), 1;
	fill(mem, pages * PG / 8, &seed);
	printf("pid %d\nready churn pid=%d mib=%zu\n", (int)getpid(), (int)getpid(), mib);
	while (!want_exit) {
		pause();
		if (!want_verify)
			continue;
		want_verify = 0;
		for (i = 0; i < 256; i++)
			fill(mem + rnd(&seed) % pages * (PG / 8), PG / 8, &seed);
		printf("changed %d\n", ++changes);
	}
	return 0;
}
