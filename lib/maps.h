/* maps.h - the regions of a /proc/PID/maps text */
#ifndef CKPT_MAPS_H
#define CKPT_MAPS_H
#include <stddef.h>
#include <stdint.h>

/* What a dump must keep of a region's pages (formats/memory.md) */
enum map_kind {
	MAP_KIND_PRIVATE,     /* anon, heap, stack, private file: pages the
	                       * process wrote (or that are anon at all) */
	MAP_KIND_SHARED_MEM,  /* shared anon, memfd, SysV: memory is the
	                       * pages' only home; the present ones */
	MAP_KIND_ORPHAN,      /* a mapping of a deleted file, or a private
	                       * one of a memfd: no path to map it again
	                       * from, so every page */
	MAP_KIND_SHARED_FILE, /* shared mapping of a file: the file keeps it */
	MAP_KIND_SPECIAL,     /* [vdso] [vvar] [vvar_vclock] [vsyscall]
	                       * [uprobes]: the kernel's, recorded only */
};

struct map_region {
	uint64_t start, end;  /* [start, end) */
	uint64_t offset;      /* into the file */
	uint64_t inode;
	unsigned dev_major, dev_minor;
	unsigned prot;        /* PROT_READ | PROT_WRITE | PROT_EXEC */
	int shared;           /* 's' rather than 'p' */
	const char *path;     /* points into the parsed text, pathlen bytes,
	                       * not NUL-terminated; the kernel's spelling
	                       * (a newline shows as \012, " (deleted)" may
	                       * follow) */
	size_t pathlen;       /* 0: anonymous, no name */
};

/* One line [s, end), without its newline, into r (its path points into
 * the line): 0, or -1 when it is malformed.  No malloc: the restorer
 * uses it too. */
int maps_line(const char *s, const char *end, struct map_region *r);
/* Parse a whole maps text (len bytes) into a malloc'd array in *out,
 * *n entries; the paths point into text, which must outlive them.
 * 0, or -EINVAL naming nothing (the caller knows the pid) with *bad set
 * to the 1-based line that is malformed, or -ENOMEM. */
int maps_parse(const char *text, size_t len, struct map_region **out,
	       size_t *n, size_t *bad);
enum map_kind map_kind(const struct map_region *r);
/* 1 when the region is backed by a file named by a path (starting
 * with '/'), not shared memory; it may be deleted (an orphan) */
int map_is_file(const struct map_region *r);
/* 1 when the region's path is s, exactly */
int map_path_is(const struct map_region *r, const char *s);
/* the first of n regions whose path is path, or NULL */
const struct map_region *maps_find(const struct map_region *r, size_t n, const char *path);
/* 1 when the path ends in " (deleted)" */
int map_is_deleted(const struct map_region *r);

/* 1 when the line of /proc/PID/smaps is a region's first, "START-END
 * ...": START in *start, END in *end (when not NULL); else 0, and
 * neither is touched.  No sscanf:
 * glibc's measures the whole rest of the text at each call, which made
 * a job of 8000 regions take 80 s */
int smaps_head(const char *line, uint64_t *start, uint64_t *end);

#endif
