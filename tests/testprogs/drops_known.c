/* drops_known SADDR DADDR UDP_PORT TCP_PORT EXPECTED
 *
 * Sends packets that DADDR must drop for want of a socket: UDP_DATAGRAMS datagrams of
 * UDP_PAYLOAD bytes from one socket to UDP_PORT, and TCP_SYNS connects (one SYN each, which
 * DADDR answers with a reset) to TCP_PORT, each from its own port, all from SADDR. Nothing
 * may listen on either port. Writes one line per flow to EXPECTED, tab-separated:
 *   proto saddr sport daddr dport packets payload_bytes
 * Exits 1 when a connect does not fail with ECONNREFUSED. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define UDP_DATAGRAMS 5
#define UDP_PAYLOAD 37
#define TCP_SYNS 3

/* A socket bound to SADDR and a port the kernel picks, and that port. */
static int bound(int type, const char *saddr, unsigned *port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, type, 0);

	if (fd < 0 || inet_pton(AF_INET, saddr, &sa.sin_addr) != 1 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    getsockname(fd, (struct sockaddr *)&sa, &len)) {
		perror("drops_known: socket");
		exit(2);
	}
	*port = ntohs(sa.sin_port);
	return fd;
}

int main(int argc, char **argv)
{
	struct sockaddr_in to = {.sin_family = AF_INET};
	char payload[UDP_PAYLOAD];
	unsigned sport;
	int failed = 0, fd;
	FILE *out;

	if (argc != 6) {
		fprintf(stderr, "usage: %s SADDR DADDR UDP_PORT TCP_PORT EXPECTED\n", argv[0]);
		return 2;
	}
	out = fopen(argv[5], "w");
	if (!out || inet_pton(AF_INET, argv[2], &to.sin_addr) != 1) {
		fprintf(stderr, "drops_known: bad arguments\n");
		return 2;
	}

	/* Unconnected, so the ICMP port unreachable that comes back fails no later send. */
	memset(payload, 'd', sizeof(payload));
	fd = bound(SOCK_DGRAM, argv[1], &sport);
	to.sin_port = htons(atoi(argv[3]));
	for (int i = 0; i < UDP_DATAGRAMS; i++) {
		if (sendto(fd, payload, sizeof(payload), 0, (struct sockaddr *)&to, sizeof(to)) !=
		    sizeof(payload)) {
			perror("drops_known: sendto");
			return 2;
		}
	}
	close(fd);
	fprintf(out, "udp\t%s\t%u\t%s\t%s\t%d\t%d\n", argv[1], sport, argv[2], argv[3],
		UDP_DATAGRAMS, UDP_PAYLOAD);

	to.sin_port = htons(atoi(argv[4]));
	for (int i = 0; i < TCP_SYNS; i++) {
		fd = bound(SOCK_STREAM, argv[1], &sport);
		if (connect(fd, (struct sockaddr *)&to, sizeof(to)) == 0 || errno != ECONNREFUSED) {
			fprintf(stderr, "drops_known: connect to port %s: %s, not refused\n", argv[4],
				strerror(errno));
			failed = 1;
		}
		close(fd);
		fprintf(out, "tcp\t%s\t%u\t%s\t%s\t1\t0\n", argv[1], sport, argv[2], argv[4]);
	}
	fclose(out);
	return failed;
}
