/* trace tcprtt: ABI shared by tcprtt.bpf.c and user space. */
#ifndef KSCOPE_TCPRTT_H
#define KSCOPE_TCPRTT_H

#include "common/event_header.h"
#include "common/histogram.h"

enum ks_tcprtt_by {
	KS_TCPRTT_TOTAL = 0,  /* one histogram */
	KS_TCPRTT_LOCAL = 1,  /* one per local address (--by-local) */
	KS_TCPRTT_REMOTE = 2, /* one per remote address (-a, --by-remote) */
};

#define KS_TCPRTT_MSECS 0x1 /* the slots count milliseconds, not microseconds */

/* The histograms' key: the address (family 0 and zeros for the total). */
struct ks_tcprtt_key {
	__u8 addr[16]; /* network order; IPv4 in the first 4 bytes */
	__u8 family;   /* 4, 6, or 0 */
	__u8 pad[3];
};

/* The probe's map value: the histogram (its sum_ns gives the average). */
struct ks_tcprtt_hist {
	struct ks_log2_hist hist;
};

/* A snapshot record, made in user space from one map entry. The header names no task:
 * samples are taken where the kernel processes a received segment, mostly in softirq. */
struct ks_tcprtt_record {
	struct ks_event_header hdr;
	struct ks_tcprtt_key key;
	__u32 by;    /* enum ks_tcprtt_by */
	__u32 flags; /* KS_TCPRTT_* */
	__u32 pad;
	struct ks_log2_hist hist;
};

#endif
