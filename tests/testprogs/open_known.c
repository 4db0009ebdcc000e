/* open_known DIR EXPECTED
 *
 * Opens known paths under DIR with known flags and modes through openat and openat2 (two
 * with garbage above openat's 32-bit flags and 16-bit mode in the registers), and paths that
 * fail with known errnos, writing one line per open to EXPECTED:
 *   pid tid syscall dfd flags mode ret path      (tab-separated; flags and mode in decimal)
 * so a test can match every field a tracer reports. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static FILE *out;

static long note(const char *sc, int dfd, long flags, unsigned mode, long ret, const char *path)
{
	fprintf(out, "%d\t%ld\t%s\t%d\t%ld\t%u\t%ld\t%s\n", getpid(), (long)syscall(SYS_gettid), sc,
		dfd, flags, mode, ret < 0 ? -errno : ret, path);
	return ret;
}

static int do_openat_keep(int dfd, const char *path, int flags, unsigned mode)
{
	return note("openat", dfd, flags, mode, syscall(SYS_openat, dfd, path, flags, mode), path);
}

static void do_openat(int dfd, const char *path, int flags, unsigned mode)
{
	int fd = do_openat_keep(dfd, path, flags, mode);

	if (fd >= 0)
		close(fd);
}

/* flags and mode as whole registers: openat's are an int and a umode_t, so the kernel (and
 * a tracer) must ignore the garbage above them. EXPECTED gets the values the kernel uses. */
static void do_openat_wide(const char *path, long flags, long mode)
{
	long fd = syscall(SYS_openat, AT_FDCWD, path, flags, mode);

	if (note("openat", AT_FDCWD, (int)flags, (unsigned short)mode, fd, path) >= 0)
		close(fd);
}

static void do_openat2(int dfd, const char *path, unsigned long long flags, unsigned mode)
{
	struct open_how how = {.flags = flags, .mode = mode};
	long ret = syscall(SYS_openat2, dfd, path, &how, sizeof(how));

	if (note("openat2", dfd, flags, mode, ret, path) >= 0)
		close(ret);
}

int main(int argc, char **argv)
{
	char p[4096];

	if (argc != 3) {
		fprintf(stderr, "usage: %s DIR EXPECTED\n", argv[0]);
		return 2;
	}
	const char *dir = argv[1];
	out = fopen(argv[2], "w");
	if (!out)
		return 2;
	setvbuf(out, NULL, _IOLBF, 0);

	snprintf(p, sizeof(p), "%s/created.txt", dir);
	do_openat(AT_FDCWD, p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	do_openat(AT_FDCWD, p, O_RDONLY, 0);
	snprintf(p, sizeof(p), "%s/with space 'and' \"quotes\".txt", dir);
	do_openat(AT_FDCWD, p, O_RDWR | O_CREAT | O_APPEND, 0600);
	snprintf(p, sizeof(p), "%s/created.txt", dir);
	do_openat(AT_FDCWD, p, O_WRONLY | O_CREAT | O_EXCL, 0644); /* EEXIST */
	snprintf(p, sizeof(p), "%s/missing/none.txt", dir);
	do_openat(AT_FDCWD, p, O_RDONLY, 0); /* ENOENT */
	snprintf(p, sizeof(p), "%s/created.txt/below", dir);
	do_openat(AT_FDCWD, p, O_RDONLY, 0); /* ENOTDIR */
	do_openat(AT_FDCWD, dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);
	do_openat(AT_FDCWD, dir, O_WRONLY, 0); /* EISDIR */

	int dfd = do_openat_keep(AT_FDCWD, dir, O_RDONLY | O_DIRECTORY, 0);
	do_openat(dfd, "created.txt", O_RDONLY | O_NONBLOCK, 0);
	do_openat2(dfd, "created.txt", O_RDONLY | O_CLOEXEC, 0);
	do_openat2(AT_FDCWD, p, O_RDONLY, 0); /* p is still created.txt/below: ENOTDIR */
	snprintf(p, sizeof(p), "%s/openat2-new.txt", dir);
	do_openat2(AT_FDCWD, p, O_WRONLY | O_CREAT, 0604);
	close(dfd);

	snprintf(p, sizeof(p), "%s/upper-bits.txt", dir);
	do_openat_wide(p, 0xdead00000000L | O_WRONLY | O_CREAT, 0xbeef00000000L | 0xabc0000L | 0640);
	do_openat_wide(p, 0xdead00000000L | O_RDONLY, 0xbeef00000000L);

	/* a path as long as PATH_MAX allows: ENAMETOOLONG is not hit, the name is (ENOENT) */
	size_t len = snprintf(p, sizeof(p), "%s/", dir);
	while (len < 4000) {
		memcpy(p + len, "deep/", 5);
		len += 5;
	}
	p[len] = '\0';
	do_openat(AT_FDCWD, p, O_RDONLY, 0); /* ENOENT */
	fclose(out);
	return 0;
}
