/* trace dns: ABI shared by dns.bpf.c and user space. */
#ifndef KSCOPE_DNS_H
#define KSCOPE_DNS_H

#include "common/event_header.h"

#define KS_DNS_PORT 53
#define KS_DNS_PAYLOAD_MAX 512 /* the first bytes of each message go to user space */

#define KS_DNS_EGRESS 0x1  /* the packet left a local socket (else one received it) */
#define KS_DNS_CUT 0x2     /* payload[] holds only the first part of the message */
#define KS_DNS_MATCHED 0x4 /* a response whose query was seen: latency_ns is set */
#define KS_DNS_OWNER 0x8   /* hdr names the process that connected or sent on the socket */

/* One DNS message, as a UDP datagram or the start of a TCP segment carries it. hdr.pid,
 * tgid and comm are the socket's process where KS_DNS_OWNER says it is known, else 0. */
struct ks_dns_event {
	struct ks_event_header hdr;
	__u64 latency_ns; /* a response: since its query left (or arrived), else 0 */
	__u8 saddr[16];   /* network order; IPv4 in the first 4 bytes */
	__u8 daddr[16];
	__u16 sport;      /* host order */
	__u16 dport;
	__u8 family;      /* 4 or 6 */
	__u8 proto;       /* IPPROTO_UDP or IPPROTO_TCP */
	__u16 flags;      /* KS_DNS_* */
	__u32 msg_len;    /* the whole message's length (TCP: its length prefix) */
	__u32 payload_len; /* bytes in payload[]: min(msg_len, bytes in the packet, MAX) */
	__u8 payload[KS_DNS_PAYLOAD_MAX];
};

#endif
