/* Syscall numbers for the raw sys_enter/sys_exit hooks, which see every syscall and filter
 * by number. Only the syscalls kscope traces. */
#ifndef KSCOPE_SYSCALL_NR_H
#define KSCOPE_SYSCALL_NR_H

#if defined(__TARGET_ARCH_x86)
#define KS_NR_openat 257
#define KS_NR_execve 59
#define KS_NR_execveat 322
#define KS_NR_openat2 437
#define KS_REGS_SYSCALL_NR(regs) ((regs)->orig_ax)
#elif defined(__TARGET_ARCH_arm64)
#define KS_NR_openat 56
#define KS_NR_execve 221
#define KS_NR_execveat 281
#define KS_NR_openat2 437
#define KS_REGS_SYSCALL_NR(regs) ((regs)->syscallno)
#else
#error "kscope: add this architecture's syscall numbers"
#endif

#endif
