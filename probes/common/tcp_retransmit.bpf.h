/* What trace tcpretrans and trace tcpretranscount share: the hooks on the two retransmit
 * tracepoints, the --failed knob and the run's filters, which call the including probe's
 *   static __always_inline void on_retransmit(const struct ks_tcp_retransmit *r);
 * for each retransmit the run wants. Declare it (and struct ks_tcp_retransmit) before
 * including this, define it after.
 *
 * tcp:tcp_retransmit_skb fires in __tcp_retransmit_skb(): on 6.1 for each segment sent
 * again; since the record gained err (6.18 has it) for each attempt, err saying why one
 * sent nothing (the segment still queued below TCP, no memory...). Tail loss probes that
 * resend the last segment go through the same function and are seen here; those that send
 * new data are no retransmit. tcp:tcp_retransmit_synack fires as a listener resends a
 * SYN-ACK for a request socket (a connecting socket's SYN retransmits are
 * tcp_retransmit_skb's). */
#ifndef KSCOPE_TCP_RETRANSMIT_BPF_H
#define KSCOPE_TCP_RETRANSMIT_BPF_H

#include "common/core_fixes.bpf.h"
#include "common/tcp.bpf.h"

const volatile __u32 failed_only = 0; /* --failed: only attempts that sent nothing; else
				       * only segments sent */

struct ks_tcp_retransmit {
	struct sock *sk;         /* the socket; for a SYN-ACK, the listener */
	struct sock *full;       /* sk when it is a full socket (its ids), else NULL */
	struct ks_tcp_task task; /* the process holding the socket, or none (tgid 0) */
	struct ks_tcp_endpoints ends;
	__s32 err;
	__u8 state;
	__u8 synack;
};

static __always_inline void ks_retransmit_seen(struct ks_tcp_retransmit *r)
{
	if ((r->err != 0) != (failed_only != 0))
		return;
	r->full = ks_full_sock(r->sk);
	if (ks_sock_held_by_task(r->sk))
		ks_tcp_current_task(&r->task);
	if (!ks_sock_event_wanted(r->full, &r->task))
		return;
	on_retransmit(r);
}

SEC("tracepoint/tcp/tcp_retransmit_skb")
int tp_tcp_retransmit_skb(void *ctx)
{
	struct ks_tcp_retransmit r = {};

	if (bpf_core_type_exists(struct trace_event_raw_tcp_retransmit_skb)) {
		struct trace_event_raw_tcp_retransmit_skb *rec = ctx;

		r.sk = (struct sock *)rec->skaddr;
		r.state = rec->state;
		r.err = rec->err;
		KS_ENDPOINTS_OF_RECORD(&r.ends, rec);
	} else {
		struct trace_event_raw_tcp_event_sk_skb___old *rec = ctx;

		r.sk = (struct sock *)rec->skaddr;
		r.state = rec->state;
		KS_ENDPOINTS_OF_RECORD(&r.ends, rec);
	}
	ks_retransmit_seen(&r);
	return 0;
}

SEC("tracepoint/tcp/tcp_retransmit_synack")
int tp_tcp_retransmit_synack(struct trace_event_raw_tcp_retransmit_synack *rec)
{
	struct ks_tcp_retransmit r = {.state = TCP_NEW_SYN_RECV, .synack = 1};

	r.sk = (struct sock *)rec->skaddr;
	KS_ENDPOINTS_OF_RECORD(&r.ends, rec);
	ks_retransmit_seen(&r);
	return 0;
}

#endif
