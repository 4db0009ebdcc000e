/* biolatency_known DEVICE READS WRITES
 *
 * READS direct 4 KiB reads of DEVICE at blocks 0..READS-1, then WRITES direct 4 KiB writes at
 * the blocks after them, one at a time: each is one block request of its own, which nothing
 * can merge with another (O_DIRECT, aligned, and the next starts only once the last ended).
 * Exits 0 when every read and write moved 4 KiB. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BLOCK 4096

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: %s DEVICE READS WRITES\n", argv[0]);
		return 2;
	}
	long reads = atol(argv[2]), writes = atol(argv[3]);
	int fd = open(argv[1], O_RDWR | O_DIRECT | O_CLOEXEC);
	void *buf;

	if (fd < 0 || posix_memalign(&buf, BLOCK, BLOCK)) {
		perror("biolatency_known: open");
		return 1;
	}
	memset(buf, 0x6b, BLOCK);
	for (long i = 0; i < reads + writes; i++) {
		ssize_t n = i < reads ? pread(fd, buf, BLOCK, i * BLOCK) : pwrite(fd, buf, BLOCK, i * BLOCK);
		if (n != BLOCK) {
			perror("biolatency_known: direct I/O");
			return 1;
		}
	}
	return close(fd) ? 1 : 0;
}
