/* trace oomkill: ABI shared by oomkill.bpf.c and user space. */
#ifndef KSCOPE_OOMKILL_H
#define KSCOPE_OOMKILL_H

#include "common/event_header.h"

/* domain: what ran out of memory. */
#define KS_OOM_UNKNOWN 0   /* the hook saw no reclaim by the trigger before the kill */
#define KS_OOM_MEMCG 1     /* a memory cgroup hit its limit: oom_cgroup_id */
#define KS_OOM_GLOBAL 2    /* the page allocator: the whole machine (the tracepoint hooks: or a
			    * cpuset or memory policy, which only kprobe and fentry tell apart) */
#define KS_OOM_CPUSET 3    /* the nodes of the trigger's cpuset */
#define KS_OOM_MEMPOLICY 4 /* the nodes of the trigger's memory policy */

/* One victim marked by the OOM killer. hdr is the trigger: the task whose allocation invoked
 * the OOM killer (for a forced one, sysrq f, the worker that ran it). */
struct ks_oomkill_event {
	struct ks_event_header hdr;
	__u64 victim_cgroup_id; /* cgroup v2 id; 0 where the hook cannot see it (tracepoint) */
	__u64 oom_cgroup_id;    /* KS_OOM_MEMCG: the memory cgroup's id (its directory's inode) */
	__u64 totalpages;       /* the pages the OOM killer weighed the victims against: the
				 * memcg's limit, or RAM + swap; 0 where the hook cannot see it */
	/* The victim's memory as the kernel's own report of the kill counts it (its mm's
	 * counters, which the kernel keeps per CPU and reads approximately), in KiB. */
	__u64 total_vm_kb;
	__u64 anon_rss_kb;
	__u64 file_rss_kb;
	__u64 shmem_rss_kb;
	__u64 pgtables_kb;
	__u32 victim_pid; /* process id; 0 where the hook cannot see it (tracepoint) */
	__u32 victim_tid; /* the thread the kernel marked */
	__u32 victim_uid;
	__s16 oom_score_adj;
	__u8 domain; /* KS_OOM_* */
	__u8 pad;
	char victim_comm[KS_COMM_LEN];
};

#endif
