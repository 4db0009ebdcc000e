// SPDX-License-Identifier: GPL-2.0
/* kscope flows: every IP packet counted into its unidirectional flow, in the kernel, at TC
 * ingress/egress of an interface or cgroup_skb ingress/egress of a cgroup. No event per
 * packet: packets and bytes grow by atomic adds in a hash of flows, which user space swaps
 * for an empty one on each sweep (flow_tables, an array of maps: the kernel waits for every
 * program still holding the old table before the update returns), then reads and empties
 * the old one with no writer left, so each sweep's counts are exact deltas.
 *
 * A packet of a new flow that finds the table full is counted in flow_overflow, never
 * dropped from the totals, and nothing is evicted. A FIN or RST sends a small record to the
 * ring buffer so that user space sweeps soon and the flow ends promptly.
 *
 * The process: the socket's storage (flow_owners, cloned into accepted sockets) holds the
 * process that created it, connected it or sent an addressed datagram on it, noted by the
 * cgroup sock hooks in that process's context. TC ingress finds the local socket by lookup;
 * TC egress and the cgroup hooks have it in the packet. */
#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "common/ringbuf.bpf.h"
#include "flows.h"

char LICENSE[] SEC("license") = "GPL";

#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define ETH_HLEN 14
#define KS_IP_OFFSET_MASK 0x1fff
#define KS_IPPROTO_ICMPV6 58
#define TC_ACT_UNSPEC (-1) /* uapi pkt_cls.h: the next filter, or the default action */

/* Resized by user space before load (--max-flows); both tables alike. */
struct flow_table {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct ks_flow_key);
	__type(value, struct ks_flow_counts);
};

struct flow_table flows_a SEC(".maps");
struct flow_table flows_b SEC(".maps");

/* Slot 0: the table the programs count into now. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, struct flow_table);
} flow_tables SEC(".maps") = {
	.values = {&flows_a},
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2); /* KS_FLOW_INGRESS, KS_FLOW_EGRESS */
	__type(key, __u32);
	__type(value, struct ks_flow_overflow);
} flow_overflow SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC | BPF_F_CLONE);
	__type(key, int);
	__type(value, struct ks_flow_owner);
} flow_owners SEC(".maps");

/* The owner hooks: the process context a socket is created, connected or sent from. */
static __always_inline void note_owner(struct bpf_sock *sk)
{
	struct ks_flow_owner *o;
	__u64 id;

	if (!sk)
		return;
	o = bpf_sk_storage_get(&flow_owners, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!o)
		return;
	id = bpf_get_current_pid_tgid();
	o->cgroup_id = bpf_get_current_cgroup_id();
	o->pid = (__u32)id;
	o->tgid = id >> 32;
	o->uid = (__u32)bpf_get_current_uid_gid();
	bpf_get_current_comm(o->comm, sizeof(o->comm));
}

SEC("cgroup/sock_create")
int flows_sock_create(struct bpf_sock *sk)
{
	note_owner(sk);
	return 1; /* let the socket be */
}

SEC("cgroup/connect4")
int flows_connect4(struct bpf_sock_addr *ctx)
{
	note_owner(ctx->sk);
	return 1;
}

SEC("cgroup/connect6")
int flows_connect6(struct bpf_sock_addr *ctx)
{
	note_owner(ctx->sk);
	return 1;
}

SEC("cgroup/sendmsg4")
int flows_sendmsg4(struct bpf_sock_addr *ctx)
{
	note_owner(ctx->sk);
	return 1;
}

SEC("cgroup/sendmsg6")
int flows_sendmsg6(struct bpf_sock_addr *ctx)
{
	note_owner(ctx->sk);
	return 1;
}

/* What the headers say: the key, and the packet's IP-layer size. */
struct packet {
	struct ks_flow_key key;
	__u32 l3_len;  /* the IP header's own length field, header included */
	__u32 hdrs;    /* IP and transport header bytes: each GSO segment carries them */
	__u64 tcp_flags;
};

/* The packet's linear part, read once from the context. */
struct linear {
	void *data;
	void *end;
};

static __always_inline struct linear linear_of(struct __sk_buff *skb)
{
	return (struct linear){(void *)(long)skb->data, (void *)(long)skb->data_end};
}

/* size bytes at off: straight from the linear part where they are in it (no helper call:
 * this runs for every packet), else copied by bpf_skb_load_bytes() (paged data). off is
 * bounded for the verifier: headers never start past the first 128 bytes. */
static __always_inline int load(struct __sk_buff *skb, const struct linear *l, __u32 off,
				void *to, __u32 size)
{
	if (off <= 128 && l->data + off + size <= l->end) {
		__builtin_memcpy(to, l->data + off, size);
		return 0;
	}
	return bpf_skb_load_bytes(skb, off, to, size);
}

/* IPv6 extension headers that may come before the transport header (RFC 8200 4.1): they
 * are walked, up to KS_IPV6_EXT_MAX of them, so a datagram behind a hop-by-hop or
 * destination options header (MLD reports, jumbograms, options a socket set) counts under
 * its transport protocol and ports, not under the extension header's number. */
#define KS_IPPROTO_HOPOPTS 0
#define KS_IPPROTO_ROUTING 43
#define KS_IPPROTO_FRAGMENT 44
#define KS_IPPROTO_AH 51
#define KS_IPPROTO_DSTOPTS 60
#define KS_IPV6_EXT_MAX 4

/* Past the extension headers at *l4 (the first one's type in *proto): *proto becomes the
 * header after them and *l4 its offset. A fragment other than the first sets *frag. */
static __always_inline void skip_ipv6_ext(struct __sk_buff *skb, const struct linear *l, __u32 *l4,
					  __u8 *proto, __u8 *frag)
{
#pragma unroll
	for (int i = 0; i < KS_IPV6_EXT_MAX; i++) {
		__u8 h[4]; /* next header, length, and a fragment header's offset */

		if (*proto != KS_IPPROTO_HOPOPTS && *proto != KS_IPPROTO_ROUTING &&
		    *proto != KS_IPPROTO_FRAGMENT && *proto != KS_IPPROTO_AH && *proto != KS_IPPROTO_DSTOPTS)
			return;
		if (*l4 > 255 || load(skb, l, *l4, h, sizeof(h)))
			return;
		if (*proto == KS_IPPROTO_FRAGMENT) {
			*frag = ((h[2] << 8 | h[3]) & 0xfff8) != 0;
			*l4 += 8;
		} else if (*proto == KS_IPPROTO_AH) {
			*l4 += ((__u32)h[1] + 2) * 4;
		} else {
			*l4 += ((__u32)h[1] + 1) * 8;
		}
		*proto = h[0];
	}
}

/* 0 when the packet is IPv4 or IPv6 and its headers could be read. l3 is where the IP
 * header starts. A later fragment counts under its protocol with ports 0, and so does a
 * transport header past KS_IPV6_EXT_MAX extension headers or 255 bytes into the packet. */
static __always_inline int parse(struct __sk_buff *skb, const struct linear *l, __u32 protocol,
				 __u32 l3, struct packet *p)
{
	__u32 l4;
	__u8 frag = 0;

	if (protocol == bpf_htons(ETH_P_IP)) {
		struct iphdr ip;

		if (load(skb, l, l3, &ip, sizeof(ip)) || ip.ihl < 5)
			return -1;
		p->key.family = 4;
		p->key.proto = ip.protocol;
		__builtin_memcpy(p->key.saddr, &ip.saddr, 4);
		__builtin_memcpy(p->key.daddr, &ip.daddr, 4);
		p->l3_len = bpf_ntohs(ip.tot_len);
		l4 = l3 + ip.ihl * 4;
		p->hdrs = ip.ihl * 4;
		frag = (ip.frag_off & bpf_htons(KS_IP_OFFSET_MASK)) != 0;
	} else if (protocol == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr ip6;

		if (load(skb, l, l3, &ip6, sizeof(ip6)))
			return -1;
		p->key.family = 6;
		p->key.proto = ip6.nexthdr;
		__builtin_memcpy(p->key.saddr, &ip6.saddr, 16);
		__builtin_memcpy(p->key.daddr, &ip6.daddr, 16);
		p->l3_len = bpf_ntohs(ip6.payload_len) + sizeof(ip6);
		l4 = l3 + sizeof(ip6);
		skip_ipv6_ext(skb, l, &l4, &p->key.proto, &frag);
		p->hdrs = l4 - l3;
	} else {
		return -1;
	}
	if (frag)
		return 0;
	if (p->key.proto == IPPROTO_TCP) {
		struct tcphdr th;

		if (load(skb, l, l4, &th, sizeof(th)))
			return 0;
		p->key.sport = bpf_ntohs(th.source);
		p->key.dport = bpf_ntohs(th.dest);
		p->tcp_flags = ((__u8 *)&th)[13];
		p->hdrs += th.doff * 4;
	} else if (p->key.proto == IPPROTO_UDP) {
		struct udphdr uh;

		if (load(skb, l, l4, &uh, sizeof(uh)))
			return 0;
		p->key.sport = bpf_ntohs(uh.source);
		p->key.dport = bpf_ntohs(uh.dest);
		p->hdrs += sizeof(uh);
	} else if (p->key.proto == IPPROTO_ICMP || p->key.proto == KS_IPPROTO_ICMPV6) {
		__u8 tc[2];

		if (load(skb, l, l4, tc, sizeof(tc)))
			return 0;
		p->key.dport = (__u16)tc[0] << 8 | tc[1];
	}
	return 0;
}

/* Whatever the local socket tells: its owner, its cookie, its TCP counters. */
static __always_inline void from_socket(struct bpf_sock *sk, struct ks_flow_counts *c)
{
	struct ks_flow_owner *o;
	struct bpf_tcp_sock *tp;

	c->flags |= KS_FLOW_SOCKET;
	o = bpf_sk_storage_get(&flow_owners, sk, 0, 0);
	if (o) {
		c->owner = *o;
		c->flags |= KS_FLOW_OWNER_KNOWN;
	}
	tp = bpf_tcp_sock(sk);
	if (tp) {
		c->srtt_us = tp->srtt_us >> 3;
		c->total_retrans = tp->total_retrans;
		c->flags |= KS_FLOW_TCP_SOCK;
	}
}

static __always_inline void add_overflow(__u32 direction, __u64 packets, __u64 bytes)
{
	struct ks_flow_overflow *o = bpf_map_lookup_elem(&flow_overflow, &direction);

	if (!o)
		return;
	/* Atomic: a softirq's packet may interrupt a process context's on this CPU. */
	__sync_fetch_and_add(&o->packets, packets);
	__sync_fetch_and_add(&o->bytes, bytes);
}

static __always_inline void notify_end(const struct packet *p, __u64 now)
{
	struct ks_flow_end_event e = {};

	e.hdr.ts_ns = now;
	e.hdr.type = KS_EVENT_FLOW_END;
	e.hdr.size = sizeof(e);
	e.key = p->key;
	e.tcp_flags = p->tcp_flags;
	/* Lost here costs promptness only: the sweep still ends the flow. */
	if (bpf_ringbuf_output(&events, &e, sizeof(e), BPF_RB_FORCE_WAKEUP))
		ks_count(&lost_events);
}

/* Counts the packet; sk is its local socket where the hook knows it (NULL: none or not
 * known). Returns nothing: the hooks always let the packet pass. */
static __always_inline void count(struct __sk_buff *skb, const struct linear *l, __u32 l3,
				  __u8 point, __u8 direction, struct bpf_sock *sk)
{
	/* The context's fields read first, each once: the verifier refuses a load through a
	 * context pointer the compiler moved. */
	__u32 protocol = skb->protocol, ifindex = skb->ifindex, segs = skb->gso_segs;
	__u32 len = skb->len;
	struct packet p = {};
	struct ks_flow_counts *c;
	__u32 zero = 0;
	__u64 packets = 1, bytes, now;
	void *table;

	if (parse(skb, l, protocol, l3, &p))
		return;
	p.key.point = point;
	p.key.direction = direction;
	p.key.ifindex = ifindex;
	bytes = p.l3_len;
	if (segs > 1) {
		/* A GSO packet leaves as segs packets, each with its own headers. */
		packets = segs;
		bytes = len - l3 + (__u64)(segs - 1) * p.hdrs;
	}
	now = bpf_ktime_get_boot_ns();
	table = bpf_map_lookup_elem(&flow_tables, &zero);
	if (!table)
		return;
	c = bpf_map_lookup_elem(table, &p.key);
	if (!c) {
		struct ks_flow_counts fresh = {};

		fresh.packets = packets;
		fresh.bytes = bytes;
		fresh.first_ns = now;
		fresh.last_ns = now;
		fresh.tcp_flags = p.tcp_flags;
		if (sk) {
			fresh.socket_cookie = bpf_get_socket_cookie(skb);
			from_socket(sk, &fresh);
		}
		if (!bpf_map_update_elem(table, &p.key, &fresh, BPF_NOEXIST))
			goto counted;
		/* Another CPU inserted it first, or there is no room. */
		c = bpf_map_lookup_elem(table, &p.key);
		if (!c) {
			add_overflow(direction, packets, bytes);
			return;
		}
	}
	__sync_fetch_and_add(&c->packets, packets);
	__sync_fetch_and_add(&c->bytes, bytes);
	if (p.tcp_flags & ~c->tcp_flags)
		__sync_fetch_and_or(&c->tcp_flags, p.tcp_flags);
	c->last_ns = now;
	if (sk && !(c->flags & KS_FLOW_OWNER_KNOWN)) {
		struct ks_flow_counts late = {};

		from_socket(sk, &late);
		if (late.flags & KS_FLOW_OWNER_KNOWN)
			c->owner = late.owner;
		c->flags |= late.flags;
	}
	if (sk && p.key.proto == IPPROTO_TCP) {
		/* The latest RTT and retransmits: the first packet (a SYN) has neither yet. */
		struct bpf_tcp_sock *tp = bpf_tcp_sock(sk);

		if (tp) {
			c->srtt_us = tp->srtt_us >> 3;
			c->total_retrans = tp->total_retrans;
		}
	}
counted:
	if (p.tcp_flags & (KS_TCP_FIN | KS_TCP_RST))
		notify_end(&p, now);
}

/* TC: the packet starts at its link-layer header, ETH_HLEN long on an Ethernet device (the
 * type in its last two bytes is the skb's protocol), none on an IP device. */
static __always_inline __u32 tc_l3(struct __sk_buff *skb, const struct linear *l, __u32 protocol)
{
	__be16 type;

	if (load(skb, l, ETH_HLEN - 2, &type, sizeof(type)) == 0 && type == protocol)
		return ETH_HLEN;
	return 0;
}

SEC("tc")
int flows_tc_egress(struct __sk_buff *skb)
{
	__u32 protocol = skb->protocol;
	struct linear l = linear_of(skb);
	struct bpf_sock *sk = skb->sk;

	if (sk)
		sk = bpf_sk_fullsock(sk);
	count(skb, &l, tc_l3(skb, &l, protocol), KS_FLOW_POINT_TC, KS_FLOW_EGRESS, sk);
	return TC_ACT_UNSPEC; /* let it pass */
}

/* At TC ingress the packet has no socket yet: the local one it goes to is looked up. */
SEC("tc")
int flows_tc_ingress(struct __sk_buff *skb)
{
	__u32 protocol = skb->protocol;
	struct linear l = linear_of(skb);
	__u32 l3 = tc_l3(skb, &l, protocol);
	struct bpf_sock_tuple t = {};
	struct bpf_sock *sk = NULL;
	struct packet p = {};
	__u32 size;

	if (parse(skb, &l, protocol, l3, &p) == 0 && (p.key.proto == IPPROTO_TCP || p.key.proto == IPPROTO_UDP) &&
	    (p.key.sport || p.key.dport)) {
		if (p.key.family == 4) {
			__builtin_memcpy(&t.ipv4.saddr, p.key.saddr, 4);
			__builtin_memcpy(&t.ipv4.daddr, p.key.daddr, 4);
			t.ipv4.sport = bpf_htons(p.key.sport);
			t.ipv4.dport = bpf_htons(p.key.dport);
			size = sizeof(t.ipv4);
		} else {
			__builtin_memcpy(t.ipv6.saddr, p.key.saddr, 16);
			__builtin_memcpy(t.ipv6.daddr, p.key.daddr, 16);
			t.ipv6.sport = bpf_htons(p.key.sport);
			t.ipv6.dport = bpf_htons(p.key.dport);
			size = sizeof(t.ipv6);
		}
		if (p.key.proto == IPPROTO_TCP)
			sk = bpf_sk_lookup_tcp(skb, &t, size, BPF_F_CURRENT_NETNS, 0);
		else
			sk = bpf_sk_lookup_udp(skb, &t, size, BPF_F_CURRENT_NETNS, 0);
	}
	count(skb, &l, l3, KS_FLOW_POINT_TC, KS_FLOW_INGRESS, sk);
	if (sk)
		bpf_sk_release(sk);
	return TC_ACT_UNSPEC;
}

static __always_inline struct bpf_sock *cgroup_sock(struct __sk_buff *skb)
{
	struct bpf_sock *sk = skb->sk;

	return sk ? bpf_sk_fullsock(sk) : NULL;
}

SEC("cgroup_skb/egress")
int flows_cgroup_egress(struct __sk_buff *skb)
{
	struct linear l = linear_of(skb);

	count(skb, &l, 0, KS_FLOW_POINT_CGROUP, KS_FLOW_EGRESS, cgroup_sock(skb));
	return 1; /* let the packet pass */
}

SEC("cgroup_skb/ingress")
int flows_cgroup_ingress(struct __sk_buff *skb)
{
	struct linear l = linear_of(skb);

	count(skb, &l, 0, KS_FLOW_POINT_CGROUP, KS_FLOW_INGRESS, cgroup_sock(skb));
	return 1;
}
