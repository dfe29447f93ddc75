/* fdf_delname - deleted files that read as their old names after the
 * restore (t/fidelity-fds.bats, issue 17).
 *
 * usage: fdf_delname DIR
 *
 * DIR/gone (mode 0640, "gone") and DIR/taken ("old") opened O_RDWR and
 * unlinked; then a new DIR/taken made ("new"), so that name is taken
 * when the restore comes.  Prints "open gone FD" and "open taken FD".
 * At each request it checks that /proc/self/fd/GONE reads
 * "DIR/gone (deleted)", that both are unlinked files with their mode
 * and bytes, that taken's link is some name in DIR " (deleted)", and
 * that DIR/taken is still the new file; on SIGTERM prints
 * "delname name=1 mode=0640 bytes=gone,old other=new", then
 * "done ok". */
#include <fcntl.h>
#include <sys/stat.h>

#include "prog.h"

static const char *dir;
static int fg, ft;

/* fd's link, its bytes and its mode as one word each; -1 after FAIL */
static int looks(int fd, char *link, size_t ll, char *bytes, unsigned *mode)
{
	char p[64];
	struct stat st;
	ssize_t n;

	snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
	if ((n = readlink(p, link, ll - 1)) < 0 || fstat(fd, &st) < 0 ||
	    pread(fd, bytes, 15, 0) < 0)
		return printf("FAIL fd %d: %s\n", fd, strerror(errno)), -1;
	link[n] = 0;
	if (st.st_nlink != 0 || !S_ISREG(st.st_mode))
		return printf("FAIL fd %d: nlink %lu mode 0%o\n", fd, (unsigned long)st.st_nlink,
			      st.st_mode), -1;
	*mode = st.st_mode & 07777;
	return 0;
}

static int verify(void)
{
	char lg[4096], lt[4096], want[4096], bg[16] = "", bt[16] = "", other[16] = "";
	unsigned mg, mt;
	size_t dl = strlen(dir);
	int fd;

	if (looks(fg, lg, sizeof lg, bg, &mg) < 0 || looks(ft, lt, sizeof lt, bt, &mt) < 0)
		return -1;
	snprintf(want, sizeof want, "%s/gone (deleted)", dir);
	if (strcmp(lg, want))
		return printf("FAIL gone reads %s, not %s\n", lg, want), -1;
	if (strncmp(lt, dir, dl) || lt[dl] != '/' || strlen(lt) < 10 ||
	    strcmp(lt + strlen(lt) - 10, " (deleted)"))
		return printf("FAIL taken reads %s\n", lt), -1;
	snprintf(want, sizeof want, "%s/taken", dir);
	if ((fd = open(want, O_RDONLY)) < 0 || read(fd, other, 15) < 0)
		return printf("FAIL %s: %s\n", want, strerror(errno)), -1;
	close(fd);
	if (mg != 0640 || strcmp(bg, "gone") || strcmp(bt, "old") || strcmp(other, "new"))
		return printf("FAIL mode 0%o bytes %s,%s other %s\n", mg, bg, bt, other), -1;
	if (want_exit)
		printf("delname name=1 mode=0%o bytes=%s,%s other=%s\n", mg, bg, bt, other);
	return 0;
}

/* DIR/name made O_RDWR (mode), bytes written, unlinked when gone: the fd */
static int made(const char *name, unsigned mode, const char *bytes, int gone)
{
	char p[4096];
	int fd;

	snprintf(p, sizeof p, "%s/%s", dir, name);
	if ((fd = open(p, O_RDWR | O_CREAT | O_EXCL, mode)) < 0 ||
	    write(fd, bytes, strlen(bytes)) != (ssize_t)strlen(bytes) || (gone && unlink(p) < 0)) {
		printf("FAIL setup %s: %s\n", p, strerror(errno));
		exit(1);
	}
	return fd;
}

int main(int argc, char **argv)
{
	dir = dir_arg(argc, argv, "fdf_delname DIR");
	umask(0);
	fg = made("gone", 0640, "gone", 1);
	ft = made("taken", 0600, "old", 1);
	close(made("taken", 0600, "new", 0));
	printf("open gone %d\nopen taken %d\n", fg, ft);
	return serve_verify("fdf_delname", verify);
}
