/* Log2 histograms as the aggregating probes keep them and user space reads them: slot 0
 * counts values 0 and 1, slot i (i >= 1) values in [2^i, 2^(i+1)), the last slot everything
 * above. ABI shared by BPF and user space. */
#ifndef KSCOPE_HISTOGRAM_H
#define KSCOPE_HISTOGRAM_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define KS_LOG2_SLOTS 32 /* 2^32 us is 71 minutes; in ns, 4.3 s: pick the unit to fit */

struct ks_log2_hist {
	__u64 slots[KS_LOG2_SLOTS];
	__u64 sum_ns; /* the values counted, added up in nanoseconds: a metric's _sum and the mean */
};

#endif
