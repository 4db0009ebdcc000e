/* kscope flows: ABI shared by flows.bpf.c and user space (collector/flows). */
#ifndef KSCOPE_FLOWS_H
#define KSCOPE_FLOWS_H

#include "common/event_header.h"

/* Where a packet was counted. */
#define KS_FLOW_POINT_TC 1     /* TC ingress or egress of an interface */
#define KS_FLOW_POINT_CGROUP 2 /* cgroup_skb ingress or egress of a cgroup */

#define KS_FLOW_INGRESS 0
#define KS_FLOW_EGRESS 1

/* TCP flags as the header's 13th byte holds them (IPFIX tcpControlBits' low byte). */
#define KS_TCP_FIN 0x01
#define KS_TCP_SYN 0x02
#define KS_TCP_RST 0x04
#define KS_TCP_PSH 0x08
#define KS_TCP_ACK 0x10
#define KS_TCP_URG 0x20
#define KS_TCP_ECE 0x40
#define KS_TCP_CWR 0x80

/* A unidirectional flow at an observation point. Zeroed before it is filled: it is a hash
 * key. ICMP and ICMPv6 put type << 8 | code in dport, as NetFlow and IPFIX collectors do. */
struct ks_flow_key {
	__u8 saddr[16]; /* network order; IPv4 in the first 4 bytes */
	__u8 daddr[16];
	__u32 ifindex;  /* the interface (TC), or the one the packet came in on (cgroup ingress) */
	__u16 sport;    /* host order */
	__u16 dport;
	__u8 proto;     /* IPPROTO_* */
	__u8 family;    /* 4 or 6 */
	__u8 direction; /* KS_FLOW_INGRESS or KS_FLOW_EGRESS */
	__u8 point;     /* KS_FLOW_POINT_* */
};

/* The local socket's owner, kept in the socket's storage: the process that created it, or
 * last connected or sent an addressed datagram on it; an accepted socket starts with its
 * listener's. */
struct ks_flow_owner {
	__u64 cgroup_id;
	__u32 pid;
	__u32 tgid;
	__u32 uid;
	__u32 pad;
	char comm[KS_COMM_LEN];
};

#define KS_FLOW_OWNER_KNOWN 0x1 /* owner holds the local socket's process */
#define KS_FLOW_TCP_SOCK 0x2    /* srtt_us and total_retrans come from a local TCP socket */
#define KS_FLOW_SOCKET 0x4      /* a local socket sent or received the packets */

/* A flow's counts since user space last swapped tables. packets and bytes grow by atomic
 * adds; the rest is the last packet's. */
struct ks_flow_counts {
	__u64 packets;  /* IP packets: a GSO packet counts as the segments it leaves as */
	__u64 bytes;    /* IP-layer octets (IPFIX octetDeltaCount), each segment's headers too */
	__u64 first_ns; /* CLOCK_BOOTTIME */
	__u64 last_ns;
	__u64 tcp_flags; /* union of KS_TCP_* (64-bit: clang 14 has no 32-bit atomic or) */
	__u32 flags;     /* KS_FLOW_OWNER_KNOWN, KS_FLOW_TCP_SOCK, KS_FLOW_SOCKET */
	__u32 srtt_us;   /* the socket's smoothed RTT, microseconds */
	__u32 total_retrans;
	__u32 pad;
	__u64 socket_cookie; /* 0: no local socket */
	struct ks_flow_owner owner;
};

/* Packets of new flows no table had room for: counted here, per direction, so that the
 * totals stay exact (the overflow record). */
struct ks_flow_overflow {
	__u64 packets;
	__u64 bytes;
};

/* Sent to the ring buffer when a FIN or RST passes, so that the flow ends promptly. */
struct ks_flow_end_event {
	struct ks_event_header hdr;
	struct ks_flow_key key;
	__u32 tcp_flags;
	__u32 pad;
};

#endif
