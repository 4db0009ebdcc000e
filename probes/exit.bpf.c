// SPDX-License-Identifier: GPL-2.0
/* trace exit: every process exit (and, on request, every thread exit) with its raw exit
 * status, its lifetime, and whether the whole process ended.
 *
 * do_exit() drops signal->live, stores task->exit_code, then fires sched_process_exit, so
 * the tracepoint hooks read both as the kernel left them. Hook alternatives (user space
 * enables one set): the sched tracepoint, tp_btf or raw_tp on it, or kprobe/fentry on
 * taskstats_exit(), which do_exit() calls with the same values just before. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "common/filter.bpf.h"
#include "common/ringbuf.bpf.h"
#include "common/task.bpf.h"
#include "exit.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 include_threads = 0; /* --threads, as exitsnoop -t: thread exits too */
const volatile __u32 failed_only = 0;     /* --failed, as exitsnoop -x: status != 0 only */

/* Newer kernels pass group_dead to sched_process_exit (6.18 does, 6.1 does not). The
 * tracepoint's record and its raw arguments come from one TRACE_EVENT, so the record's field
 * says whether the argument is there; where it is not, libbpf turns the test into 0 and the
 * verifier never walks the read of the missing argument. */
#define KERNEL_PASSES_GROUP_DEAD \
	bpf_core_field_exists(struct trace_event_raw_sched_process_exit, group_dead)

struct exit_claim_key {
	__u32 tgid;
	__u32 pad;
	__u64 leader_start_ns; /* with the tgid, never repeats: a reused pid starts later */
};

/* Without group_dead, the last thread is the one whose decrement took signal->live to 0,
 * and the tracepoint cannot see which one that was: a thread can decrement, wake its joiner
 * in exit_mm(), and only then reach the tracepoint, after the joiner's own decrement. Such a
 * thread finds live at 0 too. So on those kernels the process exit is the last thread to
 * reach the tracepoint once live is 0: each thread marks itself here as it passes, and one
 * that finds live at 0 looks for a thread of its group that has not passed yet. Threads
 * that pass together can both find none; the first to insert into exit_claimed reports the
 * process exit, the others a thread exit. */
struct thread_key {
	__u32 tid;
	__u32 pad;
	__u64 start_ns;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct thread_key);
	__type(value, __u8);
} exit_passed SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct exit_claim_key);
	__type(value, __u8);
} exit_claimed SEC(".maps");

#define KS_THREAD_WALK_MAX 64 /* a bigger group falls back to the first claim */

static __always_inline struct thread_key thread_key_of(struct task_struct *t)
{
	struct thread_key key = {
		.tid = BPF_CORE_READ(t, pid),
		.start_ns = BPF_CORE_READ(t, start_boottime),
	};
	return key;
}

static __always_inline int claim_process_exit(struct task_struct *task)
{
	struct exit_claim_key key = {
		.tgid = BPF_CORE_READ(task, tgid),
		.leader_start_ns = BPF_CORE_READ(task, group_leader, start_boottime),
	};
	__u8 one = 1;

	return bpf_map_update_elem(&exit_claimed, &key, &one, BPF_NOEXIST) == 0;
}

/* 0 when another thread of the group has yet to reach the tracepoint, else 1 (also when the
 * group is too big to walk). A thread past exit_notify() (exit_state set) has passed. */
static __always_inline int others_passed(struct task_struct *task)
{
	struct signal_struct *sig = BPF_CORE_READ(task, signal);
	struct list_head *head = &sig->thread_head;
	struct list_head *pos = BPF_CORE_READ(sig, thread_head.next);
	__u32 node_off = bpf_core_field_offset(struct task_struct, thread_node);

	for (int i = 0; i < KS_THREAD_WALK_MAX && pos != head; i++) {
		struct task_struct *t = (struct task_struct *)((void *)pos - node_off);
		struct thread_key key;

		if (t != task && !BPF_CORE_READ(t, exit_state)) {
			key = thread_key_of(t);
			if (!bpf_map_lookup_elem(&exit_passed, &key))
				return 0;
		}
		pos = BPF_CORE_READ(pos, next);
	}
	return 1;
}

/* group_dead as the kernel computed it, or decided as above where it is not passed on. */
static __always_inline int process_ended(struct task_struct *task, int group_dead)
{
	struct thread_key self;
	__u8 one = 1;

	if (group_dead >= 0)
		return group_dead;
	self = thread_key_of(task);
	bpf_map_update_elem(&exit_passed, &self, &one, BPF_ANY);
	if (BPF_CORE_READ(task, signal, live.counter) != 0)
		return 0;
	if (!others_passed(task))
		return 0;
	return claim_process_exit(task);
}

#define KS_SIGNAL_GROUP_EXIT 0x4 /* include/linux/sched/signal.h: a macro, so not in BTF */

/* A process exit reports what wait(2) will return, picked as wait_task_zombie() does: the
 * group's code once a group exit started, else the leader's own. Each thread keeps the code
 * it saw: in a multi-threaded core dump only the dumping thread has 0x80, and the last thread
 * may not be that one. `own` is the exiting thread's code. */
static __always_inline __u32 process_status(struct task_struct *task, __u32 own)
{
	struct signal_struct *sig = BPF_CORE_READ(task, signal);
	struct task_struct *leader = BPF_CORE_READ(task, group_leader);

	if (BPF_CORE_READ(sig, flags) & KS_SIGNAL_GROUP_EXIT)
		return BPF_CORE_READ(sig, group_exit_code);
	/* Since d80f7d7b2c75 (2022, in 6.1; it added quick_threads) the last thread starts a
	 * group exit with its own code inside do_exit(); before, nothing did. */
	if (!bpf_core_field_exists(struct signal_struct, quick_threads) && leader != task)
		return BPF_CORE_READ(leader, exit_code);
	return own;
}

static __always_inline void emit(struct task_struct *task, __u32 own, int ended)
{
	__u32 status = ended ? process_status(task, own) : own;

	if (!ended && !include_threads)
		return;
	if (failed_only && !status)
		return;
	if (!ks_task_wanted())
		return;

	struct ks_exit_event e = {};
	struct task_struct *owner = ended ? BPF_CORE_READ(task, group_leader) : task;

	ks_fill_header(&e.hdr, KS_EVENT_EXIT, sizeof(e));
	e.age_ns = e.hdr.ts_ns - BPF_CORE_READ(owner, start_boottime);
	e.ppid = ks_ppid(task);
	e.ns_tgid = ks_ns_tgid(task);
	e.status = status;
	e.flags = ended ? KS_EXIT_PROCESS : 0;
	ks_output(&e, sizeof(e));
}

/* sched_process_exit fires in do_exit() for current, after exit_code is stored. */
static __always_inline void on_process_exit(struct task_struct *task, int group_dead)
{
	emit(task, BPF_CORE_READ(task, exit_code), process_ended(task, group_dead));
}

/* The context is the record of the tracepoint attached: its own struct on kernels that added
 * group_dead, sched_process_template before. Only group_dead is read from it. */
SEC("tracepoint/sched/sched_process_exit")
int tp_sched_process_exit(void *ctx)
{
	struct trace_event_raw_sched_process_exit *rec = ctx;
	int group_dead = KERNEL_PASSES_GROUP_DEAD ? rec->group_dead : -1;

	on_process_exit((struct task_struct *)bpf_get_current_task(), group_dead);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(btf_sched_process_exit, struct task_struct *task)
{
	on_process_exit(task, KERNEL_PASSES_GROUP_DEAD ? ctx[1] != 0 : -1);
	return 0;
}

SEC("raw_tp/sched_process_exit")
int raw_sched_process_exit(struct bpf_raw_tracepoint_args *ctx)
{
	on_process_exit((struct task_struct *)ctx->args[0],
			KERNEL_PASSES_GROUP_DEAD ? ctx->args[1] != 0 : -1);
	return 0;
}

/* do_exit() calls taskstats_exit(tsk, group_dead) right after storing exit_code, with the
 * group_dead it computed: the same values the tracepoint sees, so kprobe and fentry are as
 * exact as the tracepoint hooks (a kernel with CONFIG_TASKSTATS; Debian's have it). */
SEC("kprobe/taskstats_exit")
int BPF_KPROBE(kprobe_taskstats_exit, struct task_struct *task, int group_dead)
{
	on_process_exit(task, group_dead != 0);
	return 0;
}

SEC("fentry/taskstats_exit")
int BPF_PROG(fentry_taskstats_exit, struct task_struct *task, int group_dead)
{
	on_process_exit(task, group_dead != 0);
	return 0;
}
