// SPDX-License-Identifier: GPL-2.0
/* trace open: openat and openat2 with flags, mode, result and path.
 *
 * Built for event storms: task filters run before anything is stored, the enter hook keeps
 * a few words per thread, and the exit hook copies only the bytes the path has into the
 * ring buffer, without waking the consumer for each event. Hook alternatives as in
 * exec.bpf.c: syscalls tracepoints, or tp_btf on raw sys_enter/sys_exit. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "common/filter.bpf.h"
#include "common/ringbuf.bpf.h"
#include "common/syscall_nr.h"
#include "open.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 failed_only = 0;
const volatile __u32 prefix_len = 0;
const volatile char prefix[KS_OPEN_PREFIX_MAX] = {};

struct open_args {
	__u64 path;
	__u64 flags;
	__s32 dfd;
	__u32 mode;
	__u32 syscall;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32); /* tid */
	__type(value, struct open_args);
} open_start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ks_open_event);
} open_scratch SEC(".maps");

static __always_inline void on_enter(struct open_args *a)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();

	if (!ks_task_wanted())
		return;
	bpf_map_update_elem(&open_start, &tid, a, BPF_ANY);
}

static __always_inline void enter_openat(long dfd, const char *path, long flags, long mode)
{
	struct open_args a = {
		.path = (__u64)path, .flags = flags, .dfd = dfd, .mode = mode,
		.syscall = KS_OPEN_OPENAT,
	};

	on_enter(&a);
}

static __always_inline void enter_openat2(long dfd, const char *path, struct open_how *how)
{
	struct open_args a = {.path = (__u64)path, .dfd = dfd, .syscall = KS_OPEN_OPENAT2};
	struct open_how h = {};

	bpf_probe_read_user(&h, sizeof(h), how);
	a.flags = h.flags;
	a.mode = h.mode;
	on_enter(&a);
}

static __always_inline int prefix_matches(const char *path)
{
	for (__u32 i = 0; i < KS_OPEN_PREFIX_MAX && i < prefix_len; i++)
		if (path[i] != prefix[i])
			return 0;
	return 1;
}

static __always_inline void on_exit(long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct open_args *a = bpf_map_lookup_elem(&open_start, &tid);
	__u32 zero = 0;

	if (!a)
		return;
	if (failed_only && ret >= 0)
		goto out;
	struct ks_open_event *e = bpf_map_lookup_elem(&open_scratch, &zero);
	if (!e)
		goto out;
	long len = bpf_probe_read_user_str(e->path, sizeof(e->path), (const void *)a->path);
	if (len < 0)
		len = 0;
	if (prefix_len && !prefix_matches(e->path))
		goto out;
	e->flags = a->flags;
	e->ret = ret;
	e->dfd = a->dfd;
	e->mode = a->mode;
	e->syscall = a->syscall;
	e->path_size = len;

	__u64 size = offsetof(struct ks_open_event, path) + len;
	if (size > sizeof(*e))
		size = sizeof(*e);
	ks_fill_header(&e->hdr, KS_EVENT_OPEN, size);
	ks_output(e, size);
out:
	bpf_map_delete_elem(&open_start, &tid);
}

SEC("tracepoint/syscalls/sys_enter_openat")
int tp_enter_openat(struct trace_event_raw_sys_enter *ctx)
{
	enter_openat(ctx->args[0], (const char *)ctx->args[1], ctx->args[2], ctx->args[3]);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_openat2")
int tp_enter_openat2(struct trace_event_raw_sys_enter *ctx)
{
	enter_openat2(ctx->args[0], (const char *)ctx->args[1], (struct open_how *)ctx->args[2]);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_openat")
int tp_exit_openat(struct trace_event_raw_sys_exit *ctx)
{
	on_exit(ctx->ret);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_openat2")
int tp_exit_openat2(struct trace_event_raw_sys_exit *ctx)
{
	on_exit(ctx->ret);
	return 0;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(btf_sys_enter, struct pt_regs *regs, long id)
{
	if (id == KS_NR_openat)
		enter_openat(PT_REGS_PARM1_SYSCALL(regs), (const char *)PT_REGS_PARM2_SYSCALL(regs),
			     PT_REGS_PARM3_SYSCALL(regs), PT_REGS_PARM4_SYSCALL(regs));
	else if (id == KS_NR_openat2)
		enter_openat2(PT_REGS_PARM1_SYSCALL(regs), (const char *)PT_REGS_PARM2_SYSCALL(regs),
			      (struct open_how *)PT_REGS_PARM3_SYSCALL(regs));
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(btf_sys_exit, struct pt_regs *regs, long ret)
{
	long id = KS_REGS_SYSCALL_NR(regs);

	if (id == KS_NR_openat || id == KS_NR_openat2)
		on_exit(ret);
	return 0;
}
