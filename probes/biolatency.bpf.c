// SPDX-License-Identifier: GPL-2.0
/* trace biolatency: block I/O latency as log2 histograms kept in the kernel (biolatency of
 * libbpf-tools), in total, per disk and per operation and flags. Nothing goes to the ring
 * buffer.
 *
 * A request's time starts when it is issued to the driver (block_rq_issue) or, with -Q, when
 * it is inserted into the queue (block_rq_insert), and ends at its first block_rq_complete.
 * Hook alternatives (user space enables one set): tp_btf or raw_tp on those tracepoints;
 * both get the struct request, which keys the start times. The plain block tracepoints
 * pass no request, only its disk and sector. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "biolatency.h"
#include "common/filter.bpf.h"
#include "common/histogram.bpf.h"
#include "common/ringbuf.bpf.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 by_disk = 0;    /* -D: key by disk */
const volatile __u32 by_flags = 0;   /* -F: key by operation and flags */
const volatile __u32 queued = 0;     /* -Q: time from block_rq_insert */
const volatile __u32 msecs = 0;      /* slots in ms instead of us */
const volatile __u32 filter_dev = 0; /* --disk: only this disk (major << 20 | minor), 0 any */

#define KS_E2BIG 7

/* Every request a start hook sees has an entry until its completion: the time it started,
 * or 0 for a request of a task or disk not traced. So with -Q, the issue of a request that
 * was inserted neither restarts its time nor counts it when its inserter was filtered out. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u64); /* struct request * */
	__type(value, __u64);
} bio_start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct ks_bio_key);
	__type(value, struct ks_log2_hist);
} bio_hists SEC(".maps");

/* Requests not counted, never dropped silently: their start time found bio_start full
 * (more than 10240 requests in flight), or their histogram found bio_hists full. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} bio_start_full SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} bio_hists_full SEC(".maps");

/* The request's disk as its dev_t (MKDEV(major, first_minor), 20 minor bits), 0 if none. */
static __always_inline __u32 disk_dev(struct request *rq)
{
	struct gendisk *disk = BPF_CORE_READ(rq, q, disk);

	if (!disk)
		return 0;
	return (__u32)BPF_CORE_READ(disk, major) << 20 | (__u32)BPF_CORE_READ(disk, first_minor);
}

/* The kernel's REQ_OP_* values and __REQ_* bits differ between kernels (6.18 renumbered the
 * zone operations and added flags in the middle of req_flag_bits): each is read from this
 * kernel's enums and turned into kscope's numbering. */
#define OP_IS(op, name)                                      \
	(bpf_core_enum_value_exists(enum req_op, REQ_OP_##name) && \
	 (op) == bpf_core_enum_value(enum req_op, REQ_OP_##name))
#define REQ_BIT(opf, name, ks_bit)                                              \
	(bpf_core_enum_value_exists(enum req_flag_bits, __REQ_##name) &&           \
			 ((opf) >> bpf_core_enum_value(enum req_flag_bits, __REQ_##name)) & 1 \
		 ? (ks_bit)                                                             \
		 : 0)

static __always_inline __u32 bio_op(__u32 op)
{
	if (OP_IS(op, READ))
		return KS_BIO_OP_READ;
	if (OP_IS(op, WRITE))
		return KS_BIO_OP_WRITE;
	if (OP_IS(op, FLUSH))
		return KS_BIO_OP_FLUSH;
	if (OP_IS(op, DISCARD))
		return KS_BIO_OP_DISCARD;
	if (OP_IS(op, SECURE_ERASE))
		return KS_BIO_OP_SECURE_ERASE;
	if (OP_IS(op, WRITE_ZEROES))
		return KS_BIO_OP_WRITE_ZEROES;
	if (OP_IS(op, ZONE_APPEND))
		return KS_BIO_OP_ZONE_APPEND;
	if (OP_IS(op, ZONE_OPEN) || OP_IS(op, ZONE_CLOSE) || OP_IS(op, ZONE_FINISH) ||
	    OP_IS(op, ZONE_RESET) || OP_IS(op, ZONE_RESET_ALL))
		return KS_BIO_OP_ZONE;
	if (OP_IS(op, DRV_IN))
		return KS_BIO_OP_DRV_IN;
	if (OP_IS(op, DRV_OUT))
		return KS_BIO_OP_DRV_OUT;
	return KS_BIO_OP_OTHER;
}

static __always_inline __u32 bio_flags(struct request *rq)
{
	__u32 opf = BPF_CORE_READ(rq, cmd_flags);
	/* The operation is the bits below the first flag (REQ_OP_BITS, 8 on 6.1 and 6.18). */
	__u32 op_bits = bpf_core_enum_value(enum req_flag_bits, __REQ_FAILFAST_DEV);

	return bio_op(opf & ((1u << (op_bits & 31)) - 1)) | REQ_BIT(opf, SYNC, KS_BIO_SYNC) |
	       REQ_BIT(opf, META, KS_BIO_META) | REQ_BIT(opf, PRIO, KS_BIO_PRIO) |
	       REQ_BIT(opf, NOMERGE, KS_BIO_NOMERGE) | REQ_BIT(opf, IDLE, KS_BIO_IDLE) |
	       REQ_BIT(opf, INTEGRITY, KS_BIO_INTEGRITY) | REQ_BIT(opf, FUA, KS_BIO_FUA) |
	       REQ_BIT(opf, PREFLUSH, KS_BIO_PREFLUSH) | REQ_BIT(opf, RAHEAD, KS_BIO_RAHEAD) |
	       REQ_BIT(opf, BACKGROUND, KS_BIO_BACKGROUND) | REQ_BIT(opf, NOWAIT, KS_BIO_NOWAIT);
}

/* The task filters are the current task's: the one that inserts or issues the request,
 * often its submitter, but a kernel worker when the queue runs asynchronously. */
static __always_inline int wanted(struct request *rq)
{
	if (filter_dev && disk_dev(rq) != filter_dev)
		return 0;
	return ks_task_wanted();
}

/* BPF_ANY restarts a request's time, BPF_NOEXIST keeps the one its insertion set (-Q). */
static __always_inline void request_starts(struct request *rq, __u64 how)
{
	__u64 key = (__u64)rq;
	__u64 ts = wanted(rq) ? bpf_ktime_get_ns() : 0;

	if (bpf_map_update_elem(&bio_start, &key, &ts, how) == -KS_E2BIG && ts)
		ks_count(&bio_start_full);
}

static __always_inline void request_completes(struct request *rq)
{
	static const struct ks_log2_hist empty = {};
	__u64 key = (__u64)rq;
	__u64 *start = bpf_map_lookup_elem(&bio_start, &key);
	struct ks_log2_hist *h;
	__u64 now = bpf_ktime_get_ns(), started;

	if (!start) /* started before the trace began */
		return;
	started = *start;
	bpf_map_delete_elem(&bio_start, &key);
	if (!started)
		return;

	struct ks_bio_key k = {
		.dev = by_disk ? disk_dev(rq) : 0,
		.bio_flags = by_flags ? bio_flags(rq) : 0,
	};
	h = bpf_map_lookup_elem(&bio_hists, &k);
	if (!h) {
		bpf_map_update_elem(&bio_hists, &k, &empty, BPF_NOEXIST);
		h = bpf_map_lookup_elem(&bio_hists, &k);
		if (!h) {
			ks_count(&bio_hists_full);
			return;
		}
	}
	ks_hist_add(h, (now - started) / (msecs ? 1000000 : 1000), now - started);
}

/* A request merged into another ends without completing: its entry goes (-Q only: a
 * request is merged before it is issued). */
static __always_inline void request_merged(struct request *rq)
{
	__u64 key = (__u64)rq;

	bpf_map_delete_elem(&bio_start, &key);
}

SEC("tp_btf/block_rq_insert")
int BPF_PROG(btf_block_rq_insert, struct request *rq)
{
	request_starts(rq, BPF_ANY);
	return 0;
}

SEC("tp_btf/block_rq_issue")
int BPF_PROG(btf_block_rq_issue, struct request *rq)
{
	request_starts(rq, queued ? BPF_NOEXIST : BPF_ANY);
	return 0;
}

SEC("tp_btf/block_rq_merge")
int BPF_PROG(btf_block_rq_merge, struct request *rq)
{
	request_merged(rq);
	return 0;
}

SEC("tp_btf/block_rq_complete")
int BPF_PROG(btf_block_rq_complete, struct request *rq)
{
	request_completes(rq);
	return 0;
}

SEC("raw_tp/block_rq_insert")
int BPF_PROG(raw_block_rq_insert, struct request *rq)
{
	request_starts(rq, BPF_ANY);
	return 0;
}

SEC("raw_tp/block_rq_issue")
int BPF_PROG(raw_block_rq_issue, struct request *rq)
{
	request_starts(rq, queued ? BPF_NOEXIST : BPF_ANY);
	return 0;
}

SEC("raw_tp/block_rq_merge")
int BPF_PROG(raw_block_rq_merge, struct request *rq)
{
	request_merged(rq);
	return 0;
}

SEC("raw_tp/block_rq_complete")
int BPF_PROG(raw_block_rq_complete, struct request *rq)
{
	request_completes(rq);
	return 0;
}
