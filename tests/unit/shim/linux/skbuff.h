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
#include <errno.h>
#include <linux/types.h>
#include <linux/kernel.h>
#include <linux/spinlock_types.h>
#include <linux/refcount.h>
#include <linux/atomic.h>
#include <linux/percpu.h>
#include <linux/gfp.h>

struct sock;
struct net_device;

#define ETH_P_IP	0x0800
#define ETH_P_IPV6	0x86DD

#define htons(x)	__builtin_bswap16(x)
#define ntohs(x)	__builtin_bswap16(x)
#define htonl(x)	__builtin_bswap32(x)
#define ntohl(x)	__builtin_bswap32(x)
#define cpu_to_be32(x)	__builtin_bswap32(x)
#define be32_to_cpu(x)	__builtin_bswap32(x)

#define CHECKSUM_NONE		0
#define CHECKSUM_UNNECESSARY	1
#define CHECKSUM_COMPLETE	2
#define CHECKSUM_PARTIAL	3

/*
 * kernel/segment.c's view of an skb (headers, checksum state, GSO). The
 * shim has no page fragments: nr_frags stays 0 and the non-linear part is
 * @frag, which only pskb_may_pull() can move into the linear part.
 */
typedef struct {
	unsigned int off, size;
} skb_frag_t;

#define MAX_SKB_FRAGS	17

struct skb_shared_info {
	unsigned short gso_size;
	unsigned short gso_segs;
	unsigned int gso_type;
	unsigned char nr_frags;
	skb_frag_t frags[MAX_SKB_FRAGS];
};

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

	/*
	 * for kernel/segment.c: @head is the allocation @data lies in (NULL
	 * in the harness's skbs, which never reach segment.c), @end its
	 * size; header offsets from @head, 0xffff when unset
	 */
	unsigned char *head;
	unsigned int end;
	u16 mac_header;
	u16 network_header;
	u16 transport_header;
	__be16 protocol;
	u8 ip_summed;
	u16 csum_start;
	u16 csum_offset;
	struct net_device *dev;
	struct skb_shared_info shinfo;

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

/*
 * Sequential reads (net/core/skbuff.c): the linear part is one block, and
 * the fragment is handed out in blocks of at most SHIM_SEQ_BLOCK bytes, as
 * the kernel hands out page fragments (and pages of compound ones) one at
 * a time, so a reader must stitch blocks that do not line up with the
 * other packet's. Like the kernel's, a block may reach past @to.
 */
#define SHIM_SEQ_BLOCK	509

struct skb_seq_state {
	unsigned int lower_offset;
	unsigned int upper_offset;
	struct sk_buff *skb;
};

static inline void skb_prepare_seq_read(struct sk_buff *skb, unsigned int from,
					unsigned int to,
					struct skb_seq_state *st)
{
	st->lower_offset = from;
	st->upper_offset = to;
	st->skb = skb;
}

static inline unsigned int skb_seq_read(unsigned int consumed, const u8 **data,
					struct skb_seq_state *st)
{
	unsigned int abs = consumed + st->lower_offset;
	unsigned int hl = skb_headlen(st->skb), in, n;

	if (abs >= st->upper_offset || abs >= st->skb->len)
		return 0;
	if (abs < hl) {
		*data = st->skb->data + abs;
		return hl - abs;
	}
	in = abs - hl;
	n = SHIM_SEQ_BLOCK - in % SHIM_SEQ_BLOCK;
	if (n > st->skb->data_len - in)
		n = st->skb->data_len - in;
	*data = st->skb->frag + in;
	return n;
}

static inline void skb_abort_seq_read(struct skb_seq_state *st)
{
	(void)st;
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


/* ------------------------------------------------------------------ */
/* What kernel/segment.c uses: headers, pulls, tailroom. Linear skbs with
 * head set only; what the shim cannot model (clones, page fragments) is a
 * shim_bug().
 */

#define skb_shinfo(skb)	(&(skb)->shinfo)

static inline bool skb_is_nonlinear(const struct sk_buff *skb)
{
	return skb->data_len;
}

static inline bool skb_has_frag_list(const struct sk_buff *skb)
{
	(void)skb;
	return false;
}

static inline bool skb_is_gso(const struct sk_buff *skb)
{
	return skb->shinfo.gso_size;
}

static inline unsigned char *skb_network_header(const struct sk_buff *skb)
{
	return skb->head + skb->network_header;
}

static inline int skb_network_offset(const struct sk_buff *skb)
{
	return skb_network_header(skb) - skb->data;
}

static inline unsigned char *skb_transport_header(const struct sk_buff *skb)
{
	return skb->head + skb->transport_header;
}

static inline bool skb_transport_header_was_set(const struct sk_buff *skb)
{
	return skb->transport_header != 0xffff;
}

static inline void skb_set_transport_header(struct sk_buff *skb, int offset)
{
	skb->transport_header = skb->data - skb->head + offset;
}

static inline bool skb_mac_header_was_set(const struct sk_buff *skb)
{
	return skb->mac_header != 0xffff;
}

static inline unsigned char *skb_mac_header(const struct sk_buff *skb)
{
	return skb->head + skb->mac_header;
}

static inline int skb_tailroom(const struct sk_buff *skb)
{
	if (skb_is_nonlinear(skb))
		return 0;
	return skb->end - (skb->data - skb->head) - skb->len;
}

/* Moves the shim's fragment into the linear part when @len needs it. */
static inline bool pskb_may_pull(struct sk_buff *skb, unsigned int len)
{
	unsigned int hl = skb_headlen(skb), off = skb->data - skb->head;
	unsigned char *h;

	if (len <= hl)
		return true;
	if (len > skb->len)
		return false;
	if (!skb->head)
		shim_bug("pskb_may_pull() on an skb without head");
	h = realloc(skb->head, off + skb->len);
	if (!h)
		return false;
	memcpy(h + off + hl, skb->frag, skb->data_len);
	free(skb->frag);
	skb->frag = NULL;
	skb->head = h;
	skb->data = h + off;
	skb->end = off + skb->len;
	skb->data_len = 0;
	return true;
}

static inline int skb_ensure_writable(struct sk_buff *skb, unsigned int len)
{
	return pskb_may_pull(skb, len) ? 0 : -ENOMEM;
}

static inline int pskb_expand_head(struct sk_buff *skb, int nhead, int ntail,
				   int gfp)
{
	unsigned int off = skb->data - skb->head;
	unsigned char *h;

	(void)gfp;
	if (nhead || ntail < 0 || skb_is_nonlinear(skb) || !skb->head)
		shim_bug("pskb_expand_head(%d, %d)", nhead, ntail);
	h = realloc(skb->head, skb->end + ntail);
	if (!h)
		return -ENOMEM;
	skb->head = h;
	skb->data = h + off;
	skb->end += ntail;
	return 0;
}

static inline void *skb_put(struct sk_buff *skb, unsigned int len)
{
	void *tail = skb->data + skb->len;

	if (skb_is_nonlinear(skb) || (int)len > skb_tailroom(skb))
		shim_bug("skb_put(%u) past the end", len);
	skb->len += len;
	return tail;
}

static inline void *__skb_pull(struct sk_buff *skb, unsigned int len)
{
	skb->len -= len;
	return skb->data += len;
}

static inline int skb_unclone(struct sk_buff *skb, int gfp)
{
	(void)skb;
	(void)gfp;
	return 0;
}

static inline int pskb_trim(struct sk_buff *skb, unsigned int len)
{
	if (len < skb_headlen(skb) || len > skb->len)
		shim_bug("pskb_trim(%u) of %u (%u linear)", len, skb->len,
			 skb_headlen(skb));
	skb->data_len = len - skb_headlen(skb);
	skb->len = len;
	return 0;
}

static inline struct sk_buff *skb_clone(struct sk_buff *skb, int gfp)
{
	(void)skb;
	(void)gfp;
	shim_bug("skb_clone() is not in the shim");
	return NULL;
}

static inline void kfree_skb(struct sk_buff *skb)
{
	free(skb->head);
	free(skb->frag);
	free(skb);
}

static inline void dev_hold(struct net_device *dev)
{
	(void)dev;
}

static inline unsigned int skb_frag_size(const skb_frag_t *frag)
{
	return frag->size;
}

static inline void skb_frag_size_sub(skb_frag_t *frag, int delta)
{
	frag->size -= delta;
}

static inline void skb_frag_off_add(skb_frag_t *frag, int delta)
{
	frag->off += delta;
}

static inline void skb_frag_unref(struct sk_buff *skb, int i)
{
	(void)skb;
	shim_bug("skb_frag_unref(%d): no page fragments in the shim", i);
}

#endif
