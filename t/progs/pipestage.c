/* pipestage - one stage of a three-stage pipeline with bytes in flight
 * in both pipes (t/progs/pipeline.sh runs the three).
 *
 * usage: pipestage produce KIB
 *        pipestage filter US
 *        pipestage consume KIB US
 *
 * produce writes KIB KiB of a fixed pattern (byte i is a hash of i) to
 * stdout as fast as the pipe takes it.  filter copies stdin to stdout
 * with byte i xored with a second hash of i, 4 KiB at a time, sleeping
 * US microseconds after each block.  consume reads stdin 4 KiB at a
 * time, sleeping US microseconds after each block, checks every byte
 * against what the two stages above must have made of it, prints
 * "progress bytes=N" every 256 KiB and at the end "done ok bytes=N
 * sum=HEX" (FNV-1a of the whole stream, which depends only on KIB).
 * With the consumer slower than the filter and the filter slower than
 * the producer, both pipes stay full (64 KiB each) all the run.
 * A byte lost or repeated shifts the stream: "FAIL byte N is X, want
 * Y", exit 1; the stream ending early: "FAIL short: N of M bytes".
 * Every stage exits 0 when done; a closed pipe below is exit 1. */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BLOCK 4096

static uint8_t pattern_byte(uint64_t i)
{
	uint64_t z = (i >> 3) * 0x9e3779b97f4a7c15ull + 0x70697065ull;

	z = (z ^ (z >> 29)) * 0xbf58476d1ce4e5b9ull;
	return (uint8_t)((z ^ (z >> 32)) >> (8 * (i & 7)));
}

static uint8_t key_byte(uint64_t i)
{
	return (uint8_t)(i * 131 + (i >> 12) * 7 + 0x5a);
}

/* a sleep the freeze signal may interrupt: it goes on with the rest */
static void nap_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000L };

	while (us > 0 && nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void write_all(const uint8_t *b, size_t n)
{
	while (n > 0) {
		ssize_t w = write(1, b, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			fprintf(stderr, "pipestage: write: %s\n", strerror(errno));
			exit(1);
		}
		b += w;
		n -= (size_t)w;
	}
}

/* up to n bytes, short only at the end of the stream */
static size_t read_full(uint8_t *b, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = read(0, b + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			fprintf(stderr, "pipestage: read: %s\n", strerror(errno));
			exit(1);
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return got;
}

static int produce(uint64_t total)
{
	uint8_t b[BLOCK];

	for (uint64_t pos = 0; pos < total; pos += BLOCK) {
		for (size_t j = 0; j < BLOCK; j++)
			b[j] = pattern_byte(pos + j);
		write_all(b, BLOCK);
	}
	return 0;
}

static int filter(long us)
{
	uint8_t b[BLOCK];
	uint64_t pos = 0;
	size_t n;

	while ((n = read_full(b, BLOCK)) > 0) {
		for (size_t j = 0; j < n; j++)
			b[j] ^= key_byte(pos + j);
		write_all(b, n);
		pos += n;
		nap_us(us);
	}
	return 0;
}

static int consume(uint64_t total, long us)
{
	uint8_t b[BLOCK];
	uint64_t pos = 0, sum = 0xcbf29ce484222325ull;
	size_t n;

	while ((n = read_full(b, BLOCK)) > 0) {
		for (size_t j = 0; j < n; j++) {
			uint8_t want = pattern_byte(pos + j) ^ key_byte(pos + j);
			if (b[j] != want || pos + j >= total) {
				printf("FAIL byte %" PRIu64 " is 0x%02x, want 0x%02x%s\n", pos + j,
				       b[j], want, pos + j >= total ? " (past the end)" : "");
				return 1;
			}
			sum = (sum ^ b[j]) * 0x100000001b3ull;
		}
		pos += n;
		if (pos % (256 * 1024) == 0)
			printf("progress bytes=%" PRIu64 "\n", pos);
		nap_us(us);
	}
	if (pos != total) {
		printf("FAIL short: %" PRIu64 " of %" PRIu64 " bytes\n", pos, total);
		return 1;
	}
	printf("done ok bytes=%" PRIu64 " sum=0x%016" PRIx64 "\n", pos, sum);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 3 && strcmp(argv[1], "produce") == 0)
		return produce(strtoull(argv[2], NULL, 10) * 1024);
	if (argc == 3 && strcmp(argv[1], "filter") == 0)
		return filter(strtol(argv[2], NULL, 10));
	if (argc == 4 && strcmp(argv[1], "consume") == 0)
		return consume(strtoull(argv[2], NULL, 10) * 1024, strtol(argv[3], NULL, 10));
	fprintf(stderr, "usage: pipestage produce KIB | filter US | consume KIB US\n");
	return 2;
}
