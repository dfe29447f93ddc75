/* pattern - memory whose pages a test can look for in an image.
 *
 * usage: pattern DIR
 *
 * Maps four regions and prints each as "region NAME 0xADDR PAGES":
 *   filled     16 anonymous pages; pages 0-3 and 8-11 written with a
 *              pattern (a copy of all 16 pages, holes as zeros, goes to
 *              DIR/filled.bin), the others never touched
 *   untouched  8 anonymous pages never touched
 *   zero       8 anonymous pages only read (the kernel maps its zero
 *              page: present, but nothing to store)
 *   file       DIR/file.bin (4 pages of 'F') mapped private and
 *              writable; page 1 written (copy in DIR/dirty.bin), pages
 *              0 and 2 read, page 3 untouched
 * then "ready pattern pid=N" and waits.  SIGUSR1: check every region
 * (pattern, zeros, file bytes), print "verify ok" and go on.  SIGTERM:
 * the same, then exit 0.  Any mismatch: "FAIL ..." and exit 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "prog.h"

#define PG 4096
#define FILLED_PAGES 16
#define SMALL_PAGES 8
#define FILE_PAGES 4


static int page_is_filled(int p)
{
	return (p >= 0 && p <= 3) || (p >= 8 && p <= 11);
}

/* "PATTpppp" + word index: unique per word, never zero */
static void fill_page(uint64_t *w, int p)
{
	for (int i = 0; i < PG / 8; i++)
		w[i] = 0x5041545400000000ull | (uint64_t)p << 16 | (uint64_t)i;
}

static void *map_anon(size_t pages)
{
	void *p = mmap(NULL, pages * PG, PROT_READ | PROT_WRITE,
	               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	return p;
}

static void write_file(const char *dir, const char *name, const void *buf, size_t n)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, buf, n) != (ssize_t)n || close(fd) < 0) {
		perror(path);
		exit(1);
	}
}

static char *map_file(const char *dir)
{
	static char f[FILE_PAGES * PG];
	char path[4096];

	memset(f, 'F', sizeof f);
	write_file(dir, "file.bin", f, sizeof f);
	snprintf(path, sizeof path, "%s/file.bin", dir);
	int fd = open(path, O_RDONLY);
	if (fd < 0) {
		perror(path);
		exit(1);
	}
	char *m = mmap(NULL, sizeof f, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (m == MAP_FAILED) {
		perror("mmap file");
		exit(1);
	}
	close(fd);
	return m;
}

static void expect(const char *region, const char *base, int page,
                   const void *want)
{
	if (memcmp(base + page * PG, want, PG) != 0) {
		printf("FAIL %s page %d at %p differs\n", region, page,
		       (void *)(base + page * PG));
		exit(1);
	}
}

static void verify(const char *filled, const char *untouched,
                   const char *zero, const char *file)
{
	static char want[PG], zeros[PG], ef[PG], dirty[PG];

	memset(ef, 'F', PG);
	memset(dirty, 'D', PG);
	for (int p = 0; p < FILLED_PAGES; p++) {
		if (page_is_filled(p))
			fill_page((uint64_t *)want, p);
		else
			memset(want, 0, PG);
		expect("filled", filled, p, want);
	}
	for (int p = 0; p < SMALL_PAGES; p++) {
		expect("untouched", untouched, p, zeros);
		expect("zero", zero, p, zeros);
	}
	for (int p = 0; p < FILE_PAGES; p++)
		expect("file", file, p, p == 1 ? dirty : ef);
}

int main(int argc, char **argv)
{
	static char copy[FILLED_PAGES * PG], dirty[PG];
	volatile char sink = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: pattern DIR\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	signals_init();

	char *filled = map_anon(FILLED_PAGES);
	char *untouched = map_anon(SMALL_PAGES);
	char *zero = map_anon(SMALL_PAGES);
	char *file = map_file(argv[1]);

	for (int p = 0; p < FILLED_PAGES; p++)
		if (page_is_filled(p)) {
			fill_page((uint64_t *)(filled + p * PG), p);
			fill_page((uint64_t *)(copy + p * PG), p);
		}
	write_file(argv[1], "filled.bin", copy, sizeof copy);
	for (int p = 0; p < SMALL_PAGES; p++)
		sink += ((volatile char *)zero)[p * PG];
	sink += ((volatile char *)file)[0];
	sink += ((volatile char *)file)[2 * PG];
	memset(dirty, 'D', PG);
	memcpy(file + PG, dirty, PG);
	write_file(argv[1], "dirty.bin", dirty, PG);
	(void)sink;

	printf("pid %d\n", (int)getpid());
	printf("region filled %p %d\n", (void *)filled, FILLED_PAGES);
	printf("region untouched %p %d\n", (void *)untouched, SMALL_PAGES);
	printf("region zero %p %d\n", (void *)zero, SMALL_PAGES);
	printf("region file %p %d\n", (void *)file, FILE_PAGES);
	printf("ready pattern pid=%d\n", (int)getpid());

	for (;;) {
		struct timespec ts = { 0, 50 * 1000000L };
		if (nanosleep(&ts, NULL) < 0 && errno != EINTR)
			return perror("nanosleep"), 1;
		if (want_verify || want_exit) {
			verify(filled, untouched, zero, file);
			printf(want_exit ? "done ok\n" : "verify ok\n");
			if (want_exit)
				return 0;
			want_verify = 0;
		}
	}
}
