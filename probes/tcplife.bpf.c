// SPDX-License-Identifier: GPL-2.0
/* trace tcplife: one record per TCP connection when it closes, with the process that opened
 * it, the payload bytes each way and its duration (tcplife from bcc).
 *
 * sock:inet_sock_set_state marks a connection's birth (CLOSE -> SYN_SENT in connect(),
 * LISTEN -> SYN_RECV as a listener clones a socket for a SYN) and its end (-> CLOSE). A map
 * keyed by the socket's address keeps the birth time and the opener: connect()'s task, or
 * for a passive socket the task whose accept() returned it, which the syscall exit
 * tracepoints show. At CLOSE the byte counts are read from the tcp_sock. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>

#include "common/tcp.bpf.h"
#include "tcplife.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 failed_only = 0; /* --failed: only connections never established */

struct tcplife_sock {
	__u64 born_ns;
	struct ks_tcp_task opener;
	__u8 flags; /* KS_TCPLIFE_ACTIVE, KS_TCPLIFE_START_UNKNOWN */
};

/* LRU: a socket whose CLOSE the probe missed cannot fill it for good. An evicted socket is
 * reported with its start unknown. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct tcplife_sock);
} tcplife_socks SEC(".maps");

/* A change before CLOSE: a new connection is remembered, and one the probe met after its
 * birth too (start unknown), so that its close names a process; a listener is none. */
static __always_inline void on_change(__u64 skaddr, int oldstate, int newstate, int in_task)
{
	struct tcplife_sock *known = bpf_map_lookup_elem(&tcplife_socks, &skaddr);

	if (known) {
		if (!known->opener.tgid && in_task)
			ks_tcp_current_task(&known->opener);
		return;
	}
	if (newstate == TCP_LISTEN)
		return;
	struct tcplife_sock s = {.born_ns = bpf_ktime_get_boot_ns()};

	if (oldstate == TCP_CLOSE && newstate == TCP_SYN_SENT)
		s.flags = KS_TCPLIFE_ACTIVE;
	else if (!(oldstate == TCP_LISTEN && newstate == TCP_SYN_RECV))
		s.flags = KS_TCPLIFE_START_UNKNOWN;
	if (in_task)
		ks_tcp_current_task(&s.opener);
	bpf_map_update_elem(&tcplife_socks, &skaddr, &s, BPF_ANY);
}

/* Payload bytes, without the sequence numbers SYN and FIN take. bytes_acked counts an
 * active socket's SYN (snd_una starts at the ISN; a passive socket's starts past its
 * SYN-ACK) and our FIN once acknowledged; bytes_received counts the peer's FIN, after which
 * tcp_fin() has set SOCK_DONE. bytes_sent - bytes_retrans is each payload byte sent once,
 * which acknowledged payload never exceeds, while an acknowledged FIN does. */
static __always_inline void read_bytes(struct sock *sk, __u8 flags, struct ks_tcplife_event *e)
{
	struct tcp_sock *tp = (struct tcp_sock *)sk;
	__u64 acked = BPF_CORE_READ(tp, bytes_acked);
	__u64 sent = BPF_CORE_READ(tp, bytes_sent) - BPF_CORE_READ(tp, bytes_retrans);
	__u64 received = BPF_CORE_READ(tp, bytes_received);
	__u64 done = 1ull << bpf_core_enum_value(enum sock_flags, SOCK_DONE);

	if ((flags & KS_TCPLIFE_ACTIVE) && acked)
		acked--;
	e->tx_bytes = acked < sent ? acked : sent;
	e->rx_bytes = received && (BPF_CORE_READ(sk, __sk_common.skc_flags) & done) ? received - 1 : received;
}

static __always_inline void on_close(struct trace_event_raw_inet_sock_set_state *rec,
				     __u64 skaddr)
{
	struct sock *sk = (struct sock *)rec->skaddr;
	struct tcplife_sock *known = bpf_map_lookup_elem(&tcplife_socks, &skaddr);
	struct tcplife_sock s = {.flags = KS_TCPLIFE_START_UNKNOWN};
	int oldstate = rec->oldstate;

	if (known) {
		s = *known;
		bpf_map_delete_elem(&tcplife_socks, &skaddr);
	} else if (ks_sock_held_by_task(sk)) {
		ks_tcp_current_task(&s.opener);
	}
	if (failed_only && oldstate != TCP_SYN_SENT && oldstate != TCP_SYN_RECV)
		return;
	if (!ks_sock_event_wanted(sk, &s.opener))
		return;

	struct ks_tcplife_event e = {};

	ks_fill_sock_header(&e.hdr, KS_EVENT_TCPLIFE, sizeof(e), sk, &s.opener);
	e.skaddr = skaddr;
	if (!(s.flags & KS_TCPLIFE_START_UNKNOWN))
		e.duration_ns = e.hdr.ts_ns - s.born_ns;
	read_bytes(sk, s.flags, &e);
	KS_ENDPOINTS_OF_RECORD(&e.ends, rec);
	e.last_state = oldstate;
	e.flags = s.flags;
	ks_output(&e, sizeof(e));
}

SEC("tracepoint/sock/inet_sock_set_state")
int tp_inet_sock_set_state(struct trace_event_raw_inet_sock_set_state *rec)
{
	__u64 skaddr = (__u64)rec->skaddr;
	int oldstate = rec->oldstate, newstate = rec->newstate;

	if (rec->protocol != KS_IPPROTO_TCP || oldstate == newstate)
		return 0;
	if (newstate != TCP_CLOSE)
		on_change(skaddr, oldstate, newstate, ks_sock_held_by_task((struct sock *)rec->skaddr));
	else if (oldstate != TCP_LISTEN) /* a listener is no connection */
		on_close(rec, skaddr);
	return 0;
}

/* A passive socket's opener is the process whose accept() returned it. */
static __always_inline void on_accept_exit(long fd)
{
	__u64 skaddr = (__u64)ks_fd_sock(fd);
	struct tcplife_sock *known = bpf_map_lookup_elem(&tcplife_socks, &skaddr);

	if (known && !known->opener.tgid)
		ks_tcp_current_task(&known->opener);
}

KS_ACCEPT_EXIT_PROGRAMS(on_accept_exit)
