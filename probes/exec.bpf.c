// SPDX-License-Identifier: GPL-2.0
/* trace exec: every execve/execveat with its full argv and result.
 *
 * The enter hook remembers the argv pointer; the exit hook emits. A successful exec has
 * replaced the old memory, so its argv is read from the new mm's argument area (what
 * /proc/PID/cmdline shows); a failed one still has the caller's argv to walk.
 * Hook alternatives (user space enables one set): syscalls tracepoints (with
 * sched_process_exec for the execs they cannot see return), or tp_btf on the raw
 * sys_enter/sys_exit tracepoints filtered by syscall number, 32-bit syscalls included. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "common/compat.bpf.h"
#include "common/core_fixes.bpf.h"
#include "common/filter.bpf.h"
#include "common/ringbuf.bpf.h"
#include "common/syscall_nr.h"
#include "common/task.bpf.h"
#include "exec.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 max_args = 128;
const volatile __u32 max_arg_len = 1024;
const volatile __u32 include_failed = 0; /* --failed, as execsnoop -x */

struct exec_argv_value {
	__u64 argv;   /* user pointer to the argv array */
	__u32 compat; /* a 32-bit syscall's: 4-byte pointers */
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32); /* tid */
	__type(value, struct exec_argv_value);
} exec_argv SEC(".maps");

/* Failed execs whose argv the enter hook had not kept in exec_argv (the LRU map evicted it,
 * or the exec began before the probe was attached). Each such event is flagged
 * KS_EXEC_ARGV_MISSING; the count reaches user space even when the event itself is lost. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} exec_argv_missing SEC(".maps");

/* Too big for the 512-byte stack, and for a per-CPU map's 32 KiB value limit: an array with
 * one slot per possible CPU (sized by user space), indexed by the current CPU, which cannot
 * change under a running program. The slack lets the verifier prove that a string read
 * starting anywhere in args[] stays inside the value; the code never writes past args[]. */
struct exec_scratch_value {
	struct ks_exec_event e;
	char slack[KS_EXEC_MAX_ARG_LEN + 2];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1); /* resized to the number of possible CPUs */
	__type(key, __u32);
	__type(value, struct exec_scratch_value);
} exec_scratch SEC(".maps");

static __always_inline void on_enter(__u64 argv, int compat)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct exec_argv_value v = {.argv = argv, .compat = compat};

	bpf_map_update_elem(&exec_argv, &tid, &v, BPF_ANY);
}

/* After a successful exec: the NUL-separated strings between mm->arg_start and arg_end. A
 * read that faults is flagged, never passed off as an empty argv. */
static __always_inline __u32 read_new_args(struct task_struct *task, struct ks_exec_event *e)
{
	struct mm_struct *mm = BPF_CORE_READ(task, mm);
	__u64 start = BPF_CORE_READ(mm, arg_start);
	__u64 total = BPF_CORE_READ(mm, arg_end) - start;
	__u64 n = total;

	if (n > KS_EXEC_ARGS_SIZE) {
		n = KS_EXEC_ARGS_SIZE;
		e->flags |= KS_EXEC_ARGS_CUT;
	}
	if (bpf_probe_read_user(e->args, n, (void *)start)) {
		e->flags |= KS_EXEC_ARGS_UNREADABLE;
		return 0;
	}
	return n;
}

/* After a failed exec: the caller's argv, one string at a time, each cut one byte past
 * max_arg_len so that user space can tell a cut argument from one of exactly that length.
 * A pointer or string that faults ends the walk, flagged: what was read before is kept. A
 * NULL argv (Linux runs it as an empty one) is no fault. */
static __always_inline __u32 read_old_args(const struct exec_argv_value *v, struct ks_exec_event *e)
{
	/* A 32-bit caller's argv holds 4-byte pointers; read into a zeroed __u64 they come out
	 * zero-extended. Computed without a branch: two sizes would double the states the
	 * verifier walks through the loop. */
	__u64 ptr_size = 8 - ((v->compat & 1) << 2);
	__u64 argv = v->argv;
	__u64 off = 0;

	if (!argv)
		return 0;
	for (int i = 0; i < KS_EXEC_MAX_ARGS; i++) {
		__u64 arg = 0;

		if (bpf_probe_read_user(&arg, ptr_size, (void *)(argv + i * ptr_size))) {
			e->flags |= KS_EXEC_ARGS_UNREADABLE;
			break;
		}
		if (!arg)
			break;
		if (i >= max_args) {
			e->flags |= KS_EXEC_MORE_ARGS;
			break;
		}
		if (off >= KS_EXEC_ARGS_SIZE) {
			e->flags |= KS_EXEC_ARGS_CUT;
			break;
		}
		__u32 want = max_arg_len + 2;
		int squeezed = 0; /* the space left in args[], not max_arg_len, bounds this copy */
		if (want > KS_EXEC_ARGS_SIZE - off) {
			want = KS_EXEC_ARGS_SIZE - off;
			squeezed = 1;
		}
		if (want > KS_EXEC_MAX_ARG_LEN + 2)
			want = KS_EXEC_MAX_ARG_LEN + 2;
		/* off < KS_EXEC_ARGS_SIZE already, so the compiler would drop a plain mask; the asm
		 * restates the bound in the register the verifier checks. */
		__u64 at = off;
		asm volatile("%0 &= %1" : "+r"(at) : "i"(KS_EXEC_ARGS_SIZE - 1));
		long len = ks_read_user_str(&e->args[at], want, (const void *)arg);
		if (len <= 0) {
			e->flags |= KS_EXEC_ARGS_UNREADABLE;
			break;
		}
		off += len;
		if (squeezed && len == want) {
			e->flags |= KS_EXEC_ARGS_CUT;
			break;
		}
	}
	return off;
}

static __always_inline void on_exit(long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct exec_argv_value *found = bpf_map_lookup_elem(&exec_argv, &tid);
	struct exec_argv_value entry = {};
	__u32 cpu = bpf_get_smp_processor_id();

	if (found) {
		entry = *found;
		bpf_map_delete_elem(&exec_argv, &tid);
	}
	if (ret < 0 && !include_failed)
		return;
	if (!ks_task_wanted())
		return;

	struct exec_scratch_value *v = bpf_map_lookup_elem(&exec_scratch, &cpu);
	if (!v)
		return;
	struct ks_exec_event *e = &v->e;
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();

	e->ppid = ks_ppid(task);
	e->ns_tgid = ks_ns_tgid(task);
	e->ret = ret;
	e->flags = 0;
	/* A failed exec needs the argv seen at entry; a successful one reads its new mm. A
	 * thread that execs takes over the leader's pid, so only failures need the entry. */
	if (ret == 0) {
		e->args_size = read_new_args(task, e);
	} else if (found) {
		e->args_size = read_old_args(&entry, e);
	} else {
		e->args_size = 0;
		e->flags |= KS_EXEC_ARGV_MISSING;
		ks_count(&exec_argv_missing);
	}

	__u64 size = offsetof(struct ks_exec_event, args) + e->args_size;
	if (size > sizeof(*e))
		size = sizeof(*e);
	ks_fill_header(&e->hdr, KS_EVENT_EXEC, size);
	ks_output(e, size);
}

/* A syscalls:sys_* record is laid out as struct syscall_trace_enter/exit, not as the
 * raw_syscalls trace_event_raw_sys_enter/exit: CO-RE relocates the context's fields against
 * the kernel, and the two differ wherever struct trace_entry does (PREEMPT_RT 6.1 makes it
 * 12 bytes: the raw layout would read args[] 8 bytes too far and ret past the record). */
SEC("tracepoint/syscalls/sys_enter_execve")
int tp_enter_execve(struct syscall_trace_enter *ctx)
{
	on_enter(ctx->args[1], 0); /* the syscalls tracepoints see no 32-bit syscall */
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_execveat")
int tp_enter_execveat(struct syscall_trace_enter *ctx)
{
	on_enter(ctx->args[2], 0);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_execve")
int tp_exit_execve(struct syscall_trace_exit *ctx)
{
	on_exit(ctx->ret);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_execveat")
int tp_exit_execveat(struct syscall_trace_exit *ctx)
{
	on_exit(ctx->ret);
	return 0;
}

/* An exec that loads a 32-bit program returns through the compat path, for which
 * syscalls:sys_exit_* never fires (the syscall has become a 32-bit one: TS_COMPAT is set);
 * the tracepoint alternative reports it here, where it has already succeeded. Every other
 * exec returns through sys_exit_execve or sys_exit_execveat. */
SEC("tracepoint/sched/sched_process_exec")
int tp_sched_process_exec(void *ctx)
{
	if (ks_compat_syscall())
		on_exit(0);
	return 0;
}

/* The raw hooks see 32-bit syscalls too: each is matched with its own ABI's numbers and
 * argument registers (compat.bpf.h). */
SEC("tp_btf/sys_enter")
int BPF_PROG(btf_sys_enter, struct pt_regs *regs, long id)
{
	if (!KS_SYSCALL_MAY_BE(id, execve) && !KS_SYSCALL_MAY_BE(id, execveat))
		return 0;
	int compat = ks_compat_syscall();
	if (KS_SYSCALL_IS(id, compat, execve))
		on_enter(ks_syscall_arg(regs, 1, compat), compat);
	else if (KS_SYSCALL_IS(id, compat, execveat))
		on_enter(ks_syscall_arg(regs, 2, compat), compat);
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(btf_sys_exit, struct pt_regs *regs, long ret)
{
	long id = KS_REGS_SYSCALL_NR(regs);

	if (!KS_SYSCALL_MAY_BE(id, execve) && !KS_SYSCALL_MAY_BE(id, execveat))
		return 0;
	int compat = ks_compat_syscall();
	if (KS_SYSCALL_IS(id, compat, execve) || KS_SYSCALL_IS(id, compat, execveat))
		on_exit(ret);
	return 0;
}
