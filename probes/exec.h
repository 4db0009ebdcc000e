/* trace exec: ABI shared by exec.bpf.c and user space. */
#ifndef KSCOPE_EXEC_H
#define KSCOPE_EXEC_H

#include "common/event_header.h"

/* argv bytes the probe copies per exec, NUL-separated; more is cut and marked. */
#define KS_EXEC_ARGS_SIZE 65536 /* a power of two: the probe masks offsets with it */
/* Upper bound on --max-args: the failed-exec path walks argv one pointer per loop pass. */
#define KS_EXEC_MAX_ARGS 1024
/* Upper bound on --max-arg-len. */
#define KS_EXEC_MAX_ARG_LEN 8192

#define KS_EXEC_MORE_ARGS 0x1 /* argv had more than max_args entries */
#define KS_EXEC_ARGS_CUT 0x2  /* args[] filled up: the last string is cut, later ones missing */
/* Partial results: the probe could not read all of argv. */
#define KS_EXEC_ARGS_UNREADABLE 0x4 /* reading argv faulted: args[] holds what came before */
#define KS_EXEC_ARGV_MISSING 0x8    /* a failed exec whose argv pointer the enter hook did not
				     * keep (evicted, or the exec began before the probe) */

struct ks_exec_event {
	struct ks_event_header hdr;
	__u32 ppid;
	__u32 ns_tgid;    /* pid inside the process's own pid namespace */
	__s32 ret;        /* 0 or -errno */
	__u32 flags;      /* KS_EXEC_* */
	__u32 args_size;  /* bytes used in args[] */
	__u32 pad;
	char args[KS_EXEC_ARGS_SIZE];
};

#endif
