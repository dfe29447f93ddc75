/* packout.c - the threads of ckpt-pack.  One lock guards the slot ring
 * and the failure (failed, err: read only under it, or after the
 * threads are joined); a slot goes FREE -> FILLING (caller) -> TODO -> DONE (a worker) ->
 * FREE (the writer), and the three sequence numbers only grow, so each
 * side finds its next slot at seq % nslots. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "packout.h"
#include "tar.h"
#include "xxh64.h"

enum { FREE, FILLING, TODO, DONE };

struct slot {
	int state;
	struct pack_member m;
	int lz4;
	uint64_t off;
	unsigned char *in, *out;
	size_t len, zlen;
	uint64_t hash;
};

struct pack_out {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct slot *s;
	unsigned ns, nworkers;
	uint64_t fill, work, write;     /* sequence numbers */
	int level, quit, failed;
	pthread_t *workers, writer;
	struct tar_out tar;
	size_t zcap;
	char err[4400];
};

static void set_failed(struct pack_out *o, const char *fmt, const char *name, int err)
{
	if (!o->failed)
		snprintf(o->err, sizeof o->err, fmt, name, strerror(err));
	o->failed = 1;
}

static void *worker(void *arg)
{
	struct pack_out *o = arg;
	struct slot *s;

	pthread_mutex_lock(&o->mu);
	for (;;) {
		while (o->work == o->fill && !o->quit)
			pthread_cond_wait(&o->cv, &o->mu);
		if (o->work == o->fill)
			break;
		s = &o->s[o->work++ % o->ns];
		pthread_mutex_unlock(&o->mu);
		s->hash = xxh64(s->in, s->len, 0);
		s->zlen = s->lz4 ? pack_frame(s->in, s->len, s->out, o->zcap, o->level) : s->len;
		pthread_mutex_lock(&o->mu);
		if (s->lz4 && s->zlen == 0)
			set_failed(o, "%s: lz4 compression failed%.0s", s->m.name, 0);
		s->state = DONE;
		pthread_cond_broadcast(&o->cv);
	}
	pthread_mutex_unlock(&o->mu);
	return NULL;
}

static int slot_write(struct pack_out *o, struct slot *s)
{
	char name[sizeof s->m.name + 32], recs[512];
	unsigned part = s->off / PACK_PART;
	const void *data = s->lz4 ? s->out : s->in;
	size_t n;
	int r;

	if (!s->lz4)
		snprintf(name, sizeof name, "%s", s->m.name);
	else if (part == 0)
		snprintf(name, sizeof name, "%s.lz4", s->m.name);
	else
		snprintf(name, sizeof name, "%s.lz4.%u", s->m.name, part);
	n = pack_pax(recs, sizeof recs, s->m.size, s->m.align,
		     s->lz4 ? (int64_t)s->off : -1, s->hash);
	o->tar.mtime = s->m.mtime;
	r = tar_begin_pax(&o->tar, name, s->zlen, recs, n);
	if (!r)
		r = tar_data(&o->tar, data, s->zlen);
	if (!r)
		r = tar_end_member(&o->tar, s->zlen);
	return r;
}

/* after a failure the writer still frees slots, writing nothing, so
 * that no thread waits for ever */
static void *writer(void *arg)
{
	struct pack_out *o = arg;
	struct slot *s;
	int r, failed;

	pthread_mutex_lock(&o->mu);
	for (;;) {
		s = &o->s[o->write % o->ns];
		while (s->state != DONE && !(o->quit && o->write == o->fill))
			pthread_cond_wait(&o->cv, &o->mu);
		if (s->state != DONE)
			break;
		failed = o->failed;
		pthread_mutex_unlock(&o->mu);
		r = failed ? 0 : slot_write(o, s);
		pthread_mutex_lock(&o->mu);
		if (r < 0)
			set_failed(o, "writing %s: %s", s->m.name, -r);
		s->state = FREE;
		o->write++;
		pthread_cond_broadcast(&o->cv);
	}
	pthread_mutex_unlock(&o->mu);
	return NULL;
}

struct pack_out *pack_out_new(int fd, int level, int workers)
{
	struct pack_out *o = calloc(1, sizeof *o);
	unsigned i;

	if (!o)
		return NULL;
	o->ns = workers + 3;
	o->nworkers = workers;
	o->level = level;
	o->zcap = pack_zbound(PACK_PART);
	tar_init(&o->tar, fd, 0);
	o->s = calloc(o->ns, sizeof *o->s);
	o->workers = calloc(workers, sizeof *o->workers);
	if (!o->s || !o->workers)
		goto fail;
	for (i = 0; i < o->ns; i++) {
		o->s[i].in = malloc(PACK_PART);
		o->s[i].out = malloc(o->zcap);
		if (!o->s[i].in || !o->s[i].out)
			goto fail;
	}
	pthread_mutex_init(&o->mu, NULL);
	pthread_cond_init(&o->cv, NULL);
	for (i = 0; i < o->nworkers; i++)
		if (pthread_create(&o->workers[i], NULL, worker, o))
			abort();
	if (pthread_create(&o->writer, NULL, writer, o))
		abort();
	return o;
fail:
	o->nworkers = 0;
	pack_out_free(o);
	return NULL;
}

unsigned char *pack_out_buf(struct pack_out *o)
{
	struct slot *s = &o->s[o->fill % o->ns];
	int failed;

	pthread_mutex_lock(&o->mu);
	while (s->state != FREE && !o->failed)
		pthread_cond_wait(&o->cv, &o->mu);
	if (!(failed = o->failed))
		s->state = FILLING;
	pthread_mutex_unlock(&o->mu);
	return failed ? NULL : s->in;
}

int pack_out_put(struct pack_out *o, const struct pack_member *m, int lz4,
		 uint64_t off, size_t len)
{
	struct slot *s = &o->s[o->fill % o->ns];
	int failed;

	s->m = *m;
	s->lz4 = lz4;
	s->off = off;
	s->len = len;
	pthread_mutex_lock(&o->mu);
	s->state = TODO;
	o->fill++;
	pthread_cond_broadcast(&o->cv);
	failed = o->failed;
	pthread_mutex_unlock(&o->mu);
	return failed ? -1 : 0;
}

int pack_out_finish(struct pack_out *o)
{
	unsigned i;
	int r;

	pthread_mutex_lock(&o->mu);
	o->quit = 1;
	pthread_cond_broadcast(&o->cv);
	pthread_mutex_unlock(&o->mu);
	for (i = 0; i < o->nworkers; i++)
		pthread_join(o->workers[i], NULL);
	pthread_join(o->writer, NULL);
	o->nworkers = 0;
	o->writer = 0;
	if (o->failed)
		return -1;
	if ((r = tar_finish(&o->tar)) < 0) {
		set_failed(o, "writing the %s: %s", "trailer", -r);
		return -1;
	}
	return 0;
}

/* err is written once, under the lock, as failed is first set: taking
 * the lock here orders this read after that write */
const char *pack_out_error(struct pack_out *o)
{
	const char *e;

	pthread_mutex_lock(&o->mu);
	e = o->err;
	pthread_mutex_unlock(&o->mu);
	return e;
}

void pack_out_free(struct pack_out *o)
{
	unsigned i;

	if (!o)
		return;
	if (o->nworkers || o->writer)
		pack_out_finish(o);
	for (i = 0; o->s && i < o->ns; i++) {
		free(o->s[i].in);
		free(o->s[i].out);
	}
	free(o->s);
	free(o->workers);
	free(o);
}
