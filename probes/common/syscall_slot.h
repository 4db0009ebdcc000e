/* Syscall slots: trace syscount's counts and trace syslat's histograms, kept per syscall in
 * maps indexed by slot. A native syscall's number is its slot; a 32-bit (compat) one's is
 * KS_SYSCALL_SLOTS on (its numbers name other syscalls than the native ones: compat.bpf.h).
 * Numbers from KS_SYSCALL_SLOTS - 1 up share the last slot of their ABI: no kernel has that
 * many syscalls, so only a made-up number lands there. */
#ifndef KSCOPE_SYSCALL_SLOT_H
#define KSCOPE_SYSCALL_SLOT_H

#define KS_SYSCALL_SLOTS 1024

#endif
