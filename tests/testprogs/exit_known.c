/* exit_known EXPECTED
 *
 * Forks children that end in known ways and writes one line per exit a tracer should see to
 * EXPECTED, tab-separated:
 *   pid tid ppid comm status whole min_age_ns max_age_ns ns_pid
 * status is in wait(2)'s encoding, as the kernel keeps it in task->exit_code: code << 8, or
 * the signal number (| 0x80 after a core dump: never here, see abort_body); for a whole
 * process it is what wait(2) returned.
 * whole is 1 for the exit of the process (of its last thread), 0 for any other thread's exit.
 * Ages are CLOCK_BOOTTIME ns, of the process when whole is 1 and of the thread when 0;
 * max_age_ns runs from before fork() to after wait() returned. ns_pid is the process id in
 * its own pid namespace. tid 0 means "any thread of pid": which thread of a killed
 * multi-threaded process goes last is up to the scheduler. The exit of exit_known itself is
 * not listed. Exits 1 if a child ended with another status than the one written. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MS 1000000ull
#define SLEEP_NS (300 * MS)	  /* the sleeper's lifetime, at least */
#define THREAD_SLEEP_NS (100 * MS) /* the lone thread's lifetime, at least */
#define KILLED_THREADS 3	  /* besides the main thread of the killed process */

static FILE *out;
static int ready[2]; /* children tell the parent they are in place, or a tid */
static int failed;
static pthread_barrier_t all_started;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = {.tv_sec = ns / 1000000000ull, .tv_nsec = ns % 1000000000ull};

	while (nanosleep(&ts, &ts))
		;
}

static void tell(int v)
{
	if (write(ready[1], &v, sizeof(v)) != sizeof(v))
		_exit(98);
}

static int hear(void)
{
	int v;

	if (read(ready[0], &v, sizeof(v)) != sizeof(v)) {
		perror("exit_known: read");
		exit(2);
	}
	return v;
}

static void row(int pid, int tid, int ppid, const char *comm, int status, int whole,
		uint64_t min_age, uint64_t max_age, int ns_pid)
{
	fprintf(out, "%d\t%d\t%d\t%s\t%d\t%d\t%llu\t%llu\t%d\n", pid, tid, ppid, comm, status,
		whole, (unsigned long long)min_age, (unsigned long long)max_age, ns_pid);
}

/* The child runs body under the name comm; *t0 is taken before fork(). */
static pid_t spawn(void (*body)(void), const char *comm, uint64_t *t0)
{
	fflush(out); /* or the child's exit() writes the parent's buffered lines again */
	*t0 = now_ns();
	pid_t pid = fork();
	if (pid < 0) {
		perror("exit_known: fork");
		exit(2);
	}
	if (pid == 0) {
		prctl(PR_SET_NAME, comm);
		body();
		_exit(99);
	}
	return pid;
}

/* Waits for pid, checks its status, returns the bound on its age. */
static uint64_t reap(pid_t pid, int want, uint64_t t0)
{
	int st;

	if (waitpid(pid, &st, 0) != pid) {
		perror("exit_known: waitpid");
		exit(2);
	}
	if (st != want) {
		fprintf(stderr, "exit_known: %d ended with status %#x, not %#x\n", pid, st, want);
		failed = 1;
	}
	return now_ns() - t0;
}

static void exit7_body(void)
{
	exit(7);
}

static void sigkill_body(void)
{
	tell(0);
	for (;;)
		pause();
}

/* The kernel sets 0x80 only when it wrote a core. A process that is not dumpable gets no
 * dump at all, not even through a core_pattern pipe, which ignores RLIMIT_CORE 0. */
static void abort_body(void)
{
	struct rlimit none = {0, 0};

	setrlimit(RLIMIT_CORE, &none);
	prctl(PR_SET_DUMPABLE, 0);
	abort();
}

static void sleep_body(void)
{
	sleep_ns(SLEEP_NS);
	exit(0);
}

static void *lone_thread(void *arg)
{
	(void)arg;
	prctl(PR_SET_NAME, "ek_thread_t"); /* this thread's comm only */
	tell(syscall(SYS_gettid));
	sleep_ns(THREAD_SLEEP_NS);
	pthread_exit(NULL);
}

static void thread_body(void)
{
	pthread_t t;

	if (pthread_create(&t, NULL, lone_thread, NULL) || pthread_join(t, NULL))
		_exit(97);
	exit(0);
}

static void *waiting_thread(void *arg)
{
	(void)arg;
	pthread_barrier_wait(&all_started);
	pause(); /* no handler is installed: only the SIGKILL ends this */
	return NULL;
}

static void killmt_body(void)
{
	pthread_t t;

	pthread_barrier_init(&all_started, NULL, KILLED_THREADS + 1);
	for (int i = 0; i < KILLED_THREADS; i++)
		if (pthread_create(&t, NULL, waiting_thread, NULL))
			_exit(97);
	pthread_barrier_wait(&all_started);
	sigkill_body();
}

/* The grandchild is pid 1 of a new pid namespace; it tells its host pid, or 0 when this
 * kernel or user may not create one (then only this child's own exit is expected). */
static void pidns_body(void)
{
	pid_t pid = 0;
	int st = 0x300;

	if (unshare(CLONE_NEWPID) == 0) {
		pid = fork();
		if (pid == 0) {
			prctl(PR_SET_NAME, "ek_pidns_init");
			_exit(3);
		}
		if (pid < 0 || waitpid(pid, &st, 0) != pid)
			_exit(96);
	}
	tell(pid);
	_exit(st == 0x300 ? 0 : 1);
}

int main(int argc, char **argv)
{
	int me = getpid();
	uint64_t t0, max;
	pid_t pid;

	if (argc != 2) {
		fprintf(stderr, "usage: %s EXPECTED\n", argv[0]);
		return 2;
	}
	out = fopen(argv[1], "w");
	if (!out || pipe(ready)) {
		perror("exit_known");
		return 2;
	}
	alarm(30); /* a child that never gets ready must not hang the test */

	pid = spawn(exit7_body, "ek_exit7", &t0);
	max = reap(pid, 7 << 8, t0);
	row(pid, pid, me, "ek_exit7", 7 << 8, 1, 0, max, pid);

	pid = spawn(sigkill_body, "ek_sigkill", &t0);
	hear();
	kill(pid, SIGKILL);
	max = reap(pid, SIGKILL, t0);
	row(pid, pid, me, "ek_sigkill", SIGKILL, 1, 0, max, pid);

	pid = spawn(abort_body, "ek_abort", &t0);
	max = reap(pid, SIGABRT, t0);
	row(pid, pid, me, "ek_abort", SIGABRT, 1, 0, max, pid);

	pid = spawn(sleep_body, "ek_sleep", &t0);
	max = reap(pid, 0, t0);
	row(pid, pid, me, "ek_sleep", 0, 1, SLEEP_NS, max, pid);

	pid = spawn(thread_body, "ek_thread", &t0);
	int tid = hear();
	max = reap(pid, 0, t0);
	row(pid, tid, me, "ek_thread_t", 0, 0, THREAD_SLEEP_NS, max, pid);
	row(pid, pid, me, "ek_thread", 0, 1, THREAD_SLEEP_NS, max, pid);

	/* Every thread of a process killed by a signal exits with the signal as its status. */
	pid = spawn(killmt_body, "ek_killmt", &t0);
	hear();
	kill(pid, SIGKILL);
	max = reap(pid, SIGKILL, t0);
	for (int i = 0; i < KILLED_THREADS; i++)
		row(pid, 0, me, "ek_killmt", SIGKILL, 0, 0, max, pid);
	row(pid, 0, me, "ek_killmt", SIGKILL, 1, 0, max, pid);

	pid = spawn(pidns_body, "ek_pidns", &t0);
	int inner = hear();
	max = reap(pid, 0, t0);
	if (inner > 0)
		row(inner, inner, pid, "ek_pidns_init", 3 << 8, 1, 0, max, 1);
	row(pid, pid, me, "ek_pidns", 0, 1, 0, max, pid);

	fclose(out);
	return failed;
}
