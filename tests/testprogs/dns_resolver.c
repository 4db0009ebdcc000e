/* dns_resolver READY [DELAY_MS]
 *
 * A tiny authoritative server on port 53, UDP and TCP, IPv4 and IPv6 (dual-stack sockets),
 * with fixed data (dns_known.h): A and AAAA records for KNOWN_NAME, NXDOMAIN for
 * MISSING_NAME, REFUSED for anything else. Answers point back at the question's name (a
 * compression pointer), as real servers do. Creates the file READY once it listens, and
 * serves until SIGTERM. DELAY_MS: each response waits this long first, a known latency for
 * a tracer to measure. */
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dns_known.h"

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

/* Appends one answer for the question's name (pointer to offset 12). */
static size_t answer(uint8_t *out, size_t at, uint16_t type, const void *rdata, uint16_t len)
{
	uint8_t rr[12] = {0xc0, 12, type >> 8, type & 0xff, 0, 1, 0, 0, 0x0e, 0x10, len >> 8,
			  len & 0xff}; /* class IN, ttl 3600 */

	memcpy(out + at, rr, sizeof(rr));
	memcpy(out + at + sizeof(rr), rdata, len);
	return at + sizeof(rr) + len;
}

/* Builds the response to the query q[0..n) in out (at most DNS_OUT_MAX bytes); 0 when the
 * query is too broken to answer. */
static size_t respond(const uint8_t *q, size_t n, uint8_t *out)
{
	char name[256];
	size_t pos = 12, len = 0, at;
	uint16_t qtype;
	int rcode;

	if (n < 12 || (q[2] & 0x80))
		return 0;
	while (pos < n && q[pos]) { /* the question's name, uncompressed as clients send it */
		uint8_t l = q[pos];

		if (l > 63 || pos + 1 + l >= n || len + l + 1 >= sizeof(name))
			return 0;
		if (len)
			name[len++] = '.';
		memcpy(name + len, q + pos + 1, l);
		len += l;
		pos += 1 + l;
	}
	name[len] = 0;
	if (pos + 5 > n)
		return 0;
	qtype = q[pos + 1] << 8 | q[pos + 2];
	at = pos + 5; /* the question is copied back as it came */
	memcpy(out, q, at);
	out[2] = 0x84 | (q[2] & 0x01); /* QR, AA, RD copied */
	out[3] = 0x80;		       /* RA */
	memset(out + 6, 0, 6);	       /* no answers yet, no authority, no additional */
	if (strcasecmp(name, KNOWN_NAME) == 0) {
		rcode = 0;
		if (qtype == 1) {
			static const uint8_t a1[] = KNOWN_A1, a2[] = KNOWN_A2;

			at = answer(out, at, 1, a1, 4);
			at = answer(out, at, 1, a2, 4);
			out[7] = 2;
		} else if (qtype == 28) {
			static const uint8_t aaaa[] = KNOWN_AAAA;

			at = answer(out, at, 28, aaaa, 16);
			out[7] = 1;
		}
	} else {
		rcode = strcasecmp(name, MISSING_NAME) == 0 ? 3 : 5; /* NXDOMAIN, REFUSED */
	}
	out[3] |= rcode;
	return at;
}

static int listener(int type)
{
	struct sockaddr_in6 sa = {.sin6_family = AF_INET6, .sin6_port = htons(53)};
	int fd = socket(AF_INET6, type, 0), off = 0, on = 1;

	if (fd < 0 || setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off)) ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || (type == SOCK_STREAM && listen(fd, 8))) {
		perror("dns_resolver: listen on port 53");
		return -1;
	}
	return fd;
}

static unsigned delay_ms;

static void delay(void)
{
	struct timespec ts = {.tv_sec = delay_ms / 1000, .tv_nsec = (long)(delay_ms % 1000) * 1000000};

	if (delay_ms)
		nanosleep(&ts, NULL);
}

/* One TCP connection: 2-byte length, message, and back the same way, until it closes. The
 * length and the response go out in one write, as resolvers do. */
static void serve_tcp(int c)
{
	uint8_t q[DNS_MAX], out[DNS_OUT_MAX + 2];
	uint8_t prefix[2];

	while (read_full(c, prefix, 2) == 0) {
		size_t n = prefix[0] << 8 | prefix[1], len;

		if (n > sizeof(q) || read_full(c, q, n))
			break;
		len = respond(q, n, out + 2);
		if (!len)
			break;
		delay();
		out[0] = len >> 8;
		out[1] = len & 0xff;
		if (write(c, out, len + 2) != (ssize_t)(len + 2))
			break;
	}
	close(c);
}

int main(int argc, char **argv)
{
	struct sigaction sa = {.sa_handler = on_term};
	int udp, tcp;
	FILE *ready;

	if (argc != 2 && argc != 3) {
		fprintf(stderr, "usage: %s READY [DELAY_MS]\n", argv[0]);
		return 2;
	}
	if (argc == 3)
		delay_ms = (unsigned)strtoul(argv[2], NULL, 10);
	sigaction(SIGTERM, &sa, NULL);
	udp = listener(SOCK_DGRAM);
	tcp = listener(SOCK_STREAM);
	if (udp < 0 || tcp < 0)
		return 1;
	ready = fopen(argv[1], "w");
	if (!ready)
		return 1;
	fclose(ready);
	alarm(60); /* never outlive a test that forgot it */

	while (!stop) {
		struct pollfd p[2] = {{.fd = udp, .events = POLLIN}, {.fd = tcp, .events = POLLIN}};

		if (poll(p, 2, -1) < 0)
			continue;
		if (p[0].revents & POLLIN) {
			uint8_t q[DNS_MAX], out[DNS_OUT_MAX];
			struct sockaddr_in6 from;
			socklen_t fl = sizeof(from);
			ssize_t n = recvfrom(udp, q, sizeof(q), 0, (struct sockaddr *)&from, &fl);
			size_t len = n > 0 ? respond(q, n, out) : 0;

			if (len) {
				delay();
				sendto(udp, out, len, 0, (struct sockaddr *)&from, fl);
			}
		}
		if (p[1].revents & POLLIN) {
			int c = accept(tcp, NULL, NULL);

			if (c >= 0)
				serve_tcp(c);
		}
	}
	return 0;
}
