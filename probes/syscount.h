/* trace syscount: ABI shared by syscount.bpf.c and user space. */
#ifndef KSCOPE_SYSCOUNT_H
#define KSCOPE_SYSCOUNT_H

#include "common/event_header.h"
#include "common/syscall_slot.h" /* per syscall, the probe counts in slots */

/* Calls and their time in the kernel: per syscall slot, totals since the probe started
 * (user space reports what each interval added); per process (-P), what the interval
 * counted, with the process's name. */
struct ks_syscount_value {
	__u64 count;
	__u64 total_ns;
};

struct ks_syscount_proc {
	__u64 count;
	__u64 total_ns;
	char comm[KS_COMM_LEN]; /* the process's name when the interval first saw it */
};

#define KS_SYSCOUNT_BY_PROCESS 0x1 /* hdr.tgid and hdr.comm name the process, nr is 0 */
#define KS_SYSCOUNT_COMPAT 0x2     /* nr is a 32-bit (compat) syscall's */
#define KS_SYSCOUNT_FAILED 0x4     /* only failed calls were counted (--failed, --errno) */

/* A snapshot record, made in user space from one map entry. */
struct ks_syscount_record {
	struct ks_event_header hdr;
	__u32 nr;
	__u32 flags;    /* KS_SYSCOUNT_* */
	__u64 count;    /* calls that entered and returned while traced */
	__u64 total_ns; /* their time in the kernel, entry to return */
	__s32 err;      /* --errno: the only error counted, else 0 */
	__u32 pad;
};

#endif
