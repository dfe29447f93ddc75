/* showjson.c - ckpt-show --json: an image described as one JSON
 * object, schema in formats/show.md.  Addresses are hex strings (a
 * JSON number loses bits above 2^53); byte counts are numbers.  Text
 * is the image's bytes: a byte that is not part of valid UTF-8 becomes
 * the lone surrogate \udcXX (XX its value: Python's surrogateescape),
 * so the output is JSON and the bytes can still be told exactly. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "imgshow.h"
#include "showjson.h"

/* the length of the valid UTF-8 sequence at s (n bytes left), or 0 */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t len = s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : s[0] >= 0xe0 ? 3 :
		     s[0] >= 0xc2 && s[0] <= 0xdf ? 2 : 0, i;

	if (len == 0 || len > n)
		return 0;
	for (i = 1; i < len; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	if ((len == 3 && s[0] == 0xe0 && s[1] < 0xa0) || (len == 3 && s[0] == 0xed && s[1] >= 0xa0) ||
	    (len == 4 && s[0] == 0xf0 && s[1] < 0x90) || (len == 4 && s[0] == 0xf4 && s[1] >= 0x90))
		return 0;
	return len;
}

static void str(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t n = strlen((const char *)p), k;

	fputc('"', f);
	while (*p) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p >= 0x20 && *p < 0x7f)
			fputc(*p, f);
		else if (*p >= 0x80 && (k = utf8_len(p, n)) > 0) {
			fwrite(p, 1, k, f);
			p += k, n -= k;
			continue;
		} else if (*p >= 0x80)
			fprintf(f, "\\udc%02x", *p);
		else
			fprintf(f, "\\u%04x", *p);
		p++, n--;
	}
	fputc('"', f);
}

static void key_str(FILE *f, const char *key, const char *s, const char *sep)
{
	str(f, key);
	fputc(':', f);
	if (s)
		str(f, s);
	else
		fputs("null", f);
	fputs(sep, f);
}

static void members(FILE *f, const struct show_member *m, size_t n)
{
	size_t i;

	fputs("\"members\":[", f);
	for (i = 0; i < n; i++) {
		fputs(i ? ",{" : "{", f);
		key_str(f, "name", m[i].name, ",");
		fprintf(f, "\"size\":%" PRIu64 ",\"stored\":%" PRIu64 "}", m[i].size, m[i].stored);
	}
	fputc(']', f);
}

static void regions(FILE *f, const struct show_proc *p)
{
	const struct show_region *r;
	size_t i;

	fprintf(f, "\"memory\":{\"stored\":%" PRIu64 ",", p->pages);
	if (p->indexed)
		fprintf(f, "\"held\":%" PRIu64 ",", p->held);
	fprintf(f, "\"regions\":[");
	for (i = 0; i < p->nreg; i++) {
		r = &p->reg[i];
		fprintf(f, "%s{\"start\":\"0x%" PRIx64 "\",\"end\":\"0x%" PRIx64 "\",", i ? "," : "",
			r->start, r->end);
		fprintf(f, "\"perms\":\"%s\",\"offset\":\"0x%" PRIx64 "\",", r->perms, r->offset);
		key_str(f, "kind", r->kind, ",");
		key_str(f, "path", r->path, ",");
		fprintf(f, "\"stored\":%" PRIu64 "}", r->stored);
	}
	fputs("]}", f);
}

static void fds(FILE *f, const struct show_proc *p)
{
	const struct show_fd *d;
	size_t i, j;

	fputs("\"fds\":[", f);
	for (i = 0; i < p->nfds; i++) {
		d = &p->fds[i];
		fprintf(f, "%s{\"fd\":%ld,", i ? "," : "", d->fd);
		key_str(f, "kind", d->kind, ",");
		key_str(f, "path", show_fd_key(d, "path"), ",");
		key_str(f, "restore", d->action, ",");
		fputs("\"keys\":{", f);
		for (j = 0; j < d->nkv; j++)
			key_str(f, d->kv[j].key, d->kv[j].value, j + 1 < d->nkv ? "," : "");
		fputs("}}", f);
	}
	fputc(']', f);
}

static void threads(FILE *f, const struct show_proc *p)
{
	size_t i;

	fputs("\"threads\":[", f);
	for (i = 0; i < p->nthr; i++) {
		fprintf(f, "%s{\"tid\":%ld,", i ? "," : "", p->thr[i].tid);
		key_str(f, "role", p->thr[i].role, "}");
	}
	fputs("],", f);
}

static void proc(FILE *f, const struct show_proc *p)
{
	size_t i;

	fprintf(f, "{\"pid\":%ld,\"ppid\":%ld,\"pgid\":%ld,\"sid\":%ld,\"zombie\":%s,",
		p->pid, p->ppid, p->pgid, p->sid, p->zombie ? "true" : "false");
	if (p->zombie) {
		fprintf(f, "\"status\":%ld}", p->status);
		return;
	}
	key_str(f, "comm", p->comm, ",");
	key_str(f, "exe", p->exe, ",");
	key_str(f, "cwd", p->cwd, ",");
	fputs("\"argv\":", f);
	if (p->argv) {
		fputc('[', f);
		for (i = 0; p->argv[i]; i++) {
			fputs(i ? "," : "", f);
			str(f, p->argv[i]);
		}
		fputc(']', f);
	} else
		fputs("null", f);
	fprintf(f, ",\"uid\":%ld,\"gid\":%ld,", p->uid, p->gid);
	threads(f, p);
	regions(f, p);
	fputc(',', f);
	fds(f, p);
	fputc(',', f);
	members(f, p->mem, p->nmem);
	fputc('}', f);
}

void show_json(FILE *f, const struct show_image *im)
{
	size_t i;

	fputs("{\"schema\":1,\"image\":{", f);
	key_str(f, "format", im->version, ",");
	key_str(f, "id", im->id, ",");
	key_str(f, "parent", im->parent && strcmp(im->parent, "-") ? im->parent : NULL, ",");
	key_str(f, "tool", im->tool, ",");
	key_str(f, "kernel", im->kernel, ",");
	key_str(f, "arch", im->arch, ",");
	key_str(f, "time", im->time, ",");
	fprintf(f, "\"packed\":%s,\"killed\":%s,\"root\":%ld,", im->packed ? "true" : "false",
		im->killed ? "true" : "false", im->root);
	fprintf(f, "\"bytes\":{\"raw\":%" PRIu64 ",\"stored\":%" PRIu64 ",\"input\":%" PRIu64 "}},",
		im->raw, im->stored, im->input);
	fputs("\"processes\":[", f);
	for (i = 0; i < im->nproc; i++) {
		fputs(i ? "," : "", f);
		proc(f, &im->proc[i]);
	}
	fputs("],", f);
	members(f, im->mem, im->nmem);
	fputs("}\n", f);
}
