// SPDX-License-Identifier: GPL-2.0
/* trace syscount: syscall counts and their time in the kernel, by syscall or by process,
 * kept in the kernel (syscount of libbpf-tools, always with its latency). Nothing goes to the
 * ring buffer.
 *
 * sys_enter notes in the task's local storage when the call began and what to count it as;
 * sys_exit adds it to that count. So a call is counted once it returns, if it began while
 * traced: exit and exit_group, which never return, are not counted. Hook alternatives (user
 * space enables one set): tp_btf, raw_tp or the raw_syscalls tracepoints on sys_enter and
 * sys_exit. All of them see 32-bit syscalls too, counted under their own ABI's numbers.
 *
 * Every syscall of every task runs both programs, so they keep to per-task and per-CPU
 * memory: no hash of threads to update and delete (task storage goes with its task), no
 * atomic on a line other CPUs write (per-CPU counts). */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "common/compat.bpf.h"
#include "common/filter.bpf.h"
#include "common/ringbuf.bpf.h"
#include "syscount.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 by_process = 0;  /* -P: count by process, not by syscall */
const volatile __u32 failed_only = 0; /* --failed: only calls that returned an error */
const volatile __u32 only_errno = 0;  /* --errno: only calls that failed with this one */

#define KS_MAX_ERRNO 4095 /* a return in [-4095, -1] is an error (IS_ERR_VALUE) */

struct sys_start {
	__u64 ts;  /* when the call began; 0: no call to count */
	__u32 key; /* its slot in sys_counts, or its process (-P) */
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct sys_start);
} sys_start SEC(".maps");

/* Per syscall slot (syscount.h), totals since the probe started. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2 * KS_SYSCOUNT_SLOTS);
	__type(key, __u32);
	__type(value, struct ks_syscount_value);
} sys_counts SEC(".maps");

/* What user space has reported of sys_counts: it alone reads and writes this, and reports
 * each interval the difference, so no call is lost between reading and resetting a count. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * KS_SYSCOUNT_SLOTS);
	__type(key, __u32);
	__type(value, struct ks_syscount_value);
} sys_reported SEC(".maps");

/* Per process (-P): user space takes each interval's entries. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 10240);
	__type(key, __u32); /* tgid */
	__type(value, struct ks_syscount_proc);
} proc_counts SEC(".maps");

/* Calls not counted, never dropped silently: the task's storage could not be had (no memory,
 * or another program of this CPU held it), or proc_counts was full (10240 processes). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} sys_start_failed SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} proc_counts_full SEC(".maps");

static __always_inline __u32 slot_of(long id, int compat)
{
	__u32 slot = id >= 0 && id < KS_SYSCOUNT_SLOTS ? id : KS_SYSCOUNT_SLOTS - 1;

	return compat ? KS_SYSCOUNT_SLOTS + slot : slot;
}

static __always_inline void syscall_enters(long id)
{
	int compat = ks_compat_syscall();
	struct sys_start *s;

	if (KS_SYSCALL_IS(id, compat, exit) || KS_SYSCALL_IS(id, compat, exit_group))
		return;
	if (!ks_task_wanted())
		return;
	s = bpf_task_storage_get(&sys_start, bpf_get_current_task_btf(), 0,
				 BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!s) {
		ks_count(&sys_start_failed);
		return;
	}
	s->key = by_process ? bpf_get_current_pid_tgid() >> 32 : slot_of(id, compat);
	s->ts = bpf_ktime_get_ns();
}

static __always_inline int counted(long ret)
{
	if (only_errno)
		return ret == -(long)only_errno;
	if (failed_only)
		return ret < 0 && ret >= -KS_MAX_ERRNO;
	return 1;
}

static __always_inline void count_process(__u32 tgid, __u64 ns)
{
	struct ks_syscount_proc *v = bpf_map_lookup_elem(&proc_counts, &tgid);

	if (!v) {
		struct ks_syscount_proc init = {};
		struct task_struct *task = bpf_get_current_task_btf();

		BPF_CORE_READ_STR_INTO(&init.comm, task, group_leader, comm);
		bpf_map_update_elem(&proc_counts, &tgid, &init, BPF_NOEXIST);
		v = bpf_map_lookup_elem(&proc_counts, &tgid);
		if (!v) {
			ks_count(&proc_counts_full);
			return;
		}
	}
	v->count++;
	v->total_ns += ns;
}

/* Per-CPU values, and a program never runs twice at once on one CPU: plain adds suffice. */
static __always_inline void syscall_exits(long ret)
{
	__u64 now = bpf_ktime_get_ns();
	struct sys_start *s = bpf_task_storage_get(&sys_start, bpf_get_current_task_btf(), 0, 0);
	__u64 ns;
	__u32 key;

	if (!s || !s->ts) /* began before the trace, or in a task not traced */
		return;
	ns = now - s->ts;
	key = s->key;
	s->ts = 0;
	if (!counted(ret))
		return;
	if (by_process) {
		count_process(key, ns);
		return;
	}
	struct ks_syscount_value *v = bpf_map_lookup_elem(&sys_counts, &key);

	if (v) {
		v->count++;
		v->total_ns += ns;
	}
}

SEC("tp_btf/sys_enter")
int BPF_PROG(btf_sys_enter, struct pt_regs *regs, long id)
{
	syscall_enters(id);
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(btf_sys_exit, struct pt_regs *regs, long ret)
{
	syscall_exits(ret);
	return 0;
}

SEC("raw_tp/sys_enter")
int BPF_PROG(raw_sys_enter, struct pt_regs *regs, long id)
{
	syscall_enters(id);
	return 0;
}

SEC("raw_tp/sys_exit")
int BPF_PROG(raw_sys_exit, struct pt_regs *regs, long ret)
{
	syscall_exits(ret);
	return 0;
}

/* The raw_syscalls records are trace_event_raw_sys_enter/exit themselves (unlike the
 * syscalls:sys_* ones), so CO-RE places id and ret right on every kernel. */
SEC("tracepoint/raw_syscalls/sys_enter")
int tp_sys_enter(struct trace_event_raw_sys_enter *ctx)
{
	syscall_enters(ctx->id);
	return 0;
}

SEC("tracepoint/raw_syscalls/sys_exit")
int tp_sys_exit(struct trace_event_raw_sys_exit *ctx)
{
	syscall_exits(ctx->ret);
	return 0;
}
