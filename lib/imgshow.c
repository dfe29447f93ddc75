/* imgshow.c - an image read for a person (imgshow.h): the text members
 * through the restore side's own parsers (lib/text.c, lib/mapsline.c,
 * lib/fdplan.c), so that what ckpt-show says is what ckpt-thaw reads;
 * the pages only counted. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "escape.h"
#include "fdplan.h"
#include "imgshow.h"
#include "maps.h"
#include "pack.h"
#include "restorable.h"
#include "stream.h"
#include "text.h"

#define TEXT_MAX (64u << 20)   /* a text member we parse, at most */

static void *grow(void *v, size_t n, size_t size)
{
	void *p = realloc(v, (n + 1) * size);

	if (!p)
		die("out of memory");
	memset((char *)p + n * size, 0, size);
	return p;
}

static char *dup_str(const char *s)
{
	char *d = strdup(s ? s : "");

	if (!d)
		die("out of memory");
	return d;
}

static char *dup_unescaped(const char *s)
{
	char *d = dup_str(s);

	if (str_unescape(d) < 0)
		strcpy(d, s);   /* shown as written rather than not at all */
	return d;
}

static int field_num(const struct text *t, int i, long *v)
{
	uint64_t u;

	if (i >= t->n || num_parse(t->f[i], NUM_INT_MAX, &u) < 0)
		return text_bad(t, "not a number where one belongs");
	*v = (long)u;
	return 0;
}

/* manifest */

/* the record's fields from the second on, joined by spaces again */
static char *rest_of(const struct text *t)
{
	size_t len = 1;
	char *s;
	int i;

	for (i = 1; i < t->n; i++)
		len += strlen(t->f[i]) + 1;
	if (!(s = calloc(1, len)))
		die("out of memory");
	for (i = 1; i < t->n; i++) {
		if (i > 1)
			strcat(s, " ");
		strcat(s, t->f[i]);
	}
	return s;
}

static struct show_proc *proc_add(struct show_image *im)
{
	im->proc = grow(im->proc, im->nproc, sizeof *im->proc);
	return &im->proc[im->nproc++];
}

static int man_proc(struct text *t, struct show_image *im, int zombie)
{
	struct show_proc *p = proc_add(im);

	p->zombie = zombie;
	p->pgid = p->sid = -1;
	if (field_num(t, 1, &p->pid) < 0 || field_num(t, 2, &p->ppid) < 0)
		return -1;
	if (t->n >= 5 && (field_num(t, 3, &p->pgid) < 0 || field_num(t, 4, &p->sid) < 0))
		return -1;
	return zombie ? field_num(t, 5, &p->status) : 0;
}

static int man_line(struct text *t, void *obj)
{
	struct show_image *im = obj;
	static const char *const keys[] = { "ckpt-image", "tool", "kernel", "arch",
					    "time", "id", "parent" };
	char **vals[] = { &im->version, &im->tool, &im->kernel, &im->arch,
			  &im->time, &im->id, &im->parent };
	size_t i;

	if (!strcmp(t->f[0], "proc") || !strcmp(t->f[0], "zombie"))
		return man_proc(t, im, t->f[0][0] == 'z');
	if (!strcmp(t->f[0], "root"))
		return field_num(t, 1, &im->root);
	if (!strcmp(t->f[0], "kill"))
		im->killed = t->n > 1 && !strcmp(t->f[1], "1");
	for (i = 0; i < sizeof keys / sizeof *keys; i++)
		if (!strcmp(t->f[0], keys[i]) && t->n > 1 && !*vals[i])
			*vals[i] = rest_of(t);
	return 0;
}

/* core and threads */

static void split_cmdline(struct show_proc *p, char *s)
{
	size_t n = 0;
	char *sep;

	for (;;) {
		p->argv = grow(p->argv, n, sizeof *p->argv);
		if ((sep = strstr(s, "\\000")))
			*sep = 0;
		p->argv[n++] = dup_unescaped(s);
		if (!sep)
			break;
		s = sep + 4;
	}
	p->argv = grow(p->argv, n, sizeof *p->argv);
}

static int core_line(struct text *t, void *obj)
{
	struct show_proc *p = obj;
	const char *k = t->f[0];

	if (t->n < 2)
		return 0;
	if (!strcmp(k, "comm") && !p->comm)
		p->comm = dup_unescaped(t->f[1]);
	else if (!strcmp(k, "exe") && !p->exe)
		p->exe = dup_unescaped(t->f[1]);
	else if (!strcmp(k, "cwd") && !p->cwd)
		p->cwd = dup_unescaped(t->f[1]);
	else if (!strcmp(k, "cmdline") && !p->argv)
		split_cmdline(p, t->f[1]);
	else if (!strcmp(k, "uid"))
		return field_num(t, 1, &p->uid);
	else if (!strcmp(k, "gid"))
		return field_num(t, 1, &p->gid);
	return 0;
}

static int thread_line(struct text *t, void *obj)
{
	struct show_proc *p = obj;
	struct show_thread *th;

	if (!strcmp(t->f[0], "thread")) {
		p->thr = grow(p->thr, p->nthr, sizeof *p->thr);
		th = &p->thr[p->nthr++];
		return field_num(t, 1, &th->tid);
	}
	if (!strcmp(t->f[0], "role") && p->nthr && t->n > 1 && !p->thr[p->nthr - 1].role)
		p->thr[p->nthr - 1].role = dup_str(t->f[1]);
	return 0;
}

/* memory */

static const char *kind_name(enum map_kind k)
{
	switch (k) {
	case MAP_KIND_PRIVATE: return "private";
	case MAP_KIND_SHARED_MEM: return "shared memory";
	case MAP_KIND_ORPHAN: return "orphan";
	case MAP_KIND_SHARED_FILE: return "shared file";
	case MAP_KIND_SPECIAL: return "special";
	}
	return "?";
}

static int maps_read(struct show_proc *p, char *text, size_t len, const char *member)
{
	struct map_region *r;
	size_t n, bad, i;
	int e = maps_parse(text, len, &r, &n, &bad);

	if (e < 0) {
		warn("member %s line %zu: not a maps line", member, bad);
		return -1;
	}
	if (p->reg) {   /* a second maps member: ckpt-thaw refuses it; */
		free(r);    /* the first is described */
		return 0;
	}
	p->reg = calloc(n ? n : 1, sizeof *p->reg);
	if (!p->reg)
		die("out of memory");
	for (i = 0; i < n; i++) {
		struct show_region *s = &p->reg[i];

		s->start = r[i].start;
		s->end = r[i].end;
		s->offset = r[i].offset;
		snprintf(s->perms, sizeof s->perms, "%c%c%c%c", r[i].prot & 1 ? 'r' : '-',
			 r[i].prot & 2 ? 'w' : '-', r[i].prot & 4 ? 'x' : '-',
			 r[i].shared ? 's' : 'p');
		s->kind = kind_name(map_kind(&r[i]));
		if (!(s->path = strndup(r[i].path ? r[i].path : "", r[i].pathlen)))
			die("out of memory");
	}
	p->nreg = n;
	free(r);
	return 0;
}

static int pagemap_line(struct text *t, void *obj)
{
	struct show_proc *p = obj;
	uint64_t a, b;
	size_t i;

	if (num_range(t->f[0], 16, &a, &b) < 0 || b < a)
		return text_bad(t, "not a run of pages");
	p->pages += b - a;
	for (i = 0; i < p->nreg; i++)
		if (a >= p->reg[i].start && b <= p->reg[i].end) {
			p->reg[i].stored += b - a;
			return 0;
		}
	return text_bad(t, "a run outside every region of maps");
}

/* fds */

static const char *made_as(const struct fdplan_fd *e)
{
	static const char *const how[] = {
		[FD_FILE] = "reopened by path", [FD_DELETED] = "made again, unlinked",
		[FD_MEMFD] = "a new memfd", [FD_DIR] = "reopened by path",
		[FD_CHR] = "reopened by path", [FD_BLK] = "reopened by path",
		[FD_FIFO] = "reopened by path", [FD_PIPE] = "a new pipe",
		[FD_SOCKET] = "a new socket pair", [FD_EVENTFD] = "a new eventfd",
		[FD_EPOLL] = "a new epoll set, its fds added", [FD_TIMERFD] = "a new timerfd, armed as it was",
		[FD_SIGNALFD] = "a new signalfd", [FD_INOTIFY] = "a new inotify, its watches added",
		[FD_PIDFD] = "pidfd_open of the same process",
	};

	return e->k < sizeof how / sizeof *how && how[e->k] ? how[e->k] : "made again";
}

static char *fd_action(const struct fdplan *plan, const struct fdplan_fd *e)
{
	const char *why = fd_why_not(plan, e);
	char *s = NULL;
	int r;

	if (e->share_pid)
		r = asprintf(&s, "the same open file as pid %d fd %d", (int)e->share_pid,
			     e->share_fd);
	else if (e->dup >= 0)
		r = asprintf(&s, "a dup of fd %d", e->dup);
	else if (fd_outside_job(e))
		r = asprintf(&s, "ckpt-thaw's own fd %d%s", e->fd,
			     e->data ? ", after the bytes that were queued" : "");
	else if (why)
		r = asprintf(&s, "refused: %s", why);
	else
		r = asprintf(&s, "%s%s", made_as(e),
			     !e->data ? "" : fd_kind_is_file(e->k) ? ", its saved contents written" :
			     ", the queued bytes put back");
	if (r < 0)
		die("out of memory");
	return s;
}

static int fd_keys(struct text *t, void *obj)
{
	struct show_proc *p = obj;
	struct show_fd *f;
	char *eq;
	int i;

	if (strcmp(t->f[0], "fd") || t->n < 3)
		return 0;
	p->fds = grow(p->fds, p->nfds, sizeof *p->fds);
	f = &p->fds[p->nfds++];
	if (field_num(t, 1, &f->fd) < 0)
		return -1;
	f->kind = dup_str(t->f[2]);
	for (i = 3; i < t->n; i++) {
		f->kv = grow(f->kv, f->nkv, sizeof *f->kv);
		eq = strchr(t->f[i], '=');
		f->kv[f->nkv].key = eq ? strndup(t->f[i], eq - t->f[i]) : dup_str(t->f[i]);
		f->kv[f->nkv++].value = dup_unescaped(eq ? eq + 1 : "");
	}
	return 0;
}

static int fds_read(struct show_proc *p, char *text, size_t len, const char *member)
{
	char *copy = malloc(len + 1);
	struct fdplan plan;
	size_t i, j;
	int r;

	if (!copy)
		die("out of memory");
	memcpy(copy, text, len + 1);
	r = text_each(text, member, TEXT_FIELDS_MAX, fd_keys, p);
	if (r == 0) {
		if ((r = fdplan_parse(&plan, (int)p->pid, copy)) == 0)
			for (i = 0; i < p->nfds; i++)
				for (j = 0; j < plan.n && !p->fds[i].action; j++)
					if (plan.v[j].fd == p->fds[i].fd)
						p->fds[i].action = fd_action(&plan, &plan.v[j]);
		fdplan_free(&plan);
	}
	free(copy);
	return r;
}

const char *show_fd_key(const struct show_fd *f, const char *key)
{
	size_t i;

	for (i = 0; i < f->nkv; i++)
		if (!strcmp(f->kv[i].key, key))
			return f->kv[i].value;
	return NULL;
}

/* members */

static struct show_proc *proc_of(struct show_image *im, const char *name, const char **rest)
{
	uint64_t pid;
	const char *s = name + 5, *slash = strchr(s, '/');
	char num[32];
	size_t i;

	if (strncmp(name, "proc/", 5) || !slash || slash - s >= (long)sizeof num)
		return NULL;
	snprintf(num, sizeof num, "%.*s", (int)(slash - s), s);
	if (num_parse(num, NUM_INT_MAX, &pid) < 0)
		return NULL;
	for (i = 0; i < im->nproc; i++)
		if (im->proc[i].pid == (long)pid && !im->proc[i].zombie) {
			*rest = slash + 1;
			return &im->proc[i];
		}
	return NULL;
}

/* an index member's runs: the bytes of the pages held (index.md) */
static int index_line(struct text *t, void *obj)
{
	struct show_proc *p = obj;
	uint64_t a, b;

	if (t->n != 1 || num_range(t->f[0], 16, &a, &b) < 0 || b < a)
		return text_bad(t, "not a run of pages");
	p->held += b - a;
	p->indexed = 1;
	return 0;
}

static int member_parse(struct show_image *im, struct show_proc *p, const char *rest,
			char *text, size_t len, const char *name)
{
	if (!p)
		return text_each(text, name, 16, man_line, im);
	if (!strcmp(rest, "core"))
		return text_each(text, name, TEXT_FIELDS_MAX, core_line, p);
	if (!strcmp(rest, "threads"))
		return text_each(text, name, TEXT_FIELDS_MAX, thread_line, p);
	if (!strcmp(rest, "maps"))
		return maps_read(p, text, len, name);
	if (!strcmp(rest, "pagemap"))
		return text_each(text, name, 4, pagemap_line, p);
	if (!strcmp(rest, "index"))
		return p->indexed = 1, text_each(text, name, 4, index_line, p);
	return fds_read(p, text, len, name);
}

static int is_parsed(const char *rest)
{
	static const char *const names[] = { "core", "threads", "maps", "pagemap", "fds", "index" };
	size_t i;

	for (i = 0; i < sizeof names / sizeof *names; i++)
		if (!strcmp(rest, names[i]))
			return 1;
	return 0;
}

static void member_note(struct show_member **v, size_t *n, const char *name,
			const struct stream *s)
{
	*v = grow(*v, *n, sizeof **v);
	(*v)[*n].name = dup_str(name);
	(*v)[*n].size = s->size;
	(*v)[(*n)++].stored = s->in->m.stored;
}

static int member_read(struct show_image *im, struct stream *s)
{
	struct show_proc *p = NULL;
	const char *rest = "";
	char *text;
	size_t len;
	int r = 0;

	if (strcmp(s->name, PACK_MANIFEST) && !(p = proc_of(im, s->name, &rest)))
		return stream_skip(s);
	if (p && !is_parsed(rest))
		r = stream_skip(s);
	else if (!(text = stream_slurp(s, TEXT_MAX, &len)))
		return -1;
	else {
		r = member_parse(im, p, rest, text, len, s->name);
		free(text);
	}
	if (p)
		member_note(&p->mem, &p->nmem, rest, s);
	return r;
}

int show_read(struct show_image *im, const char *path, int fd, const char *what)
{
	struct stream s;
	int r;

	memset(im, 0, sizeof *im);
	im->root = -1;
	if (stream_open(&s, path, fd, what) < 0)
		return -1;
	while ((r = stream_next(&s)) > 0) {
		if (member_read(im, &s) < 0) {
			r = -1;
			break;
		}
		member_note(&im->mem, &im->nmem, s.name, &s);
		im->raw += s.size;
		im->stored += s.in->m.stored;
	}
	im->packed = s.in ? s.in->packed : 0;
	im->input = s.in ? s.in->src.nread : 0;
	stream_close(&s);
	return r;
}

static void proc_free(struct show_proc *p)
{
	size_t i, j;

	free(p->comm), free(p->exe), free(p->cwd);
	for (i = 0; p->argv && p->argv[i]; i++)
		free(p->argv[i]);
	free(p->argv);
	for (i = 0; i < p->nthr; i++)
		free(p->thr[i].role);
	free(p->thr);
	for (i = 0; i < p->nreg; i++)
		free(p->reg[i].path);
	free(p->reg);
	for (i = 0; i < p->nfds; i++) {
		for (j = 0; j < p->fds[i].nkv; j++)
			free(p->fds[i].kv[j].key), free(p->fds[i].kv[j].value);
		free(p->fds[i].kv), free(p->fds[i].kind), free(p->fds[i].action);
	}
	free(p->fds);
	for (i = 0; i < p->nmem; i++)
		free(p->mem[i].name);
	free(p->mem);
}

void show_free(struct show_image *im)
{
	size_t i;

	for (i = 0; i < im->nproc; i++)
		proc_free(&im->proc[i]);
	free(im->proc);
	for (i = 0; i < im->nmem; i++)
		free(im->mem[i].name);
	free(im->mem);
	free(im->version), free(im->tool), free(im->kernel), free(im->arch);
	free(im->time), free(im->id), free(im->parent);
}
