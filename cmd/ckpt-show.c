/* ckpt-show - what an image holds, for a person (or, with --json, a
 * script): the processes, their threads, memory regions and fds with
 * what a restore does with each, and every member's size as written
 * and as stored.  Reads any image ckpt-thaw reads, from a file or a
 * pipe; changes nothing.
 * SPDX-License-Identifier: MIT */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "human.h"
#include "imgshow.h"
#include "showjson.h"

static const char usage_str[] = "ckpt-show [--json] [--summary] [IMAGE]";

static const struct option options[] = {
	{ "json", no_argument, NULL, 'j' },
	{ "summary", no_argument, NULL, 's' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* n bytes for a person, in a static buffer of the call's slot (a
 * printf may show several) */
static const char *human(uint64_t n, int slot)
{
	static char buf[4][32];

	return bytes_human(n, buf[slot], sizeof buf[slot]);
}

static void when(const char *t, char *out, size_t len)
{
	char *end;
	time_t s = t ? (time_t)strtoll(t, &end, 10) : 0;
	struct tm tm;

	if (!t || end == t || !gmtime_r(&s, &tm) || !strftime(out, len, "%Y-%m-%d %H:%M:%S UTC", &tm))
		snprintf(out, len, "%s", t ? t : "?");
}

static void image_text(const struct show_image *im)
{
	char at[64];

	when(im->time, at, sizeof at);
	printf("image %s, written %s by %s\n", im->id ? im->id : "?", at, im->tool ? im->tool : "?");
	printf("  format %s, %s, kernel %s\n", im->version ? im->version : "?",
	       im->arch ? im->arch : "?", im->kernel ? im->kernel : "?");
	printf("  parent %s%s; %s; %s\n", im->parent ? im->parent : "-",
	       im->parent && strcmp(im->parent, "-") ? " (an increment: restore it with its chain)" : "",
	       im->packed ? "packed" : "raw", im->killed ? "the job was killed (--kill)" :
	       "the job ran on");
	printf("  %zu process%s, root %ld\n", im->nproc, im->nproc == 1 ? "" : "es", im->root);
	printf("  members %s, as stored %s; the image %s (%.2fx)\n", human(im->raw, 0),
	       human(im->stored, 1), human(im->input, 2),
	       im->input ? (double)im->raw / im->input : 1.0);
}

static void proc_head(const struct show_proc *p)
{
	size_t i;

	printf("\nprocess %ld%s: parent %ld, group %ld, session %ld", p->pid,
	       p->zombie ? " (zombie)" : "", p->ppid, p->pgid, p->sid);
	if (p->zombie) {
		printf(", wait status %ld\n", p->status);
		return;
	}
	printf(", uid %ld, gid %ld\n  command ", p->uid, p->gid);
	for (i = 0; p->argv && p->argv[i]; i++)
		printf("%s%s", i ? " " : "", p->argv[i]);
	printf("%s\n  exe     %s\n  cwd     %s\n  threads %zu:", p->argv ? "" : "?",
	       p->exe ? p->exe : "?", p->cwd ? p->cwd : "?", p->nthr);
	for (i = 0; i < p->nthr; i++)
		printf("%s %ld (%s)", i ? "," : "", p->thr[i].tid,
		       p->thr[i].role ? p->thr[i].role : "?");
	printf("\n  memory  %zu regions, %s stored", p->nreg, human(p->pages, 0));
	if (p->indexed)
		printf(", %s held (index)", human(p->held, 1));
	printf("\n");
}

static void regions_text(const struct show_proc *p)
{
	const struct show_region *r;
	size_t i;

	printf("    %-33s %-4s %10s %10s  %-13s %s\n", "ADDRESS", "PERM", "SIZE", "STORED",
	       "KIND", "FILE");
	for (i = 0; i < p->nreg; i++) {
		r = &p->reg[i];
		printf("    %016" PRIx64 "-%016" PRIx64 " %-4s %10s %10s  %-13s %s\n", r->start,
		       r->end, r->perms, human(r->end - r->start, 0), human(r->stored, 1),
		       r->kind, r->path);
	}
}

static void fds_text(const struct show_proc *p)
{
	const struct show_fd *f;
	const char *pos;
	size_t i;

	printf("  fds     %zu\n    %4s %-8s %10s  %-40s %s\n", p->nfds, "FD", "KIND", "POS",
	       "PATH", "AT RESTORE");
	for (i = 0; i < p->nfds; i++) {
		f = &p->fds[i];
		pos = show_fd_key(f, "pos");
		printf("    %4ld %-8s %10s  %-40s %s\n", f->fd, f->kind, pos ? pos : "-",
		       show_fd_key(f, "path") ? show_fd_key(f, "path") : "",
		       f->action ? f->action : "?");
	}
}

static void members_text(const struct show_proc *p)
{
	size_t i;

	printf("  members\n");
	for (i = 0; i < p->nmem; i++)
		printf("    %-24s %10s %10s\n", p->mem[i].name, human(p->mem[i].size, 0),
		       human(p->mem[i].stored, 1));
}

static void show_text(const struct show_image *im, int summary)
{
	const struct show_proc *p;
	size_t i;

	image_text(im);
	for (i = 0; i < im->nproc; i++) {
		p = &im->proc[i];
		proc_head(p);
		if (summary || p->zombie)
			continue;
		regions_text(p);
		fds_text(p);
		members_text(p);
	}
}

int main(int argc, char **argv)
{
	struct show_image im;
	const char *path;
	int c, json = 0, summary = 0;

	prog_init(argv);
	while ((c = getopt_long(argc, argv, "jsh", options, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = 1;
			break;
		case 's':
			summary = 1;
			break;
		case 'h':
			printf("usage: %s\n", usage_str);
			return 0;
		default:
			usage_die(usage_str);
		}
	}
	if (argc - optind > 1)
		usage_die(usage_str);
	path = optind < argc ? argv[optind] : NULL;
	if (show_read(&im, path, 0, path ? path : "stdin") < 0) {
		show_free(&im);
		return 1;
	}
	if (json)
		show_json(stdout, &im);
	else
		show_text(&im, summary);
	show_free(&im);
	if (fflush(stdout) || ferror(stdout))
		die("writing the output:");
	return 0;
}
