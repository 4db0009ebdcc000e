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

#endif
