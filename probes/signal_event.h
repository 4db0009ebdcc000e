/* trace signal: ABI shared by signal.bpf.c and user space. Not signal.h: probes/ is on the
 * include path of user space, where that name would hide the C library's <signal.h>. */
#ifndef KSCOPE_SIGNAL_EVENT_H
#define KSCOPE_SIGNAL_EVENT_H

#include "common/event_header.h"

/* result: the kernel's enum trace_signal_result, for a generated signal. */
#define KS_SIGNAL_DELIVERED 0
#define KS_SIGNAL_IGNORED 1
#define KS_SIGNAL_ALREADY_PENDING 2
#define KS_SIGNAL_OVERFLOW_FAIL 3
#define KS_SIGNAL_LOSE_INFO 4 /* queued, but without its siginfo */

/* via: how the signal came about. */
#define KS_SIGNAL_VIA_OTHER 0 /* the kernel, or a call not traced (sigqueue, pidfd_send_signal) */
#define KS_SIGNAL_VIA_KILL 1
#define KS_SIGNAL_VIA_TKILL 2
#define KS_SIGNAL_VIA_TGKILL 3
#define KS_SIGNAL_VIA_TIMER 4 /* by an hrtimer's callback: hdr names the task it interrupted */

#define KS_SIGNAL_GROUP 0x1       /* sent to the whole thread group, not to one thread */
#define KS_SIGNAL_FAILED_CALL 0x2 /* kill/tkill/tgkill failed before generating any signal */

/* hdr is the sender: the task in whose context the signal was generated, or that made the
 * failed call. */
struct ks_signal_event {
	struct ks_event_header hdr;
	/* A generated signal: the target's process id (0 where the hook cannot tell) and the
	 * thread it was queued to. A failed call: its pid and tid arguments as passed, in the
	 * caller's pid namespace (kill has no tid: 0; tkill no pid: 0). */
	__s32 target_pid;
	__s32 target_tid;
	__s32 sig;
	__s32 code;  /* si_code, as the kernel records it (a failed call: the one it would have) */
	__s32 err;   /* a failed call: the errno it returned; else 0 */
	__u8 result; /* KS_SIGNAL_DELIVERED...: a generated signal only */
	__u8 via;    /* KS_SIGNAL_VIA_* */
	__u8 flags;  /* KS_SIGNAL_GROUP, KS_SIGNAL_FAILED_CALL */
	__u8 pad;
	char target_comm[KS_COMM_LEN]; /* the target thread's; empty for a failed call */
};

#endif
