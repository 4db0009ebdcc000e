/* trace tcpreset: ABI shared by tcpreset.bpf.c and user space. */
#ifndef KSCOPE_TCPRESET_H
#define KSCOPE_TCPRESET_H

#include "common/tcp.h"

#define KS_TCPRESET_RECEIVED 0x1 /* the peer reset the connection; else this host sent it */
#define KS_TCPRESET_IN_TASK 0x2  /* hdr.pid held the socket: it happened in its call */

#define KS_TCPRESET_NO_REASON -1 /* a received reset, or a kernel before 6.10 */

/* One TCP reset, sent or received. hdr.pid/tgid/comm: the process holding the socket as
 * it happened (one closing with SO_LINGER 0 or unread data), else 0 (softirq, a timer);
 * hdr.uid and hdr.cgroup_id: the socket's, 0 without one. */
struct ks_tcpreset_event {
	struct ks_event_header hdr;
	__u64 skaddr;   /* 0: sent for a packet no socket took (a closed port) */
	struct ks_tcp_endpoints ends; /* local: this host, the sender of a sent reset */
	__s32 reason;   /* enum sk_rst_reason of a sent reset, as this kernel numbers it */
	__u8 state;     /* the socket's TCP state; 0 without a socket */
	__u8 flags;     /* KS_TCPRESET_* */
	__u8 pad[2];
};

#endif
