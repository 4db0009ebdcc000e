/* Task fields read with CO-RE. */
#ifndef KSCOPE_TASK_BPF_H
#define KSCOPE_TASK_BPF_H

#include "common/filter.bpf.h"

/* The process id inside the task's own (innermost) pid namespace: numbers[level] of its pid. */
static __always_inline __u32 ks_ns_tgid(struct task_struct *task)
{
	struct pid *pid = BPF_CORE_READ(task, group_leader, thread_pid);
	unsigned int level = BPF_CORE_READ(pid, level);
	struct upid upid = {};

	bpf_core_read(&upid, sizeof(upid), &pid->numbers[level]);
	return upid.nr;
}

static __always_inline __u32 ks_ppid(struct task_struct *task)
{
	return BPF_CORE_READ(task, real_parent, tgid);
}

/* ks_task_wanted() for a task that is not current (the task a wake-up or a switch names):
 * the same filters, read from its task_struct. */
static __always_inline int ks_other_task_wanted(struct task_struct *t)
{
	if (filter_tgid && BPF_CORE_READ(t, tgid) != filter_tgid)
		return 0;
	if (filter_uid_set && BPF_CORE_READ(t, cred, uid.val) != filter_uid)
		return 0;
	if (filter_cgroup_id && BPF_CORE_READ(t, cgroups, dfl_cgrp, kn, id) != filter_cgroup_id)
		return 0;
	if (filter_comm_set) {
		char comm[KS_COMM_LEN];

		bpf_probe_read_kernel_str(comm, sizeof(comm), t->comm);
		if (!ks_comm_matches(comm))
			return 0;
	}
	return 1;
}

#endif
