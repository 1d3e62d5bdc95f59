/* Unit tests for hull's rtnetlink client (src/net/netlink.c): the tc
 * filter message is byte for byte what iproute2's `tc filter add dev X
 * parent ffff: protocol all u32 match u8 0 0 action mirred egress
 * redirect dev Y` sends (taken with strace), the ingress qdisc's too,
 * acknowledgements and the kernel's errors (with their extended-ack
 * text) are read right, and a dump of the links works (read-only). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdlib.h>
#include <string.h>

#include "net/netlink.h"

/* After the 16-byte netlink header: tc's RTM_NEWTFILTER for ifindex 3
 * redirecting to ifindex 5. */
static const uint8_t tc_filter[] = {
    /* tcmsg: family, pad, ifindex 3, handle 0, parent ffff:, info
     * (prio 0, protocol ETH_P_ALL in network order) */
    0x00, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0xff, 0xff, 0x00, 0x03, 0x00, 0x00,
    /* TCA_KIND "u32" */
    0x08, 0x00, 0x01, 0x00, 'u', '3', '2', 0x00,
    /* TCA_OPTIONS */
    0x60, 0x00, 0x02, 0x00,
    /* TCA_U32_ACT, action 1: TCA_ACT_KIND "mirred", TCA_ACT_OPTIONS
     * (nested): TCA_MIRRED_PARMS {index 0, capab 0, action STOLEN (4),
     * refcnt 0, bindcnt 0, eaction EGRESS_REDIR (1), ifindex 5} */
    0x38, 0x00, 0x07, 0x00, 0x34, 0x00, 0x01, 0x00, 0x0b, 0x00, 0x01, 0x00,
    'm', 'i', 'r', 'r', 'e', 'd', 0x00, 0x00, 0x24, 0x00, 0x02, 0x80,
    0x20, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00,
    /* TCA_U32_SEL: flags TERMINAL, nkeys 1, one key mask 0 value 0 */
    0x24, 0x00, 0x05, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};

static void test_tc_redirect_as_iproute2(void **state) {
  (void)state;
  struct nl_msg m;
  nl_msg_tc_redirect(&m, 3, 5);
  assert_false(m.overflow);
  const struct nlmsghdr *h = (const void *)m.buf;
  assert_int_equal(m.len, 140);
  assert_int_equal(h->nlmsg_len, 140);
  assert_int_equal(h->nlmsg_type, RTM_NEWTFILTER);
  assert_int_equal(h->nlmsg_flags, NLM_F_CREATE | NLM_F_EXCL);
  assert_int_equal(sizeof tc_filter, 140 - NLMSG_HDRLEN);
  assert_memory_equal(m.buf + NLMSG_HDRLEN, tc_filter, sizeof tc_filter);
}

static void test_tc_ingress(void **state) {
  (void)state;
  static const uint8_t want[] = {
      0x00, 0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00, /* ifindex 7 */
      0x00, 0x00, 0xff, 0xff,                         /* handle ffff: */
      0xf1, 0xff, 0xff, 0xff,                         /* parent ingress */
      0x00, 0x00, 0x00, 0x00,
      0x0c, 0x00, 0x01, 0x00, 'i', 'n', 'g', 'r', 'e', 's', 's', 0x00,
  };
  struct nl_msg m;
  nl_msg_tc_ingress(&m, RTM_NEWQDISC, NLM_F_CREATE | NLM_F_EXCL, 7);
  assert_int_equal(m.len, 48);
  assert_memory_equal(m.buf + NLMSG_HDRLEN, want, sizeof want);
}

static void test_overflow(void **state) {
  (void)state;
  struct nl_msg m;
  nl_msg_init(&m, RTM_NEWLINK, 0);
  char big[600] = {0};
  nl_attr_put(&m, 1, big, sizeof big);
  assert_false(m.overflow);
  nl_attr_put(&m, 2, big, sizeof big);
  assert_true(m.overflow);
  assert_true(m.len <= NL_MSG_MAX);
}

/* An NLMSG_ERROR answer to SEQ with ERR and an extended-ack text. */
static size_t error_msg(uint8_t *buf, uint32_t seq, int err, const char *text) {
  memset(buf, 0, 256);
  struct nlmsghdr *h = (void *)buf;
  h->nlmsg_type = NLMSG_ERROR;
  h->nlmsg_seq = seq;
  h->nlmsg_flags = text ? NLM_F_CAPPED | NLM_F_ACK_TLVS : NLM_F_CAPPED;
  struct nlmsgerr *e = NLMSG_DATA(h);
  e->error = err;
  e->msg.nlmsg_len = 40; /* capped: not there */
  size_t len = NLMSG_LENGTH(sizeof *e);
  if (text) {
    struct nlattr *a = (void *)(buf + len);
    a->nla_type = NLMSGERR_ATTR_MSG;
    a->nla_len = (uint16_t)(NLA_HDRLEN + strlen(text) + 1);
    memcpy((uint8_t *)a + NLA_HDRLEN, text, strlen(text) + 1);
    len += NLA_ALIGN(a->nla_len);
  }
  h->nlmsg_len = (uint32_t)len;
  return len;
}

static void test_ack_parse(void **state) {
  (void)state;
  uint8_t buf[256];
  char text[128];
  size_t len = error_msg(buf, 42, 0, NULL);
  assert_int_equal(nl_ack_parse(buf, len, 42, text, sizeof text), 0);
  /* an answer to another request is not ours */
  assert_int_equal(nl_ack_parse(buf, len, 43, text, sizeof text), 1);
  len = error_msg(buf, 42, -EEXIST, "Exclusivity flag on\ncannot modify");
  assert_int_equal(nl_ack_parse(buf, len, 42, text, sizeof text), -EEXIST);
  assert_string_equal(text, "Exclusivity flag on?cannot modify");
  len = error_msg(buf, 42, -ENOENT, NULL);
  assert_int_equal(nl_ack_parse(buf, len, 42, text, sizeof text), -ENOENT);
  assert_string_equal(text, "");
  /* truncated: not an answer */
  assert_int_equal(nl_ack_parse(buf, 10, 42, text, sizeof text), 1);
  /* an error code that is none */
  len = error_msg(buf, 42, 5, NULL);
  assert_int_equal(nl_ack_parse(buf, len, 42, text, sizeof text), -EPROTO);
}

static void test_link_list_has_loopback(void **state) {
  (void)state;
  struct nl_link *links;
  size_t n;
  struct hull_error e;
  assert_int_equal(nl_link_list(&links, &n, &e), 0);
  bool lo = false;
  for (size_t i = 0; i < n; i++)
    if (!strcmp(links[i].name, "lo")) {
      lo = true;
      assert_true(links[i].flags & IFF_LOOPBACK);
      assert_int_equal(links[i].index, 1);
    }
  assert_true(lo);
  free(links);
}

static void test_missing_link(void **state) {
  (void)state;
  struct hull_error e;
  assert_int_equal(nl_link_del_name("hull-nonesuch", &e), 1);
  assert_int_equal(nl_tc_ingress_del("hull-nonesuch", &e), 1);
  assert_int_equal(nl_link_set_up("hull-nonesuch", true, &e), -ENODEV);
  assert_string_equal(e.msg, "interface hull-nonesuch: no such interface");
  assert_true(nl_link_del_name("", &e) < 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_tc_redirect_as_iproute2),
      cmocka_unit_test(test_tc_ingress),
      cmocka_unit_test(test_overflow),
      cmocka_unit_test(test_ack_parse),
      cmocka_unit_test(test_link_list_has_loopback),
      cmocka_unit_test(test_missing_link),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
