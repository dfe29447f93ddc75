/* fdf_sharedel - a deleted file a parent and its child both map
 * MAP_SHARED and hold open (t/fidelity-fds.bats, issue 17).
 *
 * usage: fdf_sharedel DIR
 *
 * DIR/s made O_RDWR|O_NOFOLLOW with mode 0640, one page, mapped
 * MAP_SHARED, unlinked; then a child forked, which holds the fd and
 * the map too.  Prints "open s FD", "child PID".  On SIGTERM the parent
 * writes "P" into the page and stops the child (SIGTERM), which checks
 * what the parent checks of itself: the fd reads "DIR/s (deleted)", is
 * a file of DIR's file system with mode 0640, O_NOFOLLOW in its flags,
 * the map is that file (maps: same inode, "DIR/s (deleted)"), and the
 * parent's write reads back through the fd; its exit status says.  The
 * parent then prints "sharedel file=1 mode=0640 nofollow=1 shared=1",
 * then "done ok". */
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>

#include "prog.h"

static const char *dir;
static char *page;
static int fd;

/* the inode /proc/self/maps gives the page, its path into path */
static unsigned long map_ino(char *path, size_t len)
{
	char l[4096], start[32], *p;
	unsigned long ino = 0;
	FILE *f = fopen("/proc/self/maps", "r");

	snprintf(start, sizeof start, "%lx-", (unsigned long)page);
	path[0] = 0;
	while (f && fgets(l, sizeof l, f))
		if (!strncmp(l, start, strlen(start))) {
			l[strcspn(l, "\n")] = 0;
			sscanf(l, "%*s %*s %*s %*s %lu", &ino);
			if ((p = strchr(l, '/')))
				snprintf(path, len, "%s", p);
		}
	if (f)
		fclose(f);
	return ino;
}

/* 0 when the fd and the map are as made, else -1 after FAIL */
static int check(const char *who)
{
	char link[4096], want[4200], mpath[4096], p[64], b = 0;
	struct stat st, sd;
	ssize_t n;
	int fl = fcntl(fd, F_GETFL);

	snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
	snprintf(want, sizeof want, "%s/s (deleted)", dir);
	if ((n = readlink(p, link, sizeof link - 1)) < 0 || fstat(fd, &st) < 0 ||
	    stat(dir, &sd) < 0 || fl < 0 || pread(fd, &b, 1, 0) != 1)
		return printf("FAIL %s: %s\n", who, strerror(errno)), -1;
	link[n] = 0;
	if (strcmp(link, want) || st.st_dev != sd.st_dev || (st.st_mode & 07777) != 0640 ||
	    !(fl & O_NOFOLLOW))
		return printf("FAIL %s fd: %s dev %lx/%lx mode 0%o flags 0%o\n", who, link,
			      (unsigned long)st.st_dev, (unsigned long)sd.st_dev, st.st_mode, fl), -1;
	if (map_ino(mpath, sizeof mpath) != st.st_ino || strcmp(mpath, want))
		return printf("FAIL %s map: %s\n", who, mpath), -1;
	if (b != 'P' || page[0] != 'P')
		return printf("FAIL %s: the parent's write reads %c, maps %c\n", who, b, page[0]), -1;
	return 0;
}

static int child_main(void)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);   /* ends with its parent, however that ends */
	signals_init();
	wait_request();
	return check("child") < 0;
}

int main(int argc, char **argv)
{
	char p[4096];
	pid_t c;

	dir = dir_arg(argc, argv, "fdf_sharedel DIR");
	snprintf(p, sizeof p, "%s/s", dir);
	umask(0);
	if ((fd = open(p, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW, 0640)) < 0 ||
	    ftruncate(fd, 4096) < 0 ||
	    (page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)) == MAP_FAILED ||
	    unlink(p) < 0)
		return printf("FAIL setup: %s\n", strerror(errno)), 1;
	strcpy(page, "made");
	fflush(stdout);
	if ((c = fork()) == 0)
		return child_main();
	printf("open s %d\nchild %d\npid %d\nready fdf_sharedel\n", fd, (int)c, (int)getpid());
	fflush(stdout);
	signals_init();
	while (!want_exit)
		pause();
	page[0] = 'P';
	if (check("parent") < 0 || stop_child(c) < 0)
		return 1;
	printf("sharedel file=1 mode=0640 nofollow=1 shared=1\ndone ok\n");
	return 0;
}
