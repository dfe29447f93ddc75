/* shmalias - shared memory seen through two addresses at once: a memfd
 * mapped twice, and shared anonymous memory (MAP_SHARED|MAP_ANONYMOUS)
 * given a second view by mremap(old_size 0).
 *
 * usage: shmalias
 *
 * Each object is 4 pages; view a maps all of it, view b its pages 1..3
 * (offset 4096), so b[i] is a[i + 1024] as ints.  Before ready, each
 * page gets a value written through a, and a page touched only through
 * b.  Prints "pid N", "region memfd-a 0xADDR 4" (likewise memfd-b,
 * anon-a, anon-b), "ready shmalias".  SIGUSR1: check each view sees
 * the other's values, then write a new value through one view and read
 * it through the other: "verify ok", or "FAIL view b sees X, a wrote
 * Y".  SIGTERM: the same, "done ok", exit 0. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "prog.h"

#define PAGE 4096
#define WORDS (PAGE / sizeof(int))

struct obj {
	const char *name;
	int *a, *b;            /* b = the object from offset PAGE on */
};

static struct obj objs[2] = { { "memfd", 0, 0 }, { "anon", 0, 0 } };
static int round_no;

static void memfd_views(struct obj *o)
{
	int fd = memfd_create("shmalias", 0);

	if (fd < 0 || ftruncate(fd, 4 * PAGE) < 0)
		perror("shmalias: memfd"), exit(1);
	o->a = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	o->b = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, PAGE);
	if (o->a == MAP_FAILED || o->b == MAP_FAILED)
		perror("shmalias: mmap memfd"), exit(1);
	close(fd);
}

static void anon_views(struct obj *o)
{
	o->a = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (o->a == MAP_FAILED)
		perror("shmalias: mmap anon"), exit(1);
	o->b = mremap((char *)o->a + PAGE, 0, 3 * PAGE, MREMAP_MAYMOVE);
	if (o->b == MAP_FAILED)
		perror("shmalias: mremap"), exit(1);
}

/* every page holds its page number + 100 * k in its first word, and
 * page 3 was written through b only */
static void fill(struct obj *o, int k)
{
	int p;

	for (p = 0; p < 3; p++)
		o->a[p * WORDS] = p + 100 * k;
	o->b[2 * WORDS] = 3 + 100 * k;
}

static int check(struct obj *o, int k)
{
	int p, v;

	for (p = 0; p < 4; p++) {
		v = o->a[p * WORDS];
		if (v != p + 100 * k)
			return printf("FAIL %s: view a page %d holds %d, want %d\n", o->name, p, v,
				      p + 100 * k), -1;
		if (p && o->b[(p - 1) * WORDS] != v)
			return printf("FAIL %s: view b sees %d, a wrote %d\n", o->name,
				      o->b[(p - 1) * WORDS], v), -1;
	}
	return 0;
}

/* what was there, then a new value through a (and b) read back */
static int verify(void)
{
	int i;

	for (i = 0; i < 2; i++)
		if (check(&objs[i], round_no) < 0)
			return -1;
	round_no++;
	for (i = 0; i < 2; i++) {
		fill(&objs[i], round_no);
		if (check(&objs[i], round_no) < 0)
			return -1;
	}
	return 0;
}

int main(void)
{
	int i;

	memfd_views(&objs[0]);
	anon_views(&objs[1]);
	for (i = 0; i < 2; i++) {
		fill(&objs[i], 0);
		printf("region %s-a %p 4\nregion %s-b %p 3\n", objs[i].name, (void *)objs[i].a,
		       objs[i].name, (void *)objs[i].b);
	}
	return serve_verify("shmalias", verify);
}
