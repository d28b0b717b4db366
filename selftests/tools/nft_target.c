// SPDX-License-Identifier: GPL-2.0-only
/*
 * nft_target: put a COLO rule into an nf_tables table of any family, the
 * way nft_compat carries xtables targets (libnftnl's "target" expression),
 * so that selftests can show which placements the module refuses. The nft
 * command cannot write xtables targets, and iptables-nft only makes ip and
 * ip6 tables.
 *
 *   nft_target FAMILY TABLE PRIORITY primary|secondary INSTANCE
 *
 * FAMILY is ip, ip6, inet or bridge. Creates table FAMILY TABLE with a base
 * chain PREROUTING (type filter, hook prerouting, PRIORITY) holding one
 * rule "-j COLO --instance INSTANCE --ROLE", in one transaction. Exits 0
 * when the kernel took it, 1 with the kernel's error otherwise.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <libmnl/libmnl.h>
#include <libnftnl/table.h>
#include <libnftnl/chain.h>
#include <libnftnl/rule.h>
#include <libnftnl/expr.h>
#include <libnftnl/common.h>

#include <linux/xt_COLO.h>

#define XT_ALIGN_8(s) (((s) + 7) & ~(size_t)7)

static int family_of(const char *name)
{
	if (!strcmp(name, "ip"))
		return NFPROTO_IPV4;
	if (!strcmp(name, "ip6"))
		return NFPROTO_IPV6;
	if (!strcmp(name, "inet"))
		return NFPROTO_INET;
	if (!strcmp(name, "bridge"))
		return NFPROTO_BRIDGE;
	return -1;
}

int main(int argc, char *argv[])
{
	char buf[MNL_SOCKET_BUFFER_SIZE * 2];
	struct xt_colo_tginfo *info;
	struct mnl_socket *nl;
	char txbuf[MNL_SOCKET_BUFFER_SIZE];
	struct mnl_nlmsg_batch *b;
	struct nftnl_table *t;
	struct nftnl_chain *c;
	struct nftnl_rule *r;
	struct nftnl_expr *e;
	uint32_t seq = time(NULL), portid;
	int family, ret, err = 0;
	char *end;
	long prio;

	if (argc != 6 || (family = family_of(argv[1])) < 0 ||
	    (strcmp(argv[4], "primary") && strcmp(argv[4], "secondary"))) {
		fprintf(stderr, "usage: %s ip|ip6|inet|bridge TABLE PRIORITY primary|secondary INSTANCE\n",
			argv[0]);
		return 2;
	}
	prio = strtol(argv[3], &end, 10);
	if (*end) {
		fprintf(stderr, "%s: bad priority %s\n", argv[0], argv[3]);
		return 2;
	}

	t = nftnl_table_alloc();
	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, family);
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, argv[2]);

	c = nftnl_chain_alloc();
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, argv[2]);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, "PREROUTING");
	nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, "filter");
	nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, NF_INET_PRE_ROUTING);
	nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, (int32_t)prio);

	/* the expression owns the info it is given */
	info = calloc(1, XT_ALIGN_8(sizeof(*info)));
	if (!info)
		return 1;
	info->instance = strtoul(argv[5], NULL, 10);
	info->role = strcmp(argv[4], "primary") ? XT_COLO_ROLE_SECONDARY :
						   XT_COLO_ROLE_PRIMARY;
	e = nftnl_expr_alloc("target");
	nftnl_expr_set_str(e, NFTNL_EXPR_TG_NAME, "COLO");
	nftnl_expr_set_u32(e, NFTNL_EXPR_TG_REV, 0);
	nftnl_expr_set(e, NFTNL_EXPR_TG_INFO, info, XT_ALIGN_8(sizeof(*info)));

	r = nftnl_rule_alloc();
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, family);
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, argv[2]);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, "PREROUTING");
	nftnl_rule_add_expr(r, e);

	b = mnl_nlmsg_batch_start(txbuf, sizeof(txbuf));
	nftnl_batch_begin(mnl_nlmsg_batch_current(b), seq++);
	mnl_nlmsg_batch_next(b);
	nftnl_table_nlmsg_build_payload(
		nftnl_table_nlmsg_build_hdr(mnl_nlmsg_batch_current(b), NFT_MSG_NEWTABLE,
					    family, NLM_F_CREATE | NLM_F_ACK, seq++), t);
	mnl_nlmsg_batch_next(b);
	nftnl_chain_nlmsg_build_payload(
		nftnl_chain_nlmsg_build_hdr(mnl_nlmsg_batch_current(b), NFT_MSG_NEWCHAIN,
					    family, NLM_F_CREATE | NLM_F_ACK, seq++), c);
	mnl_nlmsg_batch_next(b);
	nftnl_rule_nlmsg_build_payload(
		nftnl_rule_nlmsg_build_hdr(mnl_nlmsg_batch_current(b), NFT_MSG_NEWRULE,
					   family, NLM_F_CREATE | NLM_F_APPEND | NLM_F_ACK,
					   seq++), r);
	mnl_nlmsg_batch_next(b);
	nftnl_batch_end(mnl_nlmsg_batch_current(b), seq++);
	mnl_nlmsg_batch_next(b);

	nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		perror("mnl_socket");
		return 1;
	}
	portid = mnl_socket_get_portid(nl);
	if (mnl_socket_sendto(nl, mnl_nlmsg_batch_head(b),
			      mnl_nlmsg_batch_size(b)) < 0) {
		perror("mnl_socket_sendto");
		return 1;
	}
	/*
	 * An ack or an error for each of the three messages; a failed
	 * transaction may leave some unanswered, hence the receive timeout.
	 */
	{
		struct timeval tv = { .tv_sec = 2 };
		int replies = 0;

		setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVTIMEO,
			   &tv, sizeof(tv));
		while (replies < 3) {
			ret = mnl_socket_recvfrom(nl, buf, sizeof(buf));
			if (ret <= 0)
				break;
			replies++;
			if (mnl_cb_run(buf, ret, 0, portid, NULL, NULL) < 0) {
				err = errno;
				break;
			}
		}
		if (!err && replies < 3)
			err = ETIMEDOUT;
	}
	mnl_socket_close(nl);
	mnl_nlmsg_batch_stop(b);
	nftnl_rule_free(r);
	nftnl_chain_free(c);
	nftnl_table_free(t);
	if (err) {
		fprintf(stderr, "%s: %s %s: %s\n", argv[0], argv[1], argv[2],
			strerror(err));
		return 1;
	}
	return 0;
}
