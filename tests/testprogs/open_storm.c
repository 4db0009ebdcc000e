/* open_storm N [PATH]: open() and close() PATH N times as fast as one core allows, then print
 * "opens=N seconds=S rate=R" so a benchmark can compare the rate under each tracer. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s N [PATH]\n", argv[0]);
		return 2;
	}
	long n = strtol(argv[1], NULL, 10);
	const char *path = argc > 2 ? argv[2] : "/dev/null";
	struct timespec a, b;

	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < n; i++) {
		int fd = open(path, O_RDONLY);

		if (fd >= 0)
			close(fd);
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	double s = (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
	printf("opens=%ld seconds=%.3f rate=%.0f\n", n, s, n / s);
	return 0;
}
