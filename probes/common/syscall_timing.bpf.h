/* Timing syscalls, entry to return, for the syscall tools (trace syscount, trace syslat):
 * sys_enter notes in the task's local storage when the call began and a key the probe
 * chooses; sys_exit takes them back. Task storage goes with its task, so there is no hash of
 * threads to update and delete on every syscall of the machine. A probe including this
 * defines syscall_enters(long id) and syscall_exits(long ret) and then KS_SYSCALL_HOOKS(),
 * its hook alternatives (user space enables one set): tp_btf, raw_tp or the raw_syscalls
 * tracepoints on sys_enter and sys_exit, all of which see 32-bit syscalls too. */
#ifndef KSCOPE_SYSCALL_TIMING_BPF_H
#define KSCOPE_SYSCALL_TIMING_BPF_H

#include "common/ringbuf.bpf.h"

#define KS_MAX_ERRNO 4095 /* a return in [-4095, -1] is an error (IS_ERR_VALUE) */

struct ks_sys_start {
	__u64 ts;  /* when the call began; 0: no call to time */
	__u32 key; /* what the probe counts it as */
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct ks_sys_start);
} sys_start SEC(".maps");

/* Calls not timed, never dropped silently: the task's storage could not be had (no memory,
 * or another program of this CPU held it). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} sys_start_failed SEC(".maps");

/* The current task's call begins now, to be counted as `key`. */
static __always_inline void ks_call_begins(__u32 key)
{
	struct ks_sys_start *s = bpf_task_storage_get(&sys_start, bpf_get_current_task_btf(), 0,
						      BPF_LOCAL_STORAGE_GET_F_CREATE);

	if (!s) {
		ks_count(&sys_start_failed);
		return;
	}
	s->key = key;
	s->ts = bpf_ktime_get_ns();
}

/* The current task's call returns: 1 with its key and time in ns if it began while noted, 0
 * if not (it began before the trace, or in a task not traced). */
static __always_inline int ks_call_ends(__u32 *key, __u64 *ns)
{
	__u64 now = bpf_ktime_get_ns();
	struct ks_sys_start *s = bpf_task_storage_get(&sys_start, bpf_get_current_task_btf(), 0, 0);

	if (!s || !s->ts)
		return 0;
	*ns = now - s->ts;
	*key = s->key;
	s->ts = 0;
	return 1;
}

static __always_inline int ks_call_failed(long ret)
{
	return ret < 0 && ret >= -KS_MAX_ERRNO;
}

/* The raw_syscalls records are trace_event_raw_sys_enter/exit themselves (unlike the
 * syscalls:sys_* ones), so CO-RE places id and ret right on every kernel. */
#define KS_SYSCALL_HOOKS()                                                                 \
	SEC("tp_btf/sys_enter")                                                            \
	int BPF_PROG(btf_sys_enter, struct pt_regs *regs, long id)                         \
	{                                                                                  \
		syscall_enters(id);                                                        \
		return 0;                                                                  \
	}                                                                                  \
	SEC("tp_btf/sys_exit")                                                             \
	int BPF_PROG(btf_sys_exit, struct pt_regs *regs, long ret)                         \
	{                                                                                  \
		syscall_exits(ret);                                                        \
		return 0;                                                                  \
	}                                                                                  \
	SEC("raw_tp/sys_enter")                                                            \
	int BPF_PROG(raw_sys_enter, struct pt_regs *regs, long id)                         \
	{                                                                                  \
		syscall_enters(id);                                                        \
		return 0;                                                                  \
	}                                                                                  \
	SEC("raw_tp/sys_exit")                                                             \
	int BPF_PROG(raw_sys_exit, struct pt_regs *regs, long ret)                         \
	{                                                                                  \
		syscall_exits(ret);                                                        \
		return 0;                                                                  \
	}                                                                                  \
	SEC("tracepoint/raw_syscalls/sys_enter")                                           \
	int tp_sys_enter(struct trace_event_raw_sys_enter *ctx)                            \
	{                                                                                  \
		syscall_enters(ctx->id);                                                   \
		return 0;                                                                  \
	}                                                                                  \
	SEC("tracepoint/raw_syscalls/sys_exit")                                            \
	int tp_sys_exit(struct trace_event_raw_sys_exit *ctx)                              \
	{                                                                                  \
		syscall_exits(ctx->ret);                                                   \
		return 0;                                                                  \
	}

#endif
