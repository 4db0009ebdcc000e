// SPDX-License-Identifier: GPL-2.0
/* trace tcptop: the bytes each process sends and receives on each TCP connection, summed in
 * the kernel (tcptop of libbpf-tools). Nothing goes to the ring buffer.
 *
 * A process's send and receive calls are counted by what they returned: the bytes they
 * really moved, not the size asked for; a receive that only peeks (MSG_PEEK) moves nothing.
 * Hook alternatives (user space enables one set): the sock_send_length and
 * sock_recv_length tracepoints (Linux 6.3+), which fire as every socket send and receive
 * call returns, or tp_btf or raw_tp on them; fexit on tcp_sendmsg() and tcp_recvmsg(), or
 * kprobes and kretprobes on them, where those tracepoints are missing. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "common/inet_sock.bpf.h"
#include "tcptop.h"

char LICENSE[] SEC("license") = "GPL";

#define KS_MSG_PEEK 0x2 /* include/linux/socket.h: a macro, so not in BTF */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, struct ks_tcptop_key);
	__type(value, struct ks_tcptop_bytes);
} tcptop_bytes SEC(".maps");

/* Calls whose bytes could not be counted (tcptop_bytes full): counted, never dropped
 * silently. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} tcptop_bytes_full SEC(".maps");

/* The calls the kprobes saw start, by thread, for their kretprobes: the socket and the
 * receive flags. */
struct tcptop_call {
	struct sock *sk;
	__u64 flags;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 10240);
	__type(key, __u64); /* pid_tgid */
	__type(value, struct tcptop_call);
} tcptop_calls SEC(".maps");

/* A call of the current task moved `bytes` (<= 0: none, or an error) through socket `sk`. */
static __always_inline void count_bytes(struct sock *sk, long bytes, int received)
{
	static const struct ks_tcptop_bytes zero = {};
	struct ks_tcptop_key key = {};
	struct ks_tcptop_bytes *b;

	if (bytes <= 0 || !ks_is_tcp(sk) || !ks_task_wanted())
		return;
	key.tgid = bpf_get_current_pid_tgid() >> 32;
	bpf_get_current_comm(key.comm, sizeof(key.comm));
	ks_sock_endpoints(sk, &key.ends);
	b = bpf_map_lookup_elem(&tcptop_bytes, &key);
	if (!b) {
		bpf_map_update_elem(&tcptop_bytes, &key, &zero, BPF_NOEXIST);
		b = bpf_map_lookup_elem(&tcptop_bytes, &key);
		if (!b) {
			ks_count(&tcptop_bytes_full);
			return;
		}
	}
	__sync_fetch_and_add(received ? &b->received : &b->sent, bytes);
}

static __always_inline void on_send(struct sock *sk, long ret)
{
	count_bytes(sk, ret, 0);
}

static __always_inline void on_recv(struct sock *sk, long ret, long flags)
{
	if (!(flags & KS_MSG_PEEK))
		count_bytes(sk, ret, 1);
}

/* The records pass the socket's protocol; other protocols are let go before any read. */
SEC("tracepoint/sock/sock_send_length")
int tp_sock_send_length(struct trace_event_raw_sock_msg_length *rec)
{
	if (rec->protocol == KS_IPPROTO_TCP)
		on_send(rec->sk, rec->ret);
	return 0;
}

SEC("tracepoint/sock/sock_recv_length")
int tp_sock_recv_length(struct trace_event_raw_sock_msg_length *rec)
{
	if (rec->protocol == KS_IPPROTO_TCP)
		on_recv(rec->sk, rec->ret, rec->flags);
	return 0;
}

SEC("tp_btf/sock_send_length")
int BPF_PROG(btf_sock_send_length, struct sock *sk, int ret, int flags)
{
	on_send(sk, ret);
	return 0;
}

SEC("tp_btf/sock_recv_length")
int BPF_PROG(btf_sock_recv_length, struct sock *sk, int ret, int flags)
{
	on_recv(sk, ret, flags);
	return 0;
}

SEC("raw_tp/sock_send_length")
int BPF_PROG(raw_sock_send_length, struct sock *sk, int ret, int flags)
{
	on_send(sk, ret);
	return 0;
}

SEC("raw_tp/sock_recv_length")
int BPF_PROG(raw_sock_recv_length, struct sock *sk, int ret, int flags)
{
	on_recv(sk, ret, flags);
	return 0;
}

/* tcp_recvmsg()'s flags are its fourth argument since Linux 5.19 (which dropped `nonblock`
 * before them); on older kernels that argument is nonblock, which never has MSG_PEEK set, so
 * their peeks count as received. */
SEC("fexit/tcp_sendmsg")
int BPF_PROG(fexit_tcp_sendmsg, struct sock *sk, struct msghdr *msg, size_t size, int ret)
{
	on_send(sk, ret);
	return 0;
}

SEC("fexit/tcp_recvmsg")
int BPF_PROG(fexit_tcp_recvmsg, struct sock *sk, struct msghdr *msg, size_t len, int flags,
	     int *addr_len, int ret)
{
	on_recv(sk, ret, flags);
	return 0;
}

static __always_inline void call_starts(struct sock *sk, __u64 flags)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct tcptop_call call = {.sk = sk, .flags = flags};

	bpf_map_update_elem(&tcptop_calls, &id, &call, BPF_ANY);
}

/* The call the current thread started, taken out of tcptop_calls into `call`; 0 when its
 * start was not seen (the probe attached meanwhile). */
static __always_inline int call_ends(struct tcptop_call *call)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct tcptop_call *c = bpf_map_lookup_elem(&tcptop_calls, &id);

	if (!c)
		return 0;
	*call = *c;
	bpf_map_delete_elem(&tcptop_calls, &id);
	return 1;
}

SEC("kprobe/tcp_sendmsg")
int BPF_KPROBE(kprobe_tcp_sendmsg, struct sock *sk)
{
	call_starts(sk, 0);
	return 0;
}

SEC("kretprobe/tcp_sendmsg")
int BPF_KRETPROBE(kretprobe_tcp_sendmsg, int ret)
{
	struct tcptop_call call;

	if (call_ends(&call))
		on_send(call.sk, ret);
	return 0;
}

SEC("kprobe/tcp_recvmsg")
int BPF_KPROBE(kprobe_tcp_recvmsg, struct sock *sk, struct msghdr *msg, size_t len, int flags)
{
	call_starts(sk, flags);
	return 0;
}

SEC("kretprobe/tcp_recvmsg")
int BPF_KRETPROBE(kretprobe_tcp_recvmsg, int ret)
{
	struct tcptop_call call;

	if (call_ends(&call))
		on_recv(call.sk, ret, call.flags);
	return 0;
}
