/* imgshow.h - what an image holds, as a person asks for it (ckpt-show):
 * the job's processes with their threads, memory regions and fds, and
 * every member with its size as written and as stored.  Read from any
 * image (raw, packed, compressed; a file or a pipe) front to back,
 * restoring nothing: the text members are parsed, the pages only
 * counted.  Informational: a member this reader does not know is
 * listed, not refused (ckpt-thaw is the one that checks an image). */
#ifndef CKPT_IMGSHOW_H
#define CKPT_IMGSHOW_H
#include <stddef.h>
#include <stdint.h>

struct show_member {
	char *name;            /* as in the raw stream */
	uint64_t size;         /* its bytes in the raw stream */
	uint64_t stored;       /* its tar data as read: lz4 parts packed */
};

struct show_region {
	uint64_t start, end, offset;
	char perms[5];
	const char *kind;      /* formats/memory.md's region kinds */
	char *path;            /* the kernel's spelling; "" when none */
	uint64_t stored;       /* bytes of it in pages */
};

struct show_kv {
	char *key, *value;     /* value unescaped */
};

struct show_fd {
	long fd;
	char *kind;
	struct show_kv *kv;    /* the line's keys, in its order */
	size_t nkv;
	char *action;          /* what a restore does with it */
};

struct show_thread {
	long tid;
	char *role;            /* "program", "control", ... */
};

struct show_proc {
	long pid, ppid, pgid, sid;
	int zombie;
	long status;           /* a zombie's wait status */
	char *comm, *exe, *cwd;
	char **argv;           /* core's cmdline; NULL-terminated */
	long uid, gid;         /* real ids */
	struct show_thread *thr;
	size_t nthr;
	struct show_region *reg;
	size_t nreg;
	struct show_fd *fds;
	size_t nfds;
	uint64_t pages;        /* bytes of memory stored */
	int indexed;           /* it has an index member (formats/index.md) */
	uint64_t held;         /* then: the bytes of the pages it lists */
	struct show_member *mem;
	size_t nmem;
};

struct show_image {
	char *version, *tool, *kernel, *arch, *time, *id, *parent;
	int packed, killed;
	long root;
	struct show_proc *proc;
	size_t nproc;
	struct show_member *mem;   /* every member, in stream order */
	size_t nmem;
	uint64_t raw;              /* the raw stream's member bytes */
	uint64_t stored;           /* the members' tar data as read */
	uint64_t input;            /* bytes read from the input itself */
};

/* Read the whole image from path, or from fd when path is NULL (what
 * names it in messages), into im.  0, or -1 after a message naming the
 * member; show_free it either way. */
int show_read(struct show_image *im, const char *path, int fd, const char *what);
void show_free(struct show_image *im);
/* the value of key on an fd line, or NULL */
const char *show_fd_key(const struct show_fd *f, const char *key);

#endif
