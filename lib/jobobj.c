/* jobobj.c - the shared memory objects of a job restore (jobobj.h).
 *
 * An object is made once, in ckpt-thaw, at its first view in stream
 * order: a memfd (of its name, "dev/zero" for shared anonymous memory),
 * a deleted file again for a deleted file's shared map (made by the
 * file helper of the process of that view, lib/jobfs.c), or a SysV
 * segment, made, attached here and marked for removal at once, so that
 * it goes with its last detach as before, and with ckpt-thaw if the
 * restore fails.  Each process gets the memfd among its fds (at a
 * number its image leaves free; its restorer maps every view from it,
 * then closes it) or the segment's id (its restorer attaches it). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "err.h"
#include "fdinfo.h"
#include "jobfs.h"
#include "jobobj.h"
#include "text.h"

#define PAGE 4096ULL
#define SIZE_MAX_ (1ULL << 47)   /* the user address space */

static const char member[] = "ckpt/shm";

static struct jobobj *obj_find(const struct jobobjs *o, uint64_t dev, uint64_t ino)
{
	unsigned i;

	for (i = 0; i < o->n; i++)
		if (o->v[i].dev == dev && o->v[i].ino == ino)
			return &o->v[i];
	return NULL;
}

/* "PID,PID,...": each a live process of the manifest, once: 0 or -1 */
static int pids_parse(struct text *t, struct jobobj *b, const struct img_manifest *m)
{
	const char *s = t->f[3], *end = s + strlen(s);
	const struct img_mproc *p;
	uint64_t v;
	unsigned i;

	for (;;) {
		if (num_scan(&s, end, 10, 1 << 22, &v) < 0)
			return text_bad(t, "malformed pid list");
		if (!(p = manifest_proc(m, (pid_t)v)) || p->zombie)
			return warn("member %s line %u: pid %" PRIu64 " is no process of the manifest",
				    t->name, t->no, v), -1;
		for (i = 0; i < b->npid; i++)
			if (b->pid[i] == (pid_t)v)
				return warn("member %s line %u: pid %" PRIu64 " listed twice", t->name,
					    t->no, v), -1;
		if (!(b->pid = realloc(b->pid, (b->npid + 1) * sizeof *b->pid)))
			die("out of memory");
		b->pid[b->npid++] = (pid_t)v;
		if (s == end)
			break;
		if (*s++ != ',')
			return text_bad(t, "malformed pid list");
	}
	if (b->npid < 2)
		return text_bad(t, "an object of one process");
	if (!(b->mapped = calloc(b->npid, 1)))
		die("out of memory");
	return 0;
}

struct read_arg {
	struct jobobjs *o;
	const struct img_manifest *m;
};

/* "MAJ:MIN INODE SIZE PID,PID..." */
static int obj_line(struct text *t, void *arg)
{
	struct jobobjs *o = ((struct read_arg *)arg)->o;
	const char *s = t->f[0], *end = s + strlen(s);
	struct jobobj b = { .fd = -1, .shmid = -1 };
	uint64_t maj, min;

	if (t->n != 4 || num_scan(&s, end, 16, 0xfff, &maj) < 0 || *s++ != ':' ||
	    num_scan(&s, end, 16, 0xfffff, &min) < 0 || s != end ||
	    num_parse(t->f[1], ~0ULL, &b.ino) < 0 || num_parse(t->f[2], ~0ULL, &b.size) < 0)
		return text_bad(t, "malformed");
	if (!b.size || b.size % PAGE || b.size > SIZE_MAX_)
		return warn("member %s line %u: size %" PRIu64 " does not fit an object (whole pages, at most 2^47)",
			    t->name, t->no, b.size), -1;
	b.dev = makedev(maj, min);
	if (obj_find(o, b.dev, b.ino))
		return text_bad(t, "an object listed twice");
	if (pids_parse(t, &b, ((struct read_arg *)arg)->m) < 0) {
		free(b.pid);
		return -1;
	}
	if (!(o->v = realloc(o->v, (o->n + 1) * sizeof *o->v)))
		die("out of memory");
	o->v[o->n++] = b;
	return 0;
}

int jobobj_read(struct jobobjs *o, struct img_in *in, const struct img_manifest *m)
{
	struct read_arg a = { o, m };
	size_t len;
	char *text;
	int r;

	memset(o, 0, sizeof *o);
	if ((r = stream_next(&in->st)) <= 0) {
		if (r == 0)
			warn("%s: truncated after the manifest", in->st.what);
		return -1;
	}
	if (strcmp(in->st.name, member)) {
		in->held = 1;       /* a process's first member: its reader's */
		return 0;
	}
	if (!(text = stream_slurp(&in->st, 1 << 20, &len)))
		return -1;
	if (strlen(text) != len) {
		warn("member %s: a NUL byte in a text member", member);
		r = -1;
	} else
		r = text_each(text, member, 8, obj_line, &a);
	free(text);
	return r < 0 ? -1 : 0;
}

/* a memfd of size, owned by uid/gid when asjob (root restoring
 * another uid's job: the object is the job's, as the original was) */
static int memfd_make(const char *name, uint64_t size, const struct img_core *c, int asjob)
{
	int fd, e;

	if (asjob)
		setfsgid(c->gid[3]), setfsuid(c->uid[3]);
	fd = memfd_create(name, MFD_CLOEXEC);
	e = errno;
	if (asjob)
		setfsuid(0), setfsgid(0);
	errno = e;
	if (fd >= 0 && ftruncate(fd, size) < 0) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* The segment, made as the job's euid (its owner and creator) of the
 * size proc/PID/sysvshm says, attached here and marked for removal:
 * 0 or -1.  Owner rw until every process has attached its views (the
 * restorer reads the pages in through them): jobobj_release sets its
 * own mode. */
static int sysv_make(struct jobobj *b, uint64_t size, const struct img_core *c, int asjob)
{
	gid_t g = getegid();
	int e = 0;

	if (asjob && (setegid(c->gid[1]) < 0 || seteuid(c->uid[1]) < 0))
		return -1;
	if ((b->shmid = shmget(IPC_PRIVATE, size, IPC_CREAT | 0600 | b->mode)) < 0)
		e = errno;
	if (asjob && (seteuid(0) < 0 || setegid(g) < 0))
		die("back to our own ids:");
	if (e)
		return errno = e, -1;
	b->at = shmat(b->shmid, NULL, SHM_RDONLY);
	e = errno;
	shmctl(b->shmid, IPC_RMID, NULL);
	if (b->at == (void *)-1) {
		b->at = NULL;
		b->shmid = -1;
		return errno = e, -1;
	}
	return 0;
}

/* segment id's line of p's sysvshm, whose pages fill the object b */
static const struct memplan_seg *sysv_seg(const struct img_proc *p, const struct jobobj *b)
{
	const struct memplan *m = &p->mem;
	unsigned i;

	for (i = 0; i < m->nseg; i++)
		if (m->seg[i].id == b->ino)
			break;
	if (i == m->nseg)
		return warn("member proc/%d/sysvshm: no line for segment %" PRIu64, p->core.pid,
			    b->ino), NULL;
	if (((m->seg[i].size + PAGE - 1) & ~(PAGE - 1)) != b->size)
		return warn("member proc/%d/sysvshm: segment %" PRIu64 " of %" PRIu64 " bytes, its views in the job %" PRIu64 " (member %s)",
			    p->core.pid, b->ino, m->seg[i].size, b->size, member), NULL;
	return &m->seg[i];
}

/* p's fd on the deleted file dev:ino, or NULL */
static const struct fdplan_fd *deleted_fd(const struct fdplan *f, uint64_t dev, uint64_t ino)
{
	unsigned i;

	for (i = 0; i < f->n; i++)
		if (f->v[i].k == FD_DELETED && f->v[i].dev == dev && f->v[i].ino == ino)
			return &f->v[i];
	return NULL;
}

/* A deleted file's object: a deleted file again, on its file system,
 * made by p's file helper as the job beside its old path and unlinked
 * from that path at p's commit (jobfs_deleted), so that its maps and
 * fds read "PATH (deleted)" as they did; the mode of p's fd on it, if
 * any (else 0600).  Name: the path without its first "/" (memplan.c),
 * which p's fd gives whole.  0, -1, or -2 after a message; 1 when the
 * job cannot make a file there (the directory gone, or not its own to
 * write): a memfd then, as objects of deleted files were before. */
static int deleted_make(struct jobobj *b, struct img_proc *p, const char *name)
{
	const struct fdplan_fd *e = deleted_fd(&p->fds, b->dev, b->ino);
	unsigned mode = e && (e->mode & 07777) ? e->mode & 07777 : 0600;
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof path, "%s%s", e && e->path ? "" : "/", e && e->path ? e->path : name);
	if (fdplan_fs_ready(&p->fds, p->core.pid) < 0)
		return -2;
	if ((fd = jobfs_deleted(&p->fds.fs, path, mode)) < 0)
		return 1;
	if (ftruncate(fd, b->size) < 0) {
		close(fd);
		return -1;
	}
	b->fd = fd;
	b->fs = &p->fds.fs;
	return 0;
}

/* the object of view g (p's region k), made as its first view says */
static int obj_make(struct jobobj *b, struct img_proc *p, unsigned k, int asjob)
{
	const struct memplan *m = &p->mem;
	const struct memplan_src *s = &m->src[k];
	const char *name = s->kind == MEM_SRC_ANON ? "dev/zero" : m->strings + s->name;
	const struct memplan_seg *sg;
	int e;

	b->src = s->kind;
	if (s->kind == MEM_SRC_SYSV) {
		if (!(sg = sysv_seg(p, b)))
			return -2;
		b->mode = sg->mode & 0777;
		return sysv_make(b, sg->size, &p->core, asjob);
	}
	if (s->kind == MEM_SRC_OTHER)
		return errno = EOPNOTSUPP, -1;
	if (s->kind == MEM_SRC_DELETED && (e = deleted_make(b, p, name)) <= 0)
		return e;
	return (b->fd = memfd_make(name, b->size, &p->core, asjob)) < 0 ? -1 : 0;
}

/* the lowest fd number p's image leaves free, not yet handed out */
static int fd_free(const struct jobobjs *o, const struct fdplan *f)
{
	int fd = 0;
	unsigned i;

again:
	for (i = 0; i < f->n; i++)
		if (f->v[i].fd == fd)
			goto next;
	for (i = 0; i < o->ncur; i++)
		if (o->cur[i].fd == fd)
			goto next;
	return fd;
next:
	fd++;
	goto again;
}

/* the number p gets the fd of object b under (one for all its views) */
static int fd_of(struct jobobjs *o, const struct img_proc *p, unsigned b)
{
	unsigned i;

	for (i = 0; i < o->ncur; i++)
		if (o->cur[i].obj == b)
			return o->cur[i].fd;
	if (!(o->cur = realloc(o->cur, (o->ncur + 1) * sizeof *o->cur)))
		die("out of memory");
	o->cur[o->ncur] = (struct jobobj_fd){ fd_free(o, &p->fds), b };
	return o->cur[o->ncur++].fd;
}

/* pid's place in b's list, or -1 */
static int pid_index(const struct jobobj *b, pid_t pid)
{
	unsigned i;

	for (i = 0; i < b->npid; i++)
		if (b->pid[i] == pid)
			return i;
	return -1;
}

/* a region of shared memory no object is listed for: its own, unless
 * an earlier process mapped it too */
static int unlisted(struct jobobjs *o, const struct plan_region *g, pid_t pid)
{
	unsigned i;

	for (i = 0; i < o->nseen; i++)
		if (o->seen[i].dev == g->dev && o->seen[i].ino == g->ino && o->seen[i].pid != pid)
			return warn("pids %d and %d map the same shared memory (%u:%u inode %" PRIu64 "), but member %s does not list it",
				    (int)o->seen[i].pid, (int)pid, major(g->dev), minor(g->dev), g->ino,
				    member), -1;
	if (!(o->seen = realloc(o->seen, (o->nseen + 1) * sizeof *o->seen)))
		die("out of memory");
	o->seen[o->nseen++] = (struct jobobj_seen){ g->dev, g->ino, pid };
	return 0;
}

/* region k of p, a view of b: checked, b made if it is the first */
static int view_plan(struct jobobjs *o, struct img_proc *p, unsigned k, struct jobobj *b, int asjob)
{
	struct plan_region *g = &p->mem.reg[k];
	pid_t pid = p->core.pid;
	int at = pid_index(b, pid), e;

	if (at < 0)
		return warn("pid %d: region %" PRIx64 "-%" PRIx64 ": a view of shared memory %u:%u inode %" PRIu64 " that member %s does not give it",
			    (int)pid, g->start, g->end, major(g->dev), minor(g->dev), g->ino, member), -1;
	if (g->pgoff > b->size || g->end - g->start > b->size - g->pgoff)
		return warn("pid %d: region %" PRIx64 "-%" PRIx64 " at offset %" PRIu64 ": beyond the end of its object %u:%u inode %" PRIu64 " (size %" PRIu64 ", member %s)",
			    (int)pid, g->start, g->end, g->pgoff, major(g->dev), minor(g->dev), g->ino,
			    b->size, member), -1;
	if (b->src && b->src != p->mem.src[k].kind)
		return warn("pid %d: region %" PRIx64 "-%" PRIx64 ": another kind of memory than its object's first view",
			    (int)pid, g->start, g->end), -1;
	if (!b->src && (e = obj_make(b, p, k, asjob)) < 0)
		return e == -2 ? -1 : warn("pid %d: region %" PRIx64 "-%" PRIx64 ": make its shared object (%s, %" PRIu64 " bytes):",
			    (int)pid, g->start, g->end, b->src == MEM_SRC_SYSV ? "SysV segment" :
			    b->src == MEM_SRC_DELETED ? "deleted file" : "memfd",
			    b->size), -1;
	b->mapped[at] = 1;
	if (g->pgoff + (g->end - g->start) > b->end)
		b->end = g->pgoff + (g->end - g->start);
	g->kind = b->src == MEM_SRC_SYSV ? PLAN_JOB_SYSV : PLAN_JOB_FD;
	g->obj = b->src == MEM_SRC_SYSV ? b->shmid : fd_of(o, p, b - o->v);
	g->size = b->size;
	g->shm = 0;
	return 0;
}

/* A private map of a deleted file no fd of p holds (no copy of it in
 * the image: memplan.c maps one a fd brings): a deleted file again, of
 * its name, made as for a deleted fd (jobfs_deleted), mode 0600, holes
 * as long as the map reaches, handed to p like an object's file and
 * mapped private from it at the map's offset.  Every page of the map
 * is stored (an orphan): they go on top, so the memory is as it was,
 * and /proc/PID/maps names the file and offset; what the file held
 * beyond them is zeros.  A name cut to memfd's 249 bytes, or a file
 * the job cannot make there (the directory gone, or not its own to
 * write), stays anonymous memory, as it was restored before.  0 or -1
 * after a message. */
static int private_deleted(struct jobobjs *o, struct img_proc *p, unsigned k)
{
	struct plan_region *g = &p->mem.reg[k];
	const char *name = p->mem.strings + p->mem.src[k].name;
	struct jobobj b = { .dev = ~0ULL, .fd = -1, .shmid = -1 };
	char path[PATH_MAX];

	if (strlen(name) >= 249)
		return 0;
	snprintf(path, sizeof path, "/%s", name);
	b.size = b.end = g->pgoff + (g->end - g->start);
	if (fdplan_fs_ready(&p->fds, p->core.pid) < 0)
		return -1;
	if ((b.fd = jobfs_deleted(&p->fds.fs, path, 0600)) < 0)
		return 0;
	if (ftruncate(b.fd, b.size) < 0) {
		warn("pid %d: region %" PRIx64 "-%" PRIx64 ": the deleted file %s it maps, made again: size it:",
		     p->core.pid, g->start, g->end, path);
		close(b.fd);
		return -1;
	}
	b.src = MEM_SRC_DELETED_PRIVATE;
	if (!(o->v = realloc(o->v, (o->n + 1) * sizeof *o->v)))
		die("out of memory");
	o->v[o->n++] = b;
	g->kind = PLAN_JOB_FD_PRIVATE;
	g->obj = fd_of(o, p, o->n - 1);
	return 0;
}

int jobobj_plan(struct jobobjs *o, struct img_proc *p, int asjob)
{
	struct memplan *m = &p->mem;
	struct jobobj *b;
	unsigned k;

	o->ncur = 0;
	for (k = 0; k < m->nreg; k++) {
		if (m->src[k].kind == MEM_SRC_DELETED_PRIVATE) {
			/* still anonymous: no fd's copy mapped (memplan.c) */
			if (m->reg[k].kind == PLAN_ANON && private_deleted(o, p, k) < 0)
				return -1;
			continue;
		}
		if (m->src[k].kind == MEM_SRC_NONE)
			continue;
		if (!(b = obj_find(o, m->reg[k].dev, m->reg[k].ino))) {
			if (unlisted(o, &m->reg[k], p->core.pid) < 0)
				return -1;
			continue;
		}
		if (view_plan(o, p, k, b, asjob) < 0)
			return -1;
	}
	return 0;
}

/* The object as the file of fd e was: its size and saved contents (e's
 * own file, made from them); pages the restorers read in are the same
 * bytes, one cut.  Once per object. */
static int obj_fill(struct jobobj *b, const struct fdplan_fd *e, int pid)
{
	static char buf[1 << 16];
	uint64_t off;
	ssize_t n;

	if (b->filled)
		return 0;
	b->filled = 1;
	if (ftruncate(b->fd, e->size) < 0)
		return warn("pid %d: fd %d: size its shared object to %" PRIu64 ":", pid, e->fd, e->size), -1;
	/* read and written: copy_file_range says EXDEV between two tmpfs */
	for (off = 0; off < e->size; off += n)
		if ((n = pread(e->src, buf, e->size - off < sizeof buf ? e->size - off : sizeof buf, off)) <= 0 ||
		    pwrite(b->fd, buf, n, off) != n)
			return warn("pid %d: fd %d: its saved contents into its shared object%s", pid, e->fd,
				    n == 0 ? ": short" : ":"), -1;
	return 0;
}

/* the description fd e of process pid gets on object b: one for every
 * fd that shares e's description (share=, dup), with e's offset and
 * status flags, or -1 after a message */
static int desc_of(struct jobobjs *o, struct jobobj *b, const struct fdplan_fd *e, int pid)
{
	unsigned i;
	int fd;

	for (i = 0; i < o->ndesc; i++)
		if (fd_file_cmp(o->desc[i].was, e->src) == 0)
			return o->desc[i].fd;
	if (obj_fill(b, e, pid) < 0)
		return -1;
	fd = fdplan_reopen(b->fs, b->fd, e->flags & (O_ACCMODE | O_APPEND | O_NONBLOCK | O_NOFOLLOW));
	if (fd < 0 ||
	    lseek(fd, e->pos, SEEK_SET) < 0)
		return warn("pid %d: fd %d: open its shared object:", pid, e->fd), -1;
	if (!(o->desc = realloc(o->desc, (o->ndesc + 1) * sizeof *o->desc)))
		die("out of memory");
	o->desc[o->ndesc++] = (struct jobobj_desc){ e->src, fd };
	return fd;
}

/* each fd of p on an object of the job (memfd or deleted file) onto
 * the object: v is the copy of p's entries */
static int fds_onto_objects(struct jobobjs *o, const struct fdplan *p, struct fdplan_fd *v)
{
	struct jobobj *b;
	unsigned i;

	for (i = 0; i < p->n; i++) {
		if ((v[i].k != FD_MEMFD && v[i].k != FD_DELETED) || v[i].src < 0 ||
		    !(b = obj_find(o, v[i].dev, v[i].ino)) || b->fd < 0)
			continue;
		if ((v[i].src = desc_of(o, b, &p->v[i], p->pid)) < 0)
			return -1;
	}
	return 0;
}

int jobobj_fds(struct jobobjs *o, const struct fdplan *p, struct fdplan *out)
{
	unsigned i;

	*out = *p;
	if (!(out->v = calloc(p->n + o->ncur + 1, sizeof *out->v)))
		return warn("out of memory"), -1;
	memcpy(out->v, p->v, p->n * sizeof *p->v);
	if (fds_onto_objects(o, p, out->v) < 0) {
		free(out->v);
		return -1;
	}
	for (i = 0; i < o->ncur; i++) {
		struct fdplan_fd *e = &out->v[out->n++];

		e->fd = o->cur[i].fd;
		e->src = o->v[o->cur[i].obj].fd;
		e->dup = -1;
		snprintf(e->kind, sizeof e->kind, "shm");
		if (e->fd > out->maxfd)
			out->maxfd = e->fd;
	}
	return 0;
}

int jobobj_check(const struct jobobjs *o)
{
	const struct jobobj *b;
	unsigned i, k;

	for (i = 0; i < o->n; i++) {
		b = &o->v[i];
		for (k = 0; k < b->npid; k++)
			if (!b->mapped[k])
				return warn("member %s: object %u:%u inode %" PRIu64 ": pid %d maps no view of it",
					    member, major(b->dev), minor(b->dev), b->ino, (int)b->pid[k]), -1;
		if (b->end != b->size)   /* the file's own size may differ (obj_fill) */
			return warn("member %s: object %u:%u inode %" PRIu64 ": size %" PRIu64 ", but its views end at %" PRIu64,
				    member, major(b->dev), minor(b->dev), b->ino, b->size, b->end), -1;
	}
	return 0;
}

/* every process has attached the segment: its own mode, and ours off */
static void sysv_let_go(struct jobobj *b)
{
	struct shmid_ds ds;

	if ((b->mode & 0600) != 0600 && shmctl(b->shmid, IPC_STAT, &ds) == 0) {
		ds.shm_perm.mode = b->mode;
		shmctl(b->shmid, IPC_SET, &ds);
	}
	shmdt(b->at);
}

void jobobj_release(struct jobobjs *o)
{
	unsigned i;

	for (i = 0; i < o->n; i++) {
		if (o->v[i].fd >= 0)
			close(o->v[i].fd);
		if (o->v[i].at)
			sysv_let_go(&o->v[i]);
		o->v[i].fd = -1;
		o->v[i].at = NULL;
	}
	for (i = 0; i < o->ndesc; i++)
		close(o->desc[i].fd);
	o->ndesc = 0;
}

void jobobj_free(struct jobobjs *o)
{
	unsigned i;

	jobobj_release(o);
	for (i = 0; i < o->n; i++) {
		free(o->v[i].pid);
		free(o->v[i].mapped);
	}
	free(o->v);
	free(o->cur);
	free(o->seen);
	free(o->desc);
	memset(o, 0, sizeof *o);
}
