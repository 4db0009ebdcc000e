/* trace bind: ABI shared by bind.bpf.c and user space. */
#ifndef KSCOPE_BIND_H
#define KSCOPE_BIND_H

#include "common/event_header.h"
#include "common/tcp.h"

/* The socket's options that bear on binding, as set when bind() returned (bindsnoop's). */
#define KS_BIND_REUSEADDR 0x1
#define KS_BIND_REUSEPORT 0x2
#define KS_BIND_FREEBIND 0x4
#define KS_BIND_TRANSPARENT 0x8
#define KS_BIND_ADDRESS_NO_PORT 0x10
#define KS_BIND_V6ONLY 0x20

/* The sockaddr a failed bind() was passed could not be read: the address is zeros. */
#define KS_BIND_ADDR_UNREADABLE 0x1

struct ks_bind_event {
	struct ks_event_header hdr;
	/* local: the address the socket has after bind() (with the port the kernel picked for
	 * port 0), or the one bind() was passed when it failed; remote: zeros */
	struct ks_tcp_endpoints ends;
	__s32 ret;          /* 0 or -errno */
	__u32 opts;         /* KS_BIND_* options */
	__s32 bound_dev_if; /* SO_BINDTODEVICE's ifindex, 0 for none */
	__u16 protocol;     /* IPPROTO_* */
	__u16 flags;        /* KS_BIND_ADDR_UNREADABLE */
};

#endif
