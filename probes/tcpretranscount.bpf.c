// SPDX-License-Identifier: GPL-2.0
/* trace tcpretranscount: the retransmits trace tcpretrans shows one by one, counted in a
 * map by connection (tcpretrans -c from bcc); user space reads and empties it every
 * interval. The hooks and filters are common/tcp_retransmit.bpf.h's. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>

#include "common/ringbuf.bpf.h"
#include "common/tcp.bpf.h"
#include "tcpretrans.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, KS_TCPRETRANS_COUNT_KEYS);
	__type(key, struct ks_tcp_endpoints);
	__type(value, __u64);
} tcpretrans_counts SEC(".maps");

/* Retransmits that found no room for their connection in tcpretrans_counts (full):
 * reported, never silent. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} tcpretrans_uncounted SEC(".maps");

struct ks_tcp_retransmit;

static __always_inline void on_retransmit(const struct ks_tcp_retransmit *r);

#include "common/tcp_retransmit.bpf.h"

/* One shared counter per connection, added to atomically: retransmits are rare enough. */
static __always_inline void on_retransmit(const struct ks_tcp_retransmit *r)
{
	__u64 one = 1, *n = bpf_map_lookup_elem(&tcpretrans_counts, &r->ends);

	if (n) {
		__sync_fetch_and_add(n, 1);
		return;
	}
	/* Another CPU may add the connection first: then add to its counter. */
	if (bpf_map_update_elem(&tcpretrans_counts, &r->ends, &one, BPF_NOEXIST) == 0)
		return;
	n = bpf_map_lookup_elem(&tcpretrans_counts, &r->ends);
	if (n)
		__sync_fetch_and_add(n, 1);
	else
		ks_count(&tcpretrans_uncounted);
}
