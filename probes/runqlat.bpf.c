// SPDX-License-Identifier: GPL-2.0
/* trace runqlat: how long runnable tasks wait on a run queue before they run, as log2
 * histograms kept in the kernel (runqlat of libbpf-tools). Nothing goes to the ring buffer.
 *
 * A task's wait starts when it is woken (sched_wakeup, sched_wakeup_new) or switched out
 * while still runnable (sched_switch with prev in TASK_RUNNING, or preempted: a task preempted
 * after it set a sleeping state but before it called schedule() stays on its run queue, which
 * libbpf-tools' runqlat misses), and ends when sched_switch picks it. Hook alternatives (user space enables one set): tp_btf or raw_tp on the three sched
 * tracepoints; both get the task_structs, so filters and keys come from the waiting task,
 * not from whichever task is current. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "common/histogram.bpf.h"
#include "common/ringbuf.bpf.h"
#include "common/task.bpf.h"
#include "runqlat.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 by = KS_RUNQLAT_TOTAL; /* enum ks_runqlat_by */
const volatile __u32 msecs = 0;             /* slots in ms instead of us */

#define KS_TASK_RUNNING 0

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32); /* tid */
	__type(value, __u64); /* when its wait started, ns */
} runq_start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32); /* tgid, tid or 0, by `by` */
	__type(value, struct ks_runqlat_hist);
} runq_hists SEC(".maps");

/* Waits whose histogram could not be made (runq_hists full): counted, never dropped silently. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} runq_hists_full SEC(".maps");

static __always_inline void wait_starts(struct task_struct *t)
{
	__u32 tid = BPF_CORE_READ(t, pid);
	__u64 now;

	if (!tid || !ks_other_task_wanted(t))
		return;
	now = bpf_ktime_get_ns();
	bpf_map_update_elem(&runq_start, &tid, &now, BPF_ANY);
}

static __always_inline void wait_ends(struct task_struct *t)
{
	static const struct ks_runqlat_hist empty = {};
	__u32 tid = BPF_CORE_READ(t, pid);
	__u64 *start = bpf_map_lookup_elem(&runq_start, &tid);
	struct ks_runqlat_hist *h;
	__u64 delta;
	__u32 key;

	if (!start)
		return;
	delta = bpf_ktime_get_ns() - *start;
	bpf_map_delete_elem(&runq_start, &tid);
	key = by == KS_RUNQLAT_PROCESS ? BPF_CORE_READ(t, tgid) : by == KS_RUNQLAT_THREAD ? tid : 0;
	h = bpf_map_lookup_elem(&runq_hists, &key);
	if (!h) {
		bpf_map_update_elem(&runq_hists, &key, &empty, BPF_NOEXIST);
		h = bpf_map_lookup_elem(&runq_hists, &key);
		if (!h) {
			ks_count(&runq_hists_full);
			return;
		}
	}
	/* A process's histogram is named for the process (its leader), a thread's for itself. */
	if (by == KS_RUNQLAT_PROCESS) {
		struct task_struct *leader = BPF_CORE_READ(t, group_leader);

		bpf_probe_read_kernel_str(h->comm, sizeof(h->comm), leader->comm);
	} else if (by == KS_RUNQLAT_THREAD)
		bpf_probe_read_kernel_str(h->comm, sizeof(h->comm), t->comm);
	ks_hist_add(&h->hist, delta / (msecs ? 1000000 : 1000), delta);
}

static __always_inline void on_switch(bool preempt, struct task_struct *prev,
				      struct task_struct *next)
{
	if (preempt || BPF_CORE_READ(prev, __state) == KS_TASK_RUNNING)
		wait_starts(prev);
	wait_ends(next);
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(btf_sched_wakeup, struct task_struct *p)
{
	wait_starts(p);
	return 0;
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(btf_sched_wakeup_new, struct task_struct *p)
{
	wait_starts(p);
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(btf_sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	on_switch(preempt, prev, next);
	return 0;
}

SEC("raw_tp/sched_wakeup")
int BPF_PROG(raw_sched_wakeup, struct task_struct *p)
{
	wait_starts(p);
	return 0;
}

SEC("raw_tp/sched_wakeup_new")
int BPF_PROG(raw_sched_wakeup_new, struct task_struct *p)
{
	wait_starts(p);
	return 0;
}

SEC("raw_tp/sched_switch")
int BPF_PROG(raw_sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	on_switch(preempt, prev, next);
	return 0;
}
