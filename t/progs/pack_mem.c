/* pack_mem - memory for ckpt-pack to chew on: MIB MiB, random or text.
 *
 * usage: pack_mem MIB [random|text]
 *
 * Fills MIB MiB of anonymous memory with xorshift noise (random, the
 * default: lz4 cannot shrink it) or with numbered lines of text (lz4
 * shrinks it about 4 to 1), prints "pid N" and "ready pack_mem mib=M",
 * and waits.  SIGTERM: exit 0.
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void fill_random(uint64_t *p, size_t n)
{
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	size_t i;

	for (i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = x;
	}
}

static void fill_text(char *p, size_t len)
{
	size_t at = 0;
	unsigned long i = 0;
	char line[96];
	int n;

	while (at < len) {
		n = snprintf(line, sizeof line, "line %lu: the quick brown fox %lu jumps\n",
			     i, (i * 2654435761UL) % 1000003);
		i++;
		if ((size_t)n > len - at)
			n = len - at;
		memcpy(p + at, line, n);
		at += n;
	}
}

int main(int argc, char **argv)
{
	size_t len;
	char *p;

	if (argc < 2 || argc > 3 || atoi(argv[1]) <= 0) {
		fprintf(stderr, "usage: pack_mem MIB [random|text]\n");
		return 2;
	}
	len = (size_t)atoi(argv[1]) << 20;
	if (!(p = malloc(len)))
		return 1;
	if (argc == 3 && !strcmp(argv[2], "text"))
		fill_text(p, len);
	else
		fill_random((uint64_t *)p, len / 8);
	printf("pid %d\nready pack_mem mib=%s\n", (int)getpid(), argv[1]);
	fflush(stdout);
	for (;;)
		pause();
}
