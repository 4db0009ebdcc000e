// SPDX-License-Identifier: GPL-2.0
/* trace signal: every signal the kernel generates, with its sender, target, si_code and
 * result, and every kill/tkill/tgkill that failed before generating one.
 *
 * signal:signal_generate fires wherever a signal is queued (kill, tkill, tgkill, sigqueue,
 * pidfd_send_signal, and the kernel's own: SIGCHLD, SIGSEGV, timers...) in the context of
 * the task that generates it, with the result. A call the kernel refuses first (ESRCH,
 * EPERM, EINVAL) never gets there: the syscalls' enter and exit tracepoints see those, and
 * note which call a generated signal came from; hrtimer_expire_{entry,exit} note the timer
 * callbacks, whose signals have no sender. Hook alternatives for signal_generate and the timer
 * (user space enables one set): tp_btf and raw_tp, which see the target's task, or the
 * tracepoint, whose record names only the target thread. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "common/compat.bpf.h"
#include "common/filter.bpf.h"
#include "common/ringbuf.bpf.h"
#include "common/syscall_nr.h"
#include "signal_event.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 failed_only = 0;  /* --failed: undelivered signals and failed calls */
const volatile __u32 only_sig_set = 0; /* --signal */
const volatile __s32 only_sig = 0;
const volatile __u32 skip_sigchld = 0; /* without --signal: no SIGCHLD */

#define KS_SIGCHLD 17
#define KS_SI_USER 0
#define KS_SI_KERNEL 0x80
#define KS_SI_TKILL -6

/* A kill/tkill/tgkill in progress, by thread: its arguments, and whether it has generated a
 * signal yet (then its failure, if it fails, is in that signal's result). LRU: an entry whose
 * exit never came (a tracer attached mid-call) ages out. */
struct signal_call {
	__s32 target_pid;
	__s32 target_tid;
	__s32 sig;
	__u8 via;
	__u8 generated;
	__u16 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct signal_call);
} signal_calls SEC(".maps");

/* Whether the current CPU is inside an hrtimer's callback for the current task (a hard
 * interrupt's, a timer softirq's, or PREEMPT_RT's ktimers thread's): alarm(), setitimer's
 * ITIMER_REAL and timer_settime() send their signals from there, in the context of whatever
 * task the interrupt found running. preempt_count would tell any interrupt context, but only
 * through the __preempt_count per-CPU symbol, which kernels without CONFIG_KALLSYMS_ALL (this
 * project's 6.18) do not resolve for BPF. The task is kept so that a task preempting the
 * ktimers thread on PREEMPT_RT is not taken for it; the timer, so that only its own exit ends
 * it. A callback whose exit the probe missed (a run the kernel skipped) stays open until the
 * next hrtimer of the CPU begins, within a tick. A hard callback nested in a soft one's takes
 * its place: the soft one's signal after it shows its task as the sender. */
struct timer_cpu {
	__u64 task;
	__u64 timer; /* 0: no callback running */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct timer_cpu);
} signal_timer SEC(".maps");

static __always_inline void timer_enter(void *timer)
{
	__u32 zero = 0;
	struct timer_cpu *t = bpf_map_lookup_elem(&signal_timer, &zero);

	if (t) {
		t->task = bpf_get_current_task();
		t->timer = (__u64)timer;
	}
}

static __always_inline void timer_exit(void *timer)
{
	__u32 zero = 0;
	struct timer_cpu *t = bpf_map_lookup_elem(&signal_timer, &zero);

	if (t && t->timer == (__u64)timer)
		t->timer = 0;
}

static __always_inline int in_timer(void)
{
	__u32 zero = 0;
	struct timer_cpu *t = bpf_map_lookup_elem(&signal_timer, &zero);

	return t && t->timer && t->task == bpf_get_current_task();
}

/* User space attaches the entry after the exit: an entry whose exit is not attached yet would
 * leave its callback open. */
SEC("tracepoint/timer/hrtimer_expire_exit")
int tp_hrtimer_exit(struct trace_event_raw_hrtimer_class *rec)
{
	timer_exit(rec->hrtimer);
	return 0;
}

SEC("tp_btf/hrtimer_expire_exit")
int BPF_PROG(btf_hrtimer_exit, struct hrtimer *timer)
{
	timer_exit(timer);
	return 0;
}

SEC("raw_tp/hrtimer_expire_exit")
int raw_hrtimer_exit(struct bpf_raw_tracepoint_args *ctx)
{
	timer_exit((void *)ctx->args[0]);
	return 0;
}

SEC("tracepoint/timer/hrtimer_expire_entry")
int tp_hrtimer_entry(struct trace_event_raw_hrtimer_expire_entry *rec)
{
	timer_enter(rec->hrtimer);
	return 0;
}

SEC("tp_btf/hrtimer_expire_entry")
int BPF_PROG(btf_hrtimer_entry, struct hrtimer *timer)
{
	timer_enter(timer);
	return 0;
}

SEC("raw_tp/hrtimer_expire_entry")
int raw_hrtimer_entry(struct bpf_raw_tracepoint_args *ctx)
{
	timer_enter((void *)ctx->args[0]);
	return 0;
}

static __always_inline int sig_wanted(int sig)
{
	if (only_sig_set)
		return sig == only_sig;
	return !(skip_sigchld && sig == KS_SIGCHLD);
}

static __always_inline int result_failed(int result)
{
	return result == KS_SIGNAL_IGNORED || result == KS_SIGNAL_ALREADY_PENDING ||
	       result == KS_SIGNAL_OVERFLOW_FAIL;
}

/* The part of a generated signal's record every hook knows; 0 when it is filtered out. A
 * signal generated inside a traced call marks the call, so its exit does not report it as
 * a failure too. */
static __always_inline int generated(struct ks_signal_event *e, int sig, int code, int result,
				     int group)
{
	__u8 via = KS_SIGNAL_VIA_OTHER;

	if (!ks_task_wanted() || !sig_wanted(sig))
		return 0;
	if (in_timer()) {
		via = KS_SIGNAL_VIA_TIMER;
	} else {
		__u32 tid = (__u32)bpf_get_current_pid_tgid();
		struct signal_call *call = bpf_map_lookup_elem(&signal_calls, &tid);

		if (call) {
			call->generated = 1;
			via = call->via;
		}
	}
	if (failed_only && !result_failed(result))
		return 0;
	ks_fill_header(&e->hdr, KS_EVENT_SIGNAL, sizeof(*e));
	e->sig = sig;
	e->code = code;
	e->result = result;
	e->via = via;
	e->flags = group ? KS_SIGNAL_GROUP : 0;
	return 1;
}

static __always_inline void generated_to_task(int sig, int code, int result, int group,
					      struct task_struct *task)
{
	struct ks_signal_event e = {};

	if (!generated(&e, sig, code, result, group))
		return;
	e.target_pid = BPF_CORE_READ(task, tgid);
	e.target_tid = BPF_CORE_READ(task, pid);
	BPF_CORE_READ_STR_INTO(&e.target_comm, task, comm);
	ks_output(&e, sizeof(e));
}

/* si_code as signal_generate's record stores it: the kernel passes SEND_SIG_NOINFO (0) for a
 * plain kill-like signal and SEND_SIG_PRIV (1) for its own, instead of a siginfo. */
static __always_inline int code_of(struct kernel_siginfo *info)
{
	if ((unsigned long)info == 0)
		return KS_SI_USER;
	if ((unsigned long)info == 1)
		return KS_SI_KERNEL;
	return BPF_CORE_READ(info, si_code);
}

SEC("tp_btf/signal_generate")
int BPF_PROG(btf_signal_generate, int sig, struct kernel_siginfo *info, struct task_struct *task,
	     int group, int result)
{
	generated_to_task(sig, code_of(info), result, group, task);
	return 0;
}

SEC("raw_tp/signal_generate")
int raw_signal_generate(struct bpf_raw_tracepoint_args *ctx)
{
	generated_to_task(ctx->args[0], code_of((struct kernel_siginfo *)ctx->args[1]),
			  ctx->args[4], ctx->args[3], (struct task_struct *)ctx->args[2]);
	return 0;
}

/* The record names the target thread only: target_pid stays 0. */
SEC("tracepoint/signal/signal_generate")
int tp_signal_generate(struct trace_event_raw_signal_generate *rec)
{
	struct ks_signal_event e = {};

	if (!generated(&e, rec->sig, rec->code, rec->result, rec->group))
		return 0;
	e.target_tid = rec->pid;
	bpf_probe_read_kernel(e.target_comm, sizeof(e.target_comm), rec->comm);
	ks_output(&e, sizeof(e));
	return 0;
}

/* The calls: the tracepoint alternative takes the syscalls tracepoints, which fire for these
 * calls only but never for a 32-bit task's; tp_btf and raw_tp take the raw sys_enter and
 * sys_exit of their own type, which see every syscall, 32-bit ones with their own numbers. */
static __always_inline void call_enter(__u8 via, __s32 pid, __s32 tid, __s32 sig)
{
	if (!ks_task_wanted() || !sig_wanted(sig))
		return;

	__u32 key = (__u32)bpf_get_current_pid_tgid();
	struct signal_call call = {.target_pid = pid, .target_tid = tid, .sig = sig, .via = via};

	bpf_map_update_elem(&signal_calls, &key, &call, BPF_ANY);
}

static __always_inline void call_exit(long ret)
{
	__u32 key = (__u32)bpf_get_current_pid_tgid();
	struct signal_call *found = bpf_map_lookup_elem(&signal_calls, &key);

	if (!found)
		return;

	struct signal_call call = *found;

	bpf_map_delete_elem(&signal_calls, &key);
	if (ret >= 0 || call.generated)
		return;

	struct ks_signal_event e = {};

	ks_fill_header(&e.hdr, KS_EVENT_SIGNAL, sizeof(e));
	e.target_pid = call.target_pid;
	e.target_tid = call.target_tid;
	e.sig = call.sig;
	e.code = call.via == KS_SIGNAL_VIA_KILL ? KS_SI_USER : KS_SI_TKILL;
	e.err = -ret;
	e.via = call.via;
	e.flags = KS_SIGNAL_FAILED_CALL | (call.via == KS_SIGNAL_VIA_KILL ? KS_SIGNAL_GROUP : 0);
	ks_output(&e, sizeof(e));
}

/* kill(pid, sig) */
SEC("tracepoint/syscalls/sys_enter_kill")
int tp_enter_kill(struct syscall_trace_enter *ctx)
{
	call_enter(KS_SIGNAL_VIA_KILL, ctx->args[0], 0, ctx->args[1]);
	return 0;
}

/* tkill(tid, sig) */
SEC("tracepoint/syscalls/sys_enter_tkill")
int tp_enter_tkill(struct syscall_trace_enter *ctx)
{
	call_enter(KS_SIGNAL_VIA_TKILL, 0, ctx->args[0], ctx->args[1]);
	return 0;
}

/* tgkill(tgid, tid, sig) */
SEC("tracepoint/syscalls/sys_enter_tgkill")
int tp_enter_tgkill(struct syscall_trace_enter *ctx)
{
	call_enter(KS_SIGNAL_VIA_TGKILL, ctx->args[0], ctx->args[1], ctx->args[2]);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_kill")
int tp_exit_kill(struct syscall_trace_exit *ctx)
{
	call_exit(ctx->ret);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_tkill")
int tp_exit_tkill(struct syscall_trace_exit *ctx)
{
	call_exit(ctx->ret);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_tgkill")
int tp_exit_tgkill(struct syscall_trace_exit *ctx)
{
	call_exit(ctx->ret);
	return 0;
}

/* A kill, tkill or tgkill by its number, in the task's ABI; its arguments from the saved
 * registers (copied: a raw_tp program may not read through the pointer it is handed). */
static __always_inline void raw_call_enter(struct pt_regs *saved, long id)
{
	struct pt_regs regs;

	if (!KS_SYSCALL_MAY_BE(id, kill) && !KS_SYSCALL_MAY_BE(id, tkill) &&
	    !KS_SYSCALL_MAY_BE(id, tgkill))
		return;
	if (bpf_probe_read_kernel(&regs, sizeof(regs), saved))
		return;

	int compat = ks_compat_syscall();
	__s32 a0 = ks_syscall_arg(&regs, 0, compat);
	__s32 a1 = ks_syscall_arg(&regs, 1, compat);

	if (KS_SYSCALL_IS(id, compat, kill))
		call_enter(KS_SIGNAL_VIA_KILL, a0, 0, a1);
	else if (KS_SYSCALL_IS(id, compat, tkill))
		call_enter(KS_SIGNAL_VIA_TKILL, 0, a0, a1);
	else if (KS_SYSCALL_IS(id, compat, tgkill))
		call_enter(KS_SIGNAL_VIA_TGKILL, a0, a1, ks_syscall_arg(&regs, 2, compat));
}

/* Only the numbers that may be one of the calls look in the map: a call whose enter was noted
 * has one there. */
static __always_inline void raw_call_exit(long id, long ret)
{
	if (KS_SYSCALL_MAY_BE(id, kill) || KS_SYSCALL_MAY_BE(id, tkill) ||
	    KS_SYSCALL_MAY_BE(id, tgkill))
		call_exit(ret);
}

SEC("tp_btf/sys_enter")
int BPF_PROG(btf_sys_enter, struct pt_regs *regs, long id)
{
	raw_call_enter(regs, id);
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(btf_sys_exit, struct pt_regs *regs, long ret)
{
	raw_call_exit(KS_REGS_SYSCALL_NR(regs), ret);
	return 0;
}

SEC("raw_tp/sys_enter")
int raw_sys_enter(struct bpf_raw_tracepoint_args *ctx)
{
	raw_call_enter((struct pt_regs *)ctx->args[0], ctx->args[1]);
	return 0;
}

SEC("raw_tp/sys_exit")
int raw_sys_exit(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (struct pt_regs *)ctx->args[0];
	long id = -1;

	bpf_core_read(&id, sizeof(id), &KS_REGS_SYSCALL_NR(regs));
	raw_call_exit(id, ctx->args[1]);
	return 0;
}
