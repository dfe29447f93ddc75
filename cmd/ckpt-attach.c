/* ckpt-attach - load the shim into a running program that was not
 * started under ckpt-run, so that it can be checkpointed from now on.
 * Its main thread, stopped with ptrace, calls dlopen(shim, RTLD_GLOBAL:
 * so that ckpt.h finds the shim's functions with dlsym) (and, when
 * CKPT_SOCKDIR is set here, setenv first, so that the shim and the
 * tools agree on the socket directory); then it runs on, detached, and
 * ckpt-attach waits until the shim answers on its socket.
 * SPDX-License-Identifier: MIT */
#include <dlfcn.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "args.h"
#include "ctl.h"
#include "err.h"
#include "inject.h"
#include "io.h"
#include "kproc.h"
#include "maps.h"
#include "selfdir.h"

static const char usage[] = "ckpt-attach PID";

static const struct option options[] = {
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* pid's regions ("self" for ours), with the maps text they point
 * into in *text: n, or -1 with errno */
static long regions_of(const char *pid, struct map_region **r, char **text)
{
	char path[64];
	size_t len, n, bad;

	snprintf(path, sizeof path, "/proc/%s/maps", pid);
	if (!(*text = read_file(path, &len)))
		return -1;
	if (maps_parse(*text, len, r, &n, &bad) < 0) {
		free(*text);
		errno = EPROTO;
		return -1;
	}
	return (long)n;
}

/* 1 when region r is a file whose path ends in name */
static int path_ends(const struct map_region *r, const char *name)
{
	size_t n = strlen(name);

	return r->pathlen >= n && !memcmp(r->path + r->pathlen - n, name, n);
}

/* the start and the dev:inode of pid's mapping of libc.so.6 (its first,
 * offset 0), from /proc/PID/maps ("self" for ours): 0, or -1 */
static int libc_of(const char *pid, uint64_t *base, char *id, size_t idlen, char *path,
		   size_t pathlen)
{
	struct map_region *r;
	char *text;
	long n = regions_of(pid, &r, &text), i;
	int found = -1;

	for (i = 0; i < n && found < 0; i++)
		if (r[i].offset == 0 && map_is_file(&r[i]) && path_ends(&r[i], "/libc.so.6")) {
			*base = r[i].start;
			snprintf(id, idlen, "%02x:%02x %llu", r[i].dev_major, r[i].dev_minor,
				 (unsigned long long)r[i].inode);
			snprintf(path, pathlen, "%.*s", (int)r[i].pathlen, r[i].path);
			found = 0;
		}
	if (n >= 0) {
		free(r);
		free(text);
	}
	return found;
}

/* 1 when pid maps a file whose path ends in name */
static int maps_has(pid_t pid, const char *name)
{
	struct map_region *r;
	char p[16], *text;
	long n, i;
	int found = 0;

	snprintf(p, sizeof p, "%d", (int)pid);
	if ((n = regions_of(p, &r, &text)) < 0)
		die("pid %d: /proc/%d/maps:", (int)pid, (int)pid);
	for (i = 0; i < n && !found; i++)
		found = path_ends(&r[i], name);
	free(r);
	free(text);
	return found;
}

/* where libc's function name is in pid, whose libc must be ours: its
 * address here (libc's own, looked up in libc: a sanitizer's
 * interceptor of the same name is not in the target) moved by the
 * difference of the two mappings */
static uint64_t their(pid_t pid, const char *name)
{
	char p[16], our_id[64], id[64], path[PATH_MAX], our_path[PATH_MAX];
	void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD), *fn;
	uint64_t ours, base;

	if (!libc || !(fn = dlsym(libc, name)))
		die("%s: not found in our libc.so.6", name);
	snprintf(p, sizeof p, "%d", (int)pid);
	if (libc_of("self", &ours, our_id, sizeof our_id, our_path, sizeof our_path) < 0)
		die("our own libc.so.6: not in /proc/self/maps");
	if (libc_of(p, &base, id, sizeof id, path, sizeof path) < 0)
		die("pid %d: maps no libc.so.6 (a static or musl program): the shim needs glibc",
		    (int)pid);
	if (strcmp(id, our_id))
		die("pid %d: its libc %s is not ours (%s): cannot find %s in it", (int)pid, path,
		    our_path, name);
	return (uintptr_t)fn - ours + base;
}

/* what dlerror() says in pid, after a failed dlopen */
static void say_dlerror(pid_t pid, struct inject *in, const char *shim)
{
	char msg[512] = "";
	uint64_t at = 0;
	struct iovec local = { msg, sizeof msg - 1 }, remote;

	if (inject_call(in, their(pid, "dlerror"), 0, 0, 0, &at) == 0 && at) {
		remote = (struct iovec){ (void *)at, sizeof msg - 1 };
		if (process_vm_readv(pid, &local, 1, &remote, 1, 0) < 0)
			msg[0] = 0;
	}
	warn("pid %d: dlopen %s failed in it: %s", (int)pid, shim, msg[0] ? msg : "(no reason)");
}

/* the shim into pid: 0, or -1 after a message */
static int load(pid_t pid, const char *shim)
{
	const char *dir = getenv("CKPT_SOCKDIR");
	uint64_t s_path, s_key, s_dir, handle = 0, r = 0;
	struct inject *in = inject_attach(pid);
	int ok;

	if (!in)
		return -1;
	ok = inject_push(in, shim, strlen(shim) + 1, &s_path) == 0;
	if (ok && dir && *dir)
		ok = inject_push(in, "CKPT_SOCKDIR", 13, &s_key) == 0 &&
		     inject_push(in, dir, strlen(dir) + 1, &s_dir) == 0 &&
		     inject_call(in, their(pid, "setenv"), s_key, s_dir, 1,
				 &r) == 0 && r == 0;
	if (ok)
		ok = inject_call(in, their(pid, "dlopen"), s_path, RTLD_NOW | RTLD_GLOBAL, 0,
				 &handle) == 0;
	if (ok && !handle) {
		say_dlerror(pid, in, shim);
		ok = 0;
	}
	inject_detach(in);
	return ok ? 0 : -1;
}

/* pid's real uid, for a message */
static unsigned uid_of(pid_t pid)
{
	char path[64], val[64], *status;
	unsigned uid = -1;

	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	if ((status = read_file(path, NULL))) {
		if (status_value(status, "Uid", val, sizeof val))
			sscanf(val, "%u", &uid);
		free(status);
	}
	return uid;
}

/* the shim serves: a checkpoint can begin (5 s at most) */
static int serves(pid_t pid)
{
	struct timespec ms10 = { 0, 10000000 };
	int i, s, why;

	for (i = 0; i < 500; i++) {
		if ((s = ctl_open_try(pid, &why)) >= 0) {
			close(s);
			return 0;
		}
		nanosleep(&ms10, NULL);
	}
	s = ctl_open(pid);   /* again, saying why not */
	if (s >= 0)
		close(s);
	return s >= 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	char shim[PATH_MAX];
	pid_t pid;
	int c;

	prog_init(argv);
	while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (c) {
		case 'h':
			printf("usage: %s\n", usage);
			return 0;
		default:
			usage_die(usage);
		}
	}
	if (optind != argc - 1)
		usage_die(usage);
	pid = pid_arg(argv[optind], usage);
	shim_path(shim, sizeof shim);
	if (kill(pid, 0) < 0 && errno == EPERM)
		die("pid %d: not yours (uid %u): refused", (int)pid, uid_of(pid));
	if (kill(pid, 0) < 0)
		die("pid %d:", (int)pid);
	if (maps_has(pid, "/libckpt.so"))
		die("pid %d: has the shim already", (int)pid);
	if (load(pid, shim) < 0 || serves(pid) < 0)
		return 1;
	return 0;
}
