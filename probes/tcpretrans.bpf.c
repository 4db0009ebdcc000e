// SPDX-License-Identifier: GPL-2.0
/* trace tcpretrans: every retransmitted TCP segment with its addresses, ports and the
 * socket's state (tcpretrans from bcc), and SYN-ACKs a listener sends again: one record
 * each. The hooks and filters are common/tcp_retransmit.bpf.h's. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>

#include "common/ringbuf.bpf.h"
#include "common/tcp.bpf.h"
#include "tcpretrans.h"

char LICENSE[] SEC("license") = "GPL";

struct ks_tcp_retransmit;

static __always_inline void on_retransmit(const struct ks_tcp_retransmit *r);

#include "common/tcp_retransmit.bpf.h"

static __always_inline void on_retransmit(const struct ks_tcp_retransmit *r)
{
	struct ks_tcpretrans_event e = {.ends = r->ends, .err = r->err, .state = r->state};

	e.flags = (r->synack ? KS_TCPRETRANS_SYNACK : 0) | (r->task.tgid ? KS_TCPRETRANS_IN_TASK : 0);
	ks_fill_sock_header(&e.hdr, KS_EVENT_TCPRETRANS, sizeof(e), r->full, &r->task);
	e.skaddr = (__u64)r->sk;
	ks_output(&e, sizeof(e));
}
