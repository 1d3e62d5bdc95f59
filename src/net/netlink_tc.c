/* The traffic-control messages of the rtnetlink client: the ingress qdisc
 * and a u32 filter that sends every frame arriving on one interface out
 * of another (mirred egress redirect), as iproute2's tc writes them. */
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <linux/tc_act/tc_mirred.h>
#include <string.h>

#include "netlink.h"

static struct tcmsg *tc_msg(struct nl_msg *m, uint16_t type, uint16_t flags,
                            int ifindex) {
  nl_msg_init(m, type, flags);
  struct tcmsg *t = nl_msg_reserve(m, sizeof *t);
  if (t) {
    t->tcm_family = AF_UNSPEC;
    t->tcm_ifindex = ifindex;
  }
  return t;
}

void nl_msg_tc_ingress(struct nl_msg *m, uint16_t type, uint16_t flags, int ifindex) {
  struct tcmsg *t = tc_msg(m, type, flags, ifindex);
  t->tcm_handle = TC_H_MAKE(TC_H_INGRESS, 0); /* ffff: */
  t->tcm_parent = TC_H_INGRESS;
  nl_attr_put_str(m, TCA_KIND, "ingress");
}

void nl_msg_tc_redirect(struct nl_msg *m, int ifindex, int to_index) {
  struct tcmsg *t = tc_msg(m, RTM_NEWTFILTER, NLM_F_CREATE | NLM_F_EXCL, ifindex);
  t->tcm_handle = 0;
  t->tcm_parent = TC_H_MAKE(TC_H_INGRESS, 0);
  /* priority 0 (the kernel picks one), protocol all */
  t->tcm_info = TC_H_MAKE(0, htons(ETH_P_ALL));
  nl_attr_put_str(m, TCA_KIND, "u32");
  size_t opts = nl_nest_start(m, TCA_OPTIONS);
  /* the action list: action 1 is mirred, egress redirect, the frame is
   * then the target's (stolen) */
  size_t acts = nl_nest_start(m, TCA_U32_ACT);
  size_t act = nl_nest_start(m, 1);
  nl_attr_put_str(m, TCA_ACT_KIND, "mirred");
  size_t aopts = nl_nest_start(m, TCA_ACT_OPTIONS | NLA_F_NESTED);
  struct tc_mirred parms;
  memset(&parms, 0, sizeof parms);
  parms.action = TC_ACT_STOLEN;
  parms.eaction = TCA_EGRESS_REDIR;
  parms.ifindex = (uint32_t)to_index;
  nl_attr_put(m, TCA_MIRRED_PARMS, &parms, sizeof parms);
  nl_nest_end(m, aopts);
  nl_nest_end(m, act);
  nl_nest_end(m, acts);
  /* one key, mask 0 value 0 at offset 0: matches every frame */
  union {
    struct tc_u32_sel sel;
    uint8_t bytes[sizeof(struct tc_u32_sel) + sizeof(struct tc_u32_key)];
  } s;
  memset(&s, 0, sizeof s);
  s.sel.flags = TC_U32_TERMINAL;
  s.sel.nkeys = 1;
  nl_attr_put(m, TCA_U32_SEL, s.bytes, sizeof s.bytes);
  nl_nest_end(m, opts);
}
