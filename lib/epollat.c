/* epollat.c - an epoll watch added through a chosen fd number
 * (epollat.h).  A child holds the target at its number and adds it: the
 * epoll is the very same open file there, and a watch lives until its
 * target's file is released, not when the child's fd closes. */
#include <errno.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "epollat.h"

/* the child: only calls that are safe after fork in a threaded program */
static _Noreturn void add_in_child(int epfd, int src, int tfd, struct epoll_event *ev)
{
	if (epfd == tfd && (epfd = fcntl(epfd, F_DUPFD_CLOEXEC, tfd + 1)) < 0)
		_exit(errno);
	if (dup2(src, tfd) < 0)
		_exit(errno);
	_exit(epoll_ctl(epfd, EPOLL_CTL_ADD, tfd, ev) < 0 ? errno : 0);
}

int epoll_add_at(int epfd, int src, int tfd, struct epoll_event *ev)
{
	pid_t c;
	int st;

	if (src == tfd)
		return epoll_ctl(epfd, EPOLL_CTL_ADD, src, ev);
	if ((c = fork()) < 0)
		return -1;
	if (c == 0)
		add_in_child(epfd, src, tfd, ev);
	while (waitpid(c, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	errno = WIFEXITED(st) ? WEXITSTATUS(st) : EINTR;
	return -1;
}
