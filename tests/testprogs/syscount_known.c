/* syscount_known N M
 *
 * Writes a byte to stdout once its start-up's syscalls are done, waits for a byte on stdin
 * (so that a tracer can attach to its pid in between), then makes N
 * getppid calls and M access calls of a path that does not exist (each fails with ENOENT),
 * each through syscall(2) so that the C library adds none of its own, and exits. After the
 * byte, nothing else in it makes a syscall but exit_group. Exits 0 when every call returned
 * as expected. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char byte;

	if (argc != 3)
		return 2;
	long n = atol(argv[1]), m = atol(argv[2]);
	pid_t parent = getppid();

	if (write(1, "r", 1) != 1)
		return 6;
	if (read(0, &byte, 1) != 1)
		return 3;
	for (long i = 0; i < n; i++)
		if (syscall(SYS_getppid) != parent)
			return 4;
	for (long i = 0; i < m; i++)
		if (syscall(SYS_access, "/nonexistent/kscope-syscount", F_OK) != -1 || errno != ENOENT)
			return 5;
	return 0;
}
