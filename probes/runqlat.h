/* trace runqlat: ABI shared by runqlat.bpf.c and user space. */
#ifndef KSCOPE_RUNQLAT_H
#define KSCOPE_RUNQLAT_H

#include "common/event_header.h"
#include "common/histogram.h"

enum ks_runqlat_by {
	KS_RUNQLAT_TOTAL = 0,   /* one histogram */
	KS_RUNQLAT_PROCESS = 1, /* one per process (-P) */
	KS_RUNQLAT_THREAD = 2,  /* one per thread (-L) */
};

#define KS_RUNQLAT_MSECS 0x1 /* the slots count milliseconds, not microseconds */

/* The probe's map value: one histogram and the name of its task (of the last one counted). */
struct ks_runqlat_hist {
	struct ks_log2_hist hist;
	char comm[KS_COMM_LEN];
};

/* A snapshot record, made in user space from one map entry. hdr.tgid/pid name the process
 * or thread (0 for the total), hdr.comm its name. */
struct ks_runqlat_record {
	struct ks_event_header hdr;
	__u32 by;    /* enum ks_runqlat_by */
	__u32 flags; /* KS_RUNQLAT_* */
	struct ks_log2_hist hist;
};

#endif
