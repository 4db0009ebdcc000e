// SPDX-License-Identifier: GPL-2.0
/* trace dns: every DNS message that a local socket sends or receives on port 53, UDP or
 * TCP, with the first KS_DNS_PAYLOAD_MAX bytes of the message for user space to parse, the
 * latency of each response since its query, and the process that asked.
 *
 * cgroup_skb egress and ingress see each packet at the socket that sends or receives it,
 * whatever its network namespace, with the data starting at the network header. They run
 * where the packet happens to be (a softirq, another task), so the process is not current
 * there: the sock_addr hooks (connect, and sendmsg with an address), which run in the
 * caller's context, note each port-53 socket's process under its socket cookie, and the
 * packet hooks look it up. */
#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "common/filter.bpf.h"
#include "common/ringbuf.bpf.h"
#include "dns.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 failed_only = 0; /* --failed: only responses with an error rcode */

#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define KS_IP_OFFSET_MASK 0x1fff /* iphdr.frag_off: the fragment's offset */
#define KS_DNS_HEADER_LEN 12

/* The process behind a socket, noted where it connected or sent (process context). */
struct dns_owner {
	__u64 cgroup_id;
	__u32 pid;
	__u32 tgid;
	__u32 uid;
	__u32 pad;
	char comm[KS_COMM_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64); /* socket cookie */
	__type(value, struct dns_owner);
} dns_sockets SEC(".maps");

/* A query waiting for its response: the client is the side that sent the query, and
 * query_egress says whether it left here (a local client) or arrived (a local server), so
 * that when both ends are local each matches its own side. */
struct dns_query_key {
	__u8 client[16];
	__u8 server[16];
	__u16 client_port;
	__u16 server_port;
	__u16 id;
	__u8 proto;
	__u8 query_egress;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, struct dns_query_key);
	__type(value, __u64); /* when the query passed, CLOCK_BOOTTIME */
} dns_queries SEC(".maps");

static __always_inline int any_task_filter(void)
{
	return filter_tgid || filter_uid_set || filter_cgroup_id || filter_comm_set;
}

/* The sock_addr hooks: only sockets that talk to port 53 are noted. A socket whose process
 * the task filter rejects is forgotten, so that its packets are not shown. */
static __always_inline int note_owner(struct bpf_sock_addr *ctx)
{
	__u64 cookie;
	struct dns_owner o = {};
	__u64 id;

	if (ctx->user_port != bpf_htons(KS_DNS_PORT))
		return 1;
	cookie = bpf_get_socket_cookie(ctx);
	if (!ks_task_wanted()) {
		bpf_map_delete_elem(&dns_sockets, &cookie);
		return 1;
	}
	id = bpf_get_current_pid_tgid();
	o.cgroup_id = bpf_get_current_cgroup_id();
	o.pid = (__u32)id;
	o.tgid = id >> 32;
	o.uid = (__u32)bpf_get_current_uid_gid();
	bpf_get_current_comm(o.comm, sizeof(o.comm));
	bpf_map_update_elem(&dns_sockets, &cookie, &o, BPF_ANY);
	return 1; /* let the call go on */
}

SEC("cgroup/connect4")
int dns_connect4(struct bpf_sock_addr *ctx)
{
	return note_owner(ctx);
}

SEC("cgroup/connect6")
int dns_connect6(struct bpf_sock_addr *ctx)
{
	return note_owner(ctx);
}

/* sendto() on an unconnected UDP socket; a connected one passed connect4/6. */
SEC("cgroup/sendmsg4")
int dns_sendmsg4(struct bpf_sock_addr *ctx)
{
	return note_owner(ctx);
}

SEC("cgroup/sendmsg6")
int dns_sendmsg6(struct bpf_sock_addr *ctx)
{
	return note_owner(ctx);
}

/* Where the DNS message starts in the packet, and what the headers before it say. */
struct dns_packet {
	__u32 msg_off;
	__u32 msg_len;
	__u16 sport;
	__u16 dport;
	__u8 family;
	__u8 proto;
	__u8 saddr[16];
	__u8 daddr[16];
};

/* 0 when the packet is UDP or TCP to or from port 53 and holds at least a DNS header. A
 * later IP fragment, an IPv6 extension header before the transport header, and a TCP
 * segment without data are not. A TCP segment is taken to start a message (its 2-byte
 * length first): resolvers write the prefix and the message at once. */
static __always_inline int parse_packet(struct __sk_buff *skb, struct dns_packet *p)
{
	__u32 l4;

	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		struct iphdr ip;

		if (bpf_skb_load_bytes(skb, 0, &ip, sizeof(ip)) || ip.ihl < 5 ||
		    (ip.frag_off & bpf_htons(KS_IP_OFFSET_MASK)))
			return -1;
		p->family = 4;
		p->proto = ip.protocol;
		__builtin_memcpy(p->saddr, &ip.saddr, 4);
		__builtin_memcpy(p->daddr, &ip.daddr, 4);
		l4 = ip.ihl * 4;
	} else if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr ip6;

		if (bpf_skb_load_bytes(skb, 0, &ip6, sizeof(ip6)))
			return -1;
		p->family = 6;
		p->proto = ip6.nexthdr;
		__builtin_memcpy(p->saddr, &ip6.saddr, 16);
		__builtin_memcpy(p->daddr, &ip6.daddr, 16);
		l4 = sizeof(ip6);
	} else {
		return -1;
	}

	if (p->proto == IPPROTO_UDP) {
		struct udphdr uh;

		if (bpf_skb_load_bytes(skb, l4, &uh, sizeof(uh)))
			return -1;
		p->sport = bpf_ntohs(uh.source);
		p->dport = bpf_ntohs(uh.dest);
		p->msg_off = l4 + sizeof(uh);
		p->msg_len = skb->len - p->msg_off;
	} else if (p->proto == IPPROTO_TCP) {
		struct tcphdr th;
		__be16 prefix;

		if (bpf_skb_load_bytes(skb, l4, &th, sizeof(th)))
			return -1;
		p->sport = bpf_ntohs(th.source);
		p->dport = bpf_ntohs(th.dest);
		if (p->sport != KS_DNS_PORT && p->dport != KS_DNS_PORT)
			return -1;
		if (bpf_skb_load_bytes(skb, l4 + th.doff * 4, &prefix, sizeof(prefix)))
			return -1;
		p->msg_off = l4 + th.doff * 4 + sizeof(prefix);
		p->msg_len = bpf_ntohs(prefix);
	} else {
		return -1;
	}
	if (p->sport != KS_DNS_PORT && p->dport != KS_DNS_PORT)
		return -1;
	if (p->msg_off + KS_DNS_HEADER_LEN > skb->len || p->msg_len < KS_DNS_HEADER_LEN)
		return -1;
	return 0;
}

/* The response's latency since its query (0 when the query was not seen), or for a query,
 * its time noted. */
static __always_inline __u64 match_query(const struct dns_packet *p, __u16 id, int response,
					 int egress, __u64 now)
{
	struct dns_query_key k = {};
	__u64 *sent;
	__u64 latency;

	k.id = id;
	k.proto = p->proto;
	if (!response) {
		__builtin_memcpy(k.client, p->saddr, 16);
		__builtin_memcpy(k.server, p->daddr, 16);
		k.client_port = p->sport;
		k.server_port = p->dport;
		k.query_egress = egress;
		bpf_map_update_elem(&dns_queries, &k, &now, BPF_ANY);
		return 0;
	}
	__builtin_memcpy(k.client, p->daddr, 16);
	__builtin_memcpy(k.server, p->saddr, 16);
	k.client_port = p->dport;
	k.server_port = p->sport;
	k.query_egress = !egress;
	sent = bpf_map_lookup_elem(&dns_queries, &k);
	if (!sent)
		return 0;
	latency = now - *sent;
	bpf_map_delete_elem(&dns_queries, &k);
	return latency ? latency : 1; /* a seen query always gives a latency */
}

static __always_inline void on_packet(struct __sk_buff *skb, int egress)
{
	struct dns_packet p = {};
	struct dns_owner *owner;
	struct ks_dns_event *e;
	__u8 dns[4]; /* id, then the flags: QR is the top bit of [2], RCODE the low 4 of [3] */
	__u64 cookie, latency, now, n;
	int response;

	if (parse_packet(skb, &p) || bpf_skb_load_bytes(skb, p.msg_off, dns, sizeof(dns)))
		return;
	now = bpf_ktime_get_boot_ns();
	response = dns[2] >> 7;
	latency = match_query(&p, (__u16)dns[0] << 8 | dns[1], response, egress, now);

	cookie = bpf_get_socket_cookie(skb);
	owner = bpf_map_lookup_elem(&dns_sockets, &cookie);
	if (!owner && any_task_filter())
		return;
	if (failed_only && (!response || !(dns[3] & 0xf)))
		return;

	/* Reserved, not built in a per-CPU buffer: a softirq's packet may interrupt this
	 * program on its CPU and run it again. */
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		ks_count(&lost_events);
		return;
	}
	e->hdr.ts_ns = now;
	e->hdr.type = KS_EVENT_DNS;
	e->hdr.size = sizeof(*e);
	e->hdr.pad = 0;
	e->flags = (egress ? KS_DNS_EGRESS : 0) | (latency ? KS_DNS_MATCHED : 0);
	if (owner) {
		e->hdr.cgroup_id = owner->cgroup_id;
		e->hdr.pid = owner->pid;
		e->hdr.tgid = owner->tgid;
		e->hdr.uid = owner->uid;
		__builtin_memcpy(e->hdr.comm, owner->comm, sizeof(e->hdr.comm));
		e->flags |= KS_DNS_OWNER;
	} else {
		e->hdr.cgroup_id = bpf_skb_cgroup_id(skb);
		e->hdr.pid = 0;
		e->hdr.tgid = 0;
		e->hdr.uid = bpf_get_socket_uid(skb);
		__builtin_memset(e->hdr.comm, 0, sizeof(e->hdr.comm));
	}
	e->latency_ns = latency;
	__builtin_memcpy(e->saddr, p.saddr, 16);
	__builtin_memcpy(e->daddr, p.daddr, 16);
	e->sport = p.sport;
	e->dport = p.dport;
	e->family = p.family;
	e->proto = p.proto;
	e->msg_len = p.msg_len;

	/* parse_packet() left at least a header's worth in the packet. 64-bit, and both bounds
	 * checked again on the register the helper gets: 6.1's verifier learns nothing from a
	 * test against 0, and nothing about a register the compiler copied before a test. */
	n = skb->len;
	n -= p.msg_off;
	if (n > p.msg_len)
		n = p.msg_len;
	if (n > KS_DNS_PAYLOAD_MAX)
		n = KS_DNS_PAYLOAD_MAX;
	barrier_var(n);
	if (n < KS_DNS_HEADER_LEN || n > KS_DNS_PAYLOAD_MAX ||
	    bpf_skb_load_bytes(skb, p.msg_off, e->payload, n))
		n = 0;
	if (n < p.msg_len)
		e->flags |= KS_DNS_CUT;
	e->payload_len = n;
	bpf_ringbuf_submit(e, ks_wakeup_flag(now));
}

SEC("cgroup_skb/egress")
int dns_egress(struct __sk_buff *skb)
{
	on_packet(skb, 1);
	return 1; /* let the packet pass */
}

SEC("cgroup_skb/ingress")
int dns_ingress(struct __sk_buff *skb)
{
	on_packet(skb, 0);
	return 1;
}
