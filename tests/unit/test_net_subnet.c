/* Unit tests for IPv4 address arithmetic (src/net/subnet.c): strict
 * parsing of addresses and subnets, host bits, containment, overlap, host
 * addresses, the --ip check, and the host's routes read from
 * /proc/net/route text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "net/subnet.h"

static uint32_t ip(const char *s) {
  uint32_t a;
  struct hull_error e;
  assert_int_equal(ipv4_parse(s, &a, &e), 0);
  return a;
}

static struct ipv4_subnet net(const char *s) {
  struct ipv4_subnet n;
  struct hull_error e;
  assert_int_equal(subnet_parse(s, &n, &e), 0);
  return n;
}

static void test_ipv4_parse(void **state) {
  (void)state;
  assert_int_equal(ip("10.90.0.1"), 0x0a5a0001);
  assert_int_equal(ip("0.0.0.0"), 0);
  assert_int_equal(ip("255.255.255.255"), 0xffffffffu);
  const char *bad[] = {"", "1", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.4 ", " 1.2.3.4",
                       "01.2.3.4", "1.2.3.04", "1..3.4", "1.2.3.", ".1.2.3", "1.2.3.4/8",
                       "a.b.c.d", "-1.2.3.4", "+1.2.3.4", "1.2.3.99999999999", "0x1.2.3.4"};
  struct hull_error e;
  uint32_t a;
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    if (ipv4_parse(bad[i], &a, &e) != -EINVAL)
      fail_msg("accepted \"%s\"", bad[i]);
    assert_non_null(strstr(e.msg, "invalid address"));
  }
  assert_int_equal(ipv4_parse("fd00::1", &a, &e), -EINVAL);
  assert_non_null(strstr(e.msg, "IPv6"));
  assert_int_equal(ipv4_parse(NULL, &a, &e), -EINVAL);
  char buf[IPV4_STR_MAX];
  ipv4_format(0xc0a80a01, buf);
  assert_string_equal(buf, "192.168.10.1");
  ipv4_format(0xffffffffu, buf);
  assert_string_equal(buf, "255.255.255.255");
}

static void test_subnet_parse(void **state) {
  (void)state;
  struct ipv4_subnet n = net("10.90.0.0/16");
  assert_int_equal(n.addr, 0x0a5a0000);
  assert_int_equal(n.prefix, 16);
  n = net("0.0.0.0/0");
  assert_int_equal(n.prefix, 0);
  n = net("10.1.2.3/32");
  assert_int_equal(n.addr, 0x0a010203);
  char buf[SUBNET_STR_MAX];
  n = net("172.16.0.0/12");
  subnet_format(&n, buf);
  assert_string_equal(buf, "172.16.0.0/12");

  struct hull_error e;
  /* host bits set: an error, as docker has it, with the fix */
  assert_int_equal(subnet_parse("10.1.2.3/16", &n, &e), -EINVAL);
  assert_non_null(strstr(e.msg, "invalid subnet 10.1.2.3/16"));
  assert_non_null(strstr(e.msg, "10.1.0.0/16"));
  const char *bad[] = {"10.1.0.0", "10.1.0.0/", "10.1.0.0/33", "10.1.0.0/016", "10.1.0.0/-1",
                       "10.1.0.0/8/8", "10.1.0/16", "/16", "", "10.1.0.0 /16", "10.1.0.0/16 ",
                       "10.1.0.0/1a", "256.0.0.0/8"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    if (subnet_parse(bad[i], &n, &e) != -EINVAL)
      fail_msg("accepted \"%s\"", bad[i]);
    assert_non_null(strstr(e.msg, "invalid subnet"));
  }
  assert_int_equal(subnet_parse("fd00::/64", &n, &e), -EINVAL);
  assert_non_null(strstr(e.msg, "IPv6"));
}

static void test_arithmetic(void **state) {
  (void)state;
  assert_int_equal(subnet_mask(0), 0);
  assert_int_equal(subnet_mask(8), 0xff000000u);
  assert_int_equal(subnet_mask(32), 0xffffffffu);
  struct ipv4_subnet n = net("10.90.0.0/16");
  assert_int_equal(subnet_broadcast(&n), ip("10.90.255.255"));
  assert_int_equal(subnet_first_host(&n), ip("10.90.0.1"));
  assert_true(subnet_contains(&n, ip("10.90.0.0")));
  assert_true(subnet_contains(&n, ip("10.90.255.255")));
  assert_false(subnet_contains(&n, ip("10.91.0.0")));
  assert_false(subnet_contains(&n, ip("10.89.255.255")));
  assert_true(subnet_is_host(&n, ip("10.90.0.1")));
  assert_true(subnet_is_host(&n, ip("10.90.255.254")));
  assert_false(subnet_is_host(&n, ip("10.90.0.0")));
  assert_false(subnet_is_host(&n, ip("10.90.255.255")));
  assert_false(subnet_is_host(&n, ip("10.91.0.1")));
  /* /31 and /32: every address is a host */
  struct ipv4_subnet p2p = net("10.0.0.0/31");
  assert_true(subnet_is_host(&p2p, ip("10.0.0.0")));
  assert_true(subnet_is_host(&p2p, ip("10.0.0.1")));
  struct ipv4_subnet all = net("0.0.0.0/0");
  assert_true(subnet_contains(&all, ip("1.2.3.4")));
  assert_int_equal(subnet_broadcast(&all), 0xffffffffu);
}

static void test_overlap(void **state) {
  (void)state;
  struct {
    const char *a, *b;
    bool overlap;
  } cases[] = {
      {"10.90.0.0/16", "10.90.3.0/24", true},  {"10.90.3.0/24", "10.90.0.0/16", true},
      {"10.90.0.0/16", "10.91.0.0/16", false}, {"10.90.0.0/24", "10.90.1.0/24", false},
      {"10.0.0.0/8", "10.255.255.255/32", true}, {"0.0.0.0/0", "192.168.1.0/24", true},
      {"192.168.1.0/25", "192.168.1.128/25", false}, {"10.1.1.1/32", "10.1.1.1/32", true},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    struct ipv4_subnet a = net(cases[i].a), b = net(cases[i].b);
    if (subnet_overlaps(&a, &b) != cases[i].overlap)
      fail_msg("%s vs %s", cases[i].a, cases[i].b);
  }
}

static void test_check_address(void **state) {
  (void)state;
  struct hull_error e;
  assert_int_equal(subnet_check_address("10.90.0.0/16", "10.90.0.1", "10.90.3.7", &e), 0);
  assert_int_equal(subnet_check_address("10.90.0.0/16", NULL, "10.90.0.1", &e), 0);
  assert_int_equal(subnet_check_address("10.90.0.0/16", "10.90.0.1", "10.90.0.1", &e), -EINVAL);
  assert_non_null(strstr(e.msg, "gateway"));
  assert_int_equal(subnet_check_address("10.90.0.0/16", "10.90.0.1", "10.91.0.5", &e), -EINVAL);
  assert_non_null(strstr(e.msg, "not in subnet 10.90.0.0/16"));
  assert_int_equal(subnet_check_address("10.90.0.0/16", "", "10.90.0.0", &e), -EINVAL);
  assert_non_null(strstr(e.msg, "network address"));
  assert_int_equal(subnet_check_address("10.90.0.0/16", "", "10.90.255.255", &e), -EINVAL);
  assert_non_null(strstr(e.msg, "broadcast address"));
  assert_int_equal(subnet_check_address("10.90.0.0/16", "", "10.90.0.300", &e), -EINVAL);
  assert_non_null(strstr(e.msg, "invalid address"));
}

/* A /proc/net/route of a little-endian machine, as the kernel prints it. */
static const char routes[] =
    "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
    "eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"
    "eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
    "hull0\t00005A0A\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n"
    "wg0\t0000100A\t00000000\t0001\t0\t0\t0\t0000F0FF\t0\t0\t0\n"
    "odd\t0000200A\t00000000\t0001\t0\t0\t0\t00FF00FF\t0\t0\t0\n"
    "short\t0000300A\n"
    "bad\tXYZ0300A\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n";

static int conflict(const char *subnet, const char *ignore, char ifname[16], char rs[]) {
  struct ipv4_subnet n = net(subnet), r;
  int c = subnet_route_conflict(routes, sizeof routes - 1, &n, ignore, ifname, &r);
  if (c)
    subnet_format(&r, rs);
  return c;
}

static void test_routes(void **state) {
  (void)state;
  if (htonl(1) == 1) /* the texts above are little-endian */
    skip();
  char ifname[16], rs[SUBNET_STR_MAX];
  /* 192.0.2.0/24 on eth0; the default route never counts */
  assert_int_equal(conflict("192.0.2.128/25", NULL, ifname, rs), 1);
  assert_string_equal(ifname, "eth0");
  assert_string_equal(rs, "192.0.2.0/24");
  assert_int_equal(conflict("192.0.3.0/24", NULL, ifname, rs), 0);
  assert_int_equal(conflict("1.0.0.0/8", NULL, ifname, rs), 0);
  /* a network's own bridge is left out */
  assert_int_equal(conflict("10.90.0.0/16", NULL, ifname, rs), 1);
  assert_string_equal(ifname, "hull0");
  assert_int_equal(conflict("10.90.0.0/16", "hull0", ifname, rs), 0);
  /* 10.16.0.0/12 on wg0 */
  assert_int_equal(conflict("10.31.0.0/16", NULL, ifname, rs), 1);
  assert_string_equal(ifname, "wg0");
  assert_string_equal(rs, "10.16.0.0/12");
  /* a non-contiguous mask, a short line, a bad number: skipped */
  assert_int_equal(conflict("10.32.0.0/16", NULL, ifname, rs), 0);
  assert_int_equal(conflict("10.48.0.0/16", NULL, ifname, rs), 0);
  /* empty, header only, no final newline */
  struct ipv4_subnet n = net("192.0.2.0/24"), r;
  assert_int_equal(subnet_route_conflict("", 0, &n, NULL, ifname, &r), 0);
  assert_int_equal(subnet_route_conflict(routes, 90, &n, NULL, ifname, &r), 0);
  const char *one = "Iface\tDestination\tGateway\n"
                    "eth1\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF";
  assert_int_equal(subnet_route_conflict(one, strlen(one), &n, NULL, ifname, &r), 1);
  assert_string_equal(ifname, "eth1");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ipv4_parse),   cmocka_unit_test(test_subnet_parse),
      cmocka_unit_test(test_arithmetic),   cmocka_unit_test(test_overlap),
      cmocka_unit_test(test_check_address), cmocka_unit_test(test_routes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
