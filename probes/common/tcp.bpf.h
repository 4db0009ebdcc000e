/* What the TCP probes share: endpoints from a tcp or sock tracepoint record, the header of a
 * socket's event, the run's task filter applied to it, and the socket behind an fd. */
#ifndef KSCOPE_TCP_BPF_H
#define KSCOPE_TCP_BPF_H

#include <bpf/bpf_endian.h>

#include "common/filter.bpf.h"
#include "common/ringbuf.bpf.h"
#include "common/tcp.h"

/* Macros in the kernel, so not in BTF. */
#define KS_AF_INET 2
#define KS_AF_INET6 10
#define KS_IPPROTO_TCP 6
#define KS_S_IFMT 00170000
#define KS_S_IFSOCK 0140000

/* Every tcp and sock tracepoint record (but tcp_send_reset's since 6.10) names the endpoints
 * alike, the socket's side first: family, sport and dport in host order, saddr/daddr for
 * IPv4 and saddr_v6/daddr_v6 for IPv6. The arrays are copied by a helper: a copy through a
 * context pointer moved to a relocated field offset is one the verifier refuses. */
#define KS_ENDPOINTS_OF_RECORD(e, rec)                                                          \
	do {                                                                                    \
		(e)->lport = (rec)->sport;                                                      \
		(e)->rport = (rec)->dport;                                                      \
		if ((rec)->family == KS_AF_INET6) {                                             \
			(e)->family = 6;                                                        \
			bpf_probe_read_kernel((e)->laddr, 16, (rec)->saddr_v6);                 \
			bpf_probe_read_kernel((e)->raddr, 16, (rec)->daddr_v6);                 \
		} else {                                                                        \
			(e)->family = 4;                                                        \
			bpf_probe_read_kernel((e)->laddr, 4, (rec)->saddr);                     \
			bpf_probe_read_kernel((e)->raddr, 4, (rec)->daddr);                     \
		}                                                                               \
	} while (0)

/* A process as an event names it: the task it ran in, or the socket's owner as a probe
 * remembered it. tgid 0: none. */
struct ks_tcp_task {
	__u32 tgid;
	__u32 pid;
	char comm[KS_COMM_LEN];
};

static __always_inline void ks_tcp_current_task(struct ks_tcp_task *t)
{
	__u64 id = bpf_get_current_pid_tgid();

	t->tgid = id >> 32;
	t->pid = (__u32)id;
	bpf_get_current_comm(t->comm, sizeof(t->comm));
}

/* The socket's own ids, which hold in any context: its owner's uid (sk_uid, from the
 * creating task; a passive socket inherits its listener's) and its cgroup v2 id (the
 * cgroup of the task that created it, or of the listener's creator). */
static __always_inline __u32 ks_sock_uid(const struct sock *sk)
{
	return BPF_CORE_READ(sk, sk_uid.val);
}

static __always_inline __u64 ks_sock_cgroup_id(const struct sock *sk)
{
	return BPF_CORE_READ(sk, sk_cgrp_data.cgroup, kn, id);
}

/* sk when it is a full socket, else NULL: a timewait or request socket (TCP_TIME_WAIT,
 * TCP_NEW_SYN_RECV), which a reset or a SYN-ACK may name, is only a struct sock_common,
 * without sk_uid or sk_cgrp_data. */
static __always_inline struct sock *ks_full_sock(struct sock *sk)
{
	int state = BPF_CORE_READ(sk, __sk_common.skc_state);

	return sk && state != TCP_TIME_WAIT && state != TCP_NEW_SYN_RECV ? sk : NULL;
}

/* Whether the current task holds the socket (lock_sock(), sk_lock.owned): a change made by
 * the process in a syscall (connect, close...), or by the process's release_sock() running
 * what arrived meanwhile. Softirq and timers never change a socket a process holds: they
 * queue their work to its backlog instead. So 0 means the event ran for no process: the
 * current task is whichever one the CPU was in. (The tracepoint's own context flags are out
 * of reach: its first 8 bytes hold pt_regs for BPF; a per-CPU preempt count read through a
 * ksym needs CONFIG_KALLSYMS_ALL.) */
static __always_inline int ks_sock_held_by_task(struct sock *sk)
{
	struct sock *full = ks_full_sock(sk);

	return full && BPF_CORE_READ(full, sk_lock.owned);
}

/* The run's task filter (common/filter.bpf.h) against the ids a socket's event carries:
 * the socket's uid and cgroup, and the process it names (none, tgid 0, fails --pid and
 * --comm). In softirq the current task is whichever one the CPU was in, so
 * ks_task_wanted() would test the wrong one. */
static __always_inline int ks_sock_event_wanted(const struct sock *sk,
						const struct ks_tcp_task *t)
{
	if (filter_tgid && t->tgid != filter_tgid)
		return 0;
	if (filter_uid_set && (!sk || ks_sock_uid(sk) != filter_uid))
		return 0;
	if (filter_cgroup_id && (!sk || ks_sock_cgroup_id(sk) != filter_cgroup_id))
		return 0;
	if (filter_comm_set && (!t->tgid || !ks_comm_matches(t->comm)))
		return 0;
	return 1;
}

/* The common header of a socket's event: pid, tid and comm of `t` (zero for none), uid
 * and cgroup id of the socket (zero without one). */
static __always_inline void ks_fill_sock_header(struct ks_event_header *h, __u32 type, __u32 size,
						const struct sock *sk, const struct ks_tcp_task *t)
{
	ks_fill_header(h, type, size);
	h->pid = t->pid;
	h->tgid = t->tgid;
	h->uid = sk ? ks_sock_uid(sk) : 0;
	h->cgroup_id = sk ? ks_sock_cgroup_id(sk) : 0;
	__builtin_memcpy(h->comm, t->comm, KS_COMM_LEN);
}

/* The socket's ends as they are now (a timewait socket's too: they are in sock_common). */
static __always_inline void ks_tcp_sock_endpoints(struct sock *sk, struct ks_tcp_endpoints *e)
{
	struct sock_common *c = &sk->__sk_common;

	if (BPF_CORE_READ(c, skc_family) == KS_AF_INET6) {
		e->family = 6;
		BPF_CORE_READ_INTO(&e->laddr, c, skc_v6_rcv_saddr);
		BPF_CORE_READ_INTO(&e->raddr, c, skc_v6_daddr);
	} else {
		e->family = 4;
		BPF_CORE_READ_INTO((__u32 *)e->laddr, c, skc_rcv_saddr);
		BPF_CORE_READ_INTO((__u32 *)e->raddr, c, skc_daddr);
	}
	e->lport = BPF_CORE_READ(c, skc_num);
	e->rport = bpf_ntohs(BPF_CORE_READ(c, skc_dport));
}

/* The socket behind the current task's descriptor `fd`, or NULL when fd is no open socket:
 * current->files->fdt->fd[fd], a file whose inode is a socket's (its private_data is then
 * the struct socket). */
static __always_inline struct sock *ks_fd_sock(long fd)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	struct file **fds = BPF_CORE_READ(fdt, fd);
	struct file *file = NULL;

	if (fd < 0 || fd >= BPF_CORE_READ(fdt, max_fds))
		return NULL;
	bpf_core_read(&file, sizeof(file), &fds[fd]);
	if (!file || (BPF_CORE_READ(file, f_inode, i_mode) & KS_S_IFMT) != KS_S_IFSOCK)
		return NULL;
	struct socket *sock = BPF_CORE_READ(file, private_data);
	return BPF_CORE_READ(sock, sk);
}

/* The two syscall exits where a passive socket meets its process, accept4 and accept:
 * programs tp_sys_exit_accept4 and tp_sys_exit_accept, each calling handler(fd or -errno).
 * (syscalls:sys_exit_* records are struct syscall_trace_exit.) */
#define KS_ACCEPT_EXIT_PROGRAMS(handler)                                                      \
	SEC("tracepoint/syscalls/sys_exit_accept4")                                           \
	int tp_sys_exit_accept4(struct syscall_trace_exit *ctx)                               \
	{                                                                                     \
		handler(ctx->ret);                                                            \
		return 0;                                                                     \
	}                                                                                     \
	SEC("tracepoint/syscalls/sys_exit_accept")                                            \
	int tp_sys_exit_accept(struct syscall_trace_exit *ctx)                                \
	{                                                                                     \
		handler(ctx->ret);                                                            \
		return 0;                                                                     \
	}

#endif
