/* trace tcpstates: ABI shared by tcpstates.bpf.c and user space. */
#ifndef KSCOPE_TCPSTATES_H
#define KSCOPE_TCPSTATES_H

#include "common/tcp.h"

#define KS_TCPSTATES_IN_TASK 0x1      /* hdr.pid held the socket: the change ran in its call */
#define KS_TCPSTATES_TIME_UNKNOWN 0x2 /* the first change the probe saw: old_state_ns is 0 */

/* One state change of a TCP socket. hdr.pid/tgid/comm: the process holding the socket as
 * it changed, or else (softirq, a timer) the last process seen holding or accepting it (0:
 * none yet); hdr.uid and hdr.cgroup_id: the socket's. */
struct ks_tcpstates_event {
	struct ks_event_header hdr;
	__u64 skaddr;       /* the socket's kernel address: ties one socket's changes together */
	__u64 old_state_ns; /* time spent in oldstate */
	struct ks_tcp_endpoints ends;
	__u8 oldstate;      /* the kernel's TCP_* states: TCP_ESTABLISHED 1 ... TCP_NEW_SYN_RECV 12 */
	__u8 newstate;
	__u8 flags;         /* KS_TCPSTATES_* */
	__u8 pad[5];
};

#endif
