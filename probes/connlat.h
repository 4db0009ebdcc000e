/* trace connlat: ABI shared by connlat.bpf.c and user space. */
#ifndef KSCOPE_CONNLAT_H
#define KSCOPE_CONNLAT_H

#include "common/event_header.h"
#include "common/tcp.h"

/* hdr: the connecting task as it sent the SYN; hdr.ts_ns: when the handshake ended. */
struct ks_connlat_event {
	struct ks_event_header hdr;
	struct ks_tcp_endpoints ends; /* local: the connecting socket's end, remote: the peer's */
	__u64 latency_ns;             /* SYN_SENT to ESTABLISHED */
};

#endif
