/* move.c - the restorer moves itself into the hole: the kernel loaded
 * it right under the vDSO and put its stack at the top, both where the
 * restored process's own mappings may lie (kernel/NOTES.md 6b).
 *
 * May not: run after old_clear() from the old image, or leave a pointer
 * into the old image in the copy: every R_X86_64_RELATIVE slot of the
 * copy is rewritten for its new base, and nothing else of the image
 * holds an address (no TLS, no musl state is used after the move). */
#include <elf.h>
#include <string.h>
#include <sys/mman.h>

#include "restorer.h"
#include "rawsys.h"

extern const char __ehdr_start[] __attribute__((visibility("hidden")));
extern const Elf64_Dyn _DYNAMIC[] __attribute__((visibility("hidden")));

static const Elf64_Phdr *phdrs(int *n)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)__ehdr_start;

	*n = eh->e_phnum;
	return (const Elf64_Phdr *)(__ehdr_start + eh->e_phoff);
}

void image_measure(struct rst *r)
{
	const Elf64_Phdr *ph;
	uint64_t end = 0;
	int i, n;

	ph = phdrs(&n);
	for (i = 0; i < n; i++)
		if (ph[i].p_type == PT_LOAD && ph[i].p_vaddr + ph[i].p_memsz > end)
			end = ph[i].p_vaddr + ph[i].p_memsz;
	r->base = (uint64_t)__ehdr_start;
	r->image_len = PAGE_UP(end);
}

/* a link-time address in the dynamic section: musl's static-pie start
 * relocates the image, never the dynamic section itself */
static uint64_t dyn_ptr(const struct rst *r, uint64_t v)
{
	return v < r->base ? r->base + v : v;
}

static void relocate(struct rst *r, uint64_t delta)
{
	const Elf64_Rela *rel = 0;
	uint64_t relsz = 0, relent = sizeof *rel, i;
	const Elf64_Dyn *d;
	uint64_t *slot;

	for (d = _DYNAMIC; d->d_tag != DT_NULL; d++) {
		if (d->d_tag == DT_RELA)
			rel = (const Elf64_Rela *)dyn_ptr(r, d->d_un.d_ptr);
		else if (d->d_tag == DT_RELASZ)
			relsz = d->d_un.d_val;
		else if (d->d_tag == DT_RELAENT)
			relent = d->d_un.d_val;
	}
	for (i = 0; rel && i < relsz / relent; i++) {
		const Elf64_Rela *e = (const Elf64_Rela *)((const char *)rel + i * relent);

		if (ELF64_R_TYPE(e->r_info) == R_X86_64_NONE)
			continue;
		if (ELF64_R_TYPE(e->r_info) != R_X86_64_RELATIVE)
			rst_fail(r, PLAN_ST_MOVE, -8 /* ENOEXEC */, e->r_offset);
		slot = (uint64_t *)(r->image + e->r_offset);
		*slot = r->base + delta + e->r_addend;
	}
}

/* Copy every loaded segment to the same offset in the hole, then fix
 * the copy's relocations.  The copy is one RWX mapping: it lives only
 * until the trampoline unmaps it. */
uint64_t self_copy(struct rst *r)
{
	const Elf64_Phdr *ph;
	uint64_t delta = r->image - r->base;
	long e;
	int i, n;

	ph = phdrs(&n);
	for (i = 0; i < n; i++)
		if (ph[i].p_type == PT_LOAD)
			memcpy((char *)r->image + ph[i].p_vaddr,
			       __ehdr_start + ph[i].p_vaddr, ph[i].p_memsz);
	relocate(r, delta);
	e = sys_mprotect(r->image, r->image_len, PROT_READ | PROT_WRITE | PROT_EXEC);
	if (e < 0)
		rst_fail(r, PLAN_ST_MOVE, e, r->image);
	return delta;
}
