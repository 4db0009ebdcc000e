/* event_storm MODE N: does one kind of traced thing N times as fast as one core allows, then
 * prints "events=N seconds=S rate=R" so a benchmark can compare the rate under each tracer
 * (bench/event_storm.sh). The rate counts iterations; what each tool sees per iteration:
 *   fork     fork(), the child _exit(i % 256)s, waitpid(): one process exit (and a SIGCHLD)
 *   exec     fork(), the child execs this program again with the argument "-", which exits 0
 *            at once, waitpid(): one exec and one process exit
 *   signal   kill(getpid(), SIGUSR1), caught by a handler: one signal generated and delivered
 *   connect  in a network namespace of its own (loopback): socket(), connect() to a listener
 *            on 127.0.0.1, accept(), close() of the client with SO_LINGER 0 (a reset, so no
 *            TIME_WAIT fills the port range), close() of the accepted end: one connect, one
 *            accept, one reset, two socket lifetimes
 *   bind     in its own network namespace: socket(), bind() to 127.0.0.1 port 0, close()
 *   listen   in its own network namespace: socket(), bind() as above, listen(), close()
 *   switch   a byte to a child process through one pipe and back through another: the child
 *            and then the parent are woken and switched in (runqlat's events), at least
 *            two wake-ups and two context switches
 * Exits 1 if an iteration did not do what it should (the summary line is printed anyway). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum mode { FORK, EXEC, SIGNAL, CONNECT, BIND, LISTEN, SWITCH };
static const char *const modes[] = {"fork", "exec", "signal", "connect", "bind", "listen", "switch"};

static volatile sig_atomic_t caught;
static long failed;

static void on_signal(int sig)
{
	(void)sig;
	caught++;
}

static void die(const char *what)
{
	fprintf(stderr, "event_storm: %s: %s\n", what, strerror(errno));
	exit(2);
}

/* A network namespace of its own with loopback up: the storm's sockets and ports never meet
 * the machine's. */
static void own_netns(void)
{
	if (unshare(CLONE_NEWNET))
		die("unshare(CLONE_NEWNET) (needs root)");
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	struct ifreq ifr = {0};

	if (s < 0)
		die("socket");
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(s, SIOCGIFFLAGS, &ifr))
		die("SIOCGIFFLAGS lo");
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr))
		die("SIOCSIFFLAGS lo");
	close(s);
}

static struct sockaddr_in loopback(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};

	return a;
}

static int bound_socket(void)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = loopback();

	if (s < 0)
		die("socket");
	if (bind(s, (struct sockaddr *)&a, sizeof(a)))
		failed++;
	return s;
}

static void one_fork(long i)
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		die("fork");
	if (pid == 0)
		_exit(i % 256);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != i % 256)
		failed++;
}

static void one_exec(const char *self, const char *argv0)
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		die("fork");
	if (pid == 0) {
		execl(self, argv0, "-", (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		failed++;
}

/* The child of the switch mode: echoes every byte until the parent closes its pipe. */
static void echo(int in, int out)
{
	char c;

	while (read(in, &c, 1) == 1)
		if (write(out, &c, 1) != 1)
			break;
	_exit(0);
}

static void one_switch(int to, int from)
{
	char c = 'x';

	if (write(to, &c, 1) != 1 || read(from, &c, 1) != 1)
		failed++;
}

static void one_connect(int listener, const struct sockaddr_in *to)
{
	int c = socket(AF_INET, SOCK_STREAM, 0);
	struct linger reset = {.l_onoff = 1, .l_linger = 0};

	if (c < 0)
		die("socket");
	if (connect(c, (const struct sockaddr *)to, sizeof(*to))) {
		failed++;
		close(c);
		return;
	}
	int a = accept(listener, NULL, NULL);

	if (a < 0)
		failed++;
	setsockopt(c, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
	close(c);
	if (a >= 0)
		close(a);
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "-") == 0)
		return 0; /* the exec mode's child */
	if (argc != 3) {
		fprintf(stderr, "usage: %s fork|exec|signal|connect|bind|listen|switch N\n", argv[0]);
		return 2;
	}
	enum mode mode = FORK;
	long n = strtol(argv[2], NULL, 10);
	char self[4096];
	int listener = -1;
	struct sockaddr_in to = loopback();
	int ping[2], pong[2];
	pid_t echoer = -1;

	while (strcmp(argv[1], modes[mode]) != 0)
		if (++mode == sizeof(modes) / sizeof(modes[0])) {
			fprintf(stderr, "event_storm: unknown mode %s\n", argv[1]);
			return 2;
		}
	if (mode == EXEC) {
		ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);

		if (len < 0)
			die("readlink /proc/self/exe");
		self[len] = 0;
	} else if (mode == SIGNAL) {
		struct sigaction sa = {.sa_handler = on_signal};

		sigaction(SIGUSR1, &sa, NULL);
	} else if (mode == CONNECT || mode == BIND || mode == LISTEN) {
		own_netns();
		if (mode == CONNECT) {
			socklen_t len = sizeof(to);

			listener = bound_socket();
			if (listen(listener, 128) || getsockname(listener, (struct sockaddr *)&to, &len))
				die("listen");
		}
	} else if (mode == SWITCH) {
		if (pipe(ping) || pipe(pong))
			die("pipe");
		echoer = fork();
		if (echoer < 0)
			die("fork");
		if (echoer == 0) {
			close(ping[1]);
			close(pong[0]);
			echo(ping[0], pong[1]);
		}
		close(ping[0]);
		close(pong[1]);
	}

	struct timespec a, b;

	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < n; i++) {
		switch (mode) {
		case FORK:
			one_fork(i);
			break;
		case EXEC:
			one_exec(self, argv[0]);
			break;
		case SIGNAL:
			kill(getpid(), SIGUSR1);
			break;
		case CONNECT:
			one_connect(listener, &to);
			break;
		case BIND:
			close(bound_socket());
			break;
		case LISTEN: {
			int s = bound_socket();

			if (listen(s, 1))
				failed++;
			close(s);
			break;
		}
		case SWITCH:
			one_switch(ping[1], pong[0]);
			break;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	if (echoer > 0) {
		close(ping[1]);
		waitpid(echoer, NULL, 0);
	}
	if (mode == SIGNAL && caught != n)
		failed += n - caught;
	double s = (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
	printf("events=%ld seconds=%.3f rate=%.0f failed=%ld\n", n, s, n / s, failed);
	return failed ? 1 : 0;
}
