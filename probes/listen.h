/* trace listen: ABI shared by listen.bpf.c and user space. */
#ifndef KSCOPE_LISTEN_H
#define KSCOPE_LISTEN_H

#include "common/event_header.h"
#include "common/tcp.h"

struct ks_listen_event {
	struct ks_event_header hdr;
	/* local: the socket's address after listen() (which binds an unbound socket to the any
	 * address and an ephemeral port); remote: zeros */
	struct ks_tcp_endpoints ends;
	__s32 ret;         /* 0 or -errno */
	__s32 backlog;     /* as passed */
	__u32 max_backlog; /* the accept queue's bound listen() set: backlog capped by somaxconn */
	__u16 protocol;    /* IPPROTO_* */
	__u16 pad;
};

#endif
