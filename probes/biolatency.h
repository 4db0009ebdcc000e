/* trace biolatency: ABI shared by biolatency.bpf.c and user space. */
#ifndef KSCOPE_BIOLATENCY_H
#define KSCOPE_BIOLATENCY_H

#include "common/event_header.h"
#include "common/histogram.h"

/* A request's operation (the low bits of bio_flags), numbered by kscope: the kernel's
 * REQ_OP_* values differ between kernels (6.18 renumbered the zone operations). */
enum ks_bio_op {
	KS_BIO_OP_READ = 0,
	KS_BIO_OP_WRITE = 1,
	KS_BIO_OP_FLUSH = 2,
	KS_BIO_OP_DISCARD = 3,
	KS_BIO_OP_SECURE_ERASE = 4,
	KS_BIO_OP_WRITE_ZEROES = 5,
	KS_BIO_OP_ZONE_APPEND = 6,
	KS_BIO_OP_ZONE = 7, /* zone open, close, finish, reset */
	KS_BIO_OP_DRV_IN = 8,
	KS_BIO_OP_DRV_OUT = 9,
	KS_BIO_OP_OTHER = 15,
};

#define KS_BIO_OP_MASK 0xf
/* Request flags above the operation, kscope's bits (the kernel's moved between kernels). */
#define KS_BIO_SYNC 0x10
#define KS_BIO_META 0x20
#define KS_BIO_PRIO 0x40
#define KS_BIO_NOMERGE 0x80
#define KS_BIO_IDLE 0x100
#define KS_BIO_INTEGRITY 0x200
#define KS_BIO_FUA 0x400
#define KS_BIO_PREFLUSH 0x800
#define KS_BIO_RAHEAD 0x1000
#define KS_BIO_BACKGROUND 0x2000
#define KS_BIO_NOWAIT 0x4000

/* What a histogram counts, by the flags given (-D, -F): its map key. */
struct ks_bio_key {
	__u32 dev;       /* -D: the disk, major << 20 | minor as the kernel's dev_t; else 0 */
	__u32 bio_flags; /* -F: enum ks_bio_op | KS_BIO_*; else 0 */
};

#define KS_BIO_BY_DISK 0x1  /* one histogram per disk (-D) */
#define KS_BIO_BY_FLAGS 0x2 /* one per operation and flags (-F) */
#define KS_BIO_QUEUED 0x4   /* from insertion into the queue (-Q), not from issue */
#define KS_BIO_MSECS 0x8    /* the slots count milliseconds, not microseconds */

#define KS_DISK_NAME_LEN 32

/* A snapshot record, made in user space from one map entry. */
struct ks_biolatency_record {
	struct ks_event_header hdr;
	struct ks_bio_key key;
	__u32 flags; /* KS_BIO_BY_*, KS_BIO_QUEUED, KS_BIO_MSECS */
	__u32 pad;
	char disk[KS_DISK_NAME_LEN]; /* the disk's name when the snapshot was taken, "" if none */
	struct ks_log2_hist hist;
};

#endif
