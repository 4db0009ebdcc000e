/* What the network testprogs (tcp_known, tcp_pingpong, tcpflow_known) share: joining a
 * network namespace tests/privileged/netns.h made, and socket addresses from text. A setup
 * error exits 2, as each of them documents. Include it after defining _GNU_SOURCE (setns,
 * program_invocation_short_name). */
#ifndef KSCOPE_TESTPROGS_NETNS_SOCKET_H
#define KSCOPE_TESTPROGS_NETNS_SOCKET_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

/* Joins /run/netns/NAME. */
static inline void ks_enter_netns(const char *name)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "/run/netns/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) {
		perror(path);
		_exit(2);
	}
	close(fd);
}

/* ADDR (IPv4 or IPv6 text) and PORT as a socket address. */
static inline struct sockaddr_storage ks_sockaddr_of(const char *addr, int port)
{
	struct sockaddr_storage ss = {0};
	struct sockaddr_in *in = (void *)&ss;
	struct sockaddr_in6 *in6 = (void *)&ss;

	if (inet_pton(AF_INET, addr, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons(port);
	} else if (inet_pton(AF_INET6, addr, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
	} else {
		fprintf(stderr, "%s: not an address: %s\n", program_invocation_short_name, addr);
		_exit(2);
	}
	return ss;
}

static inline socklen_t ks_sockaddr_len(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

#endif
