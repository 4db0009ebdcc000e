// SPDX-License-Identifier: GPL-2.0
/* Feature probes: one do-nothing program per hook type. User space (collector/bpf/
 * features.cpp) loads and attaches exactly one of them to learn whether this kernel really
 * supports that hook; a program that loads but never attaches proves nothing. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

/* Created whenever any probe loads; the ringbuf probe loads the object with no program. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} probe_ringbuf SEC(".maps");

/* A syscalls:sys_enter_* record is struct syscall_trace_enter (probe_checklist.md, rule 10). */
SEC("tracepoint/syscalls/sys_enter_getpid")
int probe_tracepoint(struct syscall_trace_enter *ctx)
{
	return 0;
}

SEC("raw_tp/sys_enter")
int probe_raw_tp(struct bpf_raw_tracepoint_args *ctx)
{
	return 0;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(probe_tp_btf, struct pt_regs *regs, long id)
{
	return 0;
}

SEC("kprobe/do_sys_openat2")
int BPF_KPROBE(probe_kprobe)
{
	return 0;
}

SEC("fentry/do_sys_openat2")
int BPF_PROG(probe_fentry)
{
	return 0;
}

SEC("tc")
int probe_tc(struct __sk_buff *skb)
{
	return 0; /* TC_ACT_OK */
}

SEC("cgroup_skb/egress")
int probe_cgroup_skb(struct __sk_buff *skb)
{
	return 1; /* let the packet pass */
}

SEC("perf_event")
int probe_perf_event(struct bpf_perf_event_data *ctx)
{
	return 0;
}
