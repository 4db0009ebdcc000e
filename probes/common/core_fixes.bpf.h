/* Kernel drift in one place: each helper names the kernel change it papers over. */
#ifndef KSCOPE_CORE_FIXES_BPF_H
#define KSCOPE_CORE_FIXES_BPF_H

/* bpf_probe_read_user_str() of an empty string returns 1 (the NUL) on newer kernels but 0
 * on 6.1 (strncpy_from_user_nofault() counted the NUL only for a non-empty string; seen on
 * Debian's 6.1.192 by the vm tier). Both mean "an empty string": make it 1 everywhere, so a
 * caller walking NUL-separated strings keeps going. */
static __always_inline long ks_read_user_str(char *dst, __u32 size, const void *src)
{
	long len = bpf_probe_read_user_str(dst, size, src);

	/* The helper wrote the NUL either way. len += (len == 0), without a branch: in argv's
	 * loop a branch here doubles the states the verifier walks, past its limit. */
	return len + (((__u64)(len - 1) >> 63) & ~((__u64)len >> 63));
}

/* tcp:tcp_send_reset and tcp:tcp_retransmit_skb both recorded the tcp_event_sk_skb class
 * on 6.1. 6.10 gave tcp_send_reset a record of its own (the reason, sockaddrs, and resets
 * sent without a socket traced too), and a later kernel (6.18 has it) gave
 * tcp_retransmit_skb one with err (failed attempts traced too). A probe picks the layout
 * with bpf_core_type_exists() on the new record's struct; this flavor relocates against the
 * old class where a kernel has it. */
struct trace_event_raw_tcp_event_sk_skb___old {
	struct trace_entry ent;
	const void *skbaddr;
	const void *skaddr;
	int state;
	__u16 sport;
	__u16 dport;
	__u16 family;
	__u8 saddr[4];
	__u8 daddr[4];
	__u8 saddr_v6[16];
	__u8 daddr_v6[16];
} __attribute__((preserve_access_index));

/* IP_FREEBIND, IP_TRANSPARENT and IP_BIND_ADDRESS_NO_PORT as a socket keeps them: bit-fields
 * of struct inet_sock until 6.6 moved each into the inet_flags word (commits "inet: move
 * inet->freebind to inet->inet_flags" and its siblings; 6.1 has the bit-fields). The bit
 * numbers are INET_FLAGS_* of an anonymous enum, which CO-RE cannot name. */
#define KS_INET_FREEBIND 0x1
#define KS_INET_TRANSPARENT 0x2
#define KS_INET_BIND_ADDRESS_NO_PORT 0x4

struct inet_sock___pre_6_6 {
	__u8 freebind : 1;
	__u8 transparent : 1;
	__u8 bind_address_no_port : 1;
} __attribute__((preserve_access_index));

static __always_inline __u32 ks_inet_bind_flags(struct sock *sk)
{
	if (bpf_core_field_exists(struct inet_sock, inet_flags)) {
		unsigned long f = BPF_CORE_READ((struct inet_sock *)sk, inet_flags);

		return ((f >> 11) & 1) * KS_INET_FREEBIND | ((f >> 15) & 1) * KS_INET_TRANSPARENT |
		       ((f >> 18) & 1) * KS_INET_BIND_ADDRESS_NO_PORT;
	}
	struct inet_sock___pre_6_6 *old = (void *)sk;

	return BPF_CORE_READ_BITFIELD_PROBED(old, freebind) * KS_INET_FREEBIND |
	       BPF_CORE_READ_BITFIELD_PROBED(old, transparent) * KS_INET_TRANSPARENT |
	       BPF_CORE_READ_BITFIELD_PROBED(old, bind_address_no_port) *
		       KS_INET_BIND_ADDRESS_NO_PORT;
}

#endif
