/* members.c - libFuzzer target: every text parser of the restore side,
 * chosen by the first byte of the input; the rest is the text.
 *   0 ckpt/manifest     1 proc/PID/core     2 proc/PID/threads
 *   3 proc/PID/fds      4 maps NUL mapfiles NUL pagemap [NUL vmflags]
 *                       (the memory plan)
 *   5 a rules file      6 a /proc/PID/maps text
 *   7 proc/PID/timers (with threads 7 and 8)
 * Text members with a NUL byte are refused before any parser sees
 * them (ckpt-thaw's member_text), so only 4 and 5 get NULs.
 * It must fail cleanly, never crash, leak or read out of bounds.
 * Build and run: make fuzz [FUZZ_SECONDS=N] */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fdplan.h"
#include "coreread.h"
#include "maps.h"
#include "memplan.h"
#include "rules.h"
#include "timers.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void plan_memory(char *text, size_t len)
{
	struct memplan m = { 0 };
	char *part[4] = { text, "", "", "" };
	char *nul = NULL;
	int i;

	for (i = 1; i < 4 && (nul = memchr(part[i - 1], 0, text + len - part[i - 1])); i++)
		part[i] = nul + 1;
	if (nul && memchr(part[3], 0, text + len - part[3]))
		return;  /* a NUL in the last text: member_text refuses it */
	if (memplan_maps(&m, 7, part[0], strlen(part[0])) == 0 &&
	    memplan_vmflags(&m, 7, part[3]) == 0 &&
	    memplan_mapfiles(&m, 7, part[1]) == 0 && memplan_pagemap(&m, 7, part[2]) == 0 &&
	    memplan_check(&m, 7) == 0)
		memplan_hole(&m, 1 << 20);
	memplan_free(&m);
}

static void rules_try(const char *text, size_t len)
{
	struct rules r;
	char out[4096];
	size_t i;

	if (rules_parse(&r, "fuzz", text, len) < 0)
		return;
	for (i = 0; i < r.n; i++)
		if (rules_match(&r, r.v[i].pattern))
			rule_restart_path(&r.v[i], r.v[i].pattern, out, sizeof out);
	rules_free(&r);
}

static void maps_try(const char *text, size_t len)
{
	struct map_region *r;
	size_t n, i, bad;

	if (maps_parse(text, len, &r, &n, &bad) < 0)
		return;
	for (i = 0; i < n; i++) {
		map_kind(&r[i]);
		map_is_file(&r[i]);
		map_is_deleted(&r[i]);
	}
	free(r);
}

static void timers_try(char *text)
{
	static const struct img_thread thr[2] = { { .tid = 7 }, { .tid = 8 } };
	struct plan_timer *v = NULL;
	unsigned n;

	timers_parse(text, "proc/7/timers", thr, 2, &v, &n);
	free(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct img_manifest man;
	static struct img_core core;
	struct img_thread *thr;
	struct fdplan fds;
	unsigned nthr;
	size_t len = size ? size - 1 : 0;
	char *text;

	if (!size || !(text = malloc(len + 1)))
		return 0;
	memcpy(text, data + 1, len);
	text[len] = 0;
	switch (data[0] % 8) {
	case 0: if (!memchr(text, 0, len)) manifest_parse(text, "ckpt/manifest", &man); break;
	case 1:
		if (!memchr(text, 0, len))
			core_parse(text, "proc/7/core", &core);
		core_free(&core);
		break;
	case 2:
		if (!memchr(text, 0, len) && threads_parse(text, "proc/7/threads", &thr, &nthr) == 0)
			threads_free(thr, nthr);
		break;
	case 3:
		if (!memchr(text, 0, len)) {
			fdplan_parse(&fds, 7, text);
			fdplan_free(&fds);
		}
		break;
	case 4: plan_memory(text, len); break;
	case 5: rules_try(text, len); break;
	case 6: maps_try(text, len); break;
	case 7: if (!memchr(text, 0, len)) timers_try(text); break;
	}
	free(text);
	return 0;
}
