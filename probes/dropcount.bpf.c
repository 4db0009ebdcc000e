// SPDX-License-Identifier: GPL-2.0
/* trace dropcount: the drops trace drops shows one by one, counted in a map by reason,
 * dropping address, network namespace and protocol; user space reads and empties it every
 * interval.
 * The hooks and filters are common/kfree_skb.bpf.h's. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "common/ringbuf.bpf.h"
#include "drops.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, KS_DROP_COUNT_KEYS);
	__type(key, struct ks_drop_count_key);
	__type(value, __u64);
} drop_counts SEC(".maps");

/* Drops that found no room for their key in drop_counts (full): reported, never silent. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} drop_uncounted SEC(".maps");

#define KS_EEXIST 17
#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define KS_HEADER_UNSET 0xffff /* skb->network_header before the layer set it */

/* The ethertype, and the transport protocol where the network header is set and holds IPv4
 * or IPv6: the key's protocol fields. */
static __always_inline void read_protocols(struct sk_buff *skb, struct ks_drop_count_key *key)
{
	unsigned char *head = BPF_CORE_READ(skb, head);
	__u16 nh = BPF_CORE_READ(skb, network_header);

	key->protocol = bpf_ntohs(BPF_CORE_READ(skb, protocol));
	if (nh == KS_HEADER_UNSET)
		return;
	if (key->protocol == ETH_P_IP) {
		struct iphdr ip;

		if (!bpf_probe_read_kernel(&ip, sizeof(ip), head + nh) && ip.version == 4) {
			key->family = 4;
			key->l4proto = ip.protocol;
		}
	} else if (key->protocol == ETH_P_IPV6) {
		struct ipv6hdr ip6;

		if (!bpf_probe_read_kernel(&ip6, sizeof(ip6), head + nh) && ip6.version == 6) {
			key->family = 6;
			key->l4proto = ip6.nexthdr;
		}
	}
}

static __always_inline void on_drop(struct sk_buff *skb, void *location, __u32 reason,
				    __u32 netns)
{
	struct ks_drop_count_key key = {.location = (__u64)location, .reason = reason, .netns = netns};
	__u64 zero = 0, *n;

	read_protocols(skb, &key);
	n = bpf_map_lookup_elem(&drop_counts, &key);

	if (!n) {
		/* Another CPU may add the key first: then this one counts in its slot too. */
		long err = bpf_map_update_elem(&drop_counts, &key, &zero, BPF_NOEXIST);

		if (err && err != -KS_EEXIST) {
			ks_count(&drop_uncounted);
			return;
		}
		n = bpf_map_lookup_elem(&drop_counts, &key);
		if (!n) { /* a snapshot took it in between */
			ks_count(&drop_uncounted);
			return;
		}
	}
	*n += 1; /* this CPU's slot: no other writer */
}

#include "common/kfree_skb.bpf.h"
