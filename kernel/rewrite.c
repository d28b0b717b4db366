// SPDX-License-Identifier: GPL-2.0-only
/*
 * xt_COLO rewriter, on the secondary host (QEMU's filter-rewriter).
 *
 * The two guests pick different initial sequence numbers. The client only
 * ever talks to the primary's sequence space, so per TCP flow the secondary
 * guest's output is shifted into it, and the client's acks (mirrored to the
 * secondary) are shifted back. Conntrack's SEQADJ extension does the
 * shifting (seq, ack and SACK blocks, at confirm time); we only learn the
 * offset:
 *   --rewrite        sees the secondary guest's SYN or SYN-ACK: its ISN;
 *   --rewrite-client sees the client's answer to the guest's SYN or SYN-ACK
 *                    (its SYN-ACK, or the ack that begins its stream): it
 *                    acks the primary's ISN + 1 (colo_rewrite_fits() says
 *                    which packet that is, and why no other may teach it).
 * What was learned lasts as long as the connection's conntrack entry: a new
 * entry with a SYN starts afresh, one taken up mid-stream gets the offset
 * again (colo_rewrite_new_ct()).
 * SEQADJ must be added while the conntrack entry is unconfirmed, so both
 * rules add it to every new TCP flow. The offset is learned one packet
 * after conntrack's window check saw that packet, so those flows are kept
 * window-liberal (IP_CT_TCP_FLAG_BE_LIBERAL, colo_rewrite_liberal())
 * instead of patching the kernel.
 *
 * TCP timestamps (RFC 7323) differ the same way: each guest stamps its own
 * TSvals, and the client echoes the primary's. Unshifted, the secondary
 * guest sees echoes of times it never sent: a guest-initiated connection
 * whose SYN left the secondary after the primary's gets a SYN-ACK echoing
 * a time before its SYN, which tcp_rcv_synsent_state_process() rejects
 * (PAWS, then a reset); later echoes give it wrong RTT samples. SEQADJ does
 * not touch options, so the rewriter shifts timestamps itself, learned like
 * the sequence offset and on the same packets:
 *   --rewrite        the TSval of the secondary guest's SYN or SYN-ACK;
 *   --rewrite-client the TSecr of that client packet, the primary's
 *                    TSval on its SYN or SYN-ACK;
 * ts_off = secondary - primary (u32, wraps). From then on the client's
 * TSecr goes up by ts_off (--rewrite-client) and the secondary guest's
 * TSval down by it (--rewrite), in place here (not at confirm time), so the
 * secondary's output is in the primary's timestamp space: after a failover
 * the client keeps seeing TSvals that continue the primary's. Until the
 * offset is known, and in flows without the option, timestamps are left
 * alone; the secondary's SYN(-ACK) goes out unshifted, which only the
 * comparator sees, and it ignores options. A checkpoint makes the guests
 * copies (timestamp clocks included), so it sets this offset to zero too.
 *
 * After a failover neither rule shifts timestamps any more. The client's
 * packets then reach the guest through the secondary host's own uplink,
 * past no --rewrite-client rule, so their TSecr stays in the primary's
 * space; conntrack keeps applying SEQADJ on that path, but nothing shifts
 * options there. Had --rewrite gone on lowering the guest's TSvals, the
 * guest would see each segment echoed ts_off earlier than it sent it: an
 * ack of a retransmission echoing a time before the retransmission is,
 * to the Eifel check (tcp_packet_delayed()), proof that the timeout was
 * spurious, so every RTO is undone and the guest repairs a hole one
 * segment per RTO. Unshifted, the guest's TSvals go to the client as they
 * are and come back as they went. The client sees them jump by ts_off:
 * forward when the secondary's SYN lagged (PAWS accepts that), backward
 * when it ran ahead, which PAWS accepts once the failover took longer
 * than that lead, as for a lag while shifting.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/tcp.h>
#include <net/checksum.h>
#include <net/tcp.h>
#include <linux/netfilter/x_tables.h>
#include "compat.h"
#include <net/netfilter/nf_conntrack.h>
#include <net/netfilter/nf_conntrack_core.h>
#include <net/netfilter/nf_conntrack_seqadj.h>
#include <net/netfilter/nf_conntrack_zones.h>
#include "colo.h"

static void colo_rewrite_key(const struct nf_conn *ct,
			     enum ip_conntrack_dir dir, bool from_guest,
			     struct colo_flow_key *key)
{
	const struct nf_conntrack_tuple *t = &ct->tuplehash[dir].tuple;

	memset(key, 0, sizeof(*key));
	key->family = t->src.l3num;
	key->proto = IPPROTO_TCP;
	if (from_guest) {
		key->saddr = t->src.u3;
		key->daddr = t->dst.u3;
		key->sport = t->src.u.all;
		key->dport = t->dst.u.all;
	} else {
		key->saddr = t->dst.u3;
		key->daddr = t->src.u3;
		key->sport = t->dst.u.all;
		key->dport = t->src.u.all;
	}
}

/**
 * colo_seqadj_set - set the sequence offset of one direction of a flow
 * @ct: the conntrack entry, with the SEQADJ extension
 * @dir: the direction whose sequence numbers move (the secondary guest's)
 * @off: by how much (0 clears every offset, as after a checkpoint)
 *
 * The entry is usually confirmed already: other CPUs read the offsets in
 * nf_ct_seq_adjust() (at confirm time, for every packet of the flow) and
 * nf_ct_seq_offset() (from tcp_in_window()), both under ct->lock, so they
 * are written under ct->lock too, as nf_ct_seqadj_set() does. Not through
 * nf_ct_seqadj_init(): whether it takes ct->lock itself depends on the
 * release (6.1.192's does, so wrapping the call would deadlock there),
 * while the fields written here directly, under the lock, are the same on
 * every 6.1: both offsets equal, so correction_pos does not matter.
 *
 * Called with flow->lock held (lock order: flow->lock, then ct->lock;
 * conntrack never calls into us with ct->lock held), so that learning and
 * a checkpoint's reset (colo_rewrite_reset()) cannot interleave.
 */
static void colo_seqadj_set(struct nf_conn *ct, enum ip_conntrack_dir dir,
			    s32 off)
{
	struct nf_conn_seqadj *seqadj = nfct_seqadj(ct);

	spin_lock_bh(&ct->lock);
	if (off)
		set_bit(IPS_SEQ_ADJUST_BIT, &ct->status);
	memset(seqadj->seq, 0, sizeof(seqadj->seq));
	seqadj->seq[dir].offset_before = off;
	seqadj->seq[dir].offset_after = off;
	spin_unlock_bh(&ct->lock);
}

/**
 * colo_ts_next - find the next well-formed timestamp option
 * @opt: the TCP options (the bytes after the fixed TCP header)
 * @len: their length, from the data offset (at most MAX_TCP_OPTION_SPACE)
 * @i: where to start
 *
 * The walk is colo_tcp_opt_next()'s, as tcp_parse_options() does it; a
 * timestamp option of the wrong size is skipped. The receiver uses the
 * last well-formed one, so callers visit every one.
 *
 * Return: the offset of the option's kind byte in @opt, or -1.
 */
static int colo_ts_next(const u8 *opt, unsigned int len, unsigned int i)
{
	int o;

	while ((o = colo_tcp_opt_next(opt, len, i, TCPOPT_TIMESTAMP)) >= 0) {
		if (opt[o + 1] == TCPOLEN_TIMESTAMP)
			return o;
		i = o + opt[o + 1];
	}
	return -1;
}

/**
 * colo_ts_read - the timestamp option of a TCP segment, read-only
 * @skb: the packet
 * @thoff: offset of the TCP header from skb->data
 * @th: the TCP header (a copy)
 * @tsval: the last well-formed option's TSval
 * @tsecr: and its TSecr
 *
 * Return: true if the segment carries a well-formed timestamp option.
 */
static bool colo_ts_read(const struct sk_buff *skb, unsigned int thoff,
			 const struct tcphdr *th, u32 *tsval, u32 *tsecr)
{
	u8 buf[MAX_TCP_OPTION_SPACE];
	unsigned int len;
	const u8 *opt;
	int i, last = -1;

	/* doff is 4 bits: len is at most MAX_TCP_OPTION_SPACE */
	if (th->doff * 4 < sizeof(*th) + TCPOLEN_TIMESTAMP)
		return false;
	len = th->doff * 4 - sizeof(*th);
	opt = skb_header_pointer(skb, thoff + sizeof(*th), len, buf);
	if (!opt)
		return false;
	for (i = colo_ts_next(opt, len, 0); i >= 0;
	     i = colo_ts_next(opt, len, i + TCPOLEN_TIMESTAMP))
		last = i;
	if (last < 0)
		return false;
	*tsval = get_unaligned_be32(opt + last + 2);
	*tsecr = get_unaligned_be32(opt + last + 6);
	return true;
}

/**
 * colo_ts_shift - add @delta to the TSval or TSecr of every timestamp option
 * @skb: the packet, owned by the caller (no flow lock held)
 * @thoff: offset of the TCP header from skb->data
 * @doff: the TCP data offset (header length / 4), at least 5
 * @tsecr: shift TSecr (client to secondary) rather than TSval
 * @delta: what to add (u32, wraps)
 *
 * In place, as xt_TCPOPTSTRIP mangles options; the checksum follows with
 * inet_proto_csum_replace4(), which leaves a CHECKSUM_PARTIAL packet's
 * pseudo-header sum alone and keeps a CHECKSUM_COMPLETE one valid (the
 * change and its compensation cancel out). If the header cannot be made
 * writable (no memory) the packet goes on unshifted: dropping a mirrored
 * client packet would starve the secondary guest of data the client never
 * sends again, and a secondary packet only reaches the comparator.
 */
static void colo_ts_shift(struct sk_buff *skb, unsigned int thoff,
			  unsigned int doff, bool tsecr, u32 delta)
{
	unsigned int len = doff * 4 - sizeof(struct tcphdr);
	struct tcphdr *th;
	u8 *opt;
	int i;

	if (skb_ensure_writable(skb, thoff + doff * 4))
		return;
	/* the header may have moved */
	th = (struct tcphdr *)(skb->data + thoff);
	if (th->doff != doff)
		return;
	opt = (u8 *)(th + 1);
	for (i = colo_ts_next(opt, len, 0); i >= 0;
	     i = colo_ts_next(opt, len, i + TCPOLEN_TIMESTAMP)) {
		u8 *p = opt + i + (tsecr ? 6 : 2);
		__be32 old = get_unaligned((__be32 *)p);
		__be32 new = cpu_to_be32(be32_to_cpu(old) + delta);

		put_unaligned(new, (__be32 *)p);
		inet_proto_csum_replace4(&th->check, skb, old, new, false);
	}
}

/*
 * colo_rewrite_liberal - keep conntrack's window tracking liberal for @ct
 *
 * The offsets are learned one packet after conntrack's window check saw
 * that packet, and a learned offset moves the secondary guest's sequence
 * numbers, so conntrack must not mark the flow's packets INVALID for their
 * numbers: an INVALID packet reaches the rules without its entry, and the
 * rewriter can neither learn from it nor shift it. Both directions are
 * made liberal when the entry is new, and again whenever conntrack took
 * that back: when it re-synchronises on a SYN-ACK that answers a SYN it
 * ignored (nf_conntrack_tcp_packet(), TCP_CONNTRACK_IGNORE: the client's
 * retransmitted SYN, then the secondary guest's SYN-ACK retransmitted for
 * it, as when the comparator holds the first SYN-ACK longer than the
 * client's SYN timeout), it replaces the flags of the SYN's direction with
 * the SYN's options, IP_CT_TCP_FLAG_BE_LIBERAL gone. The SYN-ACK that did
 * it comes through one of the rules next, so the first packet after it is
 * checked liberally again.
 */
static void colo_rewrite_liberal(struct nf_conn *ct)
{
	struct ip_ct_tcp_state *seen = ct->proto.tcp.seen;

	/*
	 * Every packet: unlocked first. conntrack changes the flags under
	 * ct->lock; a stale read is set right by the flow's next packet.
	 */
	if (data_race(seen[0].flags & seen[1].flags) &
	    IP_CT_TCP_FLAG_BE_LIBERAL)
		return;
	spin_lock_bh(&ct->lock);
	seen[0].flags |= IP_CT_TCP_FLAG_BE_LIBERAL;
	seen[1].flags |= IP_CT_TCP_FLAG_BE_LIBERAL;
	spin_unlock_bh(&ct->lock);
}

/*
 * A conntrack entry seen before it is confirmed is new (flow->lock held).
 * With a SYN it carries a new connection on this 5-tuple (the old entry
 * expired, or a SYN reopened it from TIME_WAIT): nothing learned for the
 * previous one holds. Without one, conntrack took up a connection in the
 * middle (its entry was deleted; nf_conntrack_tcp_loose): the new SEQADJ
 * extension is empty, so the offset learned for the connection is given
 * to it again, in the direction the guest has in this entry.
 */
static void colo_rewrite_new_ct(struct colo_flow *flow, struct nf_conn *ct,
				const struct tcphdr *th,
				enum ip_conntrack_dir guest_dir)
{
	if (th->syn) {
		flow->isn_known = 0;
		flow->learned = 0;
		flow->cli_syn = 0;
		flow->ts_seen = 0;
		flow->ts_on = 0;
		flow->seq_off = 0;
		return;
	}
	if (flow->learned && flow->seq_off) {
		flow->guest_dir = guest_dir;
		colo_seqadj_set(ct, guest_dir, flow->seq_off);
	}
}

/*
 * colo_rewrite_fits - whether a client packet may teach the offsets
 *
 * The client tells the primary's ISN only by acknowledging it, and the
 * rewriter learns it from one packet, for the connection's life (until a
 * checkpoint). The flow is window-liberal in conntrack, so anyone who
 * knows the 5-tuple can put an ack with any number on the mirror; learned
 * from, it would shift the secondary guest's output wrongly. So the packet
 * must fit what the rewriter saw of this connection besides the secondary
 * guest's SYN:
 * - the client sent the SYN (it connects to the guest): its answer to the
 *   SYN-ACK, without SYN, beginning exactly where the client's stream
 *   begins (after the SYN and any data on it). A blind spoofer has to
 *   guess the client's ISN, as for any injection into a TCP connection;
 * - the guest connects: the client's SYN-ACK, the one packet that acks the
 *   primary's ISN + 1 and cannot be a later ack; a bare ack before it is
 *   refused. Its sequence number is the client's ISN, which nothing here
 *   can check: a spoofed SYN-ACK that comes before the client's is learned
 *   (it needs the guest's port and the moment; the wrong offset shows as
 *   a divergence, and the checkpoint that follows zeroes it).
 */
static bool colo_rewrite_fits(const struct colo_flow *flow,
			      const struct tcphdr *th)
{
	if (!th->ack || th->rst || !flow->isn_known)
		return false;
	if (flow->cli_syn)
		return !th->syn && ntohl(th->seq) == flow->cli_next;
	return th->syn;
}

unsigned int colo_rewrite(struct colo_instance *inst, struct sk_buff *skb,
			  const struct xt_action_param *par, u8 role)
{
	bool client = role == XT_COLO_ROLE_REWRITE_CLIENT;
	enum ip_conntrack_info ctinfo;
	bool learn = false, shift_ts = false;
	struct colo_flow_key key;
	enum ip_conntrack_dir dir;
	const struct tcphdr *th;
	struct colo_flow *flow;
	u32 tsval, tsecr, ts_off = 0;
	struct tcphdr _th;
	struct nf_conn *ct;
	bool has_ts = false;
	bool failed_over;
	s32 off = 0;

	colo_stat_inc(inst, COLO_STATS_A_REWRITE_PACKETS);
	ct = nf_ct_get(skb, &ctinfo);
	if (!ct || nf_ct_protonum(ct) != IPPROTO_TCP || par->fragoff)
		return XT_CONTINUE;
	th = skb_header_pointer(skb, par->thoff, sizeof(_th), &_th);
	if (!th)
		return XT_CONTINUE;

	failed_over = READ_ONCE(inst->state) == COLO_STATE_FAILED_OVER;
	if (!nf_ct_is_confirmed(ct)) {
		/* after failover new connections are left alone */
		if (failed_over)
			return XT_CONTINUE;
		if (!nfct_seqadj(ct) && !nfct_seqadj_ext_add(ct))
			return XT_CONTINUE;
	}
	if (!nfct_seqadj(ct))
		return XT_CONTINUE;	/* the flow predates the rules */
	colo_rewrite_liberal(ct);

	dir = CTINFO2DIR(ctinfo);
	colo_rewrite_key(ct, dir, !client, &key);
	/*
	 * No flow (the table is full, or no memory: counted in flows_full
	 * or flows_nomem): the packet
	 * goes on as it is. Unshifted, the secondary guest's output of a
	 * new connection differs from the primary's, which the comparator
	 * sees as a divergence; the checkpoint after it makes the guests
	 * copies, and the offset zero.
	 */
	flow = colo_flow_find(inst, &key);
	if (!flow)
		return XT_CONTINUE;

	spin_lock_bh(&flow->lock);
	if (flow->dead)
		goto out;
	flow->last_used = jiffies;
	if (!flow->has_ct) {
		flow->zone = *nf_ct_zone(ct);
		flow->has_ct = 1;
	}
	if (!nf_ct_is_confirmed(ct))
		colo_rewrite_new_ct(flow, ct, th, client ? !dir : dir);
	if (flow->learned)
		goto shift;
	if (!client) {
		if (th->syn) {
			flow->isn_s = ntohl(th->seq);
			flow->isn_known = 1;
			flow->guest_dir = dir;
			/* a retransmitted SYN restamps: keep the last */
			flow->ts_seen = colo_ts_read(skb, par->thoff, th,
						     &tsval, &tsecr);
			if (flow->ts_seen)
				flow->ts_s = tsval;
		}
	} else if (th->syn && !th->ack && !th->rst) {
		/* the client connects: where its stream begins */
		u32 hlen = par->thoff + th->doff * 4;

		flow->cli_next = ntohl(th->seq) + 1 +
				 (skb->len > hlen ? skb->len - hlen : 0);
		flow->cli_syn = 1;
	} else if (colo_rewrite_fits(flow, th) && !failed_over) {
		/* the client acks the primary's ISN + 1 */
		off = (s32)(ntohl(th->ack_seq) - 1 - flow->isn_s);
		flow->seq_off = off;
		flow->learned = 1;
		learn = true;
		/* applied to this very packet's ack at confirm time */
		colo_seqadj_set(ct, flow->guest_dir, off);
		/* and echoes the primary's TSval on its SYN(-ACK) */
		if (flow->ts_seen) {
			has_ts = colo_ts_read(skb, par->thoff, th,
					      &tsval, &tsecr);
			if (has_ts) {
				flow->ts_off = flow->ts_s - tsecr;
				flow->ts_on = 1;
			}
		}
	}
shift:
	/* the client's TSecr is past our reach after failover: see the top */
	shift_ts = flow->ts_on && !failed_over;
	ts_off = flow->ts_off;
out:
	spin_unlock_bh(&flow->lock);

	if (learn)
		colo_stat_inc(inst, COLO_STATS_A_REWRITTEN);
	/* TSecr is meaningful only with ACK set (RFC 7323, 3.2): a SYN's stays */
	if (client && !th->ack)
		shift_ts = false;
	/* the learning packet was read above; others only once shifting */
	if (shift_ts && !has_ts)
		has_ts = colo_ts_read(skb, par->thoff, th, &tsval, &tsecr);
	if (shift_ts && has_ts)
		colo_ts_shift(skb, par->thoff, th->doff, client,
			      client ? ts_off : -ts_off);
	return XT_CONTINUE;
}

/*
 * Checkpoint on the secondary host: the secondary guest is now a copy of
 * the primary, sequence numbers included, so every offset goes to zero.
 * Process context. The offsets and the flow's state change together under
 * flow->lock: a client ack learning an offset on another CPU either comes
 * before (and is zeroed here) or finds the flow learned.
 */
void colo_rewrite_reset(struct colo_instance *inst)
{
	struct rhashtable_iter iter;
	struct colo_flow *flow;

	rhashtable_walk_enter(&inst->flows, &iter);
	rhashtable_walk_start(&iter);
	while ((flow = rhashtable_walk_next(&iter))) {
		struct nf_conntrack_tuple_hash *h;
		struct nf_conntrack_tuple t = {};
		struct nf_conn *ct;

		if (IS_ERR(flow) || !flow->has_ct)
			continue;
		t.src.l3num = flow->key.family;
		t.src.u3 = flow->key.saddr;
		t.dst.u3 = flow->key.daddr;
		t.src.u.all = flow->key.sport;
		t.dst.u.all = flow->key.dport;
		t.dst.protonum = IPPROTO_TCP;
		h = nf_conntrack_find_get(inst->net, &flow->zone, &t);
		if (!h)
			continue;
		ct = nf_ct_tuplehash_to_ctrack(h);
		spin_lock_bh(&flow->lock);
		if (nfct_seqadj(ct))
			colo_seqadj_set(ct, IP_CT_DIR_ORIGINAL, 0);
		flow->learned = 1;	/* copies now: nothing to learn */
		flow->seq_off = 0;
		flow->ts_on = 0;	/* timestamp clocks included */
		spin_unlock_bh(&flow->lock);
		nf_ct_put(ct);
	}
	rhashtable_walk_stop(&iter);
	rhashtable_walk_exit(&iter);
}
