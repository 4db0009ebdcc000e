/* profile_known: known CPU time in functions with known names, for trace profile's tests.
 *
 * Usage: profile_known USER_MS KERNEL_MS
 * Prints "PID ADDR_OF_kscope_profile_spin ADDR_OF_main" and waits for a line on stdin; then
 * burns USER_MS ms of its own CPU time in kscope_profile_spin (user mode) and KERNEL_MS ms in
 * kscope_profile_read_zero (reads of /dev/zero made with the syscall instruction itself, so
 * the time is the kernel's and no libc frame without a frame pointer hides the caller);
 * prints "done" and waits for stdin to close before it exits, so that its mappings are there
 * while a profile symbolizes its stacks. CPU time, not wall time: on a busy machine the
 * samples follow the CPU the process got. Built with frame pointers (see CMakeLists.txt), so
 * user stacks unwind from each function to main. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static uint64_t cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

__attribute__((noinline)) uint64_t kscope_profile_spin(uint64_t ms)
{
	uint64_t end = cpu_ns() + ms * 1000000u;
	volatile uint64_t x = 1;

	/* The clock is a syscall for CPU-time clocks: asked once in 200000 steps. */
	while (cpu_ns() < end)
		for (int i = 0; i < 200000; i++)
			x = x * 6364136223846793005u + 1442695040888963407u;
	return x;
}

static inline long raw_read(int fd, void *buf, unsigned long n)
{
	long ret;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "0"((long)SYS_read), "D"((long)fd), "S"(buf), "d"(n)
			 : "rcx", "r11", "memory");
	return ret;
}

__attribute__((noinline)) long kscope_profile_read_zero(uint64_t ms)
{
	static char buf[1 << 16];
	uint64_t end = cpu_ns() + ms * 1000000u;
	int fd = open("/dev/zero", O_RDONLY | O_CLOEXEC);
	long total = 0;

	if (fd < 0)
		return -1;
	while (cpu_ns() < end)
		for (int i = 0; i < 64; i++)
			total += raw_read(fd, buf, sizeof(buf));
	close(fd);
	return total;
}

int main(int argc, char **argv)
{
	char line[16];

	if (argc != 3) {
		fprintf(stderr, "usage: %s USER_MS KERNEL_MS\n", argv[0]);
		return 2;
	}
	printf("%d %p %p\n", (int)getpid(), (void *)kscope_profile_spin, (void *)main);
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		return 1;
	kscope_profile_spin(strtoull(argv[1], NULL, 10));
	if (kscope_profile_read_zero(strtoull(argv[2], NULL, 10)) < 0)
		return 1;
	printf("done\n");
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin))
		;
	return 0;
}
