/* abi_known DIR EXPECTED TARGET
 * abi_known noop
 *
 * Known execs and opens made through raw syscalls in the ABI the program is built for: the
 * build makes it twice, abi_known (x86-64) and, with a 32-bit compiler, abi_known32 (ia32,
 * static), so that a test can check what a tracer makes of a 32-bit task. Writes one line per
 * syscall a tracer should report to EXPECTED, fields separated by \t:
 *   pid exec ret PARTIAL ARGV                      (the arguments separated by \x1f)
 *   pid open ret PARTIAL syscall dfd flags mode PATH
 * with what a tracer can read: PARTIAL is "-", or the event's flag for what it cannot read
 * (args_unreadable, path_unreadable, how_unreadable).
 * The opens: openat creating EXPECTED itself and DIR/abi-openat.txt, openat2 of that file,
 * and two that fail with EFAULT: openat of a path in unmapped memory, openat2 with its
 * open_how there. No other (abi_known32 is static: no loader opens either). The execs:
 * execve and execveat failing with ENOENT, an execve of this program failing with EFAULT
 * because argv[1] points to unmapped memory (a tracer can read argv[0] only), then, each in
 * a child, a successful execve of TARGET (a 64-bit program) and of this program with "noop".
 * The ia32 build also makes the syscalls whose ia32 numbers are x86-64's execve (59),
 * execveat (322) and openat (257), with arguments that a tracer reading them as those would
 * turn into events mentioning "kscope-abi-spurious"; they are not exec or open, and fail. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static FILE *out;

/* argv up to its first unreadable pointer (`readable` entries), or whole (-1). */
static void note_exec(pid_t pid, long ret, char *const argv[], int readable)
{
	fprintf(out, "%d\texec\t%ld\t%s\t", pid, ret, readable < 0 ? "-" : "args_unreadable");
	for (int k = 0; argv[k] && k != readable; k++)
		fprintf(out, "%s%s", k ? "\x1f" : "", argv[k]);
	fputc('\n', out);
}

static long note_open(const char *sc, const char *partial, int dfd, unsigned long long flags,
		      unsigned mode, long ret, const char *path)
{
	fprintf(out, "%d\topen\t%ld\t%s\t%s\t%d\t%llu\t%u\t%s\n", getpid(), ret < 0 ? -errno : ret,
		partial, sc, dfd, flags, mode, path);
	return ret;
}

/* A failing exec: the syscall returns, with errno set. */
static void failed_exec(long nr, const char *path, char *const argv[], int readable)
{
	char *const envp[] = {NULL};
	long ret = nr == SYS_execveat ? syscall(nr, AT_FDCWD, path, argv, envp, 0)
				      : syscall(nr, path, argv, envp);

	note_exec(getpid(), ret < 0 ? -errno : ret, argv, readable);
}

/* A successful execve in a child; the parent waits for it, so events come in order. */
static int child_exec(const char *path, char *const argv[])
{
	char *const envp[] = {NULL};

	fflush(out);
	pid_t pid = fork();
	if (pid == 0) {
		syscall(SYS_execve, path, argv, envp);
		_exit(127);
	}
	note_exec(pid, 0, argv, -1);
	int status = 0;
	return pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	       WEXITSTATUS(status) == 0;
}

#ifdef __i386__
/* ia32 59, 322 and 257 are oldolduname, timerfd_create and remap_file_pages. Their arguments
 * sit where x86-64's execve reads argv (rsi: the ia32 4th argument is esi), execveat argv
 * (rdx: the 3rd, edx) and openat the path (rsi), each pointing at a "kscope-abi-spurious"
 * string or argv. */
static void unrelated_syscalls(void)
{
	static char marker[] = "kscope-abi-spurious";
	static char *const marker_argv[] = {marker, NULL};
	char name[6 * 9];

	syscall(59, name, 0, 0, marker_argv);	/* succeeds: 0 */
	syscall(59, NULL, 0, 0, marker_argv);	/* EFAULT */
	syscall(322, -1, 0, marker_argv);	/* EINVAL: no such clock */
	syscall(257, 0, 0, 0, marker, 0);	/* EINVAL: an empty range */
}
#endif

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "noop") == 0)
		return 0;
	if (argc != 4) {
		fprintf(stderr, "usage: %s DIR EXPECTED TARGET | %s noop\n", argv[0], argv[0]);
		return 2;
	}
	const char *dir = argv[1], *target = argv[3];
	char path[4096];

	int flags = O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC;
	long fd = syscall(SYS_openat, AT_FDCWD, argv[2], flags, 0644);
	out = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!out)
		return 2;
	setvbuf(out, NULL, _IOLBF, 0);
	note_open("openat", "-", AT_FDCWD, flags, 0644, fd, argv[2]);

	snprintf(path, sizeof(path), "%s/abi-openat.txt", dir);
	flags = O_WRONLY | O_CREAT | O_TRUNC;
	fd = syscall(SYS_openat, AT_FDCWD, path, flags, 0640);
	if (note_open("openat", "-", AT_FDCWD, flags, 0640, fd, path) >= 0)
		close(fd);
	struct open_how how = {.flags = O_RDONLY | O_CLOEXEC};
	fd = syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof(how));
	if (note_open("openat2", "-", AT_FDCWD, how.flags, 0, fd, path) >= 0)
		close(fd);

	/* Partial reads: what a tracer finds behind these pointers faults. */
	char *unmapped = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (unmapped == MAP_FAILED)
		return 2;
	fd = syscall(SYS_openat, AT_FDCWD, unmapped, O_RDONLY, 0);
	note_open("openat", "path_unreadable", AT_FDCWD, O_RDONLY, 0, fd, "");
	fd = syscall(SYS_openat2, AT_FDCWD, path, unmapped, sizeof(how));
	note_open("openat2", "how_unreadable", AT_FDCWD, 0, 0, fd, path);

	char *const missing_argv[] = {"kscope-abi-execve", "with space", "", "q\"uote", NULL};
	failed_exec(SYS_execve, "/nonexistent/kscope-abi-execve", missing_argv, -1);
	char *const missing_at_argv[] = {"kscope-abi-execveat", "x", NULL};
	failed_exec(SYS_execveat, "/nonexistent/kscope-abi-execveat", missing_at_argv, -1);
	char *const unmapped_argv[] = {"kscope-abi-unmapped", unmapped, "never read", NULL};
	failed_exec(SYS_execve, argv[0], unmapped_argv, 1);
#ifdef __i386__
	unrelated_syscalls();
#endif

	char *const target_argv[] = {"exec_target", "kscope-abi-to-64", NULL};
	char *const self_argv[] = {argv[0], "noop", NULL};
	int ok = child_exec(target, target_argv) && child_exec(argv[0], self_argv);
	fclose(out);
	return ok ? 0 : 1;
}
