/* The header that starts every ring buffer record, so one drain loop dispatches them all.
 * ABI shared by BPF and user space: plain scalars and fixed arrays, explicit padding. */
#ifndef KSCOPE_EVENT_HEADER_H
#define KSCOPE_EVENT_HEADER_H

#ifndef __VMLINUX_H__
#include <linux/types.h> /* user space; BPF gets the types from vmlinux.h */
#endif

#define KS_COMM_LEN 16

/* Bumped whenever any probe's record layout changes: a --record file carries it, and a
 * replay refuses records of another layout instead of misreading them. */
#define KS_ABI_VERSION 3

enum ks_event_type {
	KS_EVENT_EXEC = 1,
	KS_EVENT_OPEN = 2,
	KS_EVENT_EXIT = 3,
};

struct ks_event_header {
	__u64 ts_ns;     /* bpf_ktime_get_boot_ns(): CLOCK_BOOTTIME */
	__u64 cgroup_id; /* cgroup v2 id (inode number of the cgroup directory) */
	__u32 type;      /* enum ks_event_type */
	__u32 size;      /* whole record, header included */
	__u32 pid;       /* thread id, as the host sees it */
	__u32 tgid;      /* process id, as the host sees it */
	__u32 uid;
	__u32 pad;
	char comm[KS_COMM_LEN];
};

#endif
