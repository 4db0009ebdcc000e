// SPDX-License-Identifier: GPL-2.0
/* trace signal: every signal the kernel generates, with its sender, target, si_code and
 * result, and every kill/tkill/tgkill that failed before generating one.
 *
 * signal:signal_generate fires wherever a signal is queued (kill, tkill, tgkill, sigqueue,
 * pidfd_send_signal, and the kernel's own: SIGCHLD, SIGSEGV, timers...) in the context of
 * the task that generates it, with the result; the syscall number in the task's saved
 * registers says whether it is inside a kill, tkill or tgkill. A call the kernel refuses first
 * (ESRCH, EPERM, EINVAL) never gets there: the call's exit reports it, from the arguments the
 * saved registers still hold. hrtimer_expire_{entry,exit} note the timer callbacks, whose
 * signals have no sender. Hook alternatives (user space enables one set): tp_btf and raw_tp,
 * which see the target's task and take the raw sys_exit, or the tracepoints, whose
 * signal_generate record names only the target thread. */
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
const volatile __u32 trace_calls = 0;  /* --calls or --failed: the calls' exits are attached */

#define KS_SIGCHLD 17
#define KS_SI_USER 0
#define KS_SI_KERNEL 0x80
#define KS_SI_TKILL -6

/* The threads whose kill, tkill or tgkill in progress has generated a signal that failed (a
 * real-time signal's queue overflow, the one result that makes such a call fail after it
 * generated a signal): the call's failure is that signal's result, not a failed call of its
 * own. The call's exit removes the entry. notes_open counts the entries, so that the exits of
 * all other calls skip the map: only an entry the LRU evicted leaves it too high, which costs
 * lookups, never a wrong event. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u8);
} signal_calls SEC(".maps");

__u64 notes_open = 0;

static __always_inline struct pt_regs *user_regs(void)
{
	return (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
}

static __always_inline int may_be_call(long id)
{
	return KS_SYSCALL_MAY_BE(id, kill) || KS_SYSCALL_MAY_BE(id, tkill) ||
	       KS_SYSCALL_MAY_BE(id, tgkill);
}

/* KS_SIGNAL_VIA_KILL, _TKILL or _TGKILL for syscall id in the ABI compat says, else 0. */
static __always_inline __u8 call_of(long id, int compat)
{
	if (KS_SYSCALL_IS(id, compat, kill))
		return KS_SIGNAL_VIA_KILL;
	if (KS_SYSCALL_IS(id, compat, tkill))
		return KS_SIGNAL_VIA_TKILL;
	if (KS_SYSCALL_IS(id, compat, tgkill))
		return KS_SIGNAL_VIA_TGKILL;
	return KS_SIGNAL_VIA_OTHER;
}

/* Whether the current task is inside an hrtimer's callback (a hard interrupt's that hit it, a
 * timer softirq's, or PREEMPT_RT's ktimers thread's own): alarm(), setitimer's ITIMER_REAL and
 * timer_settime() send their signals from there, in the context of whatever task the interrupt
 * found running. preempt_count would tell any interrupt context, but only through the
 * __preempt_count per-CPU symbol, which kernels without CONFIG_KALLSYMS_ALL (this project's
 * 6.18) do not resolve for BPF.
 *
 * One note per task, of its outermost callback: one nested in it (a hard one interrupting a
 * soft one's) leaves it alone, and only the outermost one's exit removes it. Per task, not per
 * CPU: on PREEMPT_RT a program can be preempted, and the kernel then skips another run of it
 * on that CPU, so an exit can go unseen; such a note only misleads about its own task, and only
 * until it is stale (KS_TIMER_NOTE_NS: callbacks take microseconds). Every CPU's idle task is
 * pid 0: an interrupt that finds one idle gets a note of that CPU's own, or one CPU's callback
 * would keep (or end) another's. */
#define KS_TIMER_NOTE_NS (10 * 1000 * 1000)

struct timer_note {
	__u64 timer;
	__u64 start_ns;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct timer_note);
} signal_timer SEC(".maps");

/* Above any pid (PID_MAX_LIMIT is 2^22): the idle tasks' keys. */
#define KS_IDLE_NOTE_KEY 0xffff0000u

static __always_inline __u32 note_key(void)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();

	return tid ? tid : KS_IDLE_NOTE_KEY + bpf_get_smp_processor_id();
}

static __always_inline struct timer_note *open_note(__u32 key, __u64 now)
{
	struct timer_note *n = bpf_map_lookup_elem(&signal_timer, &key);

	return n && now - n->start_ns < KS_TIMER_NOTE_NS ? n : NULL;
}

static __always_inline void timer_enter(void *timer)
{
	__u32 key = note_key();
	struct timer_note note = {.timer = (__u64)timer, .start_ns = bpf_ktime_get_ns()};

	if (!open_note(key, note.start_ns))
		bpf_map_update_elem(&signal_timer, &key, &note, BPF_ANY);
}

static __always_inline void timer_exit(void *timer)
{
	__u32 key = note_key();
	struct timer_note *n = bpf_map_lookup_elem(&signal_timer, &key);

	if (n && n->timer == (__u64)timer)
		bpf_map_delete_elem(&signal_timer, &key);
}

static __always_inline int in_timer(void)
{
	return open_note(note_key(), bpf_ktime_get_ns()) != NULL;
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
 * signal generated inside a kill, tkill or tgkill notes the thread, so that the call's exit
 * does not report it as a failure too. */
static __always_inline int generated(struct ks_signal_event *e, int sig, int code, int result,
				     int group)
{
	__u8 via = KS_SIGNAL_VIA_OTHER;

	if (!ks_task_wanted() || !sig_wanted(sig))
		return 0;
	long id = KS_REGS_SYSCALL_NR(user_regs());
	int in_call = may_be_call(id);

	/* An hrtimer callback sends SI_KERNEL or SI_TIMER signals, never a call's SI_USER or
	 * SI_TKILL: a call's own signal needs no look at the timer notes (a clock read and a
	 * lookup, a fifth of this program's cost). */
	if (in_call && (code == KS_SI_USER || code == KS_SI_TKILL))
		via = call_of(id, ks_compat_syscall());
	else if (in_timer())
		via = KS_SIGNAL_VIA_TIMER;
	else if (in_call)
		via = call_of(id, ks_compat_syscall());
	if (trace_calls && via && via != KS_SIGNAL_VIA_TIMER && result == KS_SIGNAL_OVERFLOW_FAIL) {
		__u32 tid = (__u32)bpf_get_current_pid_tgid();
		__u8 one = 1;

		if (!bpf_map_update_elem(&signal_calls, &tid, &one, BPF_NOEXIST))
			__sync_fetch_and_add(&notes_open, 1);
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

/* The calls' exits: the tracepoint alternative takes the syscalls tracepoints, which fire for
 * these calls only but never for a 32-bit task's; tp_btf and raw_tp take the raw sys_exit of
 * their own type, which sees every syscall, 32-bit ones with their own numbers. A call that
 * failed without generating a signal is reported with the arguments its saved registers still
 * hold. */
static __always_inline void call_exit(__u8 via, int compat, long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();

	if (notes_open && !bpf_map_delete_elem(&signal_calls, &tid)) {
		__sync_fetch_and_add(&notes_open, -1);
		return;
	}
	if (ret >= 0 || !via || !ks_task_wanted())
		return;

	struct pt_regs *regs = user_regs();
	__s32 a0 = ks_syscall_arg(regs, 0, compat);
	__s32 a1 = ks_syscall_arg(regs, 1, compat);
	struct ks_signal_event e = {};

	if (via == KS_SIGNAL_VIA_KILL) { /* kill(pid, sig) */
		e.target_pid = a0;
		e.sig = a1;
	} else if (via == KS_SIGNAL_VIA_TKILL) { /* tkill(tid, sig) */
		e.target_tid = a0;
		e.sig = a1;
	} else { /* tgkill(tgid, tid, sig) */
		e.target_pid = a0;
		e.target_tid = a1;
		e.sig = ks_syscall_arg(regs, 2, compat);
	}
	if (!sig_wanted(e.sig))
		return;
	ks_fill_header(&e.hdr, KS_EVENT_SIGNAL, sizeof(e));
	e.code = via == KS_SIGNAL_VIA_KILL ? KS_SI_USER : KS_SI_TKILL;
	e.err = -ret;
	e.via = via;
	e.flags = KS_SIGNAL_FAILED_CALL | (via == KS_SIGNAL_VIA_KILL ? KS_SIGNAL_GROUP : 0);
	ks_output(&e, sizeof(e));
}

SEC("tracepoint/syscalls/sys_exit_kill")
int tp_exit_kill(struct syscall_trace_exit *ctx)
{
	call_exit(KS_SIGNAL_VIA_KILL, 0, ctx->ret);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_tkill")
int tp_exit_tkill(struct syscall_trace_exit *ctx)
{
	call_exit(KS_SIGNAL_VIA_TKILL, 0, ctx->ret);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_tgkill")
int tp_exit_tgkill(struct syscall_trace_exit *ctx)
{
	call_exit(KS_SIGNAL_VIA_TGKILL, 0, ctx->ret);
	return 0;
}

/* Only the numbers that may be one of the calls go further. */
static __always_inline void raw_exit(long id, long ret)
{
	if (may_be_call(id)) {
		int compat = ks_compat_syscall();

		call_exit(call_of(id, compat), compat, ret);
	}
}

SEC("tp_btf/sys_exit")
int BPF_PROG(btf_sys_exit, struct pt_regs *regs, long ret)
{
	raw_exit(KS_REGS_SYSCALL_NR(regs), ret);
	return 0;
}

SEC("raw_tp/sys_exit")
int raw_sys_exit(struct bpf_raw_tracepoint_args *ctx)
{
	raw_exit(KS_REGS_SYSCALL_NR(user_regs()), ctx->args[1]);
	return 0;
}
