// SPDX-License-Identifier: GPL-2.0
/* trace oomkill: every victim the OOM killer marks, the task that triggered it, the victim's
 * memory, and what ran out: a memory cgroup or the machine.
 *
 * oom:mark_victim fires once per victim (the chosen process, each member of an oom.group
 * cgroup killed with it, or a trigger already exiting that the killer only marks), in the
 * context of the trigger, after SIGKILL was sent. Its tp_btf form gets the victim's task, the
 * tracepoint only the record (the victim thread, its memory, no process id or cgroup). Neither
 * sees the oom_control with the memory cgroup and the page count: they learn the memcg from the
 * trigger's last reclaim, as a memcg OOM always follows a reclaim from the cgroup at its limit
 * (try_charge_memcg(), memory_max_write()), a global one the page allocator's direct reclaim.
 * kprobe and fentry on oom_kill_process() read the oom_control, once per kill the killer
 * decides on (the chosen process; not the oom.group members killed with it). */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "common/filter.bpf.h"
#include "common/ringbuf.bpf.h"
#include "oomkill.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 page_shift = 12; /* the machine's, set by user space */

/* The trigger's last reclaim (tracepoint and tp_btf alternatives), by thread. */
struct reclaim_seen {
	__u64 memcg_id;
	__u64 domain; /* KS_OOM_MEMCG, KS_OOM_GLOBAL, or KS_OOM_UNKNOWN (no scan_control) */
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct reclaim_seen);
} oom_reclaims SEC(".maps");

/* enum mm_counter_type (the same since 4.5): the mm's rss counters. */
#define KS_MM_FILEPAGES 0
#define KS_MM_ANONPAGES 1
#define KS_MM_SHMEMPAGES 3

/* 6.2 made the mm's rss counters per-CPU counters (f1a7941243c1, "mm: convert mm's rss stats
 * into percpu_counter"); 6.1 keeps atomics in struct mm_rss_stat. Either way this reads what
 * the kernel's get_mm_counter() reads, a negative value as 0. */
struct mm_rss_stat___pre62 {
	atomic_long_t count[4];
} __attribute__((preserve_access_index));

struct mm_struct___pre62 {
	struct mm_rss_stat___pre62 rss_stat;
} __attribute__((preserve_access_index));

#define KS_MM_COUNTER(mm, member)                                                             \
	({                                                                                    \
		long __n;                                                                     \
		if (bpf_core_type_exists(struct mm_rss_stat___pre62))                         \
			__n = BPF_CORE_READ((struct mm_struct___pre62 *)(mm),                 \
					    rss_stat.count[member].counter);                  \
		else                                                                          \
			__n = BPF_CORE_READ(mm, rss_stat[member].count);                      \
		__n < 0 ? 0 : __n;                                                            \
	})

static __always_inline __u64 kb(__u64 pages)
{
	return pages << (page_shift - 10);
}

static __always_inline __u64 memcg_id(struct mem_cgroup *memcg)
{
	return BPF_CORE_READ(memcg, css.cgroup, kn, id);
}

static __always_inline void reclaim_begin(int memcg_reclaim)
{
	struct reclaim_seen seen = {.domain = KS_OOM_GLOBAL};
	__u32 tid = (__u32)bpf_get_current_pid_tgid();

	if (!ks_task_wanted())
		return;
	/* try_to_free_mem_cgroup_pages() points current->reclaim_state into its scan_control
	 * before the tracepoint, and the scan_control names the memcg it reclaims from. */
	if (memcg_reclaim) {
		struct task_struct *task = (struct task_struct *)bpf_get_current_task();
		void *state = BPF_CORE_READ(task, reclaim_state);
		struct scan_control *sc =
			state - bpf_core_field_offset(struct scan_control, reclaim_state);
		struct mem_cgroup *memcg = state ? BPF_CORE_READ(sc, target_mem_cgroup) : NULL;

		seen.domain = memcg ? KS_OOM_MEMCG : KS_OOM_UNKNOWN;
		seen.memcg_id = memcg ? memcg_id(memcg) : 0;
	}
	bpf_map_update_elem(&oom_reclaims, &tid, &seen, BPF_ANY);
}

SEC("tracepoint/vmscan/mm_vmscan_memcg_reclaim_begin")
int tp_memcg_reclaim_begin(void *ctx)
{
	reclaim_begin(1);
	return 0;
}

SEC("tracepoint/vmscan/mm_vmscan_direct_reclaim_begin")
int tp_direct_reclaim_begin(void *ctx)
{
	reclaim_begin(0);
	return 0;
}

SEC("tp_btf/mm_vmscan_memcg_reclaim_begin")
int BPF_PROG(btf_memcg_reclaim_begin)
{
	reclaim_begin(1);
	return 0;
}

SEC("tp_btf/mm_vmscan_direct_reclaim_begin")
int BPF_PROG(btf_direct_reclaim_begin)
{
	reclaim_begin(0);
	return 0;
}

/* What ran out, as the trigger's last reclaim tells it. */
static __always_inline void domain_from_reclaim(struct ks_oomkill_event *e)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct reclaim_seen *seen = bpf_map_lookup_elem(&oom_reclaims, &tid);

	if (seen) {
		e->domain = seen->domain;
		e->oom_cgroup_id = seen->memcg_id;
	}
}

/* The victim's memory as mark_victim's record computes it. */
static __always_inline void victim_from_task(struct ks_oomkill_event *e, struct task_struct *task,
					     __u32 tid, __u32 uid)
{
	struct mm_struct *mm = BPF_CORE_READ(task, mm);

	e->victim_pid = BPF_CORE_READ(task, tgid);
	e->victim_tid = tid;
	e->victim_uid = uid;
	e->victim_cgroup_id = BPF_CORE_READ(task, cgroups, dfl_cgrp, kn, id);
	e->oom_score_adj = BPF_CORE_READ(task, signal, oom_score_adj);
	BPF_CORE_READ_STR_INTO(&e->victim_comm, task, comm);
	e->total_vm_kb = kb(BPF_CORE_READ(mm, total_vm));
	e->anon_rss_kb = kb(KS_MM_COUNTER(mm, KS_MM_ANONPAGES));
	e->file_rss_kb = kb(KS_MM_COUNTER(mm, KS_MM_FILEPAGES));
	e->shmem_rss_kb = kb(KS_MM_COUNTER(mm, KS_MM_SHMEMPAGES));
	e->pgtables_kb = BPF_CORE_READ(mm, pgtables_bytes.counter) >> 10;
}

/* Since 6.8 (and its backport to Debian's 6.1) the tracepoint passes the victim's task and
 * uid; before, only its pid, and this program's direct read of task->pid fails to load. */
SEC("tp_btf/mark_victim")
int BPF_PROG(btf_mark_victim, struct task_struct *task, uid_t uid)
{
	struct ks_oomkill_event e = {};
	__u32 tid = task->pid;

	if (!ks_task_wanted())
		return 0;
	victim_from_task(&e, task, tid, uid);
	domain_from_reclaim(&e);
	ks_fill_header(&e.hdr, KS_EVENT_OOMKILL, sizeof(e));
	ks_output(&e, sizeof(e));
	return 0;
}

/* The record's memory is in KiB already. On kernels whose record has only the pid the reads
 * of the other fields do not relocate, and the program fails to load. */
SEC("tracepoint/oom/mark_victim")
int tp_mark_victim(struct trace_event_raw_mark_victim *rec)
{
	struct ks_oomkill_event e = {};
	__u32 comm_loc = rec->__data_loc_comm;

	if (!ks_task_wanted())
		return 0;
	e.victim_tid = rec->pid;
	e.victim_uid = rec->uid;
	e.oom_score_adj = rec->oom_score_adj;
	e.total_vm_kb = rec->total_vm;
	e.anon_rss_kb = rec->anon_rss;
	e.file_rss_kb = rec->file_rss;
	e.shmem_rss_kb = rec->shmem_rss;
	e.pgtables_kb = rec->pgtables;
	bpf_probe_read_kernel_str(e.victim_comm, sizeof(e.victim_comm),
				  (void *)rec + (comm_loc & 0xffff));
	domain_from_reclaim(&e);
	ks_fill_header(&e.hdr, KS_EVENT_OOMKILL, sizeof(e));
	ks_output(&e, sizeof(e));
	return 0;
}

#define KS_THREAD_WALK_MAX 64

/* The thread __oom_kill_process() will kill, as find_lock_task_mm() picks it: the first of the
 * process's threads that still has its mm (the leader, unless it has exited). NULL when none
 * has: then the killer kills nothing. */
static __always_inline struct task_struct *thread_with_mm(struct task_struct *leader)
{
	struct signal_struct *sig = BPF_CORE_READ(leader, signal);
	struct list_head *head = &sig->thread_head;
	struct list_head *pos = BPF_CORE_READ(sig, thread_head.next);
	__u32 node_off = bpf_core_field_offset(struct task_struct, thread_node);

	for (int i = 0; i < KS_THREAD_WALK_MAX && pos != head; i++) {
		struct task_struct *t = (struct task_struct *)((void *)pos - node_off);

		if (BPF_CORE_READ(t, mm))
			return t;
		pos = BPF_CORE_READ(pos, next);
	}
	return NULL;
}

/* oom_kill_process() runs in the trigger's context with the OOM's oom_control, whose chosen
 * process it kills. */
static __always_inline void on_oom_kill_process(struct oom_control *oc)
{
	struct ks_oomkill_event e = {};

	if (!ks_task_wanted())
		return;

	struct task_struct *victim = thread_with_mm(BPF_CORE_READ(oc, chosen));
	struct mem_cgroup *memcg = BPF_CORE_READ(oc, memcg);
	int constraint = BPF_CORE_READ(oc, constraint);

	if (!victim)
		return;
	victim_from_task(&e, victim, BPF_CORE_READ(victim, pid),
			 BPF_CORE_READ(victim, real_cred, uid.val));
	e.totalpages = BPF_CORE_READ(oc, totalpages);
	if (memcg) {
		e.domain = KS_OOM_MEMCG;
		e.oom_cgroup_id = memcg_id(memcg);
	} else if (constraint == bpf_core_enum_value(enum oom_constraint, CONSTRAINT_CPUSET)) {
		e.domain = KS_OOM_CPUSET;
	} else if (constraint == bpf_core_enum_value(enum oom_constraint, CONSTRAINT_MEMORY_POLICY)) {
		e.domain = KS_OOM_MEMPOLICY;
	} else {
		e.domain = KS_OOM_GLOBAL;
	}
	ks_fill_header(&e.hdr, KS_EVENT_OOMKILL, sizeof(e));
	ks_output(&e, sizeof(e));
}

SEC("kprobe/oom_kill_process")
int BPF_KPROBE(kprobe_oom_kill_process, struct oom_control *oc)
{
	on_oom_kill_process(oc);
	return 0;
}

SEC("fentry/oom_kill_process")
int BPF_PROG(fentry_oom_kill_process, struct oom_control *oc)
{
	on_oom_kill_process(oc);
	return 0;
}
