/* A TCP connection's endpoints as the socket tools' records carry them (tcplife, tcpstates,
 * tcpreset, tcpretrans, connect, accept...). ABI shared by BPF and user space. */
#ifndef KSCOPE_TCP_H
#define KSCOPE_TCP_H

#include "common/event_header.h"

/* Local first: this host's end (for a sent reset, the sender's). */
struct ks_tcp_endpoints {
	__u8 laddr[16]; /* network order; IPv4 in the first 4 bytes */
	__u8 raddr[16];
	__u16 lport;    /* host order */
	__u16 rport;
	__u8 family;    /* 4 or 6; 0 when there is no address */
	__u8 pad[3];
};

#endif
