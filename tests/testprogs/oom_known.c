/* oom_known CGROUP_PROCS EXPECTED MAP_MIB
 *
 * Forks a child, ok_victim, that sets its oom_score_adj to 500, moves itself into the memory
 * cgroup whose cgroup.procs is CGROUP_PROCS, maps MAP_MIB MiB of anonymous memory and touches
 * it page by page until the kernel's OOM killer ends it: the child is the trigger and the
 * victim. Writes one tab-separated line to EXPECTED once the child died of SIGKILL:
 *   pid comm oom_score_adj map_kib
 * Exits 1 when the child survived or died otherwise. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define SCORE_ADJ 500

static void write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY);

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
		perror(path);
		_exit(90);
	}
	close(fd);
}

static void victim_body(const char *procs, size_t bytes)
{
	char text[32];
	long page = sysconf(_SC_PAGESIZE);

	prctl(PR_SET_NAME, "ok_victim");
	snprintf(text, sizeof(text), "%d", SCORE_ADJ);
	write_file("/proc/self/oom_score_adj", text);
	snprintf(text, sizeof(text), "%d", getpid());
	write_file(procs, text);

	volatile char *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		_exit(91);
	for (size_t off = 0; off < bytes; off += page)
		p[off] = 1;
	_exit(3); /* not killed: the limit did not hold */
}

int main(int argc, char **argv)
{
	int st;

	if (argc != 4) {
		fprintf(stderr, "usage: %s CGROUP_PROCS EXPECTED MAP_MIB\n", argv[0]);
		return 2;
	}
	size_t bytes = strtoull(argv[3], NULL, 10) << 20;
	FILE *out = fopen(argv[2], "w");
	if (!out) {
		perror(argv[2]);
		return 2;
	}
	fflush(out);
	pid_t pid = fork();
	if (pid < 0) {
		perror("oom_known: fork");
		return 2;
	}
	if (pid == 0)
		victim_body(argv[1], bytes);
	if (waitpid(pid, &st, 0) != pid) {
		perror("oom_known: waitpid");
		return 2;
	}
	if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGKILL) {
		fprintf(stderr, "oom_known: the child ended with status %#x, not SIGKILL\n", st);
		return 1;
	}
	fprintf(out, "%d\tok_victim\t%d\t%zu\n", pid, SCORE_ADJ, bytes >> 10);
	fclose(out);
	return 0;
}
