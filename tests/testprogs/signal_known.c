/* signal_known EXPECTED
 *
 * Sends signals with known outcomes and writes one line per signal a tracer should see to
 * EXPECTED, tab-separated:
 *   sender_pid sender_tid target_pid target_tid sig code result via group target_comm
 * result is signal_generate's (delivered, ignored, already_pending, overflow_fail, lose_info)
 * or, for a kill/tkill/tgkill the kernel refused before generating a signal, its errno name.
 * via is kill, tkill, tgkill, timer (from an hrtimer's callback, in the context of whatever task
 * it interrupted) or -.
 * code is si_code. A failed call's targets are its arguments (kill has no tid: 0, tkill no
 * pid: 0) and its target_comm is -. sender_pid 0 means "any task" (a timer's callback runs on
 * whatever task it interrupted), sender_tid 0 "any thread of sender_pid".
 *
 * The target is a child, sk_target, with a second thread, sk_thread, every signal blocked but
 * SIGHUP (ignored) and RLIMIT_SIGPENDING 0, so that the kernel queues no siginfo for it but
 * kill()'s, which the limit does not bind. Exits 1 if a call returned another result than the
 * one written. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#define SI_TKILL_CODE -6 /* SI_TKILL; the C library's is an enum the kernel's numbers match */

static FILE *out;
static int ready[2]; /* the target child tells its second thread's tid */
static int failed;

static void row(int spid, int stid, int tpid, int ttid, int sig, int code, const char *result,
		const char *via, int group, const char *tcomm)
{
	fprintf(out, "%d\t%d\t%d\t%d\t%d\t%d\t%s\t%s\t%d\t%s\n", spid, stid, tpid, ttid, sig, code,
		result, via, group, tcomm);
}

static void expect(const char *what, long got, long want)
{
	if (got != want) {
		fprintf(stderr, "signal_known: %s returned %ld (errno %d), not %ld\n", what, got,
			errno, want);
		failed = 1;
	}
}

static pthread_barrier_t thread_named;
static int thread_tid;

static void *target_thread(void *arg)
{
	(void)arg;
	prctl(PR_SET_NAME, "sk_thread");
	thread_tid = syscall(SYS_gettid);
	pthread_barrier_wait(&thread_named);
	for (;;)
		pause(); /* every signal blocked: only SIGKILL ends this */
	return NULL;
}

static void target_body(void)
{
	struct rlimit none = {0, 0};
	sigset_t all;
	pthread_t t;

	prctl(PR_SET_NAME, "sk_target");
	sigfillset(&all);
	sigdelset(&all, SIGHUP);
	sigprocmask(SIG_BLOCK, &all, NULL);
	signal(SIGHUP, SIG_IGN);
	setrlimit(RLIMIT_SIGPENDING, &none);
	/* pthread_create() blocks every signal of the caller until the thread runs: the parent
	 * hears of the thread after it returned, when SIGHUP is unblocked again. */
	pthread_barrier_init(&thread_named, NULL, 2);
	if (pthread_create(&t, NULL, target_thread, NULL))
		_exit(97);
	pthread_barrier_wait(&thread_named);
	if (write(ready[1], &thread_tid, sizeof(thread_tid)) != sizeof(thread_tid))
		_exit(98);
	for (;;)
		pause();
}

/* A child that ends at once: its pid is free afterwards, for the ESRCH calls. */
static void exit_body(void)
{
	prctl(PR_SET_NAME, "sk_gone");
	_exit(0);
}

/* Not permitted to signal a root process. */
static void nobody_body(void)
{
	prctl(PR_SET_NAME, "sk_nobody");
	if (setgid(65534) || setuid(65534))
		_exit(96);
	_exit(kill(getppid(), SIGUSR1) == -1 && errno == EPERM ? 0 : 1);
}

/* A kernel-generated signal in process context: the fault's SIGSEGV, from the task itself.
 * Not dumpable, so that it ends without a core (CLD_KILLED). */
static void segv_body(void)
{
	struct rlimit none = {0, 0};

	prctl(PR_SET_NAME, "sk_segv");
	setrlimit(RLIMIT_CORE, &none);
	prctl(PR_SET_DUMPABLE, 0);
	*(volatile int *)0 = 1;
	_exit(95);
}

static pid_t spawn(void (*body)(void))
{
	fflush(out); /* or the child's exit writes the parent's buffered lines again */
	pid_t pid = fork();
	if (pid < 0) {
		perror("signal_known: fork");
		exit(2);
	}
	if (pid == 0) {
		body();
		_exit(99);
	}
	return pid;
}

static int reap(pid_t pid)
{
	int st;

	if (waitpid(pid, &st, 0) != pid) {
		perror("signal_known: waitpid");
		exit(2);
	}
	return st;
}

int main(int argc, char **argv)
{
	int me = getpid();
	union sigval val = {.sival_int = 7};

	if (argc != 2) {
		fprintf(stderr, "usage: %s EXPECTED\n", argv[0]);
		return 2;
	}
	out = fopen(argv[1], "w");
	if (!out || pipe(ready)) {
		perror("signal_known");
		return 2;
	}
	alarm(30); /* a child that never gets ready must not hang the test */

	pid_t c = spawn(target_body);
	int t;

	if (read(ready[0], &t, sizeof(t)) != sizeof(t)) {
		perror("signal_known: read");
		return 2;
	}

	expect("kill SIGUSR1", kill(c, SIGUSR1), 0);
	row(me, me, c, c, SIGUSR1, SI_USER, "delivered", "kill", 1, "sk_target");
	expect("kill SIGUSR2", kill(c, SIGUSR2), 0);
	row(me, me, c, c, SIGUSR2, SI_USER, "delivered", "kill", 1, "sk_target");
	expect("kill SIGUSR2 again", kill(c, SIGUSR2), 0);
	row(me, me, c, c, SIGUSR2, SI_USER, "already_pending", "kill", 1, "sk_target");
	expect("kill SIGHUP", kill(c, SIGHUP), 0);
	row(me, me, c, c, SIGHUP, SI_USER, "ignored", "kill", 1, "sk_target");
	/* A thread's own pending set: SIGUSR1 is pending for the process, not yet for the thread.
	 * Only kill() may queue a siginfo beyond RLIMIT_SIGPENDING (the kernel's own codes and
	 * SI_USER are >= 0), so tgkill's is lost. */
	expect("tgkill SIGUSR1", syscall(SYS_tgkill, c, t, SIGUSR1), 0);
	row(me, me, c, t, SIGUSR1, SI_TKILL_CODE, "lose_info", "tgkill", 0, "sk_thread");
	expect("tkill SIGUSR1", syscall(SYS_tkill, t, SIGUSR1), 0);
	row(me, me, c, t, SIGUSR1, SI_TKILL_CODE, "already_pending", "tkill", 0, "sk_thread");
	/* sigqueue() may not exceed RLIMIT_SIGPENDING: a real-time signal is refused, another
	 * queued without its siginfo. */
	expect("sigqueue SIGRTMIN", sigqueue(c, SIGRTMIN, val), -1);
	expect("sigqueue SIGRTMIN errno", errno, EAGAIN);
	row(me, me, c, c, SIGRTMIN, SI_QUEUE, "overflow_fail", "-", 1, "sk_target");
	expect("sigqueue SIGTERM", sigqueue(c, SIGTERM, val), 0);
	row(me, me, c, c, SIGTERM, SI_QUEUE, "lose_info", "-", 1, "sk_target");
	expect("kill 0", kill(c, 0), 0); /* checks the pid, sends nothing */
	expect("kill SIGKILL", kill(c, SIGKILL), 0);
	row(me, me, c, c, SIGKILL, SI_USER, "delivered", "kill", 1, "sk_target");
	expect("sk_target's end", reap(c), SIGKILL);
	/* Its last thread to go tells the parent, which leaves SIGCHLD at SIG_DFL: ignored. */
	row(c, 0, me, me, SIGCHLD, CLD_KILLED, "ignored", "-", 1, "signal_known");

	pid_t gone = spawn(exit_body);
	expect("sk_gone's end", reap(gone), 0);
	row(gone, gone, me, me, SIGCHLD, CLD_EXITED, "ignored", "-", 1, "signal_known");
	expect("kill a pid that is gone", kill(gone, SIGUSR1), -1);
	row(me, me, gone, 0, SIGUSR1, SI_USER, "ESRCH", "kill", 1, "-");
	expect("tkill a tid that is gone", syscall(SYS_tkill, gone, SIGUSR2), -1);
	row(me, me, 0, gone, SIGUSR2, SI_TKILL_CODE, "ESRCH", "tkill", 0, "-");
	expect("tgkill a tid that is gone", syscall(SYS_tgkill, me, gone, SIGUSR2), -1);
	row(me, me, me, gone, SIGUSR2, SI_TKILL_CODE, "ESRCH", "tgkill", 0, "-");
	expect("kill with no such signal", kill(me, 99), -1);
	row(me, me, me, 0, 99, SI_USER, "EINVAL", "kill", 1, "-");

	pid_t nobody = spawn(nobody_body);
	expect("sk_nobody's kill", reap(nobody), 0);
	row(nobody, nobody, me, 0, SIGUSR1, SI_USER, "EPERM", "kill", 1, "-");
	row(nobody, nobody, me, me, SIGCHLD, CLD_EXITED, "ignored", "-", 1, "signal_known");

	pid_t segv = spawn(segv_body);
	expect("sk_segv's end", reap(segv), SIGSEGV);
	row(segv, segv, segv, segv, SIGSEGV, SEGV_MAPERR, "delivered", "-", 0, "sk_segv");
	row(segv, segv, me, me, SIGCHLD, CLD_KILLED, "ignored", "-", 1, "signal_known");

	/* ITIMER_REAL's SIGALRM comes from an hrtimer's callback: a hard interrupt (PREEMPT_RT:
	 * the ktimers thread, which sched_yield lets in). The process spins as a real-time task
	 * until the signal is pending, so that the interrupt finds it running: one that found this
	 * VM's init (process_api's tokio threads) ran the tracepoints without any BPF program,
	 * bpftrace's too, about once in 300 runs on 6.18, though ftrace saw them. */
	sigset_t alrm, pending;
	int sig;
	struct itimerval once = {.it_value = {.tv_usec = 1000}};
	struct sched_param fifo = {.sched_priority = 1}, other = {.sched_priority = 0};
	int realtime = sched_setscheduler(0, SCHED_FIFO, &fifo) == 0;

	sigemptyset(&alrm);
	sigaddset(&alrm, SIGALRM);
	sigprocmask(SIG_BLOCK, &alrm, NULL);
	alarm(0);
	expect("setitimer", setitimer(ITIMER_REAL, &once, NULL), 0);
	do {
		sched_yield();
		sigpending(&pending);
	} while (!sigismember(&pending, SIGALRM));
	if (realtime)
		sched_setscheduler(0, SCHED_OTHER, &other);
	expect("sigwait", sigwait(&alrm, &sig), 0);
	row(0, 0, me, me, SIGALRM, SI_KERNEL, "delivered", "timer", 1, "signal_known");

	fclose(out);
	return failed;
}
