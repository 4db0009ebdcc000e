/* trace drops and trace dropcount: ABI shared by drops.bpf.c and user space. */
#ifndef KSCOPE_DROPS_H
#define KSCOPE_DROPS_H

#include "common/event_header.h"

/* One packet freed through kfree_skb with a drop reason. hdr is the task the CPU was running:
 * in a softirq, whichever task it interrupted. */
struct ks_drop_event {
	struct ks_event_header hdr;
	__u64 location;  /* the kernel address that dropped the packet */
	__u32 reason;    /* enum skb_drop_reason, in the running kernel's numbering */
	__u32 ifindex;   /* the device it came in on or was leaving by; 0 when none */
	__u32 netns;     /* inode of its network namespace (device's, else socket's); 0 unknown */
	__u32 len;       /* skb->len */
	__u16 protocol;  /* ethertype (ETH_P_IP...), host order; 0 when none */
	__u8 family;     /* 4 or 6 when the IP header could be read, else 0 */
	__u8 l4proto;    /* IPPROTO_*, from the IP header */
	__u8 saddr[16];  /* network order; IPv4 in the first 4 bytes */
	__u8 daddr[16];
	__u16 sport;     /* host order; TCP and UDP only */
	__u16 dport;
	__u8 tcp_flags;  /* byte 13 of the TCP header: FIN 0x01, SYN 0x02, RST 0x04, ACK 0x10 */
	__u8 pad[7];
};

/* trace dropcount: drops counted in the kernel, by where, why and in which namespace. */
#define KS_DROP_COUNT_KEYS 10240

struct ks_drop_count_key {
	__u64 location;
	__u32 reason;
	__u32 netns;
	__u16 protocol; /* ethertype, host order; 0 when none */
	__u8 family;    /* 4 or 6 when the IP header could be read, else 0 */
	__u8 l4proto;   /* IPPROTO_*, from the IP header */
	__u32 pad;
};

struct ks_drop_count_event {
	struct ks_event_header hdr; /* a snapshot's: ts_ns only */
	struct ks_drop_count_key key;
	__u64 count;
};

#endif
