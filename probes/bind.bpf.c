// SPDX-License-Identifier: GPL-2.0
/* trace bind: every bind() of an IPv4 or IPv6 socket (TCP, UDP, any protocol), with the
 * address and port it got or asked for, the result and the socket's binding options.
 *
 * One hook per call, at its exit, where the socket has the address bind() gave it (a port
 * the kernel picked for port 0 included); a failed bind() reports the address it was passed.
 * Hook alternatives (user space enables one set): the syscalls exit tracepoint (the
 * arguments from the saved registers), tp_btf on the raw sys_exit, fexit on __sys_bind, or
 * kprobe/kretprobe on it (the arguments kept from entry to exit). */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "bind.h"
#include "common/compat.bpf.h"
#include "common/core_fixes.bpf.h"
#include "common/inet_sock.bpf.h"
#include "common/sock_call.bpf.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 failed_only = 0; /* --failed */
const volatile __u16 port_filter = 0; /* --port */

static __always_inline __u32 bind_opts(struct sock *sk)
{
	struct sock_common *c = &sk->__sk_common;
	__u32 inet = ks_inet_bind_flags(sk);
	__u32 opts = 0;

	if (BPF_CORE_READ_BITFIELD_PROBED(c, skc_reuse))
		opts |= KS_BIND_REUSEADDR;
	if (BPF_CORE_READ_BITFIELD_PROBED(c, skc_reuseport))
		opts |= KS_BIND_REUSEPORT;
	if (BPF_CORE_READ_BITFIELD_PROBED(c, skc_ipv6only))
		opts |= KS_BIND_V6ONLY;
	if (inet & KS_INET_FREEBIND)
		opts |= KS_BIND_FREEBIND;
	if (inet & KS_INET_TRANSPARENT)
		opts |= KS_BIND_TRANSPARENT;
	if (inet & KS_INET_BIND_ADDRESS_NO_PORT)
		opts |= KS_BIND_ADDRESS_NO_PORT;
	return opts;
}

static __always_inline void on_exit(long fd, const void *uaddr, long ret)
{
	struct ks_bind_event e = {};

	if (failed_only && ret == 0)
		return;
	if (!ks_task_wanted())
		return;
	struct sock *sk = ks_call_sock(fd, ret);
	if (!sk || !ks_is_inet(sk))
		return;
	if (ret == 0)
		ks_sock_endpoints(sk, &e.ends);
	else if (ks_read_user_sockaddr(uaddr, 0, &e.ends) < 0)
		e.flags = KS_BIND_ADDR_UNREADABLE;
	__builtin_memset(e.ends.raddr, 0, sizeof(e.ends.raddr));
	e.ends.rport = 0;
	if (port_filter && e.ends.lport != port_filter)
		return;
	ks_fill_header(&e.hdr, KS_EVENT_BIND, sizeof(e));
	e.ret = ret;
	e.opts = bind_opts(sk);
	e.bound_dev_if = BPF_CORE_READ(sk, __sk_common.skc_bound_dev_if);
	e.protocol = BPF_CORE_READ(sk, sk_protocol);
	ks_output(&e, sizeof(e));
}

/* bind()'s arguments from the registers it was entered with. The syscalls tracepoints never
 * fire for a 32-bit syscall. */
SEC("tracepoint/syscalls/sys_exit_bind")
int tp_exit_bind(struct syscall_trace_exit *ctx)
{
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());

	on_exit((int)ks_syscall_arg(regs, 0, 0), (const void *)ks_syscall_arg(regs, 1, 0),
		ctx->ret);
	return 0;
}

/* The raw hook sees 32-bit tasks' own bind syscall too (not socketcall). */
SEC("tp_btf/sys_exit")
int BPF_PROG(btf_sys_exit, struct pt_regs *regs, long ret)
{
	long id = KS_REGS_SYSCALL_NR(regs);

	if (!KS_SYSCALL_MAY_BE(id, bind))
		return 0;
	int compat = ks_compat_syscall();
	if (KS_SYSCALL_IS(id, compat, bind))
		on_exit((int)ks_syscall_arg(regs, 0, compat),
			(const void *)ks_syscall_arg(regs, 1, compat), ret);
	return 0;
}

/* __sys_bind() serves bind() and socketcall's, 32-bit tasks' too. */
SEC("fexit/__sys_bind")
int BPF_PROG(fexit_sys_bind, int fd, struct sockaddr *uaddr, int addrlen, int ret)
{
	on_exit(fd, uaddr, ret);
	return 0;
}

SEC("kprobe/__sys_bind")
int BPF_KPROBE(kprobe_sys_bind, int fd, struct sockaddr *uaddr)
{
	ks_sock_call_enter(fd, (__u64)uaddr);
	return 0;
}

SEC("kretprobe/__sys_bind")
int BPF_KRETPROBE(kretprobe_sys_bind, int ret)
{
	struct ks_sock_call call;

	if (ks_sock_call_take(&call))
		on_exit(call.fd, (const void *)call.arg, ret);
	return 0;
}
