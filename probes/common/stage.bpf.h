/* Staged ring buffer output, for the probes whose events come in storms (open): a CPU's
 * events are gathered in a per-CPU stage and go into the ring buffer together, as one
 * KS_EVENT_BATCH record that user space splits. A ring buffer write takes the ring's lock
 * with interrupts off, which in this project's VM costs ~350 ns, more than the rest of an
 * open's probe; staged, it is paid once per KS_STAGE_EVENTS events.
 *
 * When the stage goes out: when it holds KS_STAGE_EVENTS events or has no room for the next
 * one; and when user space runs ks_stage_flush on the CPU (BPF_F_TEST_RUN_ON_CPU) because
 * ks_staged says it holds events, at every drain of the ring. An event on a CPU whose stage
 * is empty and went out over KS_STAGE_QUIET_NS ago is written at once: outside a storm
 * nothing waits.
 *
 * Who touches a stage: probe runs on its CPU, and ks_stage_flush in the IPI user space sends
 * there, which may interrupt a probe run. `busy` keeps them apart: a run that finds it set
 * writes its event straight to the ring, a flush that finds it set leaves the stage for the
 * next drain. A plain flag is enough on one CPU where runs nest but never interleave; user
 * space leaves staging off on PREEMPT_RT, where two runs on one CPU can preempt each other.
 * Events of one CPU may then reach user space out of order: one written straight while a
 * flush held the stage passes the events staged before it. */
#ifndef KSCOPE_STAGE_BPF_H
#define KSCOPE_STAGE_BPF_H

#include "common/ringbuf.bpf.h"

#define KS_STAGE_BYTES (16 << 10)   /* staged bytes that force the stage out */
#define KS_STAGE_RECORD_MAX 4352    /* larger records are never staged */
#define KS_STAGE_EVENTS 32          /* staged events that force the stage out */
#define KS_STAGE_QUIET_NS 1000000   /* 1 ms: an event after a quiet spell goes out at once */

/* Keeps the compiler from moving the stage's reads and writes across the busy flag's. */
#define ks_barrier() asm volatile("" ::: "memory")

/* Set by user space before load (off on PREEMPT_RT). */
const volatile __u32 stage_events = 0;

struct ks_stage {
	__u32 busy;
	__u32 count;	      /* events staged */
	__u64 used;	      /* bytes in data[], the batch header included; 0 when empty */
	__u64 last_out_ns;    /* when the stage last went out, or an event went out at once */
	char data[KS_STAGE_BYTES + KS_STAGE_RECORD_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ks_stage);
} ks_stage SEC(".maps");

/* Events staged per CPU, read by user space to flush only the CPUs that hold any. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} ks_staged SEC(".maps");

static __always_inline void ks_set_staged(__u64 n)
{
	__u32 zero = 0;
	__u64 *staged = bpf_map_lookup_elem(&ks_staged, &zero);

	if (staged)
		*staged = n;
}

/* The stage into the ring buffer as one record; its events are counted lost if there is no
 * room. The caller holds busy. */
static __always_inline void ks_stage_out(struct ks_stage *st, __u64 now)
{
	struct ks_event_header *h = (struct ks_event_header *)st->data;
	__u64 n = st->used;

	if (!st->count)
		return;
	if (n > sizeof(st->data))
		n = sizeof(st->data);
	h->ts_ns = now;
	h->type = KS_EVENT_BATCH;
	h->size = n;
	if (bpf_ringbuf_output(&events, st->data, n, ks_wakeup_flag(now)))
		ks_count_n(&lost_events, st->count);
	st->count = 0;
	st->used = 0;
	st->last_out_ns = now;
	ks_set_staged(0);
}

/* ks_output() through the stage: rec starts with its header, filled by ks_fill_header(). */
static __always_inline void ks_output_staged(void *rec, __u64 size)
{
	__u64 now = ((struct ks_event_header *)rec)->ts_ns;
	struct ks_stage *st;
	__u32 zero = 0;
	__u64 off;

	if (!stage_events || size > KS_STAGE_RECORD_MAX)
		goto direct;
	st = bpf_map_lookup_elem(&ks_stage, &zero);
	if (!st || st->busy)
		goto direct;
	st->busy = 1;
	ks_barrier();
	if (!st->count && now - st->last_out_ns >= KS_STAGE_QUIET_NS) {
		st->last_out_ns = now;
		ks_barrier();
		st->busy = 0;
		goto direct;
	}
	if (st->used + size > KS_STAGE_BYTES)
		ks_stage_out(st, now);
	off = st->used ? st->used : sizeof(struct ks_event_header);
	if (off > KS_STAGE_BYTES)
		off = KS_STAGE_BYTES;
	bpf_probe_read_kernel(st->data + off, size, rec);
	st->used = off + size;
	st->count++;
	if (st->count >= KS_STAGE_EVENTS)
		ks_stage_out(st, now);
	else
		ks_set_staged(st->count);
	ks_barrier();
	st->busy = 0;
	return;
direct:
	ks_output(rec, size);
}

/* Run by user space on a CPU (BPF_PROG_TEST_RUN with BPF_F_TEST_RUN_ON_CPU): that CPU's stage
 * goes out. Returns 1 when a probe run held it: user space tries again at its next drain. */
SEC("raw_tp")
int ks_stage_flush(void *ctx)
{
	struct ks_stage *st;
	__u32 zero = 0;

	st = bpf_map_lookup_elem(&ks_stage, &zero);
	if (!st)
		return 0;
	if (st->busy)
		return 1;
	st->busy = 1;
	ks_barrier();
	ks_stage_out(st, bpf_ktime_get_boot_ns());
	ks_barrier();
	st->busy = 0;
	return 0;
}

#endif
