/* trace open: ABI shared by open.bpf.c and user space. */
#ifndef KSCOPE_OPEN_H
#define KSCOPE_OPEN_H

#include "common/event_header.h"

#define KS_OPEN_PATH_MAX 4096  /* PATH_MAX: the path is copied whole */
#define KS_OPEN_PREFIX_MAX 256 /* longest --path prefix the probe compares */

#define KS_OPEN_PATH_UNREADABLE 0x1 /* the path faulted: path[] is empty */
#define KS_OPEN_HOW_UNREADABLE 0x2  /* openat2's open_how faulted: flags and mode are 0 */

enum ks_open_syscall {
	KS_OPEN_OPENAT = 0,
	KS_OPEN_OPENAT2 = 1,
};

struct ks_open_event {
	struct ks_event_header hdr;
	__u64 flags;     /* O_* flags (openat2 carries 64 bits) */
	__s32 ret;       /* fd, or -errno */
	__s32 dfd;       /* directory fd the path is relative to (AT_FDCWD = -100) */
	__u32 mode;
	__u16 syscall;   /* enum ks_open_syscall */
	__u16 path_size; /* bytes in path[], the NUL included */
	__u32 partial;   /* KS_OPEN_*_UNREADABLE: what the probe could not read */
	__u32 pad;
	char path[KS_OPEN_PATH_MAX];
};

#endif
