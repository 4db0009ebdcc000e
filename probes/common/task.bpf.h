/* Task fields read with CO-RE. */
#ifndef KSCOPE_TASK_BPF_H
#define KSCOPE_TASK_BPF_H

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

#endif
