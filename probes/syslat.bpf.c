// SPDX-License-Identifier: GPL-2.0
/* trace syslat: how long syscalls take, entry to return, as one log2 histogram per syscall
 * kept in the kernel (bpftrace's syscall latency one-liners; libbpf-tools has none). Nothing
 * goes to the ring buffer.
 *
 * sys_enter notes in the task's local storage when the call began and its slot
 * (common/syscall_slot.h); sys_exit adds the call's time to that slot's histogram
 * (common/syscall_timing.bpf.h, which also has the hooks, as trace syscount's). A call is
 * counted once it returns, if it began while traced: exit and exit_group never return. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "common/compat.bpf.h"
#include "common/filter.bpf.h"
#include "common/histogram.bpf.h"
#include "common/syscall_slot.bpf.h"
#include "common/syscall_timing.bpf.h"
#include "syslat.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 msecs = 0;       /* -m: slots in ms instead of us */
const volatile __u32 failed_only = 0; /* --failed: only calls that returned an error */
const volatile __s32 only_slot = -1;  /* --syscall: only this slot */

/* Per syscall slot, its histogram since the probe started; user space reports each interval
 * what it added (syslat_reported), so no call is lost between reading and resetting, and
 * with an entry for every slot the array is never full. Adds are atomic (ks_hist_add): the
 * calls of one syscall return on every CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * KS_SYSCALL_SLOTS);
	__type(key, __u32);
	__type(value, struct ks_log2_hist);
} syslat_hists SEC(".maps");

/* What user space has reported of syslat_hists: it alone reads and writes this. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * KS_SYSCALL_SLOTS);
	__type(key, __u32);
	__type(value, struct ks_log2_hist);
} syslat_reported SEC(".maps");

static __always_inline void syscall_enters(long id)
{
	int compat = ks_compat_syscall();
	__u32 slot;

	if (KS_SYSCALL_IS(id, compat, exit) || KS_SYSCALL_IS(id, compat, exit_group))
		return;
	slot = ks_syscall_slot(id, compat);
	if (only_slot >= 0 && slot != (__u32)only_slot)
		return;
	if (ks_task_wanted())
		ks_call_begins(slot);
}

static __always_inline void syscall_exits(long ret)
{
	struct ks_log2_hist *h;
	__u64 ns;
	__u32 slot;

	if (!ks_call_ends(&slot, &ns) || (failed_only && !ks_call_failed(ret)))
		return;
	h = bpf_map_lookup_elem(&syslat_hists, &slot); /* every slot has its entry */
	if (h)
		ks_hist_add(h, ns / (msecs ? 1000000 : 1000), ns);
}

KS_SYSCALL_HOOKS()
