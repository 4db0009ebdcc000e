/* dns_client SERVER4 SERVER6 EXPECTED
 *
 * Asks dns_resolver (at SERVER4 and SERVER6 port 53; SERVER6 "-" skips IPv6) a fixed list of
 * queries, over connected UDP, unconnected UDP (sendto) and TCP, one at a time, and writes
 * one line per query to EXPECTED, tab-separated:
 *   pid proto client client_port server id qname qtype rcode answers wall_ns
 * answers are the addresses the response carries (dns_known.h), comma-separated, "-" for
 * none; wall_ns runs from before the query was sent to after the response was read, so a
 * tracer's latency must be below it. Exits 1 when a response is not the one expected. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "dns_known.h"

enum mode { UDP_CONNECTED, UDP_SENDTO, TCP };

struct query {
	enum mode mode;
	int family;
	const char *name;
	uint16_t qtype;
	int rcode;
	const char *answers;
};

static const struct query queries[] = {
	{UDP_CONNECTED, 4, KNOWN_NAME, 1, 0, KNOWN_A_TEXT},
	{UDP_CONNECTED, 4, KNOWN_NAME, 28, 0, KNOWN_AAAA_TEXT},
	{UDP_CONNECTED, 4, MISSING_NAME, 1, 3, "-"},
	{UDP_SENDTO, 4, KNOWN_NAME, 28, 0, KNOWN_AAAA_TEXT},
	{TCP, 4, KNOWN_NAME, 1, 0, KNOWN_A_TEXT},
	{TCP, 4, MISSING_NAME, 28, 3, "-"},
	{UDP_CONNECTED, 6, KNOWN_NAME, 1, 0, KNOWN_A_TEXT},
	{TCP, 6, KNOWN_NAME, 28, 0, KNOWN_AAAA_TEXT},
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* The query message: header (RD set), one question of class IN. */
static size_t build(uint8_t *m, uint16_t id, const char *name, uint16_t qtype)
{
	size_t at = 12;

	memset(m, 0, 12);
	m[0] = id >> 8;
	m[1] = id & 0xff;
	m[2] = 0x01;
	m[5] = 1;
	for (const char *label = name; *label;) {
		const char *dot = strchr(label, '.');
		size_t len = dot ? (size_t)(dot - label) : strlen(label);

		m[at++] = len;
		memcpy(m + at, label, len);
		at += len;
		label += len + (dot != NULL);
	}
	m[at++] = 0;
	m[at++] = qtype >> 8;
	m[at++] = qtype & 0xff;
	m[at++] = 0;
	m[at++] = 1;
	return at;
}

/* Sends the query and reads its response into r; the response's length, or -1. */
static ssize_t ask(int fd, const struct query *q, const struct sockaddr *server, socklen_t sl,
		   const uint8_t *m, size_t n, uint8_t *r)
{
	if (q->mode == TCP) {
		uint8_t out[DNS_MAX + 2], prefix[2];
		size_t len;

		out[0] = n >> 8;
		out[1] = n & 0xff;
		memcpy(out + 2, m, n);
		if (write(fd, out, n + 2) != (ssize_t)(n + 2) || read_full(fd, prefix, 2))
			return -1;
		len = prefix[0] << 8 | prefix[1];
		if (len > DNS_OUT_MAX || read_full(fd, r, len))
			return -1;
		return len;
	}
	if (q->mode == UDP_SENDTO ? sendto(fd, m, n, 0, server, sl) != (ssize_t)n
				  : send(fd, m, n, 0) != (ssize_t)n)
		return -1;
	return recv(fd, r, DNS_OUT_MAX, 0);
}

/* Binds an unconnected socket to the address the route to `server` leaves from, so that
 * getsockname() names it as the packets will: a UDP connect() picks it and sends nothing. */
static int bind_local(int fd, const struct sockaddr_storage *server, socklen_t sl)
{
	struct sockaddr_storage local;
	socklen_t ll = sizeof(local);
	int probe = socket(server->ss_family, SOCK_DGRAM, 0), err;

	err = probe < 0 || connect(probe, (const struct sockaddr *)server, sl) ||
	      getsockname(probe, (struct sockaddr *)&local, &ll);
	if (probe >= 0)
		close(probe);
	((struct sockaddr_in *)&local)->sin_port = 0; /* sin6_port is at the same offset */
	return err || bind(fd, (struct sockaddr *)&local, ll);
}

int main(int argc, char **argv)
{
	FILE *out;
	int failed = 0;

	if (argc != 4) {
		fprintf(stderr, "usage: %s SERVER4 SERVER6 EXPECTED\n", argv[0]);
		return 2;
	}
	out = fopen(argv[3], "w");
	if (!out) {
		perror("dns_client");
		return 2;
	}
	for (size_t i = 0; i < sizeof(queries) / sizeof(queries[0]); i++) {
		const struct query *q = &queries[i];
		const char *server = q->family == 4 ? argv[1] : argv[2];
		struct sockaddr_storage ss = {0}, local = {0};
		socklen_t sl, ll = sizeof(local);
		struct timeval timeout = {.tv_sec = 5};
		uint8_t m[DNS_MAX], r[DNS_OUT_MAX];
		uint16_t id = 0x4b00 + i;
		char client[INET6_ADDRSTRLEN];
		uint64_t t0, t1;
		ssize_t len;
		size_t n;
		int fd;

		if (strcmp(server, "-") == 0)
			continue;
		if (q->family == 4) {
			struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

			sin->sin_family = AF_INET;
			sin->sin_port = htons(53);
			inet_pton(AF_INET, server, &sin->sin_addr);
			sl = sizeof(*sin);
		} else {
			struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

			sin6->sin6_family = AF_INET6;
			sin6->sin6_port = htons(53);
			inet_pton(AF_INET6, server, &sin6->sin6_addr);
			sl = sizeof(*sin6);
		}
		fd = socket(ss.ss_family, q->mode == TCP ? SOCK_STREAM : SOCK_DGRAM, 0);
		if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout)) ||
		    (q->mode == UDP_SENDTO ? bind_local(fd, &ss, sl)
					   : connect(fd, (struct sockaddr *)&ss, sl))) {
			perror("dns_client: socket");
			return 2;
		}
		n = build(m, id, q->name, q->qtype);
		t0 = now_ns();
		len = ask(fd, q, (struct sockaddr *)&ss, sl, m, n, r);
		t1 = now_ns();
		getsockname(fd, (struct sockaddr *)&local, &ll);
		close(fd);
		if (len < 12 || r[0] != m[0] || r[1] != m[1] || !(r[2] & 0x80) ||
		    (r[3] & 0xf) != q->rcode) {
			fprintf(stderr, "dns_client: query %zu: no or the wrong response (%zd bytes)\n",
				i, len);
			failed = 1;
			continue;
		}
		if (local.ss_family == AF_INET)
			inet_ntop(AF_INET, &((struct sockaddr_in *)&local)->sin_addr, client,
				  sizeof(client));
		else
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&local)->sin6_addr, client,
				  sizeof(client));
		fprintf(out, "%d\t%s\t%s\t%u\t%s\t%u\t%s\t%s\t%s\t%s\t%llu\n", getpid(),
			q->mode == TCP ? "tcp" : "udp", client,
			ntohs(((struct sockaddr_in *)&local)->sin_port), server, id, q->name,
			q->qtype == 1 ? "A" : "AAAA", q->rcode ? "NXDOMAIN" : "NOERROR", q->answers,
			(unsigned long long)(t1 - t0));
	}
	fclose(out);
	return failed;
}
