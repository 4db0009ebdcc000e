/* A socket syscall's arguments kept by thread from its entry to its exit, where a hook has
 * only the return value (a kretprobe) or needs to know it runs inside the call (connect's
 * state hook). */
#ifndef KSCOPE_SOCK_CALL_BPF_H
#define KSCOPE_SOCK_CALL_BPF_H

#include "common/filter.bpf.h"

struct ks_sock_call {
	__s64 fd;
	__u64 arg; /* the call's next argument: a user sockaddr pointer, a backlog */
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 10240); /* user space shrinks it for hooks that never fill it */
	__type(key, __u32);
	__type(value, struct ks_sock_call);
} sock_calls SEC(".maps");

/* At the call's entry: only the calls of tasks the run's filter wants are kept. */
static __always_inline void ks_sock_call_enter(long fd, __u64 arg)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct ks_sock_call call = {.fd = fd, .arg = arg};

	if (ks_task_wanted())
		bpf_map_update_elem(&sock_calls, &tid, &call, BPF_ANY);
}

/* At its exit: the arguments kept at entry, forgotten now; 0 when there are none. */
static __always_inline int ks_sock_call_take(struct ks_sock_call *call)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct ks_sock_call *c = bpf_map_lookup_elem(&sock_calls, &tid);

	if (!c)
		return 0;
	*call = *c;
	bpf_map_delete_elem(&sock_calls, &tid);
	return 1;
}

/* Whether the current thread is inside a call its entry kept. */
static __always_inline int ks_sock_call_pending(void)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();

	return bpf_map_lookup_elem(&sock_calls, &tid) != NULL;
}

#endif
