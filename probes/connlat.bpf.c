// SPDX-License-Identifier: GPL-2.0
/* trace connlat: the time each active TCP open spends in SYN_SENT, from the SYN to the
 * SYN-ACK that establishes it (tcpconnlat), with the process that connected.
 *
 * The TCP state changes only: CLOSE->SYN_SENT runs in the connecting task (connect(), or
 * sendmsg() with TCP Fast Open), which the run's filter is asked about there and which is
 * kept by socket with the time; SYN_SENT->ESTABLISHED runs in softirq or in whichever task
 * releases the socket's lock, so the event takes its task from that entry. A handshake that
 * fails (SYN_SENT->CLOSE) drops its entry. Hook alternatives (user space enables one):
 * sock:inet_sock_set_state as a tracepoint, tp_btf or raw_tp, or fentry or kprobe on
 * tcp_set_state, where the tracepoint fires. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "common/inet_sock.bpf.h"
#include "connlat.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u16 port_filter = 0; /* --port: the remote port */

/* The connecting task's header, ts_ns when the SYN was sent, by socket. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 10240);
	__type(key, __u64);
	__type(value, struct ks_event_header);
} connlat_starts SEC(".maps");

static __always_inline void on_state(struct sock *sk, int oldstate, int newstate)
{
	__u64 key = (__u64)sk;

	if (oldstate == TCP_CLOSE && newstate == TCP_SYN_SENT) {
		struct ks_event_header start;

		if (!ks_is_tcp(sk) || !ks_task_wanted())
			return;
		if (port_filter && ks_sock_rport(sk) != port_filter)
			return;
		ks_fill_header(&start, KS_EVENT_CONNLAT, sizeof(struct ks_connlat_event));
		bpf_map_update_elem(&connlat_starts, &key, &start, BPF_ANY);
		return;
	}
	if (oldstate != TCP_SYN_SENT)
		return;
	struct ks_event_header *start = bpf_map_lookup_elem(&connlat_starts, &key);
	if (!start)
		return;
	if (newstate == TCP_ESTABLISHED) {
		struct ks_connlat_event e = {.hdr = *start};

		e.hdr.ts_ns = bpf_ktime_get_boot_ns();
		e.latency_ns = e.hdr.ts_ns - start->ts_ns;
		ks_sock_endpoints(sk, &e.ends);
		ks_output(&e, sizeof(e));
	}
	bpf_map_delete_elem(&connlat_starts, &key);
}

SEC("tracepoint/sock/inet_sock_set_state")
int tp_inet_sock_set_state(struct trace_event_raw_inet_sock_set_state *ctx)
{
	if (ctx->protocol == IPPROTO_TCP)
		on_state((struct sock *)ctx->skaddr, ctx->oldstate, ctx->newstate);
	return 0;
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(btf_inet_sock_set_state, struct sock *sk, int oldstate, int newstate)
{
	on_state(sk, oldstate, newstate);
	return 0;
}

SEC("raw_tp/inet_sock_set_state")
int raw_inet_sock_set_state(struct bpf_raw_tracepoint_args *ctx)
{
	on_state((struct sock *)ctx->args[0], ctx->args[1], ctx->args[2]);
	return 0;
}

/* tcp_set_state() runs the tracepoint before it changes sk_state: the old state is there. */
SEC("fentry/tcp_set_state")
int BPF_PROG(fentry_tcp_set_state, struct sock *sk, int state)
{
	on_state(sk, BPF_CORE_READ(sk, __sk_common.skc_state), state);
	return 0;
}

SEC("kprobe/tcp_set_state")
int BPF_KPROBE(kprobe_tcp_set_state, struct sock *sk, int state)
{
	on_state(sk, BPF_CORE_READ(sk, __sk_common.skc_state), state);
	return 0;
}
