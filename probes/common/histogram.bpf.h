/* Filling a log2 histogram (common/histogram.h) in the kernel. */
#ifndef KSCOPE_HISTOGRAM_BPF_H
#define KSCOPE_HISTOGRAM_BPF_H

#include "common/histogram.h"

/* floor(log2(v)), 0 for v <= 1: a binary search over the bits, unrolled, without branches. */
static __always_inline __u32 ks_log2(__u64 v)
{
	__u32 r = 0;

#pragma unroll
	for (__u32 s = 32; s; s >>= 1) {
		__u32 shift = (__u32)((v >> s) != 0) * s;

		v >>= shift;
		r |= shift;
	}
	return r;
}

/* Adds one value to `h`: `v` in the slots' unit (values past the last slot count in it),
 * `ns` the same value in nanoseconds to the sum, which the slots' unit would round down.
 * Atomic: several CPUs may add to one histogram (one that is not per CPU). */
static __always_inline void ks_hist_add(struct ks_log2_hist *h, __u64 v, __u64 ns)
{
	__u32 slot = ks_log2(v);

	if (slot >= KS_LOG2_SLOTS)
		slot = KS_LOG2_SLOTS - 1;
	__sync_fetch_and_add(&h->slots[slot], 1);
	__sync_fetch_and_add(&h->sum_ns, ns);
}

#endif
