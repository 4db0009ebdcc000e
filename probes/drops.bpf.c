// SPDX-License-Identifier: GPL-2.0
/* trace drops: every packet the kernel drops with a reason (skb:kfree_skb), with the reason
 * number, the dropping code's address, and what the packet's headers say. The hooks and
 * filters are common/kfree_skb.bpf.h's, shared with trace dropcount. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "common/ringbuf.bpf.h"
#include "drops.h"

char LICENSE[] SEC("license") = "GPL";

#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define KS_HEADER_UNSET 0xffff /* skb->*_header before the layer set it: (u16)~0U */

/* Ports and TCP flags from the transport header at `l4`. */
static __always_inline void read_ports(unsigned char *l4, struct ks_drop_event *e)
{
	if (e->l4proto == IPPROTO_TCP) {
		struct tcphdr th;

		if (bpf_probe_read_kernel(&th, sizeof(th), l4))
			return;
		e->sport = bpf_ntohs(th.source);
		e->dport = bpf_ntohs(th.dest);
		e->tcp_flags = ((__u8 *)&th)[13];
	} else if (e->l4proto == IPPROTO_UDP) {
		struct udphdr uh;

		if (bpf_probe_read_kernel(&uh, sizeof(uh), l4))
			return;
		e->sport = bpf_ntohs(uh.source);
		e->dport = bpf_ntohs(uh.dest);
	}
}

/* The addresses, protocol and ports where the network header is set and holds IPv4 or
 * IPv6 (an IPv6 packet's ports only when no extension header comes first). */
static __always_inline void read_headers(struct sk_buff *skb, struct ks_drop_event *e)
{
	unsigned char *head = BPF_CORE_READ(skb, head);
	__u16 nh = BPF_CORE_READ(skb, network_header);

	if (nh == KS_HEADER_UNSET)
		return;
	if (e->protocol == ETH_P_IP) {
		struct iphdr ip;

		if (bpf_probe_read_kernel(&ip, sizeof(ip), head + nh) || ip.version != 4 ||
		    ip.ihl < 5)
			return;
		e->family = 4;
		e->l4proto = ip.protocol;
		__builtin_memcpy(e->saddr, &ip.saddr, 4);
		__builtin_memcpy(e->daddr, &ip.daddr, 4);
		if (!(ip.frag_off & bpf_htons(0x1fff))) /* a later fragment has no ports */
			read_ports(head + nh + ip.ihl * 4, e);
	} else if (e->protocol == ETH_P_IPV6) {
		struct ipv6hdr ip6;

		if (bpf_probe_read_kernel(&ip6, sizeof(ip6), head + nh) || ip6.version != 6)
			return;
		e->family = 6;
		e->l4proto = ip6.nexthdr;
		__builtin_memcpy(e->saddr, &ip6.saddr, 16);
		__builtin_memcpy(e->daddr, &ip6.daddr, 16);
		read_ports(head + nh + sizeof(ip6), e);
	}
}

static __always_inline void on_drop(struct sk_buff *skb, void *location, __u32 reason,
				    __u32 netns)
{
	struct ks_drop_event e = {};

	ks_fill_header(&e.hdr, KS_EVENT_DROP, sizeof(e));
	e.location = (__u64)location;
	e.reason = reason;
	e.netns = netns;
	e.len = BPF_CORE_READ(skb, len);
	e.protocol = bpf_ntohs(BPF_CORE_READ(skb, protocol));
	e.ifindex = BPF_CORE_READ(skb, dev, ifindex);
	if (!e.ifindex)
		e.ifindex = BPF_CORE_READ(skb, skb_iif);
	read_headers(skb, &e);
	ks_output(&e, sizeof(e));
}

#include "common/kfree_skb.bpf.h"
