/* trace accept: ABI shared by accept.bpf.c and user space. */
#ifndef KSCOPE_ACCEPT_H
#define KSCOPE_ACCEPT_H

#include "common/event_header.h"
#include "common/tcp.h"

struct ks_accept_event {
	struct ks_event_header hdr;
	/* local: the accepted connection's end (the listener's when accept() failed), remote:
	 * the peer's (zeros when accept() failed) */
	struct ks_tcp_endpoints ends;
	__s32 ret; /* the new fd, or -errno */
	__u32 pad;
};

#endif
