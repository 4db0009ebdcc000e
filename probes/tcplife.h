/* trace tcplife: ABI shared by tcplife.bpf.c and user space. */
#ifndef KSCOPE_TCPLIFE_H
#define KSCOPE_TCPLIFE_H

#include "common/tcp.h"

#define KS_TCPLIFE_ACTIVE 0x1        /* opened by connect(); else accepted */
#define KS_TCPLIFE_START_UNKNOWN 0x2 /* opened before the probe saw it (or its entry was
				      * evicted): duration_ns is 0, the process is the first
				      * one seen with it, tx_bytes may count the SYN */

/* One TCP connection, reported when it closes. hdr.pid/tgid/comm: the process that opened
 * it (connect()'s, or accept()'s for a passive one; 0 when none was seen); hdr.uid and
 * hdr.cgroup_id: the socket's. */
struct ks_tcplife_event {
	struct ks_event_header hdr;
	__u64 skaddr;
	__u64 duration_ns; /* from its first state, SYN_SENT or SYN_RECV, to CLOSE */
	__u64 tx_bytes;    /* payload bytes the peer acknowledged */
	__u64 rx_bytes;    /* payload bytes received in order */
	struct ks_tcp_endpoints ends;
	__u8 last_state;   /* the state it closed from: SYN_SENT or SYN_RECV when it never
			    * got established */
	__u8 flags;        /* KS_TCPLIFE_* */
	__u8 pad[6];
};

#endif
