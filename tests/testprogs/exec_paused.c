/* exec_paused READY GO
 *
 * An execve that begins, then waits inside the kernel: its path lies in a page userfaultfd
 * leaves missing, so the kernel's copy of the path blocks until this program's second thread
 * supplies the page. That thread creates READY once the execve waits, waits for GO to exist,
 * then supplies "/nonexistent/kscope-exec-paused": the execve fails with ENOENT. A tracer
 * attached between READY and GO sees the execve return but never begin.
 * Exits 0 when the execve failed with ENOENT, 77 when userfaultfd is not available here. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

static int uffd;
static char *page;
static const char *ready, *go;

static void *supply_path(void *unused)
{
	static char path[4096] __attribute__((aligned(4096))) = "/nonexistent/kscope-exec-paused";
	struct pollfd p = {.fd = uffd, .events = POLLIN};
	struct uffd_msg msg;

	(void)unused;
	if (poll(&p, 1, 10000) != 1 || read(uffd, &msg, sizeof(msg)) != sizeof(msg) ||
	    msg.event != UFFD_EVENT_PAGEFAULT)
		_exit(3);
	close(open(ready, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
	for (int ms = 0; access(go, F_OK) != 0; ms++) {
		if (ms == 10000)
			_exit(4);
		usleep(1000);
	}
	struct uffdio_copy copy = {
		.dst = (unsigned long)page, .src = (unsigned long)path, .len = sizeof(path)};
	if (ioctl(uffd, UFFDIO_COPY, &copy))
		_exit(5);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s READY GO\n", argv[0]);
		return 2;
	}
	ready = argv[1];
	go = argv[2];
	/* Faults of the kernel's own accesses reach userfaultfd for root (CAP_SYS_PTRACE). */
	struct uffdio_api api = {.api = UFFD_API};
	uffd = syscall(SYS_userfaultfd, O_CLOEXEC);
	if (uffd < 0 || ioctl(uffd, UFFDIO_API, &api)) {
		perror("exec_paused: userfaultfd");
		return 77;
	}
	page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct uffdio_register reg = {
		.range = {.start = (unsigned long)page, .len = 4096},
		.mode = UFFDIO_REGISTER_MODE_MISSING,
	};
	if (page == MAP_FAILED || ioctl(uffd, UFFDIO_REGISTER, &reg)) {
		perror("exec_paused: userfaultfd register");
		return 77;
	}
	pthread_t t;
	if (pthread_create(&t, NULL, supply_path, NULL))
		return 2;
	char *const args[] = {"kscope-exec-paused", NULL};
	char *const envp[] = {NULL};
	syscall(SYS_execve, page, args, envp);
	int err = errno;
	pthread_join(t, NULL);
	return err == ENOENT ? 0 : 1;
}
