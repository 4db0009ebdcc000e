// SPDX-License-Identifier: GPL-2.0
/* trace open: openat and openat2 with flags, mode, result and path.
 *
 * Built for event storms: one hook per open (at exit, where the arguments are still in the
 * saved registers), the task and --failed filters before any copy, only the path's own
 * bytes copied, staged per CPU into ring buffer records of up to 32 events
 * (common/stage.bpf.h), and no consumer wake-up per event. Hook alternatives:
 * the syscalls exit tracepoints, or tp_btf on the raw sys_exit filtered by syscall number,
 * which sees 32-bit syscalls too. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "common/compat.bpf.h"
#include "common/core_fixes.bpf.h"
#include "common/filter.bpf.h"
#include "common/ringbuf.bpf.h"
#include "common/stage.bpf.h"
#include "common/syscall_nr.h"
#include "open.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 failed_only = 0;
const volatile __u32 prefix_len = 0;
const volatile char prefix[KS_OPEN_PREFIX_MAX] = {};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ks_open_event);
} open_scratch SEC(".maps");

static __always_inline int prefix_matches(const char *path)
{
	for (__u32 i = 0; i < KS_OPEN_PREFIX_MAX && i < prefix_len; i++)
		if (path[i] != prefix[i])
			return 0;
	return 1;
}

/* The syscall's arguments are still in the task's saved user registers at exit, so one exit
 * hook does the work of an enter/exit pair and no per-thread map is needed. compat: a 32-bit
 * syscall, whose arguments are in other registers (compat.bpf.h). */
static __always_inline void on_exit(struct pt_regs *regs, long ret, __u16 syscall, int compat)
{
	__u32 zero = 0;

	if (failed_only && ret >= 0)
		return;
	if (!ks_task_wanted())
		return;
	struct ks_open_event *e = bpf_map_lookup_elem(&open_scratch, &zero);
	if (!e)
		return;
	const char *path = (const char *)ks_syscall_arg(regs, 1, compat);
	/* A read that faults is flagged (the helpers zero what they could not read), never
	 * passed off as an empty path or as O_RDONLY. */
	e->partial = 0;
	if (syscall == KS_OPEN_OPENAT2) {
		struct open_how how = {};

		if (bpf_probe_read_user(&how, sizeof(how), (void *)ks_syscall_arg(regs, 2, compat)))
			e->partial |= KS_OPEN_HOW_UNREADABLE;
		e->flags = how.flags;
		e->mode = how.mode;
	} else {
		/* openat(int dfd, const char *, int flags, umode_t mode): the kernel uses only the
		 * low 32 bits of flags and 16 of mode, whatever the rest of the registers hold. */
		e->flags = (__u32)ks_syscall_arg(regs, 2, compat);
		e->mode = (__u16)ks_syscall_arg(regs, 3, compat);
	}
	e->dfd = ks_syscall_arg(regs, 0, compat);
	long len = ks_read_user_str(e->path, sizeof(e->path), path);
	if (len < 0) {
		len = 0;
		e->partial |= KS_OPEN_PATH_UNREADABLE;
	}
	if (prefix_len && !prefix_matches(e->path))
		return;
	e->ret = ret;
	e->syscall = syscall;
	e->path_size = len;
	e->pad = 0;

	__u64 size = offsetof(struct ks_open_event, path) + len;
	if (size > sizeof(*e))
		size = sizeof(*e);
	ks_fill_header(&e->hdr, KS_EVENT_OPEN, size);
	ks_output_staged(e, size);
}

/* The context is struct syscall_trace_exit, the record syscalls:sys_exit_* really has; the
 * raw_syscalls layout (trace_event_raw_sys_exit) puts ret 8 bytes further on PREEMPT_RT 6.1,
 * past the record, and the verifier refuses the attach. */
SEC("tracepoint/syscalls/sys_exit_openat")
int tp_exit_openat(struct syscall_trace_exit *ctx)
{
	/* compat 0: the syscalls tracepoints never fire for a 32-bit syscall */
	on_exit((struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf()), ctx->ret,
		KS_OPEN_OPENAT, 0);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_openat2")
int tp_exit_openat2(struct syscall_trace_exit *ctx)
{
	on_exit((struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf()), ctx->ret,
		KS_OPEN_OPENAT2, 0);
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(btf_sys_exit, struct pt_regs *regs, long ret)
{
	long id = KS_REGS_SYSCALL_NR(regs);

	if (!KS_SYSCALL_MAY_BE(id, openat) && !KS_SYSCALL_MAY_BE(id, openat2))
		return 0;
	int compat = ks_compat_syscall();
	if (KS_SYSCALL_IS(id, compat, openat))
		on_exit(regs, ret, KS_OPEN_OPENAT, compat);
	else if (KS_SYSCALL_IS(id, compat, openat2))
		on_exit(regs, ret, KS_OPEN_OPENAT2, compat);
	return 0;
}
