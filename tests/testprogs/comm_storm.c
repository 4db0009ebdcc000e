/* comm_storm N PREFIX
 *
 * N processes, each with a command name of its own: child i renames itself PREFIX followed
 * by i in five digits (prctl PR_SET_NAME) and exits. For the collector's cardinality test:
 * N distinct values of a comm label. Children run a few at a time; the last line on stdout
 * is "exited=N". */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define AT_ONCE 32

int main(int argc, char **argv)
{
	long n, running = 0, exited = 0;

	if (argc != 3 || (n = strtol(argv[1], NULL, 10)) <= 0 || n > 99999) {
		fprintf(stderr, "usage: %s N PREFIX (N 1-99999)\n", argv[0]);
		return 2;
	}
	for (long i = 0; i < n; ++i) {
		pid_t pid;

		if (running == AT_ONCE) {
			int status;

			if (wait(&status) > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0)
				++exited;
			--running;
		}
		pid = fork();
		if (pid < 0) {
			perror("comm_storm: fork");
			return 1;
		}
		if (pid == 0) {
			char name[16];

			snprintf(name, sizeof(name), "%.9s%05ld", argv[2], i);
			_exit(prctl(PR_SET_NAME, name) == 0 ? 0 : 1);
		}
		++running;
	}
	while (running-- > 0) {
		int status;

		if (wait(&status) > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0)
			++exited;
	}
	printf("exited=%ld\n", exited);
	return exited == n ? 0 : 1;
}
