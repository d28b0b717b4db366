/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * User-space shim (tests/unit): struct sk_buff, sk_buff_head and the queue
 * helpers, with the kernel's semantics (include/linux/skbuff.h, 6.1).
 *
 * A shim skb has a linear part (data, len - data_len bytes) and optionally
 * one "fragment" (frag, data_len bytes) standing in for page fragments, so
 * that skb_header_pointer() takes its copying path as for a non-linear or
 * GSO skb in the kernel. The two parts are separate allocations: reading
 * past the linear part directly is an AddressSanitizer error, as it would be
 * a bug in the kernel.
 */
#ifndef _SHIM_LINUX_SKBUFF_H
#define _SHIM_LINUX_SKBUFF_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/types.h>
#include <linux/kernel.h>
#include <linux/spinlock_types.h>
#include <linux/refcount.h>
#include <linux/atomic.h>
#include <linux/percpu.h>

struct sock;
struct net_device;

struct sk_buff {
	/* must stay first, like the kernel's: sk_buff_head aliases them */
	struct sk_buff *next;
	struct sk_buff *prev;

	char cb[48] __aligned(8);

	unsigned int len;		/* linear + fragment */
	unsigned int truesize;		/* what it costs: held bytes count it */
	unsigned int data_len;		/* bytes in the fragment */
	unsigned char *data;		/* linear part */
	unsigned char *frag;		/* shim: the non-linear part */

	/* harness bookkeeping, not in the kernel's sk_buff */
	u64 shim_id;
	int shim_side;
	int shim_state;
	u32 shim_tag[6];
	/* payload bytes [shim_from, shim_to) left (set when it leaves) */
	u32 shim_from;
	u32 shim_to;
	int shim_piece;		/* a partial copy (colo_tcp_piece()) */
	/*
	 * TCP SACK blocks (start, end pairs): a secondary packet's, handed
	 * to the engine as target.c parses them; a lowered ack's, as the
	 * engine decided them (written by colo_tcp_lower_ack())
	 */
	u32 shim_sack[8];
	u8 shim_nsack;
	u8 shim_ts;		/* with a timestamp echo, shim_ecr (likewise) */
	u32 shim_ecr;
};

struct sk_buff_head {
	/* must stay first, like the kernel's */
	struct sk_buff *next;
	struct sk_buff *prev;

	__u32 qlen;
	spinlock_t lock;
};

/* An engine call the kernel would turn into an out-of-bounds access. */
#define shim_bug(...) do {						\
	fprintf(stderr, "shim: kernel API misuse: " __VA_ARGS__);	\
	fputc('\n', stderr);						\
	abort();							\
} while (0)

static inline unsigned int skb_headlen(const struct sk_buff *skb)
{
	return skb->len - skb->data_len;
}

static inline int skb_copy_bits(const struct sk_buff *skb, int offset,
				void *to, int len)
{
	int start = skb_headlen(skb);
	int copy;

	if (offset < 0 || len < 0)
		shim_bug("skb_copy_bits(offset %d, len %d)", offset, len);
	if (offset > (int)skb->len - len)
		return -14;	/* -EFAULT */
	copy = start - offset;
	if (copy > 0) {
		if (copy > len)
			copy = len;
		memcpy(to, skb->data + offset, copy);
		len -= copy;
		if (len == 0)
			return 0;
		offset += copy;
		to = (u8 *)to + copy;
	}
	memcpy(to, skb->frag + (offset - start), len);
	return 0;
}

static inline void *__must_check
__skb_header_pointer(const struct sk_buff *skb, int offset, int len,
		     const void *data, int hlen, void *buffer)
{
	if (offset < 0 || len < 0)
		shim_bug("skb_header_pointer(offset %d, len %d)", offset, len);
	if (likely(hlen - offset >= len))
		return (void *)data + offset;

	if (!skb || unlikely(skb_copy_bits(skb, offset, buffer, len) < 0))
		return NULL;

	return buffer;
}

static inline void *__must_check
skb_header_pointer(const struct sk_buff *skb, int offset, int len,
		   void *buffer)
{
	return __skb_header_pointer(skb, offset, len, skb->data,
				    skb_headlen(skb), buffer);
}

static inline void __skb_queue_head_init(struct sk_buff_head *list)
{
	list->prev = list->next = (struct sk_buff *)list;
	list->qlen = 0;
}

static inline int skb_queue_empty(const struct sk_buff_head *list)
{
	return list->next == (const struct sk_buff *)list;
}

static inline __u32 skb_queue_len(const struct sk_buff_head *list_)
{
	return list_->qlen;
}

static inline struct sk_buff *skb_peek(const struct sk_buff_head *list_)
{
	struct sk_buff *skb = list_->next;

	if (skb == (struct sk_buff *)list_)
		skb = NULL;
	return skb;
}

static inline struct sk_buff *skb_peek_tail(const struct sk_buff_head *list_)
{
	struct sk_buff *skb = READ_ONCE(list_->prev);

	if (skb == (struct sk_buff *)list_)
		skb = NULL;
	return skb;
}

static inline bool skb_queue_is_last(const struct sk_buff_head *list,
				     const struct sk_buff *skb)
{
	return skb->next == (const struct sk_buff *)list;
}

static inline void __skb_insert(struct sk_buff *newsk, struct sk_buff *prev,
				struct sk_buff *next, struct sk_buff_head *list)
{
	WRITE_ONCE(newsk->next, next);
	WRITE_ONCE(newsk->prev, prev);
	WRITE_ONCE(next->prev, newsk);
	WRITE_ONCE(prev->next, newsk);
	WRITE_ONCE(list->qlen, list->qlen + 1);
}

static inline void __skb_queue_after(struct sk_buff_head *list,
				     struct sk_buff *prev,
				     struct sk_buff *newsk)
{
	__skb_insert(newsk, prev, prev->next, list);
}

static inline void __skb_queue_before(struct sk_buff_head *list,
				      struct sk_buff *next,
				      struct sk_buff *newsk)
{
	__skb_insert(newsk, next->prev, next, list);
}

static inline void __skb_queue_head(struct sk_buff_head *list,
				    struct sk_buff *newsk)
{
	__skb_queue_after(list, (struct sk_buff *)list, newsk);
}

static inline void __skb_queue_tail(struct sk_buff_head *list,
				    struct sk_buff *newsk)
{
	__skb_queue_before(list, (struct sk_buff *)list, newsk);
}

static inline void __skb_unlink(struct sk_buff *skb, struct sk_buff_head *list)
{
	struct sk_buff *next, *prev;

	WRITE_ONCE(list->qlen, list->qlen - 1);
	next = skb->next;
	prev = skb->prev;
	skb->next = skb->prev = NULL;
	WRITE_ONCE(next->prev, prev);
	WRITE_ONCE(prev->next, next);
}

static inline struct sk_buff *__skb_dequeue(struct sk_buff_head *list)
{
	struct sk_buff *skb = skb_peek(list);

	if (skb)
		__skb_unlink(skb, list);
	return skb;
}

static inline void __skb_queue_splice(const struct sk_buff_head *list,
				      struct sk_buff *prev,
				      struct sk_buff *next)
{
	struct sk_buff *first = list->next;
	struct sk_buff *last = list->prev;

	WRITE_ONCE(first->prev, prev);
	WRITE_ONCE(prev->next, first);

	WRITE_ONCE(last->next, next);
	WRITE_ONCE(next->prev, last);
}

static inline void skb_queue_splice_tail_init(struct sk_buff_head *list,
					      struct sk_buff_head *head)
{
	if (!skb_queue_empty(list)) {
		__skb_queue_splice(list, head->prev, (struct sk_buff *)head);
		head->qlen += list->qlen;
		__skb_queue_head_init(list);
	}
}

static inline void skb_queue_splice_init(struct sk_buff_head *list,
					 struct sk_buff_head *head)
{
	if (!skb_queue_empty(list)) {
		__skb_queue_splice(list, (struct sk_buff *)head, head->next);
		head->qlen += list->qlen;
		__skb_queue_head_init(list);
	}
}

#define skb_queue_walk(queue, skb) \
		for (skb = (queue)->next;					\
		     skb != (struct sk_buff *)(queue);				\
		     skb = skb->next)

#define skb_queue_walk_safe(queue, skb, tmp)					\
		for (skb = (queue)->next, tmp = skb->next;			\
		     skb != (struct sk_buff *)(queue);				\
		     skb = tmp, tmp = skb->next)

#define skb_queue_reverse_walk(queue, skb) \
		for (skb = (queue)->prev;					\
		     skb != (struct sk_buff *)(queue);				\
		     skb = skb->prev)

#endif
