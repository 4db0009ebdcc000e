// SPDX-License-Identifier: GPL-2.0
/* trace connect: every connect() on a TCP socket, with both ends and the result, and the later
 * failure of a handshake that connect() returned before (a non-blocking connect's
 * EINPROGRESS).
 *
 * Three hooks: connect()'s entry keeps the fd and the sockaddr pointer by thread
 * (sock_call.bpf.h); the TCP state change CLOSE->SYN_SENT, which runs inside that
 * connect(), keeps the connecting task's header by socket; connect()'s exit reports. The
 * handshake leaves SYN_SENT in softirq, where the current task is any task: there the
 * socket's entry names the connecting task, and the endpoints are read, since a refused
 * socket has lost its local port and address by the time a blocking connect() returns.
 * Hook alternatives (user space enables one set): syscalls tracepoints and
 * sock:inet_sock_set_state, tp_btf on the raw sys_enter/sys_exit and inet_sock_set_state,
 * or fentry/fexit or kprobe/kretprobe on __sys_connect and tcp_set_state. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "common/compat.bpf.h"
#include "common/inet_sock.bpf.h"
#include "common/sock_call.bpf.h"
#include "connect.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 failed_only = 0;  /* --failed: errors only, not EINPROGRESS */
const volatile __u16 port_filter = 0;  /* --port: the remote port */

#define KS_HS_EXITED 0x1 /* the connect() that sent the SYN has returned */
#define KS_HS_ENDED 0x2  /* the socket has left SYN_SENT: ends, err and newstate are set */

/* A handshake a traced connect() started, by socket: set at CLOSE->SYN_SENT, deleted by
 * whichever of connect()'s exit and the end of SYN_SENT comes second. */
struct handshake {
	struct ks_event_header hdr; /* the connecting task's */
	struct ks_tcp_endpoints ends;
	__s32 err;     /* sk_err as SYN_SENT ended: ECONNREFUSED, ETIMEDOUT, EHOSTUNREACH... */
	__u32 newstate;
	__u64 done;    /* KS_HS_*, set atomically: the two sides may run on two CPUs at once
			* (64 bits: 32-bit fetch atomics need BPF v3 code) */
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 10240);
	__type(key, __u64);
	__type(value, struct handshake);
} connect_handshakes SEC(".maps");

/* A handshake that failed after its connect() returned. */
static __always_inline void emit_handshake(struct handshake *hs)
{
	struct ks_connect_event e = {};

	if (hs->newstate != TCP_CLOSE || !hs->err)
		return;
	e.hdr = hs->hdr;
	e.hdr.ts_ns = bpf_ktime_get_boot_ns();
	e.ends = hs->ends;
	e.ret = -hs->err;
	e.flags = KS_CONNECT_HANDSHAKE;
	ks_output(&e, sizeof(e));
}

static __always_inline void on_state(struct sock *sk, int oldstate, int newstate)
{
	__u64 key = (__u64)sk;

	if (oldstate == TCP_CLOSE && newstate == TCP_SYN_SENT) {
		/* Inside connect() (not a TCP Fast Open sendmsg(), which no connect() marked). */
		struct handshake hs = {};

		if (!ks_sock_call_pending() || !ks_is_tcp(sk))
			return;
		if (port_filter && ks_sock_rport(sk) != port_filter)
			return;
		ks_fill_header(&hs.hdr, KS_EVENT_CONNECT, sizeof(struct ks_connect_event));
		bpf_map_update_elem(&connect_handshakes, &key, &hs, BPF_ANY);
		return;
	}
	if (oldstate != TCP_SYN_SENT)
		return;
	struct handshake *hs = bpf_map_lookup_elem(&connect_handshakes, &key);
	if (!hs)
		return;
	/* Before tcp_set_state() goes on: a refused socket still has its port and address. */
	ks_sock_endpoints(sk, &hs->ends);
	hs->err = BPF_CORE_READ(sk, sk_err);
	hs->newstate = newstate;
	if (__sync_fetch_and_or(&hs->done, KS_HS_ENDED) & KS_HS_EXITED) {
		emit_handshake(hs);
		bpf_map_delete_elem(&connect_handshakes, &key);
	}
}

static __always_inline void on_exit(long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct ks_sock_call call;

	if (!ks_sock_call_take(&call))
		return;
	const void *uaddr = (const void *)call.arg;
	struct sock *sk = ks_call_sock(call.fd, ret);
	if (!ks_is_tcp(sk))
		return;

	struct ks_connect_event e = {};
	__u64 key = (__u64)sk;
	__u64 done = 0;
	struct handshake *hs = bpf_map_lookup_elem(&connect_handshakes, &key);
	if (hs && hs->hdr.pid == tid) {
		done = __sync_fetch_and_or(&hs->done, KS_HS_EXITED);
		if (done & KS_HS_EXITED)
			hs = NULL; /* an earlier connect() of this socket started that handshake */
	} else {
		hs = NULL;
	}
	if (hs && (done & KS_HS_ENDED))
		e.ends = hs->ends;
	else
		ks_sock_endpoints(sk, &e.ends);
	/* No remote end: connect() failed before the SYN. Where it was asked to go, then. */
	if (!e.ends.rport && ks_read_user_sockaddr(uaddr, 1, &e.ends) < 0)
		e.flags |= KS_CONNECT_ADDR_UNREADABLE;

	if ((!port_filter || e.ends.rport == port_filter) &&
	    (!failed_only || (ret != 0 && ret != -KS_EINPROGRESS))) {
		ks_fill_header(&e.hdr, KS_EVENT_CONNECT, sizeof(e));
		e.ret = ret;
		ks_output(&e, sizeof(e));
	}
	if (hs && (done & KS_HS_ENDED)) {
		/* The handshake ended inside this connect(): in the backlog that release_sock()
		 * ran, for a non-blocking connect that still returns EINPROGRESS. */
		if (ret == -KS_EINPROGRESS)
			emit_handshake(hs);
		bpf_map_delete_elem(&connect_handshakes, &key);
	}
}

/* syscalls:sys_* records are struct syscall_trace_enter/exit (see exec.bpf.c). They never
 * fire for a 32-bit syscall. */
SEC("tracepoint/syscalls/sys_enter_connect")
int tp_enter_connect(struct syscall_trace_enter *ctx)
{
	ks_sock_call_enter((int)ctx->args[0], ctx->args[1]);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_connect")
int tp_exit_connect(struct syscall_trace_exit *ctx)
{
	on_exit(ctx->ret);
	return 0;
}

SEC("tracepoint/sock/inet_sock_set_state")
int tp_inet_sock_set_state(struct trace_event_raw_inet_sock_set_state *ctx)
{
	if (ctx->protocol == IPPROTO_TCP)
		on_state((struct sock *)ctx->skaddr, ctx->oldstate, ctx->newstate);
	return 0;
}

/* The raw hooks see 32-bit tasks' own connect syscall too (not socketcall). */
SEC("tp_btf/sys_enter")
int BPF_PROG(btf_sys_enter, struct pt_regs *regs, long id)
{
	if (!KS_SYSCALL_MAY_BE(id, connect))
		return 0;
	int compat = ks_compat_syscall();
	if (KS_SYSCALL_IS(id, compat, connect))
		ks_sock_call_enter((int)ks_syscall_arg(regs, 0, compat),
				   ks_syscall_arg(regs, 1, compat));
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(btf_sys_exit, struct pt_regs *regs, long ret)
{
	if (KS_SYSCALL_MAY_BE(KS_REGS_SYSCALL_NR(regs), connect))
		on_exit(ret); /* only a call whose entry was kept is reported */
	return 0;
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(btf_inet_sock_set_state, struct sock *sk, int oldstate, int newstate)
{
	on_state(sk, oldstate, newstate);
	return 0;
}

/* __sys_connect() serves connect() and socketcall(SYS_CONNECT), 32-bit tasks' too;
 * tcp_set_state() is where inet_sock_set_state fires, before the state changes. */
SEC("fentry/__sys_connect")
int BPF_PROG(fentry_sys_connect, int fd, struct sockaddr *uaddr)
{
	ks_sock_call_enter(fd, (__u64)uaddr);
	return 0;
}

SEC("fexit/__sys_connect")
int BPF_PROG(fexit_sys_connect, int fd, struct sockaddr *uaddr, int addrlen, int ret)
{
	on_exit(ret);
	return 0;
}

SEC("fentry/tcp_set_state")
int BPF_PROG(fentry_tcp_set_state, struct sock *sk, int state)
{
	on_state(sk, BPF_CORE_READ(sk, __sk_common.skc_state), state);
	return 0;
}

SEC("kprobe/__sys_connect")
int BPF_KPROBE(kprobe_sys_connect, int fd, struct sockaddr *uaddr)
{
	ks_sock_call_enter(fd, (__u64)uaddr);
	return 0;
}

SEC("kretprobe/__sys_connect")
int BPF_KRETPROBE(kretprobe_sys_connect, int ret)
{
	on_exit(ret);
	return 0;
}

SEC("kprobe/tcp_set_state")
int BPF_KPROBE(kprobe_tcp_set_state, struct sock *sk, int state)
{
	on_state(sk, BPF_CORE_READ(sk, __sk_common.skc_state), state);
	return 0;
}
