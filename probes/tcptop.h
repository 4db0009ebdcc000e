/* trace tcptop: ABI shared by tcptop.bpf.c and user space. */
#ifndef KSCOPE_TCPTOP_H
#define KSCOPE_TCPTOP_H

#include "common/event_header.h"
#include "common/tcp.h"

/* The probe's map key: a process and one of its connections. comm is the name of the thread
 * that moved the bytes, as tcptop keys it. */
struct ks_tcptop_key {
	__u32 tgid;
	__u32 pad;
	char comm[KS_COMM_LEN];
	struct ks_tcp_endpoints ends;
};

/* The probe's map value: bytes the process's calls moved on the connection. */
struct ks_tcptop_bytes {
	__u64 sent;
	__u64 received;
};

/* A snapshot record, made in user space from one map entry: hdr.tgid and hdr.comm are the
 * key's process. */
struct ks_tcptop_record {
	struct ks_event_header hdr;
	struct ks_tcp_endpoints ends;
	__u64 sent;
	__u64 received;
};

#endif
