// SPDX-License-Identifier: GPL-2.0
/* trace syscount: syscall counts and their time in the kernel, by syscall or by process,
 * kept in the kernel (syscount of libbpf-tools, always with its latency). Nothing goes to the
 * ring buffer.
 *
 * sys_enter notes in the task's local storage when the call began and what to count it as;
 * sys_exit adds it to that count (common/syscall_timing.bpf.h, which also has the hooks). So a
 * call is counted once it returns, if it began while traced: exit and exit_group, which never
 * return, are not counted. 32-bit syscalls count under their own ABI's numbers.
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
#include "common/syscall_slot.bpf.h"
#include "common/syscall_timing.bpf.h"
#include "syscount.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 by_process = 0;  /* -P: count by process, not by syscall */
const volatile __u32 failed_only = 0; /* --failed: only calls that returned an error */
const volatile __u32 only_errno = 0;  /* --errno: only calls that failed with this one */

/* Per syscall slot (common/syscall_slot.h), totals since the probe started. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2 * KS_SYSCALL_SLOTS);
	__type(key, __u32);
	__type(value, struct ks_syscount_value);
} sys_counts SEC(".maps");

/* What user space has reported of sys_counts: it alone reads and writes this, and reports
 * each interval the difference, so no call is lost between reading and resetting a count. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * KS_SYSCALL_SLOTS);
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

/* Calls not counted, never dropped silently: proc_counts was full (10240 processes). The
 * calls whose start could not be noted count in sys_start_failed (syscall_timing.bpf.h). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} proc_counts_full SEC(".maps");

static __always_inline void syscall_enters(long id)
{
	int compat = ks_compat_syscall();

	if (KS_SYSCALL_IS(id, compat, exit) || KS_SYSCALL_IS(id, compat, exit_group))
		return;
	if (!ks_task_wanted())
		return;
	ks_call_begins(by_process ? bpf_get_current_pid_tgid() >> 32 : ks_syscall_slot(id, compat));
}

static __always_inline int counted(long ret)
{
	if (only_errno)
		return ret == -(long)only_errno;
	if (failed_only)
		return ks_call_failed(ret);
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
	__u64 ns;
	__u32 key;

	if (!ks_call_ends(&key, &ns) || !counted(ret))
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

KS_SYSCALL_HOOKS()
