/* fid_mem - private memory a restore must give back as it was, file
 * and flags (t/fidelity.bats, issue 17).
 *
 * usage: fid_mem roforce DIR | gonemap DIR | gonenofd DIR
 *
 * roforce: a read-only private anonymous region of two pages and a
 *          read-only private map of DIR/f (two pages of 'f'), each with
 *          one page written through /proc/self/mem, as a debugger
 *          writes (copy-on-write, never charged to the commit: no "ac"
 *          in VmFlags).  Check: the bytes, r--p, no "ac": "roforce
 *          anon=forced-anon file=forced-file ac=0".
 * gonemap: DIR/g (three pages of 'g') mapped private read-write at
 *          offset 4096 (two pages), its first page written
 *          ("changed"), then DIR/g unlinked, its fd kept open (so the
 *          image holds a copy of the file).  Check:
 *          /proc/self/maps names "DIR/g (deleted)" at offset 1000 for
 *          it, the changed page and the file's own page after it:
 *          "gonemap file=1 off=1000 bytes=changed,g".
 * gonenofd: the same, but the fd closed before the unlink (no copy of
 *          the file in the image): the same check and line.  Both
 *          print "map ADDR", the map's address.
 *
 * Prints "pid N", "ready fid_mem", then at each request checks: "verify
 * ok", on SIGTERM the line above and "done ok"; a mismatch "FAIL ...". */
#include <fcntl.h>
#include <sys/mman.h>

#include "prog.h"

#define PG 4096

static const char *mode, *dir;
static char *anon, *filemap;
static char want_path[4200];

/* the line of /proc/self/maps and the VmFlags of smaps for address a */
static int region_of(const void *a, char *line, size_t ll, char *flags, size_t fl)
{
	char l[4096], start[32];
	FILE *f = fopen("/proc/self/smaps", "r");
	int in = 0;

	if (!f)
		return -1;
	snprintf(start, sizeof start, "%lx-", (unsigned long)a);
	line[0] = flags[0] = 0;
	while (fgets(l, sizeof l, f)) {
		if (!strncmp(l, start, strlen(start))) {
			in = 1;
			snprintf(line, ll, "%s", l);
		} else if (in && !strncmp(l, "VmFlags:", 8)) {
			snprintf(flags, fl, "%s", l + 8);
			break;
		}
	}
	fclose(f);
	return line[0] ? 0 : -1;
}

static int forced_write(void *at, const char *s)
{
	int fd = open("/proc/self/mem", O_RDWR);
	int r = fd >= 0 && pwrite(fd, s, strlen(s), (off_t)(uintptr_t)at) == (ssize_t)strlen(s);

	if (fd >= 0)
		close(fd);
	return r ? 0 : -1;
}

/* DIR/name of n pages of byte c, opened read-write: the fd */
static int file_make(const char *name, int c, int n)
{
	char p[4096], page[PG];
	int fd, i;

	snprintf(p, sizeof p, "%s/%s", dir, name);
	memset(page, c, sizeof page);
	if ((fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0644)) < 0)
		return -1;
	for (i = 0; i < n; i++)
		if (write(fd, page, PG) != PG)
			return -1;
	return fd;
}

static int roforce_setup(void)
{
	int fd = file_make("f", 'f', 2);

	anon = mmap(NULL, 2 * PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	filemap = fd < 0 ? MAP_FAILED : mmap(NULL, 2 * PG, PROT_READ, MAP_PRIVATE, fd, 0);
	if (anon == MAP_FAILED || filemap == MAP_FAILED)
		return -1;
	close(fd);
	return forced_write(anon + PG, "forced-anon") < 0 || forced_write(filemap, "forced-file") < 0 ? -1 : 0;
}

static int roforce_check(void)
{
	char la[4096], fa[512], lf[4096], ff[512];

	if (region_of(anon, la, sizeof la, fa, sizeof fa) < 0 ||
	    region_of(filemap, lf, sizeof lf, ff, sizeof ff) < 0)
		return printf("FAIL no region at %p or %p\n", (void *)anon, (void *)filemap), -1;
	if (strcmp(anon + PG, "forced-anon") || strncmp(filemap, "forced-file", 11) ||
	    filemap[PG] != 'f' || filemap[12] != 'f')
		return printf("FAIL bytes: %.11s %.11s\n", anon + PG, filemap), -1;
	if (!strstr(la, " r--p ") || !strstr(lf, " r--p ") || strstr(fa, " ac") || strstr(ff, " ac"))
		return printf("FAIL regions: %s flags%s %s flags%s", la, fa, lf, ff), -1;
	if (want_exit)
		printf("roforce anon=%s file=%.11s ac=0\n", anon + PG, filemap);
	return 0;
}

static int gonemap_setup(void)
{
	char p[4096];
	int fd = file_make("g", 'g', 3);

	snprintf(p, sizeof p, "%s/g", dir);
	snprintf(want_path, sizeof want_path, "%s (deleted)", p);
	filemap = fd < 0 ? MAP_FAILED : mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, PG);
	if (filemap == MAP_FAILED)
		return -1;
	strcpy(filemap, "changed");
	printf("map %p\n", (void *)filemap);
	if (!strcmp(mode, "gonenofd"))
		close(fd);
	else
		printf("open g %d\n", fd);
	return unlink(p);
}

static int gonemap_check(void)
{
	char l[4096], fl[512], *path;
	unsigned long off;

	if (region_of(filemap, l, sizeof l, fl, sizeof fl) < 0)
		return printf("FAIL no region at %p\n", (void *)filemap), -1;
	l[strcspn(l, "\n")] = 0;
	path = strchr(l, '/');
	if (sscanf(l, "%*s %*s %lx", &off) != 1 || off != PG || !path || strcmp(path, want_path))
		return printf("FAIL region: %s\n", l), -1;
	if (strcmp(filemap, "changed") || filemap[PG] != 'g' || filemap[PG - 1] != 'g')
		return printf("FAIL bytes: %.7s %c\n", filemap, filemap[PG]), -1;
	if (want_exit)
		printf("gonemap file=1 off=%lx bytes=%s,%c\n", off, filemap, filemap[PG]);
	return 0;
}

static int verify(void)
{
	return !strcmp(mode, "roforce") ? roforce_check() : gonemap_check();
}

int main(int argc, char **argv)
{
	if (argc != 3 || (strcmp(argv[1], "roforce") && strcmp(argv[1], "gonemap") &&
			  strcmp(argv[1], "gonenofd"))) {
		fprintf(stderr, "usage: fid_mem roforce DIR | gonemap DIR | gonenofd DIR\n");
		return 2;
	}
	mode = argv[1];
	dir = argv[2];
	if ((!strcmp(mode, "roforce") ? roforce_setup() : gonemap_setup()) < 0)
		return printf("FAIL setup: %s\n", strerror(errno)), 1;
	return serve_verify("fid_mem", verify);
}
