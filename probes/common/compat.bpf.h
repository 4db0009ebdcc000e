/* 32-bit (compat) syscalls of a 64-bit kernel, for the raw sys_enter/sys_exit hooks: those
 * see every syscall of every task, and a compat syscall has its own numbers (syscall_nr.h)
 * and its own argument registers. Read as the native syscall of the same number, a 32-bit
 * task's oldolduname (59) would be an execve. The syscalls:sys_* tracepoints never fire for
 * a compat syscall (ARCH_TRACE_IGNORE_COMPAT_SYSCALLS), so their programs need none of this. */
#ifndef KSCOPE_COMPAT_BPF_H
#define KSCOPE_COMPAT_BPF_H

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#include "common/syscall_nr.h"

/* Argument n (0-3) of the current native syscall, from its saved registers. */
static __always_inline __u64 ks_native_syscall_arg(struct pt_regs *regs, int n)
{
	switch (n) {
	case 0: return PT_REGS_PARM1_SYSCALL(regs);
	case 1: return PT_REGS_PARM2_SYSCALL(regs);
	case 2: return PT_REGS_PARM3_SYSCALL(regs);
	default: return PT_REGS_PARM4_SYSCALL(regs);
	}
}

#if defined(__TARGET_ARCH_x86)

/* arch/x86/include/asm/thread_info.h (a macro, so not in BTF): set while an ia32 syscall
 * runs, from entry until the return to user space. An exec that loads a 32-bit program sets
 * it and rewrites orig_ax to the ia32 execve (11); one that loads a 64-bit program clears it
 * and writes 59. So at sys_exit, (orig_ax, TS_COMPAT) name the syscall in the ABI of the
 * program that returns from it. */
#define KS_TS_COMPAT 0x0002

static __always_inline int ks_compat_syscall(void)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();

	return (BPF_CORE_READ(task, thread_info.status) & KS_TS_COMPAT) != 0;
}

/* Argument n (0-3) of the current syscall: rdi, rsi, rdx, r10 natively; ebx, ecx, edx, esi
 * for ia32, whose arguments are 32 bits wide (a pointer is zero-extended, as the kernel's
 * compat entry does). */
static __always_inline __u64 ks_syscall_arg(struct pt_regs *regs, int n, int compat)
{
	if (compat) {
		switch (n) {
		case 0: return (__u32)regs->bx;
		case 1: return (__u32)regs->cx;
		case 2: return (__u32)regs->dx;
		default: return (__u32)regs->si;
		}
	}
	return ks_native_syscall_arg(regs, n);
}

/* Whether syscall number id is the traced syscall `name` in the ABI compat says. */
#define KS_SYSCALL_IS(id, compat, name) \
	((compat) ? (id) == KS_NR_COMPAT_##name : (id) == KS_NR_##name)
/* Whether id may be `name` in either ABI: tested first, so that the compat flag is read only
 * for the few syscalls that may match, not for every syscall the raw hooks see. */
#define KS_SYSCALL_MAY_BE(id, name) ((id) == KS_NR_##name || (id) == KS_NR_COMPAT_##name)

#elif defined(__TARGET_ARCH_arm64)

/* arch/arm64/include/asm/thread_info.h: TIF_32BIT marks an AArch32 task. Its syscalls are not
 * traced (there is no arm64 test machine yet): they are told apart and ignored, never read
 * as the native syscall of the same number. */
#define KS_TIF_32BIT 22

static __always_inline int ks_compat_syscall(void)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();

	return (BPF_CORE_READ(task, thread_info.flags) >> KS_TIF_32BIT) & 1;
}

static __always_inline __u64 ks_syscall_arg(struct pt_regs *regs, int n, int compat)
{
	return ks_native_syscall_arg(regs, n);
}

#define KS_SYSCALL_IS(id, compat, name) (!(compat) && (id) == KS_NR_##name)
#define KS_SYSCALL_MAY_BE(id, name) ((id) == KS_NR_##name)

#endif

#endif
