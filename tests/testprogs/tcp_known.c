/* tcp_known OUT NS_SERVER ADDR_SERVER NS_CLIENT ADDR_CLIENT PORT ROLE...
 *
 * Sockets used in known ways between two network namespaces, for the socket tools'
 * privileged tests (connect, accept, connlat, bind, listen; tcplife, tcpstates and others
 * may reuse it). NS_SERVER and NS_CLIENT name namespaces under /run/netns, ADDR_SERVER and
 * ADDR_CLIENT their IPv4 addresses on the link between them (tests/privileged/netns.h makes
 * such a pair). Each ROLE runs in turn, in processes of its own that tcp_known forks and
 * waits for: a server (comm tk_server) in NS_SERVER and a client (comm tk_client) in
 * NS_CLIENT. Roles, with the ports they use (PORT + n):
 *   exchange          server binds ADDR_SERVER:PORT (SO_REUSEADDR), listens (backlog 7),
 *                     accepts; client connects (blocking), sends REQUEST_BYTES, shuts down
 *                     its side; server reads to EOF, sends REPLY_BYTES, closes; client reads
 *                     to EOF, closes.
 *   exchange6         the same over IPv6 on ::1 (both processes in NS_SERVER), port PORT+1.
 *   nonblock          server listens on PORT+2 and accepts; client connects non-blocking
 *                     (EINPROGRESS), polls until the handshake ends, reads SO_ERROR, closes.
 *   refused           client connects (blocking) to ADDR_SERVER:PORT+3, where nothing
 *                     listens: ECONNREFUSED. Its namespace's ephemeral range is narrowed to
 *                     the one port PORT+50 meanwhile, so the local port is known.
 *   refused_nonblock  the same non-blocking, to PORT+4 from local port PORT+51: EINPROGRESS,
 *                     then SO_ERROR ECONNREFUSED.
 *   unreachable       client connects to 192.0.2.1:PORT+7, which has no route: ENETUNREACH.
 *   addrinuse         server binds ADDR_SERVER:PORT+5 and listens (backlog 3); a second
 *                     socket binds the same address: EADDRINUSE.
 *   bindopts          server binds a TCP socket with IP_FREEBIND and IP_BIND_ADDRESS_NO_PORT
 *                     to 192.0.2.99:0 (not local), and a UDP IPv6 socket with IPV6_V6ONLY,
 *                     SO_REUSEPORT and IPV6_TRANSPARENT to [::1]:0 (the kernel picks a port).
 *   listenfail        server listens on that kind of UDP socket (EOPNOTSUPP, backlog 5), then
 *                     on an unbound TCP socket (backlog 9: the kernel binds 0.0.0.0:ephemeral).
 *   accept_empty      server listens non-blocking on PORT+6 (backlog 1) and accepts: EAGAIN.
 *
 * One line per socket call to OUT, tab-separated:
 *   step pid tid comm proto family laddr lport raddr rport errno value
 * step: bind, listen, connect, handshake (how a non-blocking connect's handshake ended,
 * SO_ERROR), accept, send, recv, close. proto tcp or udp, family 4 or 6. laddr/lport is this
 * process's end after the call (a failed bind: the address it asked for), raddr/rport the
 * peer's; "-" and 0 when there is none. errno: 0 or the call's errno. value: listen the
 * backlog passed; accept the new fd (-1); send/recv the bytes moved; connect the
 * CLOCK_MONOTONIC ns connect() took; handshake the ns from before connect() to the end of
 * the poll; bind the options set, as bits: 1 SO_REUSEADDR, 2 SO_REUSEPORT, 4 IP_FREEBIND,
 * 8 IP_TRANSPARENT (IPV6_TRANSPARENT), 16 IP_BIND_ADDRESS_NO_PORT, 32 IPV6_V6ONLY; else 0.
 * Exits 1 when a call did not end as its role expects, 2 on a usage or setup error. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "netns_socket.h"

#define REQUEST_BYTES 1000
#define REPLY_BYTES 3000
#define UNROUTED "192.0.2.1" /* TEST-NET-1: no route in the client's namespace */
#define NONLOCAL "192.0.2.99"

#define OPT_REUSEADDR 1
#define OPT_REUSEPORT 2
#define OPT_FREEBIND 4
#define OPT_TRANSPARENT 8
#define OPT_BIND_ADDRESS_NO_PORT 16
#define OPT_V6ONLY 32

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

static const char *out_path, *ns_server, *addr_server, *ns_client, *addr_client;
static int base_port;
static int ready[2]; /* the server tells tcp_known it listens */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void die(const char *what)
{
	perror(what);
	_exit(2);
}

/* An end of a socket as text: "-" and 0 when it has no address. */
struct end {
	char addr[INET6_ADDRSTRLEN];
	int port;
};

static struct end end_of(const struct sockaddr_storage *ss)
{
	struct end e = {"-", 0};

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)ss;
		inet_ntop(AF_INET, &in->sin_addr, e.addr, sizeof(e.addr));
		e.port = ntohs(in->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)ss;
		inet_ntop(AF_INET6, &in6->sin6_addr, e.addr, sizeof(e.addr));
		e.port = ntohs(in6->sin6_port);
	}
	return e;
}

static struct end local_end(int fd)
{
	struct sockaddr_storage ss = {0};
	socklen_t len = sizeof(ss);

	getsockname(fd, (struct sockaddr *)&ss, &len);
	return end_of(&ss);
}

static struct end peer_end(int fd)
{
	struct sockaddr_storage ss = {0};
	socklen_t len = sizeof(ss);

	if (getpeername(fd, (struct sockaddr *)&ss, &len))
		return (struct end){"-", 0};
	return end_of(&ss);
}

static const struct end none = {"-", 0};

/* One line, written whole with one write so that the two processes' lines never mix. */
static void note(const char *step, const char *proto, int family, struct end l, struct end r,
		 int err, long long value)
{
	char comm[16] = "", line[512];
	int fd = open(out_path, O_WRONLY | O_APPEND);

	prctl(PR_GET_NAME, comm);
	int n = snprintf(line, sizeof(line), "%s\t%d\t%ld\t%s\t%s\t%d\t%s\t%d\t%s\t%d\t%d\t%lld\n",
			 step, getpid(), (long)syscall(SYS_gettid), comm, proto, family, l.addr,
			 l.port, r.addr, r.port, err, value);
	if (fd < 0 || write(fd, line, n) != n)
		die("tcp_known: write OUT");
	close(fd);
}

static int failed; /* a call that did not end as expected: the process exits 1 */

static void expect(int err, int want, const char *what)
{
	if (err != want) {
		fprintf(stderr, "tcp_known: %s: errno %d (%s), expected %d\n", what, err,
			strerror(err), want);
		failed = 1;
	}
}

static int family_of(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET6 ? 6 : 4;
}

static int set_opt(int fd, int level, int name)
{
	int one = 1;

	if (setsockopt(fd, level, name, &one, sizeof(one)))
		die("tcp_known: setsockopt");
	return 0;
}

/* bind(), noted with the address the socket has after it (the one asked for if it failed). */
static int do_bind(int fd, const char *proto, const char *addr, int port, int opts, int want)
{
	struct sockaddr_storage ss = ks_sockaddr_of(addr, port);
	int err = bind(fd, (struct sockaddr *)&ss, ks_sockaddr_len(&ss)) ? errno : 0;

	note("bind", proto, family_of(&ss), err ? end_of(&ss) : local_end(fd), none, err, opts);
	expect(err, want, "bind");
	return err;
}

static int do_listen(int fd, const char *proto, int family, int backlog, int want)
{
	int err = listen(fd, backlog) ? errno : 0;

	note("listen", proto, family, local_end(fd), none, err, backlog);
	expect(err, want, "listen");
	return err;
}

static int do_accept(int lfd, int family, int want)
{
	int fd = accept(lfd, NULL, NULL);
	int err = fd < 0 ? errno : 0;

	note("accept", "tcp", family, local_end(fd < 0 ? lfd : fd), fd < 0 ? none : peer_end(fd),
	     err, fd);
	expect(err, want, "accept");
	return fd;
}

static long move_bytes(int fd, int family, int sending, long count)
{
	char buf[4096];
	long done = 0;

	memset(buf, 'k', sizeof(buf));
	for (;;) {
		long n;
		if (sending) {
			if (done == count)
				break;
			long left = count - done;

			n = send(fd, buf, left < (long)sizeof(buf) ? left : (long)sizeof(buf),
				 MSG_NOSIGNAL);
		} else {
			n = recv(fd, buf, sizeof(buf), 0);
			if (n == 0)
				break;
		}
		if (n < 0)
			die(sending ? "tcp_known: send" : "tcp_known: recv");
		done += n;
	}
	note(sending ? "send" : "recv", "tcp", family, local_end(fd), peer_end(fd), 0, done);
	return done;
}

static void do_close(int fd, int family)
{
	struct end l = local_end(fd), r = peer_end(fd);

	close(fd);
	note("close", "tcp", family, l, r, 0, 0);
}

/* A listening TCP server socket on addr:port; tcp_known hears when it listens. */
static int listener(const char *addr, int port, int opts, int backlog)
{
	struct sockaddr_storage ss = ks_sockaddr_of(addr, port);
	int fd = socket(ss.ss_family, SOCK_STREAM, 0);

	if (fd < 0)
		die("tcp_known: socket");
	if (opts & OPT_REUSEADDR)
		set_opt(fd, SOL_SOCKET, SO_REUSEADDR);
	do_bind(fd, "tcp", addr, port, opts, 0);
	do_listen(fd, "tcp", family_of(&ss), backlog, 0);
	return fd;
}

static void tell_ready(void)
{
	if (write(ready[1], "r", 1) != 1)
		die("tcp_known: ready");
}

/* connect() noted with its errno and duration and, for a non-blocking one in progress, a
 * handshake line once poll says the handshake ended. A refused connect has lost its local
 * address by then: the role passes the one port it left the ephemeral range (0: ask the
 * socket). Returns the socket. */
static int do_connect(const char *addr, int port, int nonblock, int want, int want_handshake,
		      int known_lport)
{
	struct sockaddr_storage ss = ks_sockaddr_of(addr, port);
	int fd = socket(ss.ss_family, SOCK_STREAM | (nonblock ? SOCK_NONBLOCK : 0), 0);

	if (fd < 0)
		die("tcp_known: socket");
	uint64_t t0 = now_ns();
	int err = connect(fd, (struct sockaddr *)&ss, ks_sockaddr_len(&ss)) ? errno : 0;
	uint64_t t1 = now_ns();
	struct end l = local_end(fd);
	if (known_lport) {
		snprintf(l.addr, sizeof(l.addr), "%s", addr_client);
		l.port = known_lport;
	}
	if (err == ENETUNREACH)
		l = none;
	note("connect", "tcp", family_of(&ss), l, end_of(&ss), err, t1 - t0);
	expect(err, want, "connect");
	if (err == EINPROGRESS) {
		struct pollfd p = {.fd = fd, .events = POLLOUT};
		int so_error = 0;
		socklen_t len = sizeof(so_error);

		if (poll(&p, 1, 5000) != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len))
			die("tcp_known: poll");
		note("handshake", "tcp", family_of(&ss), l, end_of(&ss), so_error, now_ns() - t0);
		expect(so_error, want_handshake, "handshake");
	}
	return fd;
}

/* The client's namespace takes ephemeral ports from [port, port] while fn runs. */
static void with_one_ephemeral_port(int port, void (*fn)(void))
{
	const char *path = "/proc/sys/net/ipv4/ip_local_port_range";
	char saved[64] = "", one[32];
	int fd = open(path, O_RDWR);
	ssize_t n = fd < 0 ? -1 : read(fd, saved, sizeof(saved) - 1);

	if (n <= 0)
		die(path);
	saved[n] = 0;
	int len = snprintf(one, sizeof(one), "%d %d", port, port);
	if (pwrite(fd, one, len, 0) != len)
		die(path);
	fn();
	if (pwrite(fd, saved, n, 0) != n)
		die(path);
	close(fd);
}

static void exchange_server(const char *addr, int port)
{
	struct sockaddr_storage ss = ks_sockaddr_of(addr, port);
	int family = family_of(&ss);
	int lfd = listener(addr, port, OPT_REUSEADDR, 7);

	tell_ready();
	int fd = do_accept(lfd, family, 0);
	if (fd < 0)
		return;
	if (move_bytes(fd, family, 0, 0) != REQUEST_BYTES)
		failed = 1;
	move_bytes(fd, family, 1, REPLY_BYTES);
	do_close(fd, family);
	close(lfd);
}

static void exchange_client(const char *addr, int port)
{
	struct sockaddr_storage ss = ks_sockaddr_of(addr, port);
	int family = family_of(&ss);
	int fd = do_connect(addr, port, 0, 0, 0, 0);

	if (failed)
		return;
	move_bytes(fd, family, 1, REQUEST_BYTES);
	shutdown(fd, SHUT_WR);
	if (move_bytes(fd, family, 0, 0) != REPLY_BYTES)
		failed = 1;
	do_close(fd, family);
}

static void accept_once_server(const char *addr, int port)
{
	int lfd = listener(addr, port, OPT_REUSEADDR, 7);

	tell_ready();
	int fd = do_accept(lfd, 4, 0);
	if (fd >= 0)
		close(fd);
	close(lfd);
}

static void refused(void)
{
	close(do_connect(addr_server, base_port + 3, 0, ECONNREFUSED, 0, base_port + 50));
}

static void refused_nonblock(void)
{
	close(do_connect(addr_server, base_port + 4, 1, EINPROGRESS, ECONNREFUSED, base_port + 51));
}

static void addrinuse_server(void)
{
	int a = listener(addr_server, base_port + 5, 0, 3);
	int b = socket(AF_INET, SOCK_STREAM, 0);

	if (b < 0)
		die("tcp_known: socket");
	do_bind(b, "tcp", addr_server, base_port + 5, 0, EADDRINUSE);
	close(b);
	close(a);
}

static int v6only_udp_socket(void)
{
	int fd = socket(AF_INET6, SOCK_DGRAM, 0);

	if (fd < 0)
		die("tcp_known: socket");
	set_opt(fd, IPPROTO_IPV6, IPV6_V6ONLY);
	set_opt(fd, SOL_SOCKET, SO_REUSEPORT);
	set_opt(fd, IPPROTO_IPV6, IPV6_TRANSPARENT);
	return fd;
}

static void bindopts_server(void)
{
	int t = socket(AF_INET, SOCK_STREAM, 0);

	if (t < 0)
		die("tcp_known: socket");
	set_opt(t, IPPROTO_IP, IP_FREEBIND);
	set_opt(t, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT);
	do_bind(t, "tcp", NONLOCAL, 0, OPT_FREEBIND | OPT_BIND_ADDRESS_NO_PORT, 0);
	close(t);
	int u = v6only_udp_socket();
	do_bind(u, "udp", "::1", 0, OPT_REUSEPORT | OPT_TRANSPARENT | OPT_V6ONLY, 0);
	close(u);
}

static void listenfail_server(void)
{
	int u = v6only_udp_socket();

	do_bind(u, "udp", "::1", 0, OPT_REUSEPORT | OPT_TRANSPARENT | OPT_V6ONLY, 0);
	do_listen(u, "udp", 6, 5, EOPNOTSUPP);
	close(u);
	int t = socket(AF_INET, SOCK_STREAM, 0);
	if (t < 0)
		die("tcp_known: socket");
	do_listen(t, "tcp", 4, 9, 0);
	close(t);
}

static void accept_empty_server(void)
{
	int lfd = listener(addr_server, base_port + 6, 0, 1);

	fcntl(lfd, F_SETFL, O_NONBLOCK);
	do_accept(lfd, 4, EAGAIN);
	close(lfd);
}

/* Runs body in a child in namespace ns, under the name comm; returns its pid. */
static pid_t spawn(const char *ns, const char *comm, void (*body)(void))
{
	pid_t pid = fork();

	if (pid < 0)
		die("tcp_known: fork");
	if (pid == 0) {
		alarm(20); /* fork() does not pass the parent's alarm on */
		ks_enter_netns(ns);
		prctl(PR_SET_NAME, comm);
		body();
		_exit(failed);
	}
	return pid;
}

static void reap(pid_t pid)
{
	int st;

	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) == 2) {
		fprintf(stderr, "tcp_known: child %d ended with status %#x\n", pid, st);
		exit(2);
	}
	if (WEXITSTATUS(st))
		failed = 1;
}

static void hear_ready(void)
{
	char c;

	if (read(ready[0], &c, 1) != 1)
		die("tcp_known: server not ready");
}

/* A server that must listen before the client starts, then the client. */
static void serve_and_connect(const char *client_ns, void (*server)(void), void (*client)(void))
{
	pid_t s = spawn(ns_server, "tk_server", server);

	hear_ready();
	pid_t c = spawn(client_ns, "tk_client", client);
	reap(c);
	reap(s);
}

static void exchange_server4(void) { exchange_server(addr_server, base_port); }
static void exchange_client4(void) { exchange_client(addr_server, base_port); }
static void exchange_server6(void) { exchange_server("::1", base_port + 1); }
static void exchange_client6(void) { exchange_client("::1", base_port + 1); }
static void nonblock_server(void) { accept_once_server(addr_server, base_port + 2); }
static void nonblock_client(void)
{
	close(do_connect(addr_server, base_port + 2, 1, EINPROGRESS, 0, 0));
}
static void refused_client(void) { with_one_ephemeral_port(base_port + 50, refused); }
static void refused_nonblock_client(void)
{
	with_one_ephemeral_port(base_port + 51, refused_nonblock);
}
static void unreachable_client(void)
{
	close(do_connect(UNROUTED, base_port + 7, 0, ENETUNREACH, 0, 0));
}

static void run_role(const char *role)
{
	if (!strcmp(role, "exchange"))
		serve_and_connect(ns_client, exchange_server4, exchange_client4);
	else if (!strcmp(role, "exchange6"))
		serve_and_connect(ns_server, exchange_server6, exchange_client6);
	else if (!strcmp(role, "nonblock"))
		serve_and_connect(ns_client, nonblock_server, nonblock_client);
	else if (!strcmp(role, "refused"))
		reap(spawn(ns_client, "tk_client", refused_client));
	else if (!strcmp(role, "refused_nonblock"))
		reap(spawn(ns_client, "tk_client", refused_nonblock_client));
	else if (!strcmp(role, "unreachable"))
		reap(spawn(ns_client, "tk_client", unreachable_client));
	else if (!strcmp(role, "addrinuse"))
		reap(spawn(ns_server, "tk_server", addrinuse_server));
	else if (!strcmp(role, "bindopts"))
		reap(spawn(ns_server, "tk_server", bindopts_server));
	else if (!strcmp(role, "listenfail"))
		reap(spawn(ns_server, "tk_server", listenfail_server));
	else if (!strcmp(role, "accept_empty"))
		reap(spawn(ns_server, "tk_server", accept_empty_server));
	else {
		fprintf(stderr, "tcp_known: unknown role %s\n", role);
		exit(2);
	}
}

int main(int argc, char **argv)
{
	if (argc < 8) {
		fprintf(stderr,
			"usage: %s OUT NS_SERVER ADDR_SERVER NS_CLIENT ADDR_CLIENT PORT ROLE...\n",
			argv[0]);
		return 2;
	}
	out_path = argv[1];
	ns_server = argv[2];
	addr_server = argv[3];
	ns_client = argv[4];
	addr_client = argv[5];
	base_port = atoi(argv[6]);
	int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || pipe(ready))
		die("tcp_known");
	close(fd);
	alarm(30); /* a server that never hears from its client must not hang the test */
	for (int i = 7; i < argc; i++)
		run_role(argv[i]);
	return failed;
}
