/* The task filters every probe shares, set through rodata before load. Zero means "any". */
#ifndef KSCOPE_FILTER_BPF_H
#define KSCOPE_FILTER_BPF_H

#include "common/event_header.h"

const volatile __u32 filter_tgid = 0;
const volatile __u32 filter_uid_set = 0;
const volatile __u32 filter_uid = 0;
const volatile __u64 filter_cgroup_id = 0;
const volatile __u32 filter_comm_set = 0;
const volatile char filter_comm[KS_COMM_LEN] = {};

static __always_inline int ks_comm_matches(const char *comm)
{
	for (int i = 0; i < KS_COMM_LEN; i++) {
		if (comm[i] != filter_comm[i])
			return 0;
		if (!comm[i])
			break;
	}
	return 1;
}

/* Cheap checks first: they run on every hit of a hot tracepoint. */
static __always_inline int ks_task_wanted(void)
{
	if (filter_tgid && (bpf_get_current_pid_tgid() >> 32) != filter_tgid)
		return 0;
	if (filter_uid_set && (__u32)bpf_get_current_uid_gid() != filter_uid)
		return 0;
	if (filter_cgroup_id && bpf_get_current_cgroup_id() != filter_cgroup_id)
		return 0;
	if (filter_comm_set) {
		char comm[KS_COMM_LEN];

		bpf_get_current_comm(comm, sizeof(comm));
		if (!ks_comm_matches(comm))
			return 0;
	}
	return 1;
}

#endif
