/* Syscall numbers for the raw sys_enter/sys_exit hooks, which see every syscall and filter
 * by number. Only the syscalls kscope traces. A 32-bit (compat) syscall has numbers of its
 * own, which mean other syscalls natively: compat.bpf.h tells the two apart. */
#ifndef KSCOPE_SYSCALL_NR_H
#define KSCOPE_SYSCALL_NR_H

#if defined(__TARGET_ARCH_x86)
#define KS_NR_openat 257
#define KS_NR_execve 59
#define KS_NR_execveat 322
#define KS_NR_openat2 437
#define KS_NR_connect 42
#define KS_NR_accept 43
#define KS_NR_bind 49
#define KS_NR_listen 50
#define KS_NR_accept4 288
/* ia32 (arch/x86/entry/syscalls/syscall_32.tbl), for a 32-bit task or int $0x80. The ia32
 * 59, 257 and 322 are oldolduname, remap_file_pages and timerfd_create. */
#define KS_NR_COMPAT_openat 295
#define KS_NR_COMPAT_execve 11
#define KS_NR_COMPAT_execveat 358
#define KS_NR_COMPAT_openat2 437
/* ia32's own socket syscalls (4.3+); 32-bit C libraries may still go through socketcall
 * (102), which the raw hooks do not decode. ia32 has no accept of its own, only accept4. */
#define KS_NR_COMPAT_bind 361
#define KS_NR_COMPAT_connect 362
#define KS_NR_COMPAT_listen 363
#define KS_NR_COMPAT_accept4 364
#define KS_REGS_SYSCALL_NR(regs) ((regs)->orig_ax)
#define KS_NR_kill 62
#define KS_NR_tkill 200
#define KS_NR_tgkill 234
#define KS_NR_COMPAT_kill 37 /* natively alarm */
#define KS_NR_COMPAT_tkill 238
#define KS_NR_COMPAT_tgkill 270
/* exit and exit_group never return: trace syscount keeps no start time for them. */
#define KS_NR_exit 60
#define KS_NR_exit_group 231
#define KS_NR_COMPAT_exit 1
#define KS_NR_COMPAT_exit_group 252
#elif defined(__TARGET_ARCH_arm64)
#define KS_NR_openat 56
#define KS_NR_execve 221
#define KS_NR_execveat 281
#define KS_NR_openat2 437
#define KS_NR_bind 200
#define KS_NR_listen 201
#define KS_NR_accept 202
#define KS_NR_connect 203
#define KS_NR_accept4 242
/* AArch32 syscalls are not traced (compat.bpf.h): no KS_NR_COMPAT_* numbers. */
#define KS_REGS_SYSCALL_NR(regs) ((regs)->syscallno)
#define KS_NR_kill 129
#define KS_NR_tkill 130
#define KS_NR_tgkill 131
#define KS_NR_exit 93
#define KS_NR_exit_group 94
#else
#error "kscope: add this architecture's syscall numbers"
#endif

#endif
