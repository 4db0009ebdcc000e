/* exec_many N TARGET EXPECTED [PARALLEL]
 *
 * Forks N children; child i execs a known argv: TARGET (a program that exits 0) for most,
 * a missing path (ENOENT) or a non-executable file (EACCES) for some, some after switching
 * to uid 65534. Writes one line per exec to EXPECTED, fields separated by \t and arguments
 * by \x1f:  pid ppid uid comm ret argv...
 * so a test can match every event a tracer reports. PARALLEL children run at once (default
 * 1); the last line on stdout is "execs=N seconds=S rate=R". */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_ARGS 16

struct spec {
	const char *path;
	char *argv[MAX_ARGS + 1];
	char store[MAX_ARGS][2200];
	unsigned uid;
	int ret;
	char comm[16];
};

static void build(struct spec *s, long i, const char *target, const char *not_exec)
{
	int n = 0;
	const char *base = strrchr(target, '/');

	base = base ? base + 1 : target;
	s->path = target;
	s->ret = 0;
	s->uid = (i % 7 == 5) ? 65534 : getuid();
	snprintf(s->comm, sizeof(s->comm), "%s", base);
	if (i % 10 == 3) {
		static char missing[64];

		snprintf(missing, sizeof(missing), "/nonexistent/kscope-missing-%ld", i);
		s->path = missing;
		s->ret = -ENOENT;
		snprintf(s->comm, sizeof(s->comm), "exec_many");
	} else if (i % 10 == 7) {
		s->path = not_exec;
		s->ret = -EACCES;
		snprintf(s->comm, sizeof(s->comm), "exec_many");
	}
	snprintf(s->store[n++], sizeof(s->store[0]), "%s", base);
	snprintf(s->store[n++], sizeof(s->store[0]), "kscope-bar-%ld", i);
	snprintf(s->store[n++], sizeof(s->store[0]), "with space");
	s->store[n++][0] = '\0';
	snprintf(s->store[n++], sizeof(s->store[0]), "q\"uote");
	snprintf(s->store[n++], sizeof(s->store[0]), "it's");
	snprintf(s->store[n++], sizeof(s->store[0]), "--flag=%ld", i * 7);
	for (long j = 0; j < i % 5; j++)
		snprintf(s->store[n++], sizeof(s->store[0]), "a%ld", j);
	if (i % 50 == 0) { /* longer than the default --max-arg-len of 1024 */
		memset(s->store[n], 'L', 2000);
		s->store[n++][2000] = '\0';
	}
	for (int k = 0; k < n; k++)
		s->argv[k] = s->store[k];
	s->argv[n] = NULL;
}

static void record(FILE *out, const struct spec *s, pid_t pid)
{
	fprintf(out, "%d\t%d\t%u\t%s\t%d\t", pid, getpid(), s->uid, s->comm, s->ret);
	for (int k = 0; s->argv[k]; k++)
		fprintf(out, "%s%s", k ? "\x1f" : "", s->argv[k]);
	fputc('\n', out);
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: %s N TARGET EXPECTED [PARALLEL]\n", argv[0]);
		return 2;
	}
	long n = strtol(argv[1], NULL, 10);
	const char *target = argv[2];
	int parallel = argc > 4 ? atoi(argv[4]) : 1;
	FILE *out = fopen(argv[3], "w");
	static struct spec s;
	struct timespec a, b;
	int running = 0, failed = 0;

	if (!out || parallel < 1) {
		perror("exec_many");
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < n; i++) {
		build(&s, i, target, argv[3]);
		if (running == parallel) {
			int st;
			if (wait(&st) > 0 && !(WIFEXITED(st) && WEXITSTATUS(st) == 0))
				failed++;
			running--;
		}
		fflush(out);
		pid_t pid = fork();
		if (pid < 0) {
			perror("fork");
			return 1;
		}
		if (pid == 0) {
			if (s.uid != getuid() && setresuid(s.uid, s.uid, s.uid))
				_exit(3);
			execv(s.path, s.argv);
			/* the expected failures exit 0: only a surprise counts as failed */
			_exit(-errno == s.ret ? 0 : 4);
		}
		running++;
		record(out, &s, pid);
	}
	while (running-- > 0) {
		int st;
		if (wait(&st) > 0 && !(WIFEXITED(st) && WEXITSTATUS(st) == 0))
			failed++;
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	fclose(out);
	double secs = (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
	printf("execs=%ld seconds=%.3f rate=%.0f failed=%d\n", n, secs, n / secs, failed);
	return failed ? 1 : 0;
}
