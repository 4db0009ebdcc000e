/* Filling a log2 histogram (common/histogram.h) in the kernel. */
#ifndef KSCOPE_HISTOGRAM_BPF_H
#define KSCOPE_HISTOGRAM_BPF_H

#include "common/histogram.h"

/* floor(log2(v)), 0 for v <= 1: branch-free, so the verifier sees one path. */
static __always_inline __u32 ks_log2(__u64 v)
{
	__u32 r, shift;

	r = (v > 0xFFFFFFFFull) << 5;
	v >>= r;
	shift = (v > 0xFFFF) << 4;
	v >>= shift;
	r |= shift;
	shift = (v > 0xFF) << 3;
	v >>= shift;
	r |= shift;
	shift = (v > 0xF) << 2;
	v >>= shift;
	r |= shift;
	shift = (v > 0x3) << 1;
	v >>= shift;
	r |= shift;
	r |= (v >> 1);
	return r;
}

/* Adds one value to `h`; values past the last slot count in it. Atomic: several CPUs may
 * add to one histogram (one that is not per CPU). */
static __always_inline void ks_hist_add(struct ks_log2_hist *h, __u64 v)
{
	__u32 slot = ks_log2(v);

	if (slot >= KS_LOG2_SLOTS)
		slot = KS_LOG2_SLOTS - 1;
	__sync_fetch_and_add(&h->slots[slot], 1);
}

#endif
