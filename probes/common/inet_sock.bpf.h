/* Sockets as the socket-call tools (connect, accept, connlat, bind, listen) read them: whether
 * a socket is TCP, its endpoints as they are now, and a sockaddr a process passed. */
#ifndef KSCOPE_INET_SOCK_BPF_H
#define KSCOPE_INET_SOCK_BPF_H

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>

#include "common/tcp.bpf.h"

/* errno values: macros in the kernel, so not in BTF */
#define KS_EBADF 9
#define KS_ENOTSOCK 88
#define KS_EINPROGRESS 115

/* The socket behind the fd a socket syscall was passed, or NULL. A call that failed with
 * EBADF or ENOTSOCK had none: its fd may be no socket at all. */
static __always_inline struct sock *ks_call_sock(long fd, long ret)
{
	if (ret == -KS_EBADF || ret == -KS_ENOTSOCK)
		return NULL;
	return ks_fd_sock(fd);
}

/* AF_INET or AF_INET6: the sockets these tools report. */
static __always_inline int ks_is_inet(struct sock *sk)
{
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);

	return family == KS_AF_INET || family == KS_AF_INET6;
}

/* A TCP socket of an inet family (not MPTCP, whose subflows are TCP sockets of their own). */
static __always_inline int ks_is_tcp(struct sock *sk)
{
	return sk && ks_is_inet(sk) && BPF_CORE_READ(sk, sk_protocol) == KS_IPPROTO_TCP &&
	       BPF_CORE_READ(sk, sk_type) == SOCK_STREAM;
}

/* The peer's port, host order: set once connect() has a destination (at SYN_SENT). */
static __always_inline __u16 ks_sock_rport(struct sock *sk)
{
	return bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
}

/* The socket's endpoints as they are now: the local one once bound, the peer once
 * connected (zeros before). The local port is inet_sport, not skc_num: tcp_set_state()
 * releases the port (skc_num = 0) before inet_sock_set_state fires for a socket that leaves
 * SYN_SENT for CLOSE, and the tracepoint itself reads inet_sport. */
static __always_inline void ks_sock_endpoints(struct sock *sk, struct ks_tcp_endpoints *e)
{
	struct sock_common *c = &sk->__sk_common;

	if (BPF_CORE_READ(c, skc_family) == KS_AF_INET6) {
		e->family = 6;
		BPF_CORE_READ_INTO(&e->laddr, c, skc_v6_rcv_saddr);
		BPF_CORE_READ_INTO(&e->raddr, c, skc_v6_daddr);
	} else {
		e->family = 4;
		BPF_CORE_READ_INTO((__u32 *)e->laddr, c, skc_rcv_saddr);
		BPF_CORE_READ_INTO((__u32 *)e->raddr, c, skc_daddr);
	}
	e->lport = bpf_ntohs(BPF_CORE_READ((struct inet_sock *)sk, inet_sport));
	e->rport = ks_sock_rport(sk);
}

/* The address and port of the struct sockaddr_in or sockaddr_in6 a process passed to a
 * syscall at user address addr, into the remote end (remote set) or the local end of e.
 * Returns the family it found (AF_INET or AF_INET6; any other: nothing written), or -1 when
 * the memory could not be read. */
static __always_inline int ks_read_user_sockaddr(const void *addr, int remote,
						 struct ks_tcp_endpoints *e)
{
	struct sockaddr_in6 sa = {}; /* sockaddr_in's family and port are at the same offsets */

	/* The shorter first: an AF_INET sockaddr may end just before unmapped memory. */
	if (bpf_probe_read_user(&sa, sizeof(struct sockaddr_in), addr))
		return -1;
	if (sa.sin6_family == KS_AF_INET6 && bpf_probe_read_user(&sa, sizeof(sa), addr))
		return -1;
	__u8 *dst = remote ? e->raddr : e->laddr;
	if (sa.sin6_family == KS_AF_INET6) {
		e->family = 6;
		__builtin_memcpy(dst, &sa.sin6_addr, 16);
	} else if (sa.sin6_family == KS_AF_INET) {
		e->family = 4;
		__builtin_memcpy(dst, &((struct sockaddr_in *)&sa)->sin_addr, 4);
	} else {
		return sa.sin6_family;
	}
	if (remote)
		e->rport = bpf_ntohs(sa.sin6_port);
	else
		e->lport = bpf_ntohs(sa.sin6_port);
	return sa.sin6_family;
}

#endif
