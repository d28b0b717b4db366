// SPDX-License-Identifier: GPL-2.0-only
/*
 * xt_COLO partial TCP segments.
 *
 * When the two guests segment a stream differently, the point up to which
 * both streams compared equal (flow->matched) can fall inside the primary's
 * head segment. Holding that segment until the secondary covers all of it
 * can deadlock: the secondary may be waiting for the client to ack bytes
 * it already sent (congestion window, Nagle), and the client cannot ack
 * what it never received. So the matched prefix leaves as a copy of the
 * segment cut down to those bytes (colo_tcp_piece()), the original stays
 * held with COLO_CB()->sent recording how much of it went, and when it is
 * released in turn only the rest of it goes (colo_tcp_cut_sent()).
 *
 * Both work on packets stolen at PREROUTING: skb->data is at the network
 * header and COLO_CB()->poff is the payload offset from there. The copy
 * shares the payload pages with the original (skb_clone() then a private
 * header: unlike pskb_copy() that keeps the headroom, where the link-layer
 * header lies); cutting the front of the payload moves only the headers (and
 * the link-layer header before them, which the bridge path needs) over
 * the bytes that go, or drops page fragments. Checksums become
 * CHECKSUM_PARTIAL over the new length, as for a locally built segment;
 * GSO segments keep their gso_size and get a new segment count.
 */
#include <linux/kernel.h>
#include <linux/skbuff.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <net/ip.h>
#include <net/ipv6.h>
#include <net/tcp.h>
#include <net/ip6_checksum.h>
#include "compat.h"
#include "colo.h"

/* Offset of the TCP header from skb->data (the network header). */
static int colo_tcp_thoff(struct sk_buff *skb)
{
	if (skb->protocol == htons(ETH_P_IP))
		return ip_hdr(skb)->ihl * 4;
	if (skb->protocol == htons(ETH_P_IPV6)) {
		u8 proto = ipv6_hdr(skb)->nexthdr;
		__be16 frag_off;

		return ipv6_skip_exthdr(skb, sizeof(struct ipv6hdr), &proto,
					&frag_off);
	}
	return -EINVAL;
}

/*
 * Remove @n payload bytes that follow the first @hlen bytes (the network
 * and TCP headers) of a private (unshared) skb. Leaves the skb untouched
 * when it fails.
 */
static int colo_skb_cut_front(struct sk_buff *skb, unsigned int hlen,
			      unsigned int n)
{
	unsigned int lin, i, k;
	u8 *start;

	if (!pskb_may_pull(skb, hlen))
		return -ENOMEM;
	lin = min(skb_headlen(skb) - hlen, n);
	if (n > lin && skb_has_frag_list(skb)) {
		/* rare (frag_list GRO): pull it all into the head */
		if (!pskb_may_pull(skb, hlen + n))
			return -ENOMEM;
		lin = n;
	}

	if (lin) {
		/* move the link-layer and IP/TCP headers over the cut bytes */
		start = skb->data;
		if (skb_mac_header_was_set(skb) &&
		    skb_mac_header(skb) >= skb->head &&
		    skb_mac_header(skb) < skb->data)
			start = skb_mac_header(skb);
		memmove(start + lin, start, skb->data + hlen - start);
		__skb_pull(skb, lin);
		if (skb_mac_header_was_set(skb))
			skb->mac_header += lin;
		skb->network_header += lin;
		if (skb_transport_header_was_set(skb))
			skb->transport_header += lin;
		n -= lin;
	}

	if (n) {
		/* the rest from the page fragments, which hold >= n bytes */
		struct skb_shared_info *sh = skb_shinfo(skb);

		skb->len -= n;
		skb->data_len -= n;
		for (i = 0, k = 0; i < sh->nr_frags; i++) {
			skb_frag_t *f = &sh->frags[i];
			unsigned int sz = skb_frag_size(f);

			if (n >= sz) {
				n -= sz;
				skb_frag_unref(skb, i);
				continue;
			}
			if (n) {
				skb_frag_off_add(f, n);
				skb_frag_size_sub(f, n);
				n = 0;
			}
			sh->frags[k++] = *f;
		}
		sh->nr_frags = k;
	}
	return 0;
}

/*
 * A TCP segment whose length changed (skb->len, from the network header at
 * skb->data, its TCP header at @thoff): the IP length, the IPv4 header
 * checksum, and the TCP checksum as CHECKSUM_PARTIAL over the new length,
 * as for a locally built segment.
 */
static void colo_tcp_relength(struct sk_buff *skb, int thoff)
{
	struct tcphdr *th;

	skb_set_transport_header(skb, thoff);
	th = tcp_hdr(skb);
	if (skb->protocol == htons(ETH_P_IP)) {
		struct iphdr *iph = ip_hdr(skb);

		iph->tot_len = htons(skb->len);
		ip_send_check(iph);
		th->check = ~tcp_v4_check(skb->len - thoff, iph->saddr,
					  iph->daddr, 0);
	} else {
		struct ipv6hdr *ip6h = ipv6_hdr(skb);

		ip6h->payload_len = htons(skb->len - sizeof(*ip6h));
		th->check = ~tcp_v6_check(skb->len - thoff, &ip6h->saddr,
					  &ip6h->daddr, 0);
	}
	skb->ip_summed = CHECKSUM_PARTIAL;
	skb->csum_start = skb_transport_header(skb) - skb->head;
	skb->csum_offset = offsetof(struct tcphdr, check);
}

/*
 * colo_tcp_keep - cut a TCP segment down to payload bytes [@from, @to)
 * @skb: a stolen segment without SYN or RST (or a clone of one)
 * @last: @to is the end of the segment: FIN and PSH stay
 *
 * Fixes the IP length, the IPv4 header checksum, the sequence number, the
 * TCP checksum (CHECKSUM_PARTIAL) and the GSO segment count. When @to is
 * the segment's end (nothing to trim at the tail) a failure leaves the
 * packet unchanged; otherwise the caller frees it.
 */
static int colo_tcp_keep(struct sk_buff *skb, u32 from, u32 to, bool last)
{
	unsigned int hlen = COLO_CB(skb)->poff;
	unsigned int plen = to - from;
	struct tcphdr *th;
	int thoff;

	if (skb_network_offset(skb) != 0 || from >= to)
		return -EINVAL;
	if (skb_unclone(skb, GFP_ATOMIC))
		return -ENOMEM;
	thoff = colo_tcp_thoff(skb);
	if (thoff < 0 || thoff + sizeof(struct tcphdr) > hlen)
		return -EINVAL;
	if (pskb_trim(skb, hlen + to))
		return -ENOMEM;
	if (from && colo_skb_cut_front(skb, hlen, from))
		return -ENOMEM;

	skb_set_transport_header(skb, thoff);
	th = tcp_hdr(skb);
	th->seq = htonl(ntohl(th->seq) + from);
	if (!last) {
		th->fin = 0;
		th->psh = 0;
	}
	colo_tcp_relength(skb, thoff);

	if (skb_is_gso(skb)) {
		struct skb_shared_info *sh = skb_shinfo(skb);

		if (plen <= sh->gso_size) {
			sh->gso_size = 0;
			sh->gso_segs = 0;
			sh->gso_type = 0;
		} else {
			sh->gso_segs = DIV_ROUND_UP(plen, sh->gso_size);
		}
	}
	COLO_CB(skb)->len = plen;
	COLO_CB(skb)->sent = 0;
	return 0;
}

/*
 * colo_tcp_piece - a copy of a held segment's payload from where the last
 * copy ended (COLO_CB()->sent) up to @to, ready for colo_release_piece()
 *
 * Called with the flow lock held; the original stays queued. Takes the
 * device reference colo_reinject() drops. NULL when memory is short: the
 * bytes then wait for the whole segment (or the timeout), as before.
 */
struct sk_buff *colo_tcp_piece(struct sk_buff *skb, u32 to)
{
	struct sk_buff *n;

	n = skb_clone(skb, GFP_ATOMIC);
	if (!n)
		return NULL;
	if (colo_tcp_keep(n, COLO_CB(skb)->sent, to,
			  to == COLO_CB(skb)->len && !(COLO_CB(skb)->flags &
						       TCPHDR_FIN))) {
		kfree_skb(n);
		return NULL;
	}
	dev_hold(n->dev);
	return n;
}

/*
 * colo_tcp_cut_sent - before a held segment leaves, cut off the payload a
 * partial copy already took. If that fails the whole segment goes: the
 * client drops the bytes it has (a partial retransmission).
 */
int colo_tcp_cut_sent(struct sk_buff *skb)
{
	const struct colo_skb_cb *cb = COLO_CB(skb);

	return colo_tcp_keep(skb, cb->sent, cb->len, true);
}

/**
 * colo_tcp_opt_next - find the next well-formed TCP option of a kind
 * @opt: the TCP options (the bytes after the fixed TCP header)
 * @len: their length, from the data offset (at most MAX_TCP_OPTION_SPACE)
 * @i: where to start
 * @kind: the option kind (TCPOPT_*)
 *
 * Walks the options as tcp_parse_options() does, so that what is read or
 * rewritten is what the receiving stack reads: EOL, or a truncated or
 * impossible length (below 2, past the end), ends the walk. The caller
 * checks the option's size (@opt[offset + 1]).
 *
 * Return: the offset of the option's kind byte in @opt, or -1.
 */
int colo_tcp_opt_next(const u8 *opt, unsigned int len, unsigned int i,
		      u8 kind)
{
	while (i < len) {
		u8 k = opt[i], size;

		if (k == TCPOPT_EOL)
			break;
		if (k == TCPOPT_NOP) {
			i++;
			continue;
		}
		if (len - i < 2)
			break;
		size = opt[i + 1];
		if (size < 2 || size > len - i)
			break;
		if (k == kind)
			return i;
		i += size;
	}
	return -1;
}

/**
 * colo_tcp_ack_info_parse - the SACK blocks and timestamp echo of a
 * segment's TCP options
 * @opt: the TCP options (the bytes after the fixed TCP header)
 * @len: their length
 * @info: filled in (@info->n is 0 without a well-formed SACK option,
 *	  @info->ts false without a timestamp option)
 *
 * Like tcp_parse_options(): the last well-formed option of a kind counts.
 */
void colo_tcp_ack_info_parse(const u8 *opt, unsigned int len,
			     struct colo_ack_info *info)
{
	int o = colo_tcp_opt_next(opt, len, 0, TCPOPT_SACK);
	int last = -1;
	unsigned int i, n;

	while (o >= 0) {
		u8 size = opt[o + 1];

		if (size >= TCPOLEN_SACK_BASE + TCPOLEN_SACK_PERBLOCK &&
		    !((size - TCPOLEN_SACK_BASE) % TCPOLEN_SACK_PERBLOCK))
			last = o;
		o = colo_tcp_opt_next(opt, len, o + size, TCPOPT_SACK);
	}
	info->n = 0;
	if (last >= 0) {
		n = (opt[last + 1] - TCPOLEN_SACK_BASE) / TCPOLEN_SACK_PERBLOCK;
		for (i = 0; i < n && i < COLO_SACK_MAX; i++) {
			const u8 *b = opt + last + TCPOLEN_SACK_BASE +
				      i * TCPOLEN_SACK_PERBLOCK;

			info->blk[i].start = get_unaligned_be32(b);
			info->blk[i].end = get_unaligned_be32(b + 4);
		}
		info->n = i;
	}

	info->ts = false;
	o = colo_tcp_opt_next(opt, len, 0, TCPOPT_TIMESTAMP);
	while (o >= 0) {
		if (opt[o + 1] == TCPOLEN_TIMESTAMP) {
			info->tsval = get_unaligned_be32(opt + o + 2);
			info->ecr = get_unaligned_be32(opt + o + 6);
			info->ts = true;
		}
		o = colo_tcp_opt_next(opt, len, o + opt[o + 1],
				      TCPOPT_TIMESTAMP);
	}
}

/*
 * The options of @opt (@len bytes) without their SACK options, into @out.
 * Returns how many bytes; anything behind an EOL stays behind, and from a
 * malformed option on the rest is copied as it is, *@end then set: the
 * receiver parses nothing after it, so nothing may be added.
 *
 * Padding is only ever whole NOP options, found by walking the options:
 * the NOPs right before a SACK option (its alignment) go with it, and so
 * do the NOPs at the end (the caller pads again). A byte of another
 * option that happens to be 0x01 (a TSecr's low byte, one ack in 256) is
 * no NOP: dropping it would shift the options after it, and the receiver
 * would read a SACK option's bytes as timestamps.
 */
static unsigned int colo_tcp_opts_nosack(const u8 *opt, unsigned int len,
					 u8 *out, bool *end)
{
	unsigned int i = 0, k = 0, nops = 0;

	*end = false;
	while (i < len) {
		u8 kind = opt[i], size;

		if (kind == TCPOPT_EOL)
			break;
		if (kind == TCPOPT_NOP) {
			out[k++] = opt[i++];
			nops++;		/* the NOP options just copied */
			continue;
		}
		size = len - i >= 2 ? opt[i + 1] : 0;
		if (size < 2 || size > len - i) {
			memcpy(out + k, opt + i, len - i);
			*end = true;
			return k + len - i;
		}
		if (kind == TCPOPT_SACK) {
			k -= nops;	/* its padding */
		} else {
			memcpy(out + k, opt + i, size);
			k += size;
		}
		nops = 0;
		i += size;
	}
	return k - nops;	/* trailing padding */
}

/*
 * colo_tcp_lower_ack - write a lowered ack into a held pure ack's header
 * @skb: the ack, stolen at PREROUTING, with COLO_CB()->ack lowered
 * @info: the SACK blocks it carries instead of its own, and the timestamp
 *	  echo
 *
 * Called under the flow lock when the engine decided it
 * (colo_compare_tcp()). The primary's own SACK blocks go: they may name
 * client data above the lowered ack that only the primary has, and the
 * client would not resend it. @info's go in their place, as many as the
 * option space takes, the header growing when needed (up to 60 bytes).
 * A timestamp option gets @info's echo (TSecr) and COLO_CB()->tsval (the
 * primary's, maybe raised); the window stays the primary's. Checksums
 * follow: by difference when the header keeps its size (so a
 * CHECKSUM_COMPLETE sum stays valid; under CHECKSUM_PARTIAL the field
 * holds only the pseudo-header); when it grows, as for a cut segment
 * (colo_tcp_relength()). Fails only
 * when the header cannot be made writable; the caller then drops the ack:
 * the primary's full ack must not leave.
 *
 * Return: 0, or a negative errno.
 */
int colo_tcp_lower_ack(struct sk_buff *skb, const struct colo_ack_info *info)
{
	u8 opts[MAX_TCP_OPTION_SPACE];
	unsigned int thlen, optlen, newlen, room, k, n, i, grow;
	struct tcphdr *th;
	__wsum before;
	bool end;
	int thoff;

	if (skb_network_offset(skb) != 0)
		return -EINVAL;
	thoff = colo_tcp_thoff(skb);
	if (thoff < 0 || thoff + sizeof(struct tcphdr) > COLO_CB(skb)->poff)
		return -EINVAL;
	thlen = COLO_CB(skb)->poff - thoff;
	optlen = thlen - sizeof(*th);
	if (optlen > MAX_TCP_OPTION_SPACE)
		return -EINVAL;
	if (skb_ensure_writable(skb, thoff + thlen))
		return -ENOMEM;

	th = (struct tcphdr *)(skb->data + thoff);
	k = colo_tcp_opts_nosack((u8 *)(th + 1), optlen, opts, &end);

	/*
	 * Room to grow: a pure ack ends with its TCP header (the stack
	 * trimmed it to the IP length), and its IP length can say more.
	 */
	room = optlen;
	if (!end && !COLO_CB(skb)->len && skb->len == thoff + thlen &&
	    !skb_is_nonlinear(skb) &&
	    (skb->protocol == htons(ETH_P_IP) || ipv6_hdr(skb)->payload_len))
		room = MAX_TCP_OPTION_SPACE;
	if (info->ts || COLO_CB(skb)->ts) {
		int o = colo_tcp_opt_next(opts, k, 0, TCPOPT_TIMESTAMP);

		if (o >= 0 && opts[o + 1] == TCPOLEN_TIMESTAMP) {
			if (COLO_CB(skb)->ts)
				put_unaligned_be32(COLO_CB(skb)->tsval,
						   opts + o + 2);
			if (info->ts)
				put_unaligned_be32(info->ecr, opts + o + 6);
		}
	}
	n = end ? 0 : min_t(unsigned int, info->n, COLO_SACK_MAX);
	while (n && round_up(k + TCPOLEN_SACK_BASE_ALIGNED +
			     n * TCPOLEN_SACK_PERBLOCK, 4) > room)
		n--;
	if (n) {
		opts[k++] = TCPOPT_NOP;
		opts[k++] = TCPOPT_NOP;
		opts[k++] = TCPOPT_SACK;
		opts[k++] = TCPOLEN_SACK_BASE + n * TCPOLEN_SACK_PERBLOCK;
		for (i = 0; i < n; i++, k += TCPOLEN_SACK_PERBLOCK) {
			put_unaligned_be32(info->blk[i].start, opts + k);
			put_unaligned_be32(info->blk[i].end, opts + k + 4);
		}
	}
	newlen = max_t(unsigned int, round_up(k, 4), optlen);
	memset(opts + k, TCPOPT_NOP, newlen - k);
	grow = newlen - optlen;

	if (!grow) {
		before = csum_partial(th, thlen, 0);
		th->ack_seq = htonl(COLO_CB(skb)->ack);
		memcpy(th + 1, opts, newlen);
		/* inet_proto_csum_replace_by_diff() without pseudo-header */
		if (skb->ip_summed != CHECKSUM_PARTIAL)
			csum_replace_by_diff(&th->check,
					     csum_sub(csum_partial(th, thlen, 0),
						      before));
		return 0;
	}

	if (skb_tailroom(skb) < (int)grow &&
	    pskb_expand_head(skb, 0, grow - skb_tailroom(skb), GFP_ATOMIC))
		return -ENOMEM;
	skb_put(skb, grow);
	th = (struct tcphdr *)(skb->data + thoff);
	th->ack_seq = htonl(COLO_CB(skb)->ack);
	th->doff = (sizeof(*th) + newlen) / 4;
	memcpy(th + 1, opts, newlen);
	COLO_CB(skb)->poff += grow;
	colo_tcp_relength(skb, thoff);
	return 0;
}
