// SPDX-License-Identifier: GPL-2.0
/* trace tcpstates: every state change of every TCP socket, with the time the socket spent
 * in the state it leaves (tcpstates from bcc).
 *
 * sock:inet_sock_set_state fires on each change, in a process holding the socket (connect,
 * listen, close) or in softirq (a packet that moved it). A map keyed by the socket's address
 * keeps when it entered its state and the last process seen with it: one that held it as it
 * changed, or the one whose accept() returned it, which the syscall exit tracepoints show. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>

#include "common/tcp.bpf.h"
#include "tcpstates.h"

char LICENSE[] SEC("license") = "GPL";

struct tcpstates_sock {
	__u64 entered_ns;
	struct ks_tcp_task owner;
};

/* LRU: a socket whose CLOSE the probe missed cannot fill it for good. An evicted socket's
 * next change reports its time in state as unknown. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct tcpstates_sock);
} tcpstates_socks SEC(".maps");

SEC("tracepoint/sock/inet_sock_set_state")
int tp_inet_sock_set_state(struct trace_event_raw_inet_sock_set_state *rec)
{
	if (rec->protocol != KS_IPPROTO_TCP)
		return 0;

	__u64 skaddr = (__u64)rec->skaddr;
	struct sock *sk = (struct sock *)rec->skaddr;
	struct tcpstates_sock *known = bpf_map_lookup_elem(&tcpstates_socks, &skaddr);
	struct tcpstates_sock now = {.entered_ns = bpf_ktime_get_boot_ns()};
	struct ks_tcpstates_event e = {};

	if (ks_sock_held_by_task(sk)) {
		ks_tcp_current_task(&now.owner);
		e.flags |= KS_TCPSTATES_IN_TASK;
	} else if (known) {
		now.owner = known->owner;
	}
	if (known)
		e.old_state_ns = now.entered_ns - known->entered_ns;
	else
		e.flags |= KS_TCPSTATES_TIME_UNKNOWN;
	if (rec->newstate == TCP_CLOSE)
		bpf_map_delete_elem(&tcpstates_socks, &skaddr);
	else
		bpf_map_update_elem(&tcpstates_socks, &skaddr, &now, BPF_ANY);

	if (!ks_sock_event_wanted(sk, &now.owner))
		return 0;
	ks_fill_sock_header(&e.hdr, KS_EVENT_TCPSTATES, sizeof(e), sk, &now.owner);
	e.hdr.ts_ns = now.entered_ns;
	e.skaddr = skaddr;
	KS_ENDPOINTS_OF_RECORD(&e.ends, rec);
	e.oldstate = rec->oldstate;
	e.newstate = rec->newstate;
	ks_output(&e, sizeof(e));
	return 0;
}

/* A passive socket changes state in softirq until its process accepts it: from then on
 * its changes name that process. */
static __always_inline void on_accept_exit(long fd)
{
	if (fd < 0)
		return;
	__u64 skaddr = (__u64)ks_fd_sock(fd);
	struct tcpstates_sock *known = bpf_map_lookup_elem(&tcpstates_socks, &skaddr);

	if (known)
		ks_tcp_current_task(&known->owner);
}

KS_ACCEPT_EXIT_PROGRAMS(on_accept_exit)
