/* epollat.h - an epoll watch added through a chosen fd number */
#ifndef CKPT_EPOLLAT_H
#define CKPT_EPOLLAT_H
#include <sys/epoll.h>

/* EPOLL_CTL_ADD of src on epfd, as if through fd number tfd: the
 * kernel keeps the number a watch was added through (fdinfo's "tfd"),
 * and the next checkpoint of the restored process reads it back, so a
 * watch added through ckpt-thaw's own number names an fd the process
 * lacks.  0, or -1 with errno. */
int epoll_add_at(int epfd, int src, int tfd, struct epoll_event *ev);

#endif
