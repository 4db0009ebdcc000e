/* A syscall's slot (common/syscall_slot.h) in the kernel. */
#ifndef KSCOPE_SYSCALL_SLOT_BPF_H
#define KSCOPE_SYSCALL_SLOT_BPF_H

#include "common/syscall_slot.h"

static __always_inline __u32 ks_syscall_slot(long id, int compat)
{
	__u32 slot = id >= 0 && id < KS_SYSCALL_SLOTS ? id : KS_SYSCALL_SLOTS - 1;

	return compat ? KS_SYSCALL_SLOTS + slot : slot;
}

#endif
