/* grow.h - room for one more element at the end of an array that
 * grows as a member is read, a record at a time.  The arrays of the
 * restore side are small (a process's regions, fds, segments), so a
 * realloc per element is fine; what this saves is writing its four
 * lines, with their error path, at every reader. */
#ifndef CKPT_GROW_H
#define CKPT_GROW_H
#include <stdint.h>
#include <stdlib.h>

/* bytes for n + 1 elements of size each, or SIZE_MAX (which realloc
 * refuses) if that does not fit */
static inline size_t grow1_bytes(size_t n, size_t size)
{
	return n + 1 > SIZE_MAX / size ? SIZE_MAX : (n + 1) * size;
}

/* GROW1(a, n): a (a pointer lvalue to an array of n elements) made one
 * element longer: a pointer to the new last element, not yet counted
 * (the caller fills it, then n++), or NULL with a unchanged when
 * memory is short. */
#define GROW1(a, n) ({                                                \
	__typeof__(a) grow1_ = realloc((a), grow1_bytes((n), sizeof *(a))); \
	if (grow1_)                                                   \
		(a) = grow1_;                                         \
	grow1_ ? grow1_ + (n) : NULL;                                 \
})

#endif
