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
	/* Reserved for the tracing catalog, one number a tool, so tools added side by side
	 * never collide. */
	KS_EVENT_SIGNAL = 4,
	KS_EVENT_OOMKILL = 5,
	KS_EVENT_CONNECT = 6,
	KS_EVENT_ACCEPT = 7,
	KS_EVENT_TCPLIFE = 8,
	KS_EVENT_TCPSTATES = 9,
	KS_EVENT_TCPRETRANS = 10,
	KS_EVENT_TCPRESET = 11,
	KS_EVENT_CONNLAT = 12,
	KS_EVENT_BIND = 13,
	KS_EVENT_LISTEN = 14,
	KS_EVENT_DNS = 15,
	KS_EVENT_DROP = 16,
	KS_EVENT_FLOW_END = 17, /* a FIN or RST passed: flows wants a sweep soon */
	/* Aggregating tools: snapshots user space reads from the probe's maps and feeds through
	 * the same pipeline as ring buffer records (so --record/--replay work for them too). */
	KS_EVENT_RUNQLAT = 32,
	KS_EVENT_BIOLATENCY = 33,
	KS_EVENT_SYSCOUNT = 34,
	KS_EVENT_TCPRTT = 35,
	KS_EVENT_TCPTOP = 36,
	KS_EVENT_TCPRETRANS_COUNT = 37,
	KS_EVENT_DROP_COUNT = 38,
	KS_EVENT_PROFILE = 39,
	KS_EVENT_SYSLAT = 40,
	KS_EVENT_FLOW = 41, /* one flow record of `kscope flows` */
	/* Several records of one CPU in one ring buffer record, after a header of this type
	 * (common/stage.bpf.h); user space splits it, so no sink or record file sees it. */
	KS_EVENT_BATCH = 63,
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
