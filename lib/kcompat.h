/* kcompat.h - kernel uapi that Debian 12's 6.1 headers lack.
 *
 * Copied from the uapi of Linux 6.7+ (include/uapi/linux/fs.h,
 * userfaultfd.h).  The values are ABI and never change, so a copy is
 * safe.  The real headers are included first and the #ifndefs let them
 * win where they are new enough.  Measured on our kernel in
 * /work/shared/kernel/NOTES.md (rows 2c-2e). */
#ifndef CKPT_KCOMPAT_H
#define CKPT_KCOMPAT_H
#include <linux/fs.h>
#include <linux/types.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>

/* PAGEMAP_SCAN: an ioctl on a /proc/PID/pagemap fd (6.7+) */
#ifndef PAGEMAP_SCAN
#define PAGE_IS_WPALLOWED  (1 << 0)
#define PAGE_IS_WRITTEN    (1 << 1)
#define PAGE_IS_FILE       (1 << 2)  /* page cache or shmem, not anon */
#define PAGE_IS_PRESENT    (1 << 3)
#define PAGE_IS_SWAPPED    (1 << 4)
#define PAGE_IS_PFNZERO    (1 << 5)  /* the shared zero page */
#define PAGE_IS_HUGE       (1 << 6)
#define PAGE_IS_SOFT_DIRTY (1 << 7)

struct page_region {
	__u64 start, end, categories;
};

#define PM_SCAN_WP_MATCHING   (1 << 0)
#define PM_SCAN_CHECK_WPASYNC (1 << 1)

struct pm_scan_arg {
	__u64 size, flags, start, end, walk_end, vec, vec_len, max_pages;
	__u64 category_inverted, category_mask, category_anyof_mask, return_mask;
};

#define PAGEMAP_SCAN _IOWR('f', 16, struct pm_scan_arg)
#endif

#ifndef PAGE_IS_GUARD
#define PAGE_IS_GUARD (1 << 8)  /* 6.14+: a guard page, also PAGE_IS_SWAPPED */
#endif

/* bits of a 64-bit /proc/PID/pagemap entry (Documentation/admin-guide/mm/pagemap.rst) */
#define PM_ENTRY_PRESENT   (1ULL << 63)
#define PM_ENTRY_SWAPPED   (1ULL << 62)
#define PM_ENTRY_FILE      (1ULL << 61)  /* file page or shared anon */
#define PM_ENTRY_GUARD     (1ULL << 58)  /* a guard page (6.15+; MADV_GUARD_INSTALL) */

/* userfaultfd features newer than 6.1 */
#ifndef UFFD_FEATURE_WP_UNPOPULATED
#define UFFD_FEATURE_WP_UNPOPULATED (1 << 13)
#endif
#ifndef UFFD_FEATURE_WP_ASYNC
#define UFFD_FEATURE_WP_ASYNC (1 << 15)
#endif
#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif

/* Landlock's truncate right, new in 6.2 (ABI 3): the fuzzer's sandbox */
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif

#endif
