/* chain.c - merging an incremental chain (chain.h).
 *
 * Every link is read at once, front to back, each by its own reader
 * (lib/pack.h: raw, packed or compressed).  The output is the last
 * link's members, in its order; for each process, its index (the
 * pages the last link holds) is the output's pagemap, and each page's
 * bytes come from the newest link that stores it.  Since every link
 * stores its pages in address order, and the output goes in address
 * order too, each link's pages member is read once, forward, skipping
 * what a newer link replaced or dropped.  What is kept in memory: per
 * link, the runs of pages its index holds and its pagemap stores
 * (16 bytes a run, not a page), its reader's buffers, and one 1 MiB
 * buffer: never pages or hashes. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chain.h"
#include "coreread.h"
#include "err.h"
#include "index.h"
#include "num.h"
#include "pack.h"
#include "tar.h"

#define BUF (1 << 20)

struct link {
	const char *path;
	int fd;
	struct pack_in in;
	int more;                  /* a member's header is read, not taken */
	struct img_manifest man;
	char *mtext;               /* the manifest's text */
	size_t mlen;
	/* the process being merged */
	int has;                   /* this link holds it */
	int indexed;
	struct run_list held, stored;
	size_t hc, sc;             /* lookup cursors into held, stored */
	size_t di;                 /* the stored run of the next data byte */
	uint64_t dat;              /* and its address */
	uint64_t dpos;             /* and its offset in the pages member */
	int file;                  /* the link's fd, when its pages member
	                            * is read with pread (pack_in_file), or -1 */
};

struct chain {
	struct link *l;
	int n;
	struct tar_out out;
	unsigned char *buf;
};

static const char *id_of(const struct link *l)
{
	return *l->man.id ? l->man.id : "(no id)";
}

static int link_fail(const struct link *l, const char *what)
{
	warn("%s (image %s): %s", l->path, id_of(l), what);
	return -1;
}

static int link_next(struct link *l)
{
	if ((l->more = pack_in_next(&l->in)) < 0)
		return link_fail(l, l->in.err);
	return 0;
}

static int link_open(struct link *l, const char *path)
{
	static struct img_manifest m;
	ssize_t n;

	l->path = path;
	if ((l->fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return warn("%s:", path), -1;
	if (pack_in_open(&l->in, l->fd, 0) < 0 || pack_in_next(&l->in) <= 0)
		return warn("%s: %s", path, l->in.err), -1;
	if (!(l->mtext = malloc(l->in.m.size + 1)))
		die("out of memory");
	for (l->mlen = 0; (n = pack_in_read(&l->in, l->mtext + l->mlen,
					    l->in.m.size - l->mlen)) > 0;)
		l->mlen += n;
	if (n < 0 || l->mlen != l->in.m.size)
		return warn("%s: %s", path, n < 0 ? l->in.err : "manifest cut short"), -1;
	l->mtext[l->mlen] = 0;
	/* manifest_parse writes into the text: parse a copy */
	{
		char *copy = strdup(l->mtext);

		if (!copy)
			die("out of memory");
		if (manifest_parse(copy, path, &m) < 0) {
			free(copy);
			return -1;
		}
		free(copy);
	}
	l->man = m;
	if (!*l->man.id)
		return warn("%s: its manifest has no image id", path), -1;
	return link_next(l);
}

/* the link whose id is id, or -1 */
static int link_by_id(const struct chain *c, const char *id)
{
	int i;

	for (i = 0; i < c->n; i++)
		if (!strcmp(c->l[i].man.id, id))
			return i;
	return -1;
}

/* link i's parent must be link i - 1 (the base has none) */
static int link_check(const struct chain *c, int i)
{
	const struct link *l = &c->l[i], *prev = i ? &c->l[i - 1] : NULL;
	int j;

	if (!prev && !*l->man.parent)
		return 0;
	if (!prev)
		return warn("%s: an increment of image %s, not a full image: a chain starts with its base",
			    l->path, l->man.parent), -1;
	if (!*l->man.parent)
		return warn("%s (image %s): a full image, not an increment of %s (image %s)",
			    l->path, l->man.id, prev->path, prev->man.id), -1;
	if (!strcmp(l->man.parent, prev->man.id))
		return 0;
	if ((j = link_by_id(c, l->man.parent)) >= 0)
		return warn("%s (image %s): wrong order: its parent is %s (image %s), not %s (image %s)",
			    l->path, l->man.id, c->l[j].path, c->l[j].man.id, prev->path,
			    prev->man.id), -1;
	return warn("%s (image %s): its parent is image %s, not %s (image %s): a missing link, or an image of another program",
		    l->path, l->man.id, l->man.parent, prev->path, prev->man.id), -1;
}

static void link_close(struct link *l)
{
	if (l->fd >= 0) {
		pack_in_close(&l->in);
		close(l->fd);
	}
	free(l->mtext);
	run_list_free(&l->held);
	run_list_free(&l->stored);
}

static int chain_open(struct chain *c, char *const *paths, int n)
{
	int i;

	c->n = n;
	if (!(c->l = calloc(n, sizeof *c->l)))
		die("out of memory");
	for (i = 0; i < n; i++)
		c->l[i].fd = -1;
	for (i = 0; i < n; i++)
		if (link_open(&c->l[i], paths[i]) < 0)
			return -1;
	for (i = 0; i < n; i++)
		if (link_check(c, i) < 0)
			return -1;
	return 0;
}

static void chain_close(struct chain *c)
{
	int i;

	for (i = 0; c->l && i < c->n; i++)
		link_close(&c->l[i]);
	free(c->l);
	free(c->buf);
}

int chain_check(char *const *paths, int n)
{
	struct chain c = { 0 };
	int r = chain_open(&c, paths, n);

	chain_close(&c);
	return r;
}

static void out_check(int r)
{
	if (r < 0)
		dieerr(r, "writing the output:");
}

/* the last link's manifest, as a full image's: parent - */
static int manifest_out(struct chain *c)
{
	const struct link *last = &c->l[c->n - 1];
	char *text = malloc(last->mlen + 8), *p, *eol;
	size_t len;

	if (!text)
		die("out of memory");
	p = strstr(last->mtext, "\nparent ");
	if (!p || !(eol = strchr(p + 1, '\n')))
		return free(text), link_fail(last, "ckpt/manifest: no parent line");
	len = p - last->mtext;
	memcpy(text, last->mtext, len);
	len += sprintf(text + len, "\nparent -");
	memcpy(text + len, eol, last->mlen - (eol - last->mtext));
	len += last->mlen - (eol - last->mtext);
	c->out.mtime = last->in.m.mtime;
	out_check(tar_begin(&c->out, "ckpt/manifest", len));
	out_check(tar_data(&c->out, text, len));
	out_check(tar_end_member(&c->out, len));
	free(text);
	return 0;
}

/* "proc/PID/WHAT": WHAT and *pid, or NULL */
static const char *member_proc(const char *name, pid_t *pid)
{
	const char *s = name + 5, *slash;
	uint64_t v;

	if (strncmp(name, "proc/", 5) || !(slash = strchr(s, '/')) ||
	    num_scan(&s, slash, 10, NUM_INT_MAX, &v) < 0 || s != slash)
		return NULL;
	*pid = v;
	return slash + 1;
}

/* the current member of l copied to the output as it is */
static int member_copy(struct chain *c, struct link *l)
{
	const struct pack_member *m = &l->in.m;
	uint64_t done = 0;
	ssize_t n;

	c->out.mtime = m->mtime;
	out_check(m->align ? tar_begin_aligned(&c->out, m->name, m->size) :
		  tar_begin(&c->out, m->name, m->size));
	while ((n = pack_in_read(&l->in, c->buf, BUF)) > 0) {
		out_check(tar_data(&c->out, c->buf, n));
		done += n;
	}
	if (n < 0 || done != m->size)
		return link_fail(l, n < 0 ? l->in.err : "a member cut short");
	out_check(tar_end_member(&c->out, m->size));
	return 0;
}

static ssize_t pack_rd(void *ctx, void *buf, size_t len)
{
	return pack_in_read(ctx, buf, len);
}

static int lines_fail(struct link *l, int r, unsigned no, const char *why)
{
	if (r == -1)
		return link_fail(l, l->in.err);
	warn("%s (image %s): %s line %u: %s", l->path, id_of(l), l->in.m.name, no, why);
	return -1;
}

/* a pagemap or index member of l (runs of pages) into runs */
static int runs_take(struct link *l, struct run_list *runs)
{
	static struct lines ln;
	int r;

	lines_init(&ln, pack_rd, &l->in);
	if ((r = lines_runs(&ln, runs)) == -3)
		return lines_fail(l, 0, ln.no, "not a run of pages after the last");
	if (r < 0)
		return lines_fail(l, r, ln.no + 1, "a line too long or cut");
	return 0;
}

/* the index of l into l->held: the pages it holds, as runs */
static int index_take(struct link *l)
{
	if (runs_take(l, &l->held) < 0)
		return -1;
	l->indexed = 1;
	return 0;
}

static int link_proc_reset(struct link *l)
{
	l->has = l->indexed = 0;
	run_list_free(&l->held);
	run_list_free(&l->stored);
	l->hc = l->sc = l->di = 0;
	l->dat = l->dpos = 0;
	l->file = -1;
	return 0;
}

/* An older link up to pid's pages member (its header read, not taken),
 * its index and pagemap taken; the members of other processes and the
 * rest of pid's are skipped.  A link whose manifest has no such
 * process holds nothing of it. */
static int link_seek(struct link *l, pid_t pid)
{
	const struct img_mproc *mp = manifest_proc(&l->man, pid);
	const char *what;
	char msg[128];
	pid_t p;

	link_proc_reset(l);
	if (!mp || mp->zombie)
		return 0;
	for (; l->more; ) {
		what = member_proc(l->in.m.name, &p);
		if (what && p == pid && !strcmp(what, "pages"))
			break;
		if (what && p == pid && !strcmp(what, "index") && index_take(l) < 0)
			return -1;
		if (what && p == pid && !strcmp(what, "pagemap") && runs_take(l, &l->stored) < 0)
			return -1;
		if (link_next(l) < 0)
			return -1;
	}
	if (!l->more) {
		snprintf(msg, sizeof msg, "proc/%d/pages: not found (its processes come in another order)",
			 (int)pid);
		return link_fail(l, msg);
	}
	l->has = 1;
	return 0;
}

/* Is every page of a that is not in b in h?  0, or the first one that
 * is not (a page address is never 0 here: mmap_min_addr).  A run at a
 * time: a page at a time, the links of a chain of 1 GiB took 6 ms */
static uint64_t runs_outside(const struct run_list *a, const struct run_list *b,
			     const struct run_list *h)
{
	size_t bi = 0, hi = 0, i;
	uint64_t p, e;

	for (i = 0; i < a->n; i++)
		for (p = a->v[i].start, e = a->v[i].end; p < e;) {
			while (b && bi < b->n && b->v[bi].end <= p)
				bi++;
			while (hi < h->n && h->v[hi].end <= p)
				hi++;
			if (b && bi < b->n && b->v[bi].start <= p)
				p = b->v[bi].end;
			else if (hi < h->n && h->v[hi].start <= p)
				p = h->v[hi].end;
			else
				return p;
		}
	return 0;
}

/* What link k holds and does not store must be held by its parent;
 * what it stores, it holds; a base holds what it stores */
static int links_agree(struct chain *c, pid_t pid)
{
	char msg[512];
	uint64_t bad;
	int k;

	for (k = c->n - 1; k >= 0; k--) {
		struct link *l = &c->l[k], *par = k ? &c->l[k - 1] : NULL;

		if (!l->has)
			continue;
		if ((bad = runs_outside(&l->stored, NULL, &l->held))) {
			snprintf(msg, sizeof msg, "proc/%d: page %" PRIx64 " is stored but not in its index",
				 (int)pid, bad);
			return link_fail(l, msg);
		}
		if (!par && (bad = runs_outside(&l->held, &l->stored, &(struct run_list){ 0 }))) {
			snprintf(msg, sizeof msg, "proc/%d: page %" PRIx64 " is in the index of a full image but not stored",
				 (int)pid, bad);
			return link_fail(l, msg);
		}
		if (par && (bad = runs_outside(&l->held, &l->stored, &par->held))) {
			snprintf(msg, sizeof msg, "proc/%d: page %" PRIx64 " is in its index, not stored, and not held by its parent %s (image %s)",
				 (int)pid, bad, par->path, id_of(par));
			return link_fail(l, msg);
		}
	}
	return 0;
}

/* the runs as the text member name */
static void runs_out(struct chain *c, const struct link *last, const char *name,
		     const struct run_list *runs)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		die("out of memory");
	runs_text(f, runs);
	if (fclose(f) != 0)
		die("out of memory");
	c->out.mtime = last->in.m.mtime;
	out_check(tar_begin(&c->out, name, len));
	out_check(tar_data(&c->out, text, len));
	out_check(tar_end_member(&c->out, len));
	free(text);
}

/* exactly len bytes of l's pages member into buf, or skipped (buf NULL) */
static int data_read(struct chain *c, struct link *l, unsigned char *buf, uint64_t len)
{
	ssize_t n;
	uint64_t want;

	while (len) {
		want = len < BUF ? len : BUF;
		n = pack_in_read(&l->in, buf ? buf : c->buf, want);
		if (n <= 0)
			return link_fail(l, n < 0 ? l->in.err : "a pages member shorter than its pagemap");
		len -= n;
		if (buf)
			buf += n;
	}
	return 0;
}

/* len bytes of l's pages member passed over: read and dropped, or
 * with pread, not read at all */
static int data_skip(struct chain *c, struct link *l, uint64_t len)
{
	if (l->file < 0 && data_read(c, l, NULL, len) < 0)
		return -1;
	l->dpos += len;
	return 0;
}

/* len bytes of l's pages member, at l->dpos, into buf */
static int data_take(struct chain *c, struct link *l, unsigned char *buf, uint64_t len)
{
	uint64_t at = l->in.tar.data_off + l->dpos;
	ssize_t n;

	if (l->file < 0 && data_read(c, l, buf, len) < 0)
		return -1;
	for (l->dpos += len; l->file >= 0 && len; len -= n, buf += n, at += n)
		if ((n = pread(l->file, buf, len, at)) <= 0)
			return link_fail(l, n < 0 ? "read the pages member" :
				"a pages member shorter than its pagemap");
	return 0;
}

/* l's data cursor moved to address a, which l stores */
static int data_seek(struct chain *c, struct link *l, uint64_t a)
{
	const struct page_run *r;

	while (l->di < l->stored.n) {
		r = &l->stored.v[l->di];
		if (l->dat < r->start)
			l->dat = r->start;
		if (a < r->end) {
			if (data_skip(c, l, a - l->dat) < 0)
				return -1;
			l->dat = a;
			return 0;
		}
		if (data_skip(c, l, r->end - l->dat) < 0)
			return -1;
		l->di++;
	}
	return link_fail(l, "a page past its pagemap");
}

/* The newest link that stores a, and where that stops being so (the
 * end of its run, or where a newer link's run starts): its index, or
 * -1 when none does. */
static int source_at(struct chain *c, uint64_t a, uint64_t *end)
{
	struct link *l;
	int k;

	for (k = c->n - 1; k >= 0; k--) {
		l = &c->l[k];
		while (l->sc < l->stored.n && l->stored.v[l->sc].end <= a)
			l->sc++;
		if (l->sc == l->stored.n)
			continue;
		if (l->stored.v[l->sc].start <= a) {
			if (l->stored.v[l->sc].end < *end)
				*end = l->stored.v[l->sc].end;
			return k;
		}
		if (l->stored.v[l->sc].start < *end)
			*end = l->stored.v[l->sc].start;
	}
	return -1;
}

/* [a, end) from link k to the output */
static int segment_copy(struct chain *c, struct link *l, uint64_t a, uint64_t end)
{
	uint64_t len;

	if (data_seek(c, l, a) < 0)
		return -1;
	for (; a < end; a += len) {
		len = end - a < BUF ? end - a : BUF;
		if (data_take(c, l, c->buf, len) < 0)
			return -1;
		out_check(tar_data(&c->out, c->buf, len));
	}
	l->dat = end;
	return 0;
}

/* Each link's pages member of the process, about to be read: with
 * pread where the link is a raw stream in a file (no read-ahead buffer
 * to copy through, no read of what a newer link replaced), which the
 * members' sizes must then bound; else read forward */
static int links_ready(struct chain *c)
{
	struct link *l;
	int k;

	for (k = 0; k < c->n; k++) {
		l = &c->l[k];
		if (!l->has)
			continue;
		if (l->stored.bytes > l->in.m.size)
			return link_fail(l, "a pages member shorter than its pagemap");
		l->file = pack_in_file(&l->in);
	}
	return 0;
}

/* the pages members read with pread passed over by seeking */
static int links_done(struct chain *c)
{
	int k;

	for (k = 0; k < c->n; k++)
		if (c->l[k].has && c->l[k].file >= 0 && pack_in_skip(&c->l[k].in) < 0)
			return link_fail(&c->l[k], "seek past its pages member");
	return 0;
}

/* the output's pages member: every page the last link holds */
static int pages_out(struct chain *c, struct link *last, pid_t pid)
{
	char name[64], msg[128];
	uint64_t a, end;
	size_t i;
	int k;

	if (links_ready(c) < 0)
		return -1;

	snprintf(name, sizeof name, "proc/%d/pages", (int)pid);
	c->out.mtime = last->in.m.mtime;
	out_check(tar_begin_aligned(&c->out, name, last->held.bytes));
	for (i = 0; i < last->held.n; i++)
		for (a = last->held.v[i].start; a < last->held.v[i].end; a = end) {
			end = last->held.v[i].end;
			if ((k = source_at(c, a, &end)) < 0) {
				snprintf(msg, sizeof msg, "proc/%d: page %" PRIx64 " is stored by no link",
					 (int)pid, a);
				return link_fail(last, msg);
			}
			if (segment_copy(c, &c->l[k], a, end) < 0)
				return -1;
		}
	out_check(tar_end_member(&c->out, last->held.bytes));
	return links_done(c);
}

/* the last link's next member is pid's WHAT */
static int last_at(struct link *last, pid_t pid, const char *what)
{
	const char *w;
	char msg[128];
	pid_t p;

	if (last->more && (w = member_proc(last->in.m.name, &p)) && p == pid && !strcmp(w, what))
		return 0;
	snprintf(msg, sizeof msg, "proc/%d/%s: not where it belongs (index, hashes, pagemap, pages)",
		 (int)pid, what);
	return link_fail(last, msg);
}

/* The last link's index (its runs kept, written again), hashes (copied:
 * 8 bytes a page held) and pagemap (its runs kept), up to its pages */
static int last_take(struct chain *c, struct link *last, pid_t pid)
{
	char name[64];

	link_proc_reset(last);
	last->has = 1;
	if (index_take(last) < 0)
		return -1;
	snprintf(name, sizeof name, "proc/%d/index", (int)pid);
	runs_out(c, last, name, &last->held);
	if (link_next(last) < 0 || last_at(last, pid, "hashes") < 0)
		return -1;
	if (last->in.m.size != last->held.bytes / INDEX_PAGE * 8)
		return link_fail(last, "a hashes member not 8 bytes for each page of its index");
	if (member_copy(c, last) < 0 || link_next(last) < 0 || last_at(last, pid, "pagemap") < 0 ||
	    runs_take(last, &last->stored) < 0 || link_next(last) < 0)
		return -1;
	return last_at(last, pid, "pages");
}

/* one process: the last link's members, with the pages of the links
 * before it */
static int proc_merge(struct chain *c, pid_t pid)
{
	struct link *last = &c->l[c->n - 1];
	char name[64];
	int k;

	if (last_take(c, last, pid) < 0)
		return -1;
	for (k = 0; k < c->n - 1; k++)
		if (link_seek(&c->l[k], pid) < 0)
			return -1;
	for (k = 0; k < c->n; k++)
		if (c->l[k].has && !c->l[k].indexed) {
			if (k > 0 || *c->l[k].man.parent)
				return link_fail(&c->l[k], "an increment without an index member");
			if (run_list_copy(&c->l[k].held, &c->l[k].stored) < 0)
				die("out of memory");
		}
	if (links_agree(c, pid) < 0)
		return -1;
	snprintf(name, sizeof name, "proc/%d/pagemap", (int)pid);
	runs_out(c, last, name, &last->held);
	if (pages_out(c, last, pid) < 0)
		return -1;
	return link_next(last);
}

int chain_merge(char *const *paths, int n, int out)
{
	struct chain c = { 0 };
	struct link *last;
	const char *what;
	pid_t pid;
	int r;

	if ((r = chain_open(&c, paths, n)) == 0) {
		if (!(c.buf = malloc(BUF)))
			die("out of memory");
		tar_init(&c.out, out, 0);
		last = &c.l[n - 1];
		r = manifest_out(&c);
		while (r == 0 && last->more) {
			what = member_proc(last->in.m.name, &pid);
			if (what && !strcmp(what, "index"))
				r = proc_merge(&c, pid);
			else if (what && (!strcmp(what, "pagemap") || !strcmp(what, "pages") ||
					  !strcmp(what, "hashes")))
				r = link_fail(last, "a hashes, pagemap or pages member without an index before it");
			else
				r = member_copy(&c, last) < 0 ? -1 : link_next(last);
		}
		if (r == 0)
			out_check(tar_finish(&c.out));
	}
	chain_close(&c);
	return r;
}
