/* What trace drops and trace dropcount share: the drop filters, and the three hooks on
 * skb:kfree_skb, which call the including probe's
 *   static __always_inline void on_drop(struct sk_buff *skb, void *location, __u32 reason,
 *                                       __u32 netns);
 * for each drop the filters keep. Include it after defining on_drop().
 *
 * kfree_skb fires in kfree_skb_reason() (sk_skb_reason_drop() since 6.12) for every packet
 * freed as not consumed; consume_skb has a tracepoint of its own and is not seen here. The
 * tracepoint, tp_btf and raw_tp all pass the skb, the location and the reason on 6.1 and
 * 6.18 alike; 6.11 added the receiving socket (rx_sk), which the probes do not need: the
 * packet's own headers name the flow, its device or socket the namespace. */
#ifndef KSCOPE_KFREE_SKB_BPF_H
#define KSCOPE_KFREE_SKB_BPF_H

#include "common/filter.bpf.h"

/* Reasons are numbers of the running kernel's enum skb_drop_reason: user space looks the
 * names up in its BTF (6.1 and 6.18 number them differently). */
const volatile __u32 reason_only_set = 0; /* --reason: this reason only */
const volatile __u32 reason_only = 0;
const volatile __u32 reason_skip_set = 0; /* by default NOT_SPECIFIED is left out */
const volatile __u32 reason_skip = 0;
const volatile __u32 netns_only = 0; /* --netns: only drops in this namespace (inode) */

/* The packet's network namespace: its device's, else its socket's; 0 when it has neither. */
static __always_inline __u32 ks_skb_netns(struct sk_buff *skb)
{
	struct net_device *dev = BPF_CORE_READ(skb, dev);
	struct sock *sk;

	if (dev)
		return BPF_CORE_READ(dev, nd_net.net, ns.inum);
	sk = BPF_CORE_READ(skb, sk);
	if (sk)
		return BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
	return 0;
}

/* Cheap checks first: every drop of the machine passes here. */
static __always_inline void ks_on_kfree_skb(struct sk_buff *skb, void *location, __u32 reason)
{
	__u32 netns;

	if (reason_only_set && reason != reason_only)
		return;
	if (reason_skip_set && reason == reason_skip)
		return;
	netns = ks_skb_netns(skb);
	if (netns_only && netns != netns_only)
		return;
	if (!ks_task_wanted())
		return;
	on_drop(skb, location, reason, netns);
}

/* The tracepoint's record relocates: 6.11 inserted rx_sk before protocol. */
SEC("tracepoint/skb/kfree_skb")
int tp_kfree_skb(struct trace_event_raw_kfree_skb *ctx)
{
	ks_on_kfree_skb(ctx->skbaddr, ctx->location, ctx->reason);
	return 0;
}

SEC("tp_btf/kfree_skb")
int BPF_PROG(btf_kfree_skb, struct sk_buff *skb, void *location, enum skb_drop_reason reason)
{
	ks_on_kfree_skb(skb, location, reason);
	return 0;
}

SEC("raw_tp/kfree_skb")
int raw_kfree_skb(struct bpf_raw_tracepoint_args *ctx)
{
	ks_on_kfree_skb((struct sk_buff *)ctx->args[0], (void *)ctx->args[1], ctx->args[2]);
	return 0;
}

#endif
