/* ckpt-attach - load the shim into a running program that was not
 * started under ckpt-run, so that it can be checkpointed from now on.
 * Its main thread, stopped with ptrace, calls dlopen(shim) (and, when
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
#include "selfdir.h"

static const char usage[] = "ckpt-attach PID";

static const struct option options[] = {
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* the start and the dev:inode of pid's mapping of libc.so.6 (its first,
 * offset 0), from /proc/PID/maps ("self" for ours): 0, or -1 */
static int libc_of(const char *pid, uint64_t *base, char *id, size_t idlen, char *path,
		   size_t pathlen)
{
	char maps[64], line[PATH_MAX + 128], dev[32], file[PATH_MAX];
	unsigned long long start, off, ino;
	FILE *f;
	int r = -1;

	snprintf(maps, sizeof maps, "/proc/%s/maps", pid);
	if (!(f = fopen(maps, "re")))
		return -1;
	while (r < 0 && fgets(line, sizeof line, f))
		if (sscanf(line, "%llx-%*x %*s %llx %31s %llu %4095s", &start, &off, dev, &ino,
			   file) == 5 && off == 0 && strlen(file) > 10 &&
		    !strcmp(file + strlen(file) - 10, "/libc.so.6")) {
			*base = start;
			snprintf(id, idlen, "%s %llu", dev, ino);
			snprintf(path, pathlen, "%s", file);
			r = 0;
		}
	fclose(f);
	return r;
}

/* 1 when pid maps a file whose path ends in name */
static int maps_has(pid_t pid, const char *name)
{
	char maps[64], line[PATH_MAX + 128];
	size_t n = strlen(name), len;
	int found = 0;
	FILE *f;

	snprintf(maps, sizeof maps, "/proc/%d/maps", (int)pid);
	if (!(f = fopen(maps, "re")))
		die("pid %d: %s:", (int)pid, maps);
	while (!found && fgets(line, sizeof line, f)) {
		len = strcspn(line, "\n");
		found = len >= n && !memcmp(line + len - n, name, n);
	}
	fclose(f);
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
		ok = inject_call(in, their(pid, "dlopen"), s_path, RTLD_NOW, 0,
				 &handle) == 0;
	if (ok && !handle) {
		say_dlerror(pid, in, shim);
		ok = 0;
	}
	inject_detach(in);
	return ok ? 0 : -1;
}

/* pid's real uid, for a message */
static uid_t uid_of(pid_t pid)
{
	char path[64], line[256];
	unsigned uid = -1;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "re"))) {
		while (fgets(line, sizeof line, f))
			if (sscanf(line, "Uid: %u", &uid) == 1)
				break;
		fclose(f);
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
		die("pid %d: not yours (uid %u): refused", (int)pid, (unsigned)uid_of(pid));
	if (kill(pid, 0) < 0)
		die("pid %d:", (int)pid);
	if (maps_has(pid, "/libckpt.so"))
		die("pid %d: has the shim already", (int)pid);
	if (load(pid, shim) < 0 || serves(pid) < 0)
		return 1;
	return 0;
}
