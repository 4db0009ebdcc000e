// SPDX-License-Identifier: GPL-2.0
/* trace tcprtt: the smoothed round-trip time of TCP connections (tcp_sock.srtt_us >> 3) as
 * log2 histograms kept in the kernel (tcprtt of libbpf-tools): in total, per local or per
 * remote address. Nothing goes to the ring buffer.
 *
 * A sample is taken each time tcp_rcv_established() starts on a received segment, as
 * libbpf-tools does: the smoothed RTT the connection has then. Hook alternatives (user space
 * enables one): the tcp_probe tracepoint, which fires there and carries srtt and the
 * endpoints in its record; tp_btf or raw_tp on it, which get the socket; fentry or kprobe on
 * tcp_rcv_established() itself. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "common/histogram.bpf.h"
#include "common/inet_sock.bpf.h"
#include "tcprtt.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 by = KS_TCPRTT_TOTAL; /* enum ks_tcprtt_by */
const volatile __u32 msecs = 0;            /* slots in ms instead of us */
/* --lport, --rport (host order), --laddr, --raddr (family 0: any address). */
const volatile __u16 want_lport = 0;
const volatile __u16 want_rport = 0;
const volatile __u8 want_laddr_family = 0;
const volatile __u8 want_laddr[16] = {};
const volatile __u8 want_raddr_family = 0;
const volatile __u8 want_raddr[16] = {};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, struct ks_tcprtt_key);
	__type(value, struct ks_tcprtt_hist);
} tcprtt_hists SEC(".maps");

/* Samples whose histogram could not be made (tcprtt_hists full): counted, never dropped
 * silently. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} tcprtt_hists_full SEC(".maps");

static __always_inline int addr_matches(const __u8 *addr, __u8 family, const volatile __u8 *want,
					__u8 want_family)
{
	if (!want_family)
		return 1;
	if (family != want_family)
		return 0;
	for (int i = 0; i < 16; i++)
		if (addr[i] != want[i])
			return 0;
	return 1;
}

/* One sample of a connection with endpoints `e`; `sk` is its socket, or NULL where the hook
 * does not name it (then user space has refused --uid and --cgroup). */
static __always_inline void count_sample(const struct ks_tcp_endpoints *e, __u32 srtt_us,
					 struct sock *sk)
{
	static const struct ks_tcprtt_hist empty = {};
	struct ks_tcprtt_key key = {};
	struct ks_tcprtt_hist *h;

	if ((want_lport && e->lport != want_lport) || (want_rport && e->rport != want_rport))
		return;
	if (!addr_matches(e->laddr, e->family, want_laddr, want_laddr_family) ||
	    !addr_matches(e->raddr, e->family, want_raddr, want_raddr_family))
		return;
	/* The socket's owner: the sample is taken in whatever task the CPU was in. */
	if (filter_uid_set && (!sk || ks_sock_uid(sk) != filter_uid))
		return;
	if (filter_cgroup_id && (!sk || ks_sock_cgroup_id(sk) != filter_cgroup_id))
		return;
	if (by != KS_TCPRTT_TOTAL) {
		key.family = e->family;
		__builtin_memcpy(key.addr, by == KS_TCPRTT_LOCAL ? e->laddr : e->raddr, 16);
	}
	h = bpf_map_lookup_elem(&tcprtt_hists, &key);
	if (!h) {
		bpf_map_update_elem(&tcprtt_hists, &key, &empty, BPF_NOEXIST);
		h = bpf_map_lookup_elem(&tcprtt_hists, &key);
		if (!h) {
			ks_count(&tcprtt_hists_full);
			return;
		}
	}
	ks_hist_add(&h->hist, msecs ? srtt_us / 1000 : srtt_us, srtt_us * 1000);
}

/* Where the hook gets the socket: endpoints and srtt read from it. */
static __always_inline void on_sock(struct sock *sk)
{
	struct ks_tcp_endpoints e = {};

	ks_sock_endpoints(sk, &e);
	count_sample(&e, BPF_CORE_READ((struct tcp_sock *)sk, srtt_us) >> 3, sk);
}

/* An address of the tcp_probe record: a struct sockaddr_in or sockaddr_in6 (28 bytes), by
 * family. Copied out whole: the verifier refuses loads through a context pointer moved to a
 * field's relocated offset. */
static __always_inline void record_addr(__u8 *dst, const __u8 *field, __u16 family)
{
	struct sockaddr_in6 sa = {};

	bpf_probe_read_kernel(&sa, sizeof(sa), field);
	if (family == KS_AF_INET6)
		__builtin_memcpy(dst, &sa.sin6_addr, 16);
	else
		__builtin_memcpy(dst, &((struct sockaddr_in *)&sa)->sin_addr, 4);
}

/* The record carries the endpoints and srtt (already srtt_us >> 3). It names the socket
 * (skaddr) only on newer kernels (6.18 does, 6.1 not). */
SEC("tracepoint/tcp/tcp_probe")
int tp_tcp_probe(struct trace_event_raw_tcp_probe *rec)
{
	struct ks_tcp_endpoints e = {};
	struct sock *sk = NULL;

	e.family = rec->family == KS_AF_INET6 ? 6 : 4;
	e.lport = rec->sport;
	e.rport = rec->dport;
	record_addr(e.laddr, rec->saddr, rec->family);
	record_addr(e.raddr, rec->daddr, rec->family);
	if (bpf_core_field_exists(rec->skaddr))
		sk = (struct sock *)rec->skaddr;
	count_sample(&e, rec->srtt, sk);
	return 0;
}

SEC("tp_btf/tcp_probe")
int BPF_PROG(btf_tcp_probe, struct sock *sk)
{
	on_sock(sk);
	return 0;
}

SEC("raw_tp/tcp_probe")
int BPF_PROG(raw_tcp_probe, struct sock *sk)
{
	on_sock(sk);
	return 0;
}

SEC("fentry/tcp_rcv_established")
int BPF_PROG(fentry_tcp_rcv_established, struct sock *sk)
{
	on_sock(sk);
	return 0;
}

SEC("kprobe/tcp_rcv_established")
int BPF_KPROBE(kprobe_tcp_rcv_established, struct sock *sk)
{
	on_sock(sk);
	return 0;
}
