/* sleep_known N SLEEP_US DONE
 *
 * A second thread sleeps N times for SLEEP_US microseconds, each sleep one wake-up and one
 * wait on a run queue, then writes "PID\tTID\n" to DONE and blocks for good in a read of a
 * pipe nobody writes: from then on its context switch counts in /proc/PID/task/TID/status
 * stay put, and every switch-in it had is one a run queue latency tracer must have counted.
 * The caller kills the process when done. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static long n, sleep_us;
static const char *done;
static int never[2];

static void *sleeper(void *unused)
{
	struct timespec ts = {.tv_sec = sleep_us / 1000000, .tv_nsec = sleep_us % 1000000 * 1000};
	char c;
	FILE *f;

	(void)unused;
	for (long i = 0; i < n; i++)
		nanosleep(&ts, NULL);
	f = fopen(done, "w");
	if (!f)
		exit(1);
	fprintf(f, "%d\t%d\n", getpid(), gettid());
	fclose(f);
	(void)read(never[0], &c, 1);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t;

	if (argc != 4)
		return 2;
	n = atol(argv[1]);
	sleep_us = atol(argv[2]);
	done = argv[3];
	if (pipe(never) || pthread_create(&t, NULL, sleeper, NULL))
		return 1;
	pthread_join(t, NULL);
	return 0;
}
