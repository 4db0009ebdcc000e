/* trace exit: ABI shared by exit.bpf.c and user space. */
#ifndef KSCOPE_EXIT_H
#define KSCOPE_EXIT_H

#include "common/event_header.h"

#define KS_EXIT_PROCESS 0x1 /* the last thread: the whole process ended */

/* hdr.pid is the exiting thread, which for a process exit is the last thread to go: not
 * always the group leader. hdr.comm is that thread's name. */
struct ks_exit_event {
	struct ks_event_header hdr;
	/* Lifetime, CLOCK_BOOTTIME: of the group leader for a process exit, of the thread for a
	 * thread exit. Measured from hdr.ts_ns, so the start time is hdr.ts_ns - age_ns. */
	__u64 age_ns;
	__u32 ppid;
	__u32 ns_tgid;   /* pid inside the process's own pid namespace */
	/* wait(2)'s encoding, code << 8 | signal | 0x80 core: for a process exit what wait(2)
	 * returns to the parent, for a thread exit that thread's own task->exit_code. */
	__u32 status;
	__u32 flags;     /* KS_EXIT_* */
};

#endif
