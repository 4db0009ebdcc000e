/* trace tcpretrans and trace tcpretranscount: ABI shared by their probes and user space. */
#ifndef KSCOPE_TCPRETRANS_H
#define KSCOPE_TCPRETRANS_H

#include "common/tcp.h"

#define KS_TCPRETRANS_SYNACK 0x1  /* a listener's SYN-ACK for a connection not yet accepted */
#define KS_TCPRETRANS_IN_TASK 0x2 /* hdr.pid held the socket: it happened in its call */

/* One retransmitted segment. hdr.pid/tgid/comm: the process holding the socket as it
 * happened, else 0 (most retransmits run from a timer or an incoming ACK in softirq);
 * hdr.uid and hdr.cgroup_id: the socket's. */
struct ks_tcpretrans_event {
	struct ks_event_header hdr;
	__u64 skaddr;  /* the socket; for a SYN-ACK, the listener */
	struct ks_tcp_endpoints ends;
	__s32 err;     /* 0: sent; else the -errno of an attempt that sent nothing (kernels
			* whose tracepoint has err, 6.18; 6.1 traces only segments sent) */
	__u8 state;    /* the socket's TCP state; NEW_SYN_RECV for a SYN-ACK */
	__u8 flags;    /* KS_TCPRETRANS_* */
	__u8 pad[2];
};

#define KS_TCPRETRANS_COUNT_KEYS 10240 /* connections counted at once */

/* trace tcpretranscount: the retransmits of one connection (its ends are the key) since the
 * last snapshot. The header's task fields are 0. */
struct ks_tcpretrans_count_event {
	struct ks_event_header hdr;
	struct ks_tcp_endpoints ends;
	__u64 count;
	__u32 failed; /* 1: these are attempts that sent nothing (--failed) */
	__u32 pad;
};

#endif
