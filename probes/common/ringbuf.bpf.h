/* Ring buffer output shared by every probe: no wake-up per event, and every failed write
 * counted in a per-CPU counter that user space sums (no silent loss). */
#ifndef KSCOPE_RINGBUF_BPF_H
#define KSCOPE_RINGBUF_BPF_H

#include "common/event_header.h"

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20); /* resized by user space before load */
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} lost_events SEC(".maps");

/* Wake the consumer once this many bytes wait, or when no record has woken it for
 * wakeup_interval_ns: a storm costs at most one wake-up per interval, and the first record
 * after a quiet spell is delivered at once. A user-space tick drains whatever is left. */
const volatile __u64 wakeup_bytes = 1 << 20;
const volatile __u64 wakeup_interval_ns = 10 * 1000 * 1000;

/* Shared by all CPUs without a lock: a lost update only costs one extra wake-up. */
__u64 ks_last_wakeup_ns = 0;

/* Adds n to a counter kept as a one-slot per-CPU array of __u64, as lost_events is; a
 * probe's own counters (exec's exec_argv_missing) too. User space sums the CPUs' slots. */
static __always_inline void ks_count_n(void *counter, __u64 n)
{
	__u32 zero = 0;
	__u64 *slot = bpf_map_lookup_elem(counter, &zero);

	if (slot)
		*slot += n;
}

static __always_inline void ks_count(void *counter)
{
	ks_count_n(counter, 1);
}

/* now: the record's own header timestamp (boot time), so that an event reads the clock once:
 * in this project's VM a clock read costs about 90 ns, an eighth of an open's whole probe. */
static __always_inline __u64 ks_wakeup_flag(__u64 now)
{
	if (now - ks_last_wakeup_ns < wakeup_interval_ns &&
	    bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) < wakeup_bytes)
		return BPF_RB_NO_WAKEUP;
	ks_last_wakeup_ns = now;
	return BPF_RB_FORCE_WAKEUP;
}

/* Fills the common header from the current task. */
static __always_inline void ks_fill_header(struct ks_event_header *h, __u32 type, __u32 size)
{
	__u64 id = bpf_get_current_pid_tgid();

	h->ts_ns = bpf_ktime_get_boot_ns();
	h->cgroup_id = bpf_get_current_cgroup_id();
	h->type = type;
	h->size = size;
	h->pid = (__u32)id;
	h->tgid = id >> 32;
	h->uid = (__u32)bpf_get_current_uid_gid();
	h->pad = 0;
	bpf_get_current_comm(h->comm, sizeof(h->comm));
}

/* Copies a record built in scratch memory into the ring buffer; counts it if there is no room.
 * Every record starts with its header, filled by ks_fill_header(). */
static __always_inline void ks_output(void *rec, __u64 size)
{
	__u64 now = ((struct ks_event_header *)rec)->ts_ns;

	if (bpf_ringbuf_output(&events, rec, size, ks_wakeup_flag(now)))
		ks_count(&lost_events);
}

#endif
