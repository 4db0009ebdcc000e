/* tcp_pingpong OUT NS_SERVER ADDR_SERVER NS_CLIENT PORT REQ_BYTES RESP_BYTES ROUNDS...
 *
 * TCP request/response traffic of exactly known size between two network namespaces, for
 * the aggregating TCP tools' privileged tests (tcptop's bytes, tcprtt's round trips).
 * NS_SERVER and NS_CLIENT name namespaces under /run/netns (tests/privileged/netns.h makes
 * such a pair; the same name twice puts both ends in one namespace, e.g. over ::1).
 *
 * A server (comm tp_server) in NS_SERVER listens on ADDR_SERVER:PORT (IPv4 or IPv6) and a
 * client (comm tp_client) in NS_CLIENT makes one connection per ROUNDS argument, one after
 * the other. On each connection, ROUNDS times: the client sends REQ_BYTES with send(), the
 * server reads them with read() and answers RESP_BYTES with write(), the client reads those
 * with recv(). The server first peeks at the first request (recv with MSG_PEEK, which moves
 * no data); then the client reads its socket's TCP_INFO and closes, and the server reads to
 * EOF and closes. No call moves a byte more or less than this.
 *
 * One line per end of each connection to OUT, tab-separated:
 *   role pid comm laddr lport raddr rport sent received segs_in
 * role client or server; sent and received are the bytes the process's calls moved on that
 * connection; segs_in is TCP_INFO's tcpi_segs_in as the line is written (the client's just
 * before its close, the server's after it read EOF).
 * Exits 1 when a call did not move what it should, 2 on a usage or setup error. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/tcp.h> /* struct tcp_info with tcpi_segs_in, which glibc's lacks */
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "netns_socket.h"

static const char *out_path, *ns_server, *addr_server, *ns_client;
static int port, req_bytes, resp_bytes, conns;
static int *rounds;
static int ready[2]; /* the server tells the client it listens */

static void die(const char *what)
{
	perror(what);
	_exit(2);
}

/* "addr\tport" of a socket address. */
static void format_end(const struct sockaddr_storage *ss, char *buf, size_t size)
{
	char addr[INET6_ADDRSTRLEN] = "-";
	int p = 0;

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)ss;
		inet_ntop(AF_INET, &in->sin_addr, addr, sizeof(addr));
		p = ntohs(in->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)ss;
		inet_ntop(AF_INET6, &in6->sin6_addr, addr, sizeof(addr));
		p = ntohs(in6->sin6_port);
	}
	snprintf(buf, size, "%s\t%d", addr, p);
}

/* One line, written whole with one write so that the two processes' lines never mix. */
static void note(const char *role, int fd, long sent, long received)
{
	struct sockaddr_storage l = {0}, r = {0};
	socklen_t llen = sizeof(l), rlen = sizeof(r);
	struct tcp_info info = {0};
	socklen_t ilen = sizeof(info);
	char comm[16] = "", lend[64], rend[64], line[512];

	if (getsockname(fd, (struct sockaddr *)&l, &llen) || getpeername(fd, (struct sockaddr *)&r, &rlen) ||
	    getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &ilen))
		die("tcp_pingpong: socket ends");
	prctl(PR_GET_NAME, comm);
	format_end(&l, lend, sizeof(lend));
	format_end(&r, rend, sizeof(rend));
	int n = snprintf(line, sizeof(line), "%s\t%d\t%s\t%s\t%s\t%ld\t%ld\t%u\n", role, getpid(), comm,
			 lend, rend, sent, received, info.tcpi_segs_in);
	int out = open(out_path, O_WRONLY | O_APPEND);
	if (out < 0 || write(out, line, n) != n)
		die("tcp_pingpong: write OUT");
	close(out);
}

/* Moves exactly `count` bytes through `fd`; how depends on `how`. */
enum how { SEND, RECV, WRITE, READ };

static void move_exactly(int fd, enum how how, long count)
{
	static char buf[65536];
	long done = 0;

	memset(buf, 'p', sizeof(buf));
	while (done < count) {
		size_t want = count - done < (long)sizeof(buf) ? (size_t)(count - done) : sizeof(buf);
		ssize_t n = how == SEND	 ? send(fd, buf, want, MSG_NOSIGNAL)
			    : how == RECV ? recv(fd, buf, want, 0)
			    : how == WRITE ? write(fd, buf, want)
					   : read(fd, buf, want);
		if (n <= 0) {
			fprintf(stderr, "tcp_pingpong: moved %ld of %ld bytes: %s\n", done, count,
				n ? strerror(errno) : "EOF");
			_exit(1);
		}
		done += n;
	}
}

static void serve(void)
{
	struct sockaddr_storage ss = ks_sockaddr_of(addr_server, port);
	int one = 1, lfd = socket(ss.ss_family, SOCK_STREAM, 0);
	char peeked;

	if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(lfd, (struct sockaddr *)&ss, ks_sockaddr_len(&ss)) || listen(lfd, 8))
		die("tcp_pingpong: listen");
	if (write(ready[1], "r", 1) != 1)
		die("tcp_pingpong: ready");
	for (int c = 0; c < conns; c++) {
		int fd = accept(lfd, NULL, NULL);
		if (fd < 0)
			die("tcp_pingpong: accept");
		if (rounds[c] > 0 && recv(fd, &peeked, 1, MSG_PEEK) != 1)
			die("tcp_pingpong: peek");
		for (int i = 0; i < rounds[c]; i++) {
			move_exactly(fd, READ, req_bytes);
			move_exactly(fd, WRITE, resp_bytes);
		}
		if (read(fd, &peeked, 1) != 0) {
			fprintf(stderr, "tcp_pingpong: the client sent more than asked\n");
			_exit(1);
		}
		note("server", fd, (long)rounds[c] * resp_bytes, (long)rounds[c] * req_bytes);
		close(fd);
	}
	close(lfd);
}

static void client(void)
{
	struct sockaddr_storage ss = ks_sockaddr_of(addr_server, port);
	char c;

	if (read(ready[0], &c, 1) != 1)
		die("tcp_pingpong: server not ready");
	for (int k = 0; k < conns; k++) {
		int fd = socket(ss.ss_family, SOCK_STREAM, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)&ss, ks_sockaddr_len(&ss)))
			die("tcp_pingpong: connect");
		for (int i = 0; i < rounds[k]; i++) {
			move_exactly(fd, SEND, req_bytes);
			move_exactly(fd, RECV, resp_bytes);
		}
		note("client", fd, (long)rounds[k] * req_bytes, (long)rounds[k] * resp_bytes);
		close(fd);
	}
}

/* Runs body in a child in namespace ns, under the name comm; returns its pid. */
static pid_t spawn(const char *ns, const char *comm, void (*body)(void))
{
	pid_t pid = fork();

	if (pid < 0)
		die("tcp_pingpong: fork");
	if (pid == 0) {
		alarm(60); /* fork() does not pass the parent's alarm on */
		ks_enter_netns(ns);
		prctl(PR_SET_NAME, comm);
		body();
		_exit(0);
	}
	return pid;
}

static int reap(pid_t pid)
{
	int st;

	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st)) {
		fprintf(stderr, "tcp_pingpong: child %d ended with status %#x\n", pid, st);
		return 2;
	}
	return WEXITSTATUS(st);
}

int main(int argc, char **argv)
{
	if (argc < 9) {
		fprintf(stderr,
			"usage: %s OUT NS_SERVER ADDR_SERVER NS_CLIENT PORT REQ_BYTES RESP_BYTES ROUNDS...\n",
			argv[0]);
		return 2;
	}
	out_path = argv[1];
	ns_server = argv[2];
	addr_server = argv[3];
	ns_client = argv[4];
	port = atoi(argv[5]);
	req_bytes = atoi(argv[6]);
	resp_bytes = atoi(argv[7]);
	conns = argc - 8;
	rounds = calloc(conns, sizeof(*rounds));
	if (!rounds || req_bytes <= 0 || resp_bytes <= 0)
		die("tcp_pingpong: arguments");
	for (int c = 0; c < conns; c++)
		rounds[c] = atoi(argv[8 + c]);
	int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || pipe(ready))
		die("tcp_pingpong");
	close(fd);
	pid_t s = spawn(ns_server, "tp_server", serve);
	pid_t c = spawn(ns_client, "tp_client", client);
	int rc = reap(c);
	int rs = reap(s);
	return rc > rs ? rc : rs;
}
