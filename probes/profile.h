/* trace profile: ABI shared by profile.bpf.c and user space. */
#ifndef KSCOPE_PROFILE_H
#define KSCOPE_PROFILE_H

#include "common/event_header.h"

/* The kernel's default perf_event_max_stack: frames a stack id keeps. */
#define KS_PROFILE_MAX_FRAMES 127

/* The probe's count map key: one per distinct (process, stacks, thread name) of a
 * generation. A stack id below 0 is bpf_get_stackid()'s error: -EFAULT when the sample has
 * no stack of that kind (a user-mode sample has no kernel stack, a kernel thread no user
 * stack, or -K/-U left it out), -EEXIST or -ENOMEM when the stack could not be stored. */
struct ks_profile_key {
	__u32 tgid;
	__u32 uid;
	__u64 cgroup_id;
	__u64 start_ns;   /* the process's start, CLOCK_BOOTTIME: tells a reused pid apart */
	__u32 generation; /* the snapshot period the sample fell in (user space bumps it) */
	__s32 kernel_stack_id;
	__s32 user_stack_id;
	__u32 pad;
	char comm[KS_COMM_LEN];
};

#define KS_PROFILE_KERNEL_LOST 0x1 /* the kernel stack was not stored or is gone */
#define KS_PROFILE_USER_LOST 0x2   /* the user stack was not stored or is gone */
/* The process had exited (or its pid was reused) at the snapshot: its user frames are
 * addresses, not names. */
#define KS_PROFILE_USER_UNSYMBOLIZED 0x4

/* A snapshot record, made in user space from one count: the samples of one stack. hdr.tgid,
 * uid, cgroup_id and comm are the key's; hdr.pid is 0. After the fixed part come
 * kernel_frames then user_frames names, each NUL-terminated, leaf first; a stack that was
 * lost is one placeholder frame ("[lost kernel stack]") and its flag. */
struct ks_profile_record {
	struct ks_event_header hdr;
	__u64 samples;
	__u16 kernel_frames;
	__u16 user_frames;
	__u32 flags;     /* KS_PROFILE_* */
	__u32 frequency; /* samples a second on each CPU */
	__u32 pad;
};

#endif
