/* trace connect: ABI shared by connect.bpf.c and user space. */
#ifndef KSCOPE_CONNECT_H
#define KSCOPE_CONNECT_H

#include "common/event_header.h"
#include "common/tcp.h"

/* Not connect()'s return but how the handshake of a connect() that returned before the
 * handshake ended (EINPROGRESS, a signal) failed later: ret is the socket's error. */
#define KS_CONNECT_HANDSHAKE 0x1
/* The sockaddr connect() was passed could not be read: the remote end is zeros. */
#define KS_CONNECT_ADDR_UNREADABLE 0x2

struct ks_connect_event {
	struct ks_event_header hdr;
	/* local: the connecting socket's end (zeros before it had one), remote: the peer's */
	struct ks_tcp_endpoints ends;
	__s32 ret;   /* 0 or -errno */
	__u32 flags; /* KS_CONNECT_* */
};

#endif
