// SPDX-License-Identifier: GPL-2.0
/* trace accept: every accept() and accept4() on a TCP socket, with the accepting process, both
 * ends of the new connection and the result.
 *
 * One hook per call, at its exit: the new fd names the accepted socket, which has both ends
 * by then; a failed call reports the listener, named by the fd it was passed. Hook
 * alternatives (user space enables one set): the syscalls exit tracepoints (the listener's
 * fd from the saved registers), tp_btf on the raw sys_exit, fexit on __sys_accept4, or
 * kprobe/kretprobe on it (the fd kept from entry to exit). */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "accept.h"
#include "common/compat.bpf.h"
#include "common/inet_sock.bpf.h"
#include "common/sock_call.bpf.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 failed_only = 0; /* --failed */
const volatile __u16 port_filter = 0; /* --port: the local port */

/* lfd: the fd accept() was passed, -1 when the hook cannot know it (it is needed only when
 * the call failed). */
static __always_inline void on_exit(long lfd, long ret)
{
	struct ks_accept_event e = {};

	if (failed_only && ret >= 0)
		return;
	if (!ks_task_wanted())
		return;
	struct sock *sk = ret >= 0 ? ks_fd_sock(ret) : ks_call_sock(lfd, ret);
	if (!ks_is_tcp(sk))
		return;
	ks_sock_endpoints(sk, &e.ends);
	if (port_filter && e.ends.lport != port_filter)
		return;
	ks_fill_header(&e.hdr, KS_EVENT_ACCEPT, sizeof(e));
	e.ret = ret;
	ks_output(&e, sizeof(e));
}

/* The listener's fd, from the registers the syscall was entered with: read only for a call
 * that failed. The syscalls tracepoints never fire for a 32-bit syscall. */
static __always_inline long listener_fd(long ret)
{
	if (ret >= 0)
		return -1;
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());

	return (int)ks_syscall_arg(regs, 0, 0);
}

SEC("tracepoint/syscalls/sys_exit_accept")
int tp_exit_accept(struct syscall_trace_exit *ctx)
{
	long ret = ctx->ret; /* read once: the verifier refuses a second read off a moved ctx */

	on_exit(listener_fd(ret), ret);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_accept4")
int tp_exit_accept4(struct syscall_trace_exit *ctx)
{
	long ret = ctx->ret; /* read once: the verifier refuses a second read off a moved ctx */

	on_exit(listener_fd(ret), ret);
	return 0;
}

/* The raw hook sees 32-bit tasks' own accept4 syscall too (not socketcall). */
SEC("tp_btf/sys_exit")
int BPF_PROG(btf_sys_exit, struct pt_regs *regs, long ret)
{
	long id = KS_REGS_SYSCALL_NR(regs);

	if (id != KS_NR_accept && !KS_SYSCALL_MAY_BE(id, accept4))
		return 0;
	int compat = ks_compat_syscall();
	if (KS_SYSCALL_IS(id, compat, accept4) || (!compat && id == KS_NR_accept))
		on_exit((int)ks_syscall_arg(regs, 0, compat), ret);
	return 0;
}

/* __sys_accept4() serves accept(), accept4() and socketcall's, 32-bit tasks' too. */
SEC("fexit/__sys_accept4")
int BPF_PROG(fexit_sys_accept4, int fd, struct sockaddr *upeer, int *upeer_len, int flags, int ret)
{
	on_exit(fd, ret);
	return 0;
}

SEC("kprobe/__sys_accept4")
int BPF_KPROBE(kprobe_sys_accept4, int fd)
{
	ks_sock_call_enter(fd, 0);
	return 0;
}

SEC("kretprobe/__sys_accept4")
int BPF_KRETPROBE(kretprobe_sys_accept4, int ret)
{
	struct ks_sock_call call;

	if (ks_sock_call_take(&call))
		on_exit(call.fd, ret);
	return 0;
}
