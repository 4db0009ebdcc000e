/* flow_known OUT CASE NS_SERVER ADDR_SERVER NS_CLIENT ADDR_CLIENT PORT N SIZE [CGROUP]
 *
 * Traffic of known shape between two network namespaces (tests/privileged/netns.h makes
 * them), for `kscope flows`' privileged tests. A server process (comm fk_server) runs in
 * NS_SERVER on ADDR_SERVER (IPv4 or IPv6), a client (comm fk_client) in NS_CLIENT on
 * ADDR_CLIENT; with CGROUP (a cgroup2 directory) the client moves itself there before it
 * makes a socket. CASE:
 *   tcp       the client connects to PORT from PORT+1, sends N bytes, the server reads
 *             them and sends SIZE, the client reads them; both shut down (FIN) and close.
 *   tcp_rst   the client connects, sends N bytes, the server reads them, the client closes
 *             with SO_LINGER {1, 0}: a reset.
 *   udp       the client sends N datagrams of SIZE bytes from PORT+1 to PORT, the server
 *             receives them all.
 *   udp_many  the client opens N sockets on ports PORT+1..PORT+N at once, then sends one
 *             datagram of SIZE bytes from each to PORT; the server receives all N: N flows.
 *   udp_slow  as udp, one datagram every 10 ms.
 *   udp_opts  as udp over IPv6, each datagram behind an 8-byte destination options header
 *             (IPV6_DSTOPTS: one PadN option) between the IPv6 and UDP headers.
 *   icmp      the client sends N echo requests with SIZE bytes of data (id PORT, a raw
 *             socket) and waits for each reply, which the server's kernel sends.
 * Lines to OUT, tab-separated: role pid comm (client, then server). Exits 1 when a call does
 * not end as the case expects, 2 on a usage or setup error. */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/icmp6.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

#include "netns_socket.h"

#define RECV_TIMEOUT_MS 5000

static const char *which;
static int ready[2];

static void die(const char *what)
{
	fprintf(stderr, "flow_known %s: %s: %s\n", which, what, strerror(errno));
	exit(1);
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

static void recv_exactly(int fd, size_t n)
{
	char buf[65536];
	size_t got = 0;

	while (got < n) {
		ssize_t k = recv(fd, buf, sizeof(buf) < n - got ? sizeof(buf) : n - got, 0);

		if (k <= 0)
			die("recv");
		got += k;
	}
}

/* Waits for the peer's FIN: recv returns 0. */
static void recv_eof(int fd)
{
	char c;

	if (recv(fd, &c, 1, 0) != 0)
		die("recv (EOF)");
}

static int recv_datagrams(int fd, long n)
{
	char buf[65536];
	struct pollfd p = {.fd = fd, .events = POLLIN};

	for (long i = 0; i < n; ++i) {
		if (poll(&p, 1, RECV_TIMEOUT_MS) != 1) {
			fprintf(stderr, "flow_known server: %ld of %ld datagrams\n", i, n);
			return 1;
		}
		if (recv(fd, buf, sizeof(buf), 0) < 0)
			die("recv datagram");
	}
	return 0;
}

static int bound(int type, const char *addr, int port)
{
	struct sockaddr_storage a = ks_sockaddr_of(addr, port);
	int one = 1, fd = socket(a.ss_family, type | SOCK_CLOEXEC, 0);

	if (fd < 0)
		die("socket");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, ks_sockaddr_len(&a)))
		die("bind");
	return fd;
}

static void join_cgroup(const char *dir)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	f = fopen(path, "w");
	if (!f || fprintf(f, "0\n") < 0 || fclose(f) != 0) {
		perror(path);
		_exit(2);
	}
}

static uint16_t checksum(const void *data, size_t len)
{
	const uint16_t *p = data;
	uint32_t sum = 0;

	for (; len > 1; len -= 2)
		sum += *p++;
	if (len)
		sum += *(const uint8_t *)p;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return ~sum;
}

/* Echo requests over a raw socket: the kernel computes ICMPv6's checksum itself. */
static int pings(const char *server, int id, long n, long size)
{
	struct sockaddr_storage to = ks_sockaddr_of(server, 0);
	int v6 = to.ss_family == AF_INET6;
	int fd = socket(to.ss_family, SOCK_RAW | SOCK_CLOEXEC, v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP);
	char pkt[8 + 65536], buf[65536 + 128];
	struct pollfd p;

	if (fd < 0)
		die("raw socket");
	if (size > 65536)
		size = 65536;
	p.fd = fd;
	p.events = POLLIN;
	for (long seq = 0; seq < n; ++seq) {
		memset(pkt, 'p', sizeof(pkt));
		pkt[0] = v6 ? ICMP6_ECHO_REQUEST : ICMP_ECHO;
		pkt[1] = 0;
		pkt[2] = pkt[3] = 0;
		pkt[4] = id >> 8;
		pkt[5] = id & 0xff;
		pkt[6] = seq >> 8;
		pkt[7] = seq & 0xff;
		if (!v6) {
			uint16_t sum = checksum(pkt, 8 + size);

			memcpy(pkt + 2, &sum, 2);
		}
		if (sendto(fd, pkt, 8 + size, 0, (struct sockaddr *)&to, ks_sockaddr_len(&to)) < 0)
			die("sendto echo");
		for (;;) { /* the reply to this one: a raw socket sees other ICMP too */
			ssize_t k;
			size_t off;

			if (poll(&p, 1, RECV_TIMEOUT_MS) != 1) {
				fprintf(stderr, "flow_known client: no reply to echo %ld\n", seq);
				return 1;
			}
			k = recv(fd, buf, sizeof(buf), 0);
			if (k < 0)
				die("recv echo reply");
			off = v6 ? 0 : (buf[0] & 0xf) * 4; /* IPv4 raw sockets get the IP header */
			if ((size_t)k >= off + 8 &&
			    (uint8_t)buf[off] == (v6 ? ICMP6_ECHO_REPLY : ICMP_ECHOREPLY) &&
			    (uint8_t)buf[off + 4] == (id >> 8) && (uint8_t)buf[off + 5] == (id & 0xff) &&
			    (uint8_t)buf[off + 7] == (seq & 0xff))
				break;
		}
	}
	close(fd);
	return 0;
}

static int client(const char *c, const char *addr_server, const char *addr_client, int port,
		  long n, long size, const char *cgroup)
{
	struct sockaddr_storage to = ks_sockaddr_of(addr_server, port);
	int fd, rc = 0;

	which = "client";
	if (cgroup)
		join_cgroup(cgroup);
	if (!strcmp(c, "tcp") || !strcmp(c, "tcp_rst")) {
		fd = bound(SOCK_STREAM, addr_client, port + 1);
		if (connect(fd, (struct sockaddr *)&to, ks_sockaddr_len(&to)))
			die("connect");
		send_all(fd, n);
		if (!strcmp(c, "tcp_rst")) {
			struct linger l = {1, 0};
			char c1;

			/* The server's one byte says it read everything: the reset comes after. */
			if (recv(fd, &c1, 1, 0) != 1)
				die("recv the server's byte");
			setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
			close(fd);
			return 0;
		}
		recv_exactly(fd, size);
		shutdown(fd, SHUT_WR);
		recv_eof(fd);
		close(fd);
	} else if (!strcmp(c, "udp") || !strcmp(c, "udp_slow") || !strcmp(c, "udp_opts")) {
		char buf[65536];

		memset(buf, 'u', sizeof(buf));
		fd = bound(SOCK_DGRAM, addr_client, port + 1);
		if (!strcmp(c, "udp_opts")) {
			/* next header (the kernel's), length 0 (8 bytes), PadN of 4 zero bytes */
			static const uint8_t dstopts[8] = {0, 0, 1, 4, 0, 0, 0, 0};

			if (setsockopt(fd, IPPROTO_IPV6, IPV6_DSTOPTS, dstopts, sizeof(dstopts)))
				die("IPV6_DSTOPTS");
		}
		for (long i = 0; i < n; ++i) {
			if (sendto(fd, buf, size, 0, (struct sockaddr *)&to, ks_sockaddr_len(&to)) != size)
				die("sendto");
			if (!strcmp(c, "udp_slow"))
				usleep(10000);
		}
		close(fd);
	} else if (!strcmp(c, "udp_many")) {
		char buf[65536];
		int *fds = calloc(n, sizeof(int));

		memset(buf, 'm', sizeof(buf));
		for (long i = 0; i < n; ++i)
			fds[i] = bound(SOCK_DGRAM, addr_client, port + 1 + i);
		for (long i = 0; i < n; ++i)
			if (sendto(fds[i], buf, size, 0, (struct sockaddr *)&to, ks_sockaddr_len(&to)) != size)
				die("sendto");
		for (long i = 0; i < n; ++i)
			close(fds[i]);
		free(fds);
	} else if (!strcmp(c, "icmp")) {
		rc = pings(addr_server, port, n, size);
	}
	return rc;
}

static int server(const char *c, const char *addr_server, int port, long n, long size)
{
	int fd, conn;

	which = "server";
	if (!strcmp(c, "tcp") || !strcmp(c, "tcp_rst")) {
		fd = bound(SOCK_STREAM, addr_server, port);
		if (listen(fd, 1))
			die("listen");
		if (write(ready[1], "r", 1) != 1)
			die("write ready");
		conn = accept(fd, NULL, NULL);
		if (conn < 0)
			die("accept");
		recv_exactly(conn, n);
		if (!strcmp(c, "tcp_rst")) {
			char x = 'x';

			if (send(conn, &x, 1, 0) != 1)
				die("send the byte");
			if (recv(conn, &x, 1, 0) >= 0 || errno != ECONNRESET) {
				fprintf(stderr, "flow_known server: no reset\n");
				return 1;
			}
		} else {
			send_all(conn, size);
			recv_eof(conn);
			shutdown(conn, SHUT_WR);
		}
		close(conn);
		close(fd);
		return 0;
	}
	if (!strcmp(c, "icmp")) { /* the kernel answers */
		if (write(ready[1], "r", 1) != 1)
			die("write ready");
		return 0;
	}
	fd = bound(SOCK_DGRAM, addr_server, port);
	/* Room for udp_many's N datagrams at once (SO_RCVBUFFORCE: root passes rmem_max). */
	int rcvbuf = 64 << 20;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf));
	if (write(ready[1], "r", 1) != 1)
		die("write ready");
	return recv_datagrams(fd, n);
}

int main(int argc, char **argv)
{
	pid_t s, c;
	int st, rc = 0;
	char r;
	FILE *out;

	if (argc != 10 && argc != 11) {
		fprintf(stderr, "usage: %s OUT CASE NS_SERVER ADDR_SERVER NS_CLIENT ADDR_CLIENT PORT "
				"N SIZE [CGROUP]\n",
			argv[0]);
		return 2;
	}
	const char *kase = argv[2];
	int port = atoi(argv[7]);
	long n = atol(argv[8]), size = atol(argv[9]);

	if (strcmp(kase, "tcp") && strcmp(kase, "tcp_rst") && strcmp(kase, "udp") &&
	    strcmp(kase, "udp_many") && strcmp(kase, "udp_slow") && strcmp(kase, "udp_opts") &&
	    strcmp(kase, "icmp")) {
		fprintf(stderr, "flow_known: unknown case %s\n", kase);
		return 2;
	}
	if (pipe(ready))
		return 2;
	/* udp_many's N sockets at once: root may raise the hard limit too. */
	struct rlimit files;

	if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < (rlim_t)n + 64) {
		struct rlimit want = {(rlim_t)n + 64, (rlim_t)n + 64};

		if (want.rlim_max < files.rlim_max)
			want.rlim_max = files.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &want) != 0) { /* no CAP_SYS_RESOURCE: up to the hard limit */
			files.rlim_cur = files.rlim_max;
			setrlimit(RLIMIT_NOFILE, &files);
		}
	}
	s = fork();
	if (s == 0) {
		prctl(PR_SET_NAME, "fk_server");
		ks_enter_netns(argv[3]);
		_exit(server(kase, argv[4], port, n, size));
	}
	if (read(ready[0], &r, 1) != 1)
		return 2;
	c = fork();
	if (c == 0) {
		prctl(PR_SET_NAME, "fk_client");
		ks_enter_netns(argv[5]);
		_exit(client(kase, argv[4], argv[6], port, n, size, argc == 11 ? argv[10] : NULL));
	}
	out = fopen(argv[1], "w");
	if (!out)
		return 2;
	fprintf(out, "client\t%d\tfk_client\nserver\t%d\tfk_server\n", c, s);
	fclose(out);
	if (waitpid(c, &st, 0) != c || !WIFEXITED(st) || WEXITSTATUS(st))
		rc = 1;
	if (waitpid(s, &st, 0) != s || !WIFEXITED(st) || WEXITSTATUS(st))
		rc = 1;
	return rc;
}
