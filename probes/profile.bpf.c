// SPDX-License-Identifier: GPL-2.0
/* trace profile: CPU stack sampling (profile of libbpf-tools). User space opens a software
 * cpu-clock perf event per online CPU at the chosen frequency and attaches profile_sample
 * to each; every sample counts its (process, kernel stack, user stack, thread name) in a
 * hash map. Nothing goes to the ring buffer: user space reads the counts and the stacks at
 * each snapshot and symbolizes them there.
 *
 * Generations: each sample counts in one of two count maps and stores its stacks in one of
 * two stack maps, chosen by the generation it fell in. At a snapshot user space bumps
 * `generation`, takes the previous generation's counts, reads their stacks, then empties
 * that stack map, which the generation after next fills again. So no stack id is deleted
 * while the probe may still count samples under it, and an id is never read after its
 * bucket went to another stack. (A sample that read the old generation just before the
 * bump and counts after the take is found at the generation after next, with its key's
 * generation telling that its stacks are gone.) */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "common/filter.bpf.h"
#include "common/ringbuf.bpf.h"
#include "profile.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 kernel_stacks = 1; /* off with -U, --user-stacks-only */
const volatile __u32 user_stacks = 1;   /* off with -K, --kernel-stacks-only */
const volatile __u32 include_idle = 0;  /* -I: count the idle task (pid 0) too */

/* Written by user space through the mmapped .bss at each snapshot. */
__u32 generation = 0;

#define KS_EFAULT 14 /* bpf_get_stackid(): this sample has no stack of that kind */

/* Stacks of the even and odd generations; max_entries set by user space before load
 * (--stack-storage-size). */
struct stacks_map {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 8192);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, KS_PROFILE_MAX_FRAMES * sizeof(__u64));
};
struct stacks_map stacks_even SEC(".maps");
struct stacks_map stacks_odd SEC(".maps");

/* Counts of the even and odd generations; max_entries set by user space before load. */
struct counts_map {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct ks_profile_key);
	__type(value, __u64); /* samples */
};
struct counts_map counts_even SEC(".maps");
struct counts_map counts_odd SEC(".maps");

/* Samples whose stack could not be stored: a hash collision (-EEXIST) or a full stack map
 * (-ENOMEM). The sample is still counted, under a lost stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} stacks_lost SEC(".maps");

/* Samples not counted at all: the generation's count map was full. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} counts_full SEC(".maps");

static __always_inline __s32 stack_id(struct bpf_perf_event_data *ctx, __u32 gen, __u64 flags)
{
	long id;

	/* Two calls, not one on a chosen pointer: each passes the verifier a constant map. */
	if (gen & 1)
		id = bpf_get_stackid(ctx, &stacks_odd, flags);
	else
		id = bpf_get_stackid(ctx, &stacks_even, flags);
	if (id < 0 && id != -KS_EFAULT)
		ks_count(&stacks_lost);
	return id;
}

SEC("perf_event")
int profile_sample(struct bpf_perf_event_data *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct ks_profile_key key = {};
	struct task_struct *task;
	void *counts;
	__u64 one = 1, *n;
	__u32 gen;
	long err;

	if (!(__u32)id && !include_idle)
		return 0;
	if (!ks_task_wanted())
		return 0;
	task = (struct task_struct *)bpf_get_current_task();
	gen = *(volatile __u32 *)&generation;
	key.tgid = id >> 32;
	key.uid = (__u32)bpf_get_current_uid_gid();
	key.cgroup_id = bpf_get_current_cgroup_id();
	key.start_ns = BPF_CORE_READ(task, group_leader, start_boottime);
	key.generation = gen;
	key.kernel_stack_id = kernel_stacks ? stack_id(ctx, gen, 0) : -KS_EFAULT;
	key.user_stack_id = user_stacks ? stack_id(ctx, gen, BPF_F_USER_STACK) : -KS_EFAULT;
	bpf_get_current_comm(key.comm, sizeof(key.comm));

	counts = gen & 1 ? (void *)&counts_odd : (void *)&counts_even;
	n = bpf_map_lookup_elem(counts, &key);
	if (n) {
		__sync_fetch_and_add(n, 1);
		return 0;
	}
	err = bpf_map_update_elem(counts, &key, &one, BPF_NOEXIST);
	if (!err)
		return 0;
	/* Another CPU inserted the same key meanwhile. */
	n = bpf_map_lookup_elem(counts, &key);
	if (n)
		__sync_fetch_and_add(n, 1);
	else
		ks_count(&counts_full);
	return 0;
}
