/* tcpflow_known OUT CASE NS_SERVER ADDR_SERVER NS_CLIENT ADDR_CLIENT PORT
 *
 * One TCP connection between two network namespaces, used in a known way for the TCP
 * state tools' privileged tests (tcplife, tcpstates, tcpreset, tcpretrans). NS_SERVER and
 * NS_CLIENT name namespaces under /run/netns, joined by a link named veth0 in each
 * (tests/privileged/netns.h makes such a pair); ADDR_* are their IPv4 addresses. A server
 * process (comm tf_server) runs in NS_SERVER, a client (comm tf_client) in NS_CLIENT; the
 * server listens on ADDR_SERVER:PORT, the client binds ADDR_CLIENT:PORT+1 before it
 * connects. CASE:
 *   exchange   the client sends REQUEST_BYTES, the server reads them and sends REPLY_BYTES,
 *              the client reads them and shuts its side down (FIN_WAIT1, FIN_WAIT2), the
 *              server reads EOF and shuts its side down (CLOSE_WAIT, LAST_ACK); each waits
 *              until its socket is CLOSE before it closes it. The server closes the
 *              listener last.
 *   refused    the client connects to ADDR_SERVER:PORT, where nothing listens: the server's
 *              kernel answers the SYN with a reset, connect() fails with ECONNREFUSED.
 *   linger0    the client sends REQUEST_BYTES, the server reads them, the client closes
 *              with SO_LINGER {1, 0}: it sends a reset, the server's read fails with
 *              ECONNRESET.
 *   retrans    after a first exchange of REQUEST_BYTES each way, the server drops every
 *              packet it sends (a pfifo qdisc of limit 0 as the root of its veth0),
 *              the client sends REQUEST_BYTES more, which go unacknowledged, and after
 *              BLACKOUT_MS the server removes the qdisc; the client's retransmits then get
 *              through, the server reads them and sends 1 byte, and both shut down as in
 *              exchange.
 *
 * One line per socket to OUT, tab-separated:
 *   role pid comm laddr lport raddr rport start_ns end_ns tx rx retrans
 * role: client, server (the accepted socket) or listener. start_ns: CLOCK_BOOTTIME before
 * the socket was made (for the server's accepted socket, before listen()); end_ns: after its
 * last state change (it was CLOSE) or, after a reset, after the call that failed. tx and rx:
 * payload bytes it sent and received. retrans: the kernel's count of segments it
 * retransmitted (TCP_INFO tcpi_total_retrans). Exits 1 when a call did not end as the case
 * expects, 2 on a usage or setup error. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "netns_socket.h"

#define REQUEST_BYTES 1000
#define REPLY_BYTES 3000
#define BLACKOUT_MS 700
#define CLOSE_WAIT_MS 5000 /* a socket that does not reach CLOSE by then fails the run */

static const char *out_path, *which, *ns_server, *addr_server, *ns_client, *addr_client;
static int port;
static int to_server[2], to_client[2]; /* a byte says "go on" */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void die(const char *what)
{
	fprintf(stderr, "tcpflow_known %s: %s: %s\n", which, what, strerror(errno));
	exit(1);
}

static void tell(int fd)
{
	char c = 0;

	if (write(fd, &c, 1) != 1)
		die("write pipe");
}

static void hear(int fd)
{
	char c;

	if (read(fd, &c, 1) != 1)
		die("read pipe");
}

static struct sockaddr_in addr_of(const char *ip, int p)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(p)};

	if (inet_pton(AF_INET, ip, &a.sin_addr) != 1) {
		fprintf(stderr, "tcpflow_known: bad address %s\n", ip);
		exit(2);
	}
	return a;
}

static void send_all(int fd, size_t n)
{
	char buf[4096];

	memset(buf, 'k', sizeof(buf));
	while (n) {
		ssize_t k = send(fd, buf, n < sizeof(buf) ? n : sizeof(buf), 0);

		if (k <= 0)
			die("send");
		n -= k;
	}
}

/* Reads exactly n bytes, or to EOF when n is 0 (then any byte is an error). */
static void recv_exactly(int fd, size_t n)
{
	char buf[4096];
	size_t got = 0;

	for (;;) {
		ssize_t k = recv(fd, buf, sizeof(buf), 0);

		if (k < 0)
			die("recv");
		if (k == 0)
			break;
		got += k;
		if (n && got == n)
			return;
	}
	if (got != n) {
		fprintf(stderr, "tcpflow_known %s: got %zu bytes, not %zu\n", which, got, n);
		exit(1);
	}
}

static struct tcp_info info_of(int fd)
{
	struct tcp_info ti = {};
	socklen_t len = sizeof(ti);

	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0)
		die("TCP_INFO");
	return ti;
}

/* Waits until the kernel moved the socket to CLOSE: its last state change. */
static void wait_closed(int fd)
{
	for (int ms = 0; info_of(fd).tcpi_state != TCP_CLOSE; ms++) {
		if (ms == CLOSE_WAIT_MS) {
			fprintf(stderr, "tcpflow_known %s: socket not CLOSE after %d ms\n", which, ms);
			exit(1);
		}
		usleep(1000);
	}
}

/* A socket's ends, named while it is connected: after a reset or CLOSE it has no peer. */
struct ends {
	char laddr[INET_ADDRSTRLEN], raddr[INET_ADDRSTRLEN];
	int lport, rport;
};

static struct ends ends_of(int fd)
{
	struct sockaddr_in l = {}, r = {};
	socklen_t ll = sizeof(l), rl = sizeof(r);
	struct ends e = {"-", "-", 0, 0};

	if (getsockname(fd, (struct sockaddr *)&l, &ll) == 0) {
		inet_ntop(AF_INET, &l.sin_addr, e.laddr, sizeof(e.laddr));
		e.lport = ntohs(l.sin_port);
	}
	if (getpeername(fd, (struct sockaddr *)&r, &rl) == 0) {
		inet_ntop(AF_INET, &r.sin_addr, e.raddr, sizeof(e.raddr));
		e.rport = ntohs(r.sin_port);
	}
	return e;
}

/* fd: the socket, for its retransmit count; -1 for one closed already (none). */
static void row(const char *role, int fd, const struct ends *e, uint64_t start, size_t tx,
		size_t rx)
{
	char comm[16] = "";
	uint64_t end = now_ns();
	unsigned retrans = fd >= 0 ? info_of(fd).tcpi_total_retrans : 0;
	FILE *out = fopen(out_path, "a");

	if (!out)
		die(out_path);
	prctl(PR_GET_NAME, comm);
	fprintf(out, "%s\t%d\t%s\t%s\t%d\t%s\t%d\t%llu\t%llu\t%zu\t%zu\t%u\n", role, getpid(),
		comm, e->laddr, e->lport, e->raddr, e->rport, (unsigned long long)start,
		(unsigned long long)end, tx, rx, retrans);
	fclose(out);
}

/* A listener's last change, LISTEN to CLOSE, happens in close(): its row comes after. */
static void close_listener(int lfd, const struct ends *e, uint64_t start)
{
	close(lfd);
	row("listener", -1, e, start, 0, 0);
}

/* Makes a pfifo qdisc of limit 0 the root of this namespace's veth0 (add), which drops
 * every packet the namespace sends, or removes it: what `tc qdisc add dev veth0 root pfifo
 * limit 0` does, through rtnetlink, so no tc binary is needed (busybox's cannot). */
static void blackhole(int add)
{
	struct {
		struct nlmsghdr nh;
		struct tcmsg tc;
		char attrs[64];
	} req = {};
	struct {
		struct nlmsghdr nh;
		struct nlmsgerr err;
	} ack;
	struct tc_fifo_qopt limit0 = {.limit = 0};
	struct rtattr *rta;
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);

	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(req.tc));
	req.nh.nlmsg_type = add ? RTM_NEWQDISC : RTM_DELQDISC;
	req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | (add ? NLM_F_CREATE | NLM_F_EXCL : 0);
	req.tc.tcm_family = AF_UNSPEC;
	req.tc.tcm_ifindex = if_nametoindex("veth0");
	req.tc.tcm_parent = TC_H_ROOT;
	rta = (struct rtattr *)((char *)&req + NLMSG_ALIGN(req.nh.nlmsg_len));
	rta->rta_type = TCA_KIND;
	rta->rta_len = RTA_LENGTH(sizeof("pfifo"));
	memcpy(RTA_DATA(rta), "pfifo", sizeof("pfifo"));
	req.nh.nlmsg_len = NLMSG_ALIGN(req.nh.nlmsg_len) + RTA_ALIGN(rta->rta_len);
	rta = (struct rtattr *)((char *)&req + req.nh.nlmsg_len);
	rta->rta_type = TCA_OPTIONS;
	rta->rta_len = RTA_LENGTH(sizeof(limit0));
	memcpy(RTA_DATA(rta), &limit0, sizeof(limit0));
	req.nh.nlmsg_len += RTA_ALIGN(rta->rta_len);
	if (fd < 0 || !req.tc.tcm_ifindex || send(fd, &req, req.nh.nlmsg_len, 0) < 0 ||
	    recv(fd, &ack, sizeof(ack), 0) < (ssize_t)sizeof(ack))
		die("rtnetlink qdisc");
	if (ack.nh.nlmsg_type != NLMSG_ERROR || ack.err.error != 0) {
		errno = -ack.err.error;
		die(add ? "add the pfifo qdisc" : "delete the pfifo qdisc");
	}
	close(fd);
}

static void server(void)
{
	uint64_t start = now_ns();
	struct sockaddr_in a = addr_of(addr_server, port);
	int one = 1, lfd, fd;
	size_t tx = 0, rx = 0;
	struct ends conn, listener;

	lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(lfd, (struct sockaddr *)&a, sizeof(a)) || listen(lfd, 4))
		die("listen");
	listener = ends_of(lfd);
	tell(to_client[1]);
	fd = accept(lfd, NULL, NULL);
	if (fd < 0)
		die("accept");
	conn = ends_of(fd);
	recv_exactly(fd, REQUEST_BYTES);
	rx += REQUEST_BYTES;
	if (strcmp(which, "linger0") == 0) {
		char c;

		tell(to_client[1]);
		if (recv(fd, &c, 1, 0) != -1 || errno != ECONNRESET) {
			fprintf(stderr, "tcpflow_known linger0: no ECONNRESET\n");
			exit(1);
		}
		row("server", fd, &conn, start, tx, rx);
		close(fd);
		close_listener(lfd, &listener, start);
		return;
	}
	if (strcmp(which, "retrans") == 0) {
		send_all(fd, REQUEST_BYTES);
		tx += REQUEST_BYTES;
		hear(to_server[0]); /* the client read it */
		blackhole(1);
		tell(to_client[1]);
		usleep(BLACKOUT_MS * 1000);
		blackhole(0);
		recv_exactly(fd, REQUEST_BYTES);
		rx += REQUEST_BYTES;
		send_all(fd, 1);
		tx += 1;
	} else {
		send_all(fd, REPLY_BYTES);
		tx += REPLY_BYTES;
	}
	recv_exactly(fd, 0);
	if (shutdown(fd, SHUT_WR))
		die("shutdown");
	wait_closed(fd);
	row("server", fd, &conn, start, tx, rx);
	close(fd);
	close_listener(lfd, &listener, start);
}

static void client(void)
{
	uint64_t start;
	struct sockaddr_in self = addr_of(addr_client, port + 1), peer = addr_of(addr_server, port);
	int one = 1, fd;
	size_t tx = 0, rx = 0;
	struct ends conn;

	if (strcmp(which, "refused") != 0)
		hear(to_client[0]); /* the server listens */
	start = now_ns();
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&self, sizeof(self)))
		die("bind");
	if (connect(fd, (struct sockaddr *)&peer, sizeof(peer)) != 0) {
		if (strcmp(which, "refused") != 0 || errno != ECONNREFUSED)
			die("connect");
		conn = ends_of(fd);
		strcpy(conn.raddr, addr_server); /* never connected: no peer to ask */
		conn.rport = port;
		row("client", fd, &conn, start, tx, rx);
		close(fd);
		return;
	}
	conn = ends_of(fd);
	if (strcmp(which, "refused") == 0) {
		fprintf(stderr, "tcpflow_known refused: connect succeeded\n");
		exit(1);
	}
	send_all(fd, REQUEST_BYTES);
	tx += REQUEST_BYTES;
	if (strcmp(which, "linger0") == 0) {
		struct linger abort_now = {.l_onoff = 1, .l_linger = 0};

		hear(to_client[0]); /* the server read it */
		row("client", fd, &conn, start, tx, rx);
		if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &abort_now, sizeof(abort_now)))
			die("SO_LINGER");
		close(fd);
		return;
	}
	if (strcmp(which, "retrans") == 0) {
		recv_exactly(fd, REQUEST_BYTES);
		rx += REQUEST_BYTES;
		tell(to_server[1]);
		hear(to_client[0]); /* the server's packets are dropped from now */
		send_all(fd, REQUEST_BYTES);
		tx += REQUEST_BYTES;
		recv_exactly(fd, 1);
		rx += 1;
	} else {
		recv_exactly(fd, REPLY_BYTES);
		rx += REPLY_BYTES;
	}
	if (shutdown(fd, SHUT_WR))
		die("shutdown");
	recv_exactly(fd, 0);
	wait_closed(fd);
	row("client", fd, &conn, start, tx, rx);
	close(fd);
}

static pid_t spawn(void (*body)(void), const char *ns, const char *comm)
{
	pid_t pid = fork();

	if (pid < 0) {
		perror("tcpflow_known: fork");
		exit(2);
	}
	if (pid == 0) {
		alarm(30); /* not inherited across fork */
		prctl(PR_SET_NAME, comm);
		ks_enter_netns(ns);
		body();
		_exit(0);
	}
	return pid;
}

static int reap(pid_t pid)
{
	int st;

	if (waitpid(pid, &st, 0) != pid)
		return 1;
	return !WIFEXITED(st) || WEXITSTATUS(st) != 0;
}

int main(int argc, char **argv)
{
	pid_t s = 0, c;
	int failed;

	if (argc != 8) {
		fprintf(stderr, "usage: %s OUT exchange|refused|linger0|retrans NS_SERVER ADDR_SERVER "
				"NS_CLIENT ADDR_CLIENT PORT\n", argv[0]);
		return 2;
	}
	out_path = argv[1];
	which = argv[2];
	ns_server = argv[3];
	addr_server = argv[4];
	ns_client = argv[5];
	addr_client = argv[6];
	port = atoi(argv[7]);
	if (strcmp(which, "exchange") && strcmp(which, "refused") && strcmp(which, "linger0") &&
	    strcmp(which, "retrans")) {
		fprintf(stderr, "tcpflow_known: unknown case %s\n", which);
		return 2;
	}
	if (pipe(to_server) || pipe(to_client)) {
		perror("tcpflow_known: pipe");
		return 2;
	}
	alarm(30); /* a peer that never answers must not hang the test */
	if (strcmp(which, "refused") != 0)
		s = spawn(server, ns_server, "tf_server");
	c = spawn(client, ns_client, "tf_client");
	failed = reap(c);
	if (s)
		failed |= reap(s);
	return failed;
}
