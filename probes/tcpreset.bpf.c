// SPDX-License-Identifier: GPL-2.0
/* trace tcpreset: TCP resets this host sends and receives, with the addresses, the socket's
 * state, the process where there is one, and (6.10+) the kernel's reason for a sent one.
 *
 * tcp:tcp_send_reset fires where the kernel sends a reset: in process context when a
 * process aborts a connection (close() with SO_LINGER 0 or unread data), in softirq for a
 * packet that needs one. Since 6.10 that includes packets no socket took (a closed port);
 * 6.1 traced only resets sent for a socket. tcp:tcp_receive_reset fires in tcp_reset() as
 * a socket takes a reset from its peer.
 *
 * Where the tracepoint misses resets sent without a socket, fentry or kprobes on the
 * functions that send and take them see all: tcp_v4_send_reset() and tcp_v6_send_reset()
 * answer a packet (its headers give the ends, reversed), tcp_send_active_reset() aborts a
 * socket, tcp_reset() takes a reset. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "common/core_fixes.bpf.h"
#include "common/tcp.bpf.h"
#include "tcpreset.h"

char LICENSE[] SEC("license") = "GPL";

static __always_inline void emit(struct ks_tcpreset_event *e, struct sock *sk)
{
	struct sock *full = ks_full_sock(sk);
	struct ks_tcp_task task = {};

	if (ks_sock_held_by_task(sk)) {
		ks_tcp_current_task(&task);
		e->flags |= KS_TCPRESET_IN_TASK;
	}
	if (!ks_sock_event_wanted(full, &task))
		return;
	ks_fill_sock_header(&e->hdr, KS_EVENT_TCPRESET, sizeof(*e), full, &task);
	e->skaddr = (__u64)sk;
	ks_output(e, sizeof(*e));
}

/* One end of 6.10+'s record: a struct sockaddr_in or sockaddr_in6 in 28 bytes (the port
 * in network order), all zeros when the kernel had no address. */
static __always_inline void end_of_sockaddr(const __u8 *sa, __u8 *addr, __u16 *port, __u8 *family)
{
	struct sockaddr_in6 s6 = {};

	bpf_probe_read_kernel(&s6, sizeof(s6), sa);
	*port = bpf_ntohs(s6.sin6_port);
	if (s6.sin6_family == KS_AF_INET6) {
		*family = 6;
		__builtin_memcpy(addr, &s6.sin6_addr, 16);
	} else if (s6.sin6_family == KS_AF_INET) {
		*family = 4;
		__builtin_memcpy(addr, &((struct sockaddr_in *)&s6)->sin_addr, 4);
	}
}

SEC("tracepoint/tcp/tcp_send_reset")
int tp_tcp_send_reset(void *ctx)
{
	struct ks_tcpreset_event e = {.reason = KS_TCPRESET_NO_REASON};
	struct sock *sk;

	if (bpf_core_type_exists(struct trace_event_raw_tcp_send_reset)) {
		struct trace_event_raw_tcp_send_reset *rec = ctx;

		sk = (struct sock *)rec->skaddr;
		e.state = rec->state;
		e.reason = rec->reason;
		end_of_sockaddr(rec->saddr, e.ends.laddr, &e.ends.lport, &e.ends.family);
		end_of_sockaddr(rec->daddr, e.ends.raddr, &e.ends.rport, &e.ends.family);
	} else {
		struct trace_event_raw_tcp_event_sk_skb___old *rec = ctx;

		sk = (struct sock *)rec->skaddr;
		e.state = rec->state;
		KS_ENDPOINTS_OF_RECORD(&e.ends, rec);
	}
	emit(&e, sk);
	return 0;
}

SEC("tracepoint/tcp/tcp_receive_reset")
int tp_tcp_receive_reset(struct trace_event_raw_tcp_event_sk *rec)
{
	struct ks_tcpreset_event e = {.reason = KS_TCPRESET_NO_REASON};
	struct sock *sk = (struct sock *)rec->skaddr;

	e.flags = KS_TCPRESET_RECEIVED;
	e.state = BPF_CORE_READ(sk, __sk_common.skc_state);
	KS_ENDPOINTS_OF_RECORD(&e.ends, rec);
	emit(&e, sk);
	return 0;
}

/* --- fentry and kprobe: for kernels whose tracepoint misses resets sent without a socket */

#define KS_TCP_FLAG_RST 0x04 /* in the TCP header's 14th byte */
#define KS_RTN_LOCAL 2       /* enum rtn_type's, for an IPv4 route to this host */
#define KS_RTF_LOCAL 0x80000000

/* 6.10 added the reason as the senders' third argument, with enum sk_rst_reason. */
#define KERNEL_PASSES_RESET_REASON bpf_core_type_exists(enum sk_rst_reason)

/* A packet's ends, from its IP and TCP headers, as the host that answers it sees them:
 * local is the packet's destination. Returns the TCP flags byte. */
static __always_inline __u8 ends_of_packet(struct sk_buff *skb, struct ks_tcp_endpoints *e)
{
	unsigned char *head = BPF_CORE_READ(skb, head);
	unsigned char *ip = head + BPF_CORE_READ(skb, network_header);
	unsigned char *th = head + BPF_CORE_READ(skb, transport_header);
	__u16 ports[2] = {};
	__u8 version = 0, flags = 0;

	bpf_probe_read_kernel(&version, 1, ip);
	if (version >> 4 == 6) {
		e->family = 6;
		bpf_probe_read_kernel(e->raddr, 16, ip + offsetof(struct ipv6hdr, saddr));
		bpf_probe_read_kernel(e->laddr, 16, ip + offsetof(struct ipv6hdr, daddr));
	} else {
		e->family = 4;
		bpf_probe_read_kernel(e->raddr, 4, ip + offsetof(struct iphdr, saddr));
		bpf_probe_read_kernel(e->laddr, 4, ip + offsetof(struct iphdr, daddr));
	}
	bpf_probe_read_kernel(ports, sizeof(ports), th);
	bpf_probe_read_kernel(&flags, 1, th + 13);
	e->rport = bpf_ntohs(ports[0]);
	e->lport = bpf_ntohs(ports[1]);
	return flags;
}

/* Whether tcp_v{4,6}_send_reset() will send for this packet: never for a reset, and without
 * a socket only for a packet routed to this host (a local unicast address). */
static __always_inline int will_answer(struct sock *sk, struct sk_buff *skb, __u8 flags, int v6)
{
	unsigned long dst = BPF_CORE_READ(skb, _skb_refdst) & ~1UL; /* SKB_DST_PTRMASK */

	if (flags & KS_TCP_FLAG_RST)
		return 0;
	if (sk)
		return 1;
	if (v6)
		return (BPF_CORE_READ((struct rt6_info *)dst, rt6i_flags) & KS_RTF_LOCAL) != 0;
	return BPF_CORE_READ((struct rtable *)dst, rt_type) == KS_RTN_LOCAL;
}

static __always_inline void on_answer(struct sock *sk, struct sk_buff *skb, int v6, __s32 reason)
{
	struct ks_tcpreset_event e = {.reason = reason};
	__u8 flags = ends_of_packet(skb, &e.ends);

	if (!will_answer(sk, skb, flags, v6))
		return;
	if (sk)
		e.state = BPF_CORE_READ(sk, __sk_common.skc_state);
	emit(&e, sk);
}

static __always_inline void on_abort(struct sock *sk, __s32 reason)
{
	struct ks_tcpreset_event e = {.reason = reason};

	e.state = BPF_CORE_READ(sk, __sk_common.skc_state);
	ks_tcp_sock_endpoints(sk, &e.ends);
	emit(&e, sk);
}

/* tcp_reset()'s packet is the peer's reset: its destination is this host's end. */
static __always_inline void on_taken(struct sock *sk, struct sk_buff *skb)
{
	struct ks_tcpreset_event e = {.reason = KS_TCPRESET_NO_REASON, .flags = KS_TCPRESET_RECEIVED};

	e.state = BPF_CORE_READ(sk, __sk_common.skc_state);
	if (skb)
		ends_of_packet(skb, &e.ends);
	else
		ks_tcp_sock_endpoints(sk, &e.ends);
	emit(&e, sk);
}

SEC("fentry/tcp_v4_send_reset")
int BPF_PROG(fentry_tcp_v4_send_reset, struct sock *sk, struct sk_buff *skb)
{
	on_answer(sk, skb, 0, KERNEL_PASSES_RESET_REASON ? (__s32)ctx[2] : KS_TCPRESET_NO_REASON);
	return 0;
}

SEC("fentry/tcp_v6_send_reset")
int BPF_PROG(fentry_tcp_v6_send_reset, struct sock *sk, struct sk_buff *skb)
{
	on_answer(sk, skb, 1, KERNEL_PASSES_RESET_REASON ? (__s32)ctx[2] : KS_TCPRESET_NO_REASON);
	return 0;
}

SEC("fentry/tcp_send_active_reset")
int BPF_PROG(fentry_tcp_send_active_reset, struct sock *sk)
{
	on_abort(sk, KERNEL_PASSES_RESET_REASON ? (__s32)ctx[2] : KS_TCPRESET_NO_REASON);
	return 0;
}

SEC("fentry/tcp_reset")
int BPF_PROG(fentry_tcp_reset, struct sock *sk, struct sk_buff *skb)
{
	on_taken(sk, skb);
	return 0;
}

SEC("kprobe/tcp_v4_send_reset")
int BPF_KPROBE(kprobe_tcp_v4_send_reset, struct sock *sk, struct sk_buff *skb, long reason)
{
	on_answer(sk, skb, 0, KERNEL_PASSES_RESET_REASON ? (__s32)reason : KS_TCPRESET_NO_REASON);
	return 0;
}

SEC("kprobe/tcp_v6_send_reset")
int BPF_KPROBE(kprobe_tcp_v6_send_reset, struct sock *sk, struct sk_buff *skb, long reason)
{
	on_answer(sk, skb, 1, KERNEL_PASSES_RESET_REASON ? (__s32)reason : KS_TCPRESET_NO_REASON);
	return 0;
}

SEC("kprobe/tcp_send_active_reset")
int BPF_KPROBE(kprobe_tcp_send_active_reset, struct sock *sk, long priority, long reason)
{
	on_abort(sk, KERNEL_PASSES_RESET_REASON ? (__s32)reason : KS_TCPRESET_NO_REASON);
	return 0;
}

SEC("kprobe/tcp_reset")
int BPF_KPROBE(kprobe_tcp_reset, struct sock *sk, struct sk_buff *skb)
{
	on_taken(sk, skb);
	return 0;
}
