// SPDX-License-Identifier: GPL-2.0
/* trace listen: every listen() of an IPv4 or IPv6 socket, with the address and port it
 * listens on, the backlog passed and the one in force, and the result (solisten).
 *
 * One hook per call, at its exit, where the socket has its address (listen() binds an
 * unbound socket). Hook alternatives (user space enables one set): the syscalls exit
 * tracepoint (the arguments from the saved registers), tp_btf on the raw sys_exit, fexit on
 * __sys_listen, or kprobe/kretprobe on it (the arguments kept from entry to exit). */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "common/compat.bpf.h"
#include "common/inet_sock.bpf.h"
#include "common/sock_call.bpf.h"
#include "listen.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 failed_only = 0; /* --failed */
const volatile __u16 port_filter = 0; /* --port */

static __always_inline void on_exit(long fd, long backlog, long ret)
{
	struct ks_listen_event e = {};

	if (failed_only && ret == 0)
		return;
	if (!ks_task_wanted())
		return;
	struct sock *sk = ks_call_sock(fd, ret);
	if (!sk || !ks_is_inet(sk))
		return;
	ks_sock_endpoints(sk, &e.ends);
	if (port_filter && e.ends.lport != port_filter)
		return;
	ks_fill_header(&e.hdr, KS_EVENT_LISTEN, sizeof(e));
	e.ret = ret;
	e.backlog = backlog;
	e.max_backlog = BPF_CORE_READ(sk, sk_max_ack_backlog);
	e.protocol = BPF_CORE_READ(sk, sk_protocol);
	ks_output(&e, sizeof(e));
}

/* listen()'s arguments from the registers it was entered with. The syscalls tracepoints
 * never fire for a 32-bit syscall. */
SEC("tracepoint/syscalls/sys_exit_listen")
int tp_exit_listen(struct syscall_trace_exit *ctx)
{
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());

	on_exit((int)ks_syscall_arg(regs, 0, 0), (int)ks_syscall_arg(regs, 1, 0), ctx->ret);
	return 0;
}

/* The raw hook sees 32-bit tasks' own listen syscall too (not socketcall). */
SEC("tp_btf/sys_exit")
int BPF_PROG(btf_sys_exit, struct pt_regs *regs, long ret)
{
	long id = KS_REGS_SYSCALL_NR(regs);

	if (!KS_SYSCALL_MAY_BE(id, listen))
		return 0;
	int compat = ks_compat_syscall();
	if (KS_SYSCALL_IS(id, compat, listen))
		on_exit((int)ks_syscall_arg(regs, 0, compat), (int)ks_syscall_arg(regs, 1, compat),
			ret);
	return 0;
}

/* __sys_listen() serves listen() and socketcall's, 32-bit tasks' too. */
SEC("fexit/__sys_listen")
int BPF_PROG(fexit_sys_listen, int fd, int backlog, int ret)
{
	on_exit(fd, backlog, ret);
	return 0;
}

SEC("kprobe/__sys_listen")
int BPF_KPROBE(kprobe_sys_listen, int fd, int backlog)
{
	ks_sock_call_enter(fd, backlog);
	return 0;
}

SEC("kretprobe/__sys_listen")
int BPF_KRETPROBE(kretprobe_sys_listen, int ret)
{
	struct ks_sock_call call;

	if (ks_sock_call_take(&call))
		on_exit(call.fd, (int)call.arg, ret);
	return 0;
}
