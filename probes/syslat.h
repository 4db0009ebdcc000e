/* trace syslat: ABI shared by syslat.bpf.c and user space. */
#ifndef KSCOPE_SYSLAT_H
#define KSCOPE_SYSLAT_H

#include "common/event_header.h"
#include "common/histogram.h"
#include "common/syscall_slot.h" /* one histogram per syscall slot */

#define KS_SYSLAT_COMPAT 0x1 /* nr is a 32-bit (compat) syscall's */
#define KS_SYSLAT_MSECS 0x2  /* the slots count milliseconds, not microseconds */
#define KS_SYSLAT_FAILED 0x4 /* only failed calls were counted (--failed) */

/* A snapshot record, made in user space from one map entry: one syscall's latencies. */
struct ks_syslat_record {
	struct ks_event_header hdr;
	__u32 nr;
	__u32 flags; /* KS_SYSLAT_* */
	struct ks_log2_hist hist;
};

#endif
