/* Unit tests for the network description of a VM container
 * (src/vm/net_desc.c): what the host writes, hull-init reads back the
 * same, and the guest's parser refuses every malformed or hostile field
 * with a message naming it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <string.h>

#include "vm/net_desc.h"

static struct vm_net_desc d, back;

static void sample(void) {
  memset(&d, 0, sizeof d);
  d.n = 2;
  struct vm_net_iface *f = &d.ifs[0];
  snprintf(f->name, sizeof f->name, "eth0");
  memcpy(f->mac, "\x0a\x58\x0a\x58\x00\x02", 6);
  f->mtu = 1450;
  f->n_addrs = 2;
  f->addrs[0].family = AF_INET;
  inet_pton(AF_INET, "10.88.0.2", f->addrs[0].addr);
  f->addrs[0].prefix = 16;
  f->addrs[1].family = AF_INET6;
  inet_pton(AF_INET6, "fd00::2", f->addrs[1].addr);
  f->addrs[1].prefix = 64;
  f->n_routes = 2;
  f->routes[0].family = AF_INET;
  f->routes[0].has_gw = true;
  inet_pton(AF_INET, "10.88.0.1", f->routes[0].gw);
  f->routes[1].family = AF_INET;
  inet_pton(AF_INET, "10.99.0.0", f->routes[1].dst);
  f->routes[1].dst_len = 16;
  f = &d.ifs[1];
  snprintf(f->name, sizeof f->name, "net1");
  memcpy(f->mac, "\x02\x00\x00\x00\x00\x01", 6);
  f->mtu = 9000;
}

static void test_round_trip(void **state) {
  (void)state;
  sample();
  json_t *j = vm_net_desc_to_json(&d);
  assert_non_null(j);
  json_t *eth0 = json_array_get(json_object_get(j, "interfaces"), 0);
  assert_string_equal(json_string_value(json_object_get(eth0, "mac")), "0a:58:0a:58:00:02");
  json_t *addrs = json_object_get(eth0, "addresses");
  assert_string_equal(json_string_value(json_array_get(addrs, 0)), "10.88.0.2/16");
  assert_string_equal(json_string_value(json_array_get(addrs, 1)), "fd00::2/64");
  json_t *def = json_array_get(json_object_get(eth0, "routes"), 0);
  assert_string_equal(json_string_value(json_object_get(def, "dst")), "0.0.0.0/0");
  assert_string_equal(json_string_value(json_object_get(def, "gateway")), "10.88.0.1");
  struct hull_error e;
  assert_int_equal(vm_net_desc_parse(j, &back, &e), 0);
  assert_memory_equal(&back, &d, sizeof d);
  json_decref(j);
}

/* The sample with one field of interface 0 replaced (JSON text). */
static int parse_with(const char *key, const char *value, struct hull_error *e) {
  sample();
  json_t *j = vm_net_desc_to_json(&d);
  json_t *eth0 = json_array_get(json_object_get(j, "interfaces"), 0);
  json_error_t je;
  json_t *v = value ? json_loads(value, JSON_DECODE_ANY, &je) : NULL;
  if (value && !v)
    fail_msg("test JSON %s: %s", value, je.text);
  if (v)
    json_object_set_new(eth0, key, v);
  else
    json_object_del(eth0, key);
  int r = vm_net_desc_parse(j, &back, e);
  json_decref(j);
  return r;
}

static void refused(const char *key, const char *value, const char *why) {
  struct hull_error e;
  if (parse_with(key, value, &e) != -EINVAL)
    fail_msg("%s = %s accepted", key, value ? value : "(none)");
  if (!strstr(e.msg, why))
    fail_msg("%s = %s: message \"%s\" does not say \"%s\"", key, value, e.msg, why);
}

static void test_refused(void **state) {
  (void)state;
  refused("name", "\"lo\"", "invalid name");
  refused("name", "\"../x\"", "invalid name");
  refused("name", "\"0123456789abcdef\"", "invalid name");
  refused("name", "\"a b\"", "invalid name");
  refused("name", "\"net1\"", "given twice");
  refused("name", NULL, "invalid name");
  refused("mac", "\"01:00:5e:00:00:01\"", "invalid MAC"); /* multicast */
  refused("mac", "\"00:00:00:00:00:00\"", "invalid MAC");
  refused("mac", "\"0a:58:0a:58:00:0\"", "invalid MAC");
  refused("mac", "\"0a:58:0a:58:00:0g\"", "invalid MAC");
  refused("mac", "\"0a-58-0a-58-00-02\"", "invalid MAC");
  refused("mac", "\"02:00:00:00:00:01\"", "given twice");
  refused("mtu", "67", "mtu");
  refused("mtu", "65536", "mtu");
  refused("mtu", "\"1500\"", "mtu");
  refused("mtu", "1500.0", "mtu");
  refused("addresses", "{}", "not an array");
  refused("addresses", "[\"10.0.0.1\"]", "addresses[0]");
  refused("addresses", "[\"10.0.0.1/33\"]", "addresses[0]");
  refused("addresses", "[\"fd00::1/129\"]", "addresses[0]");
  refused("addresses", "[\"10.0.0.1/024\"]", "addresses[0]");
  refused("addresses", "[\"10.0.0.1/\"]", "addresses[0]");
  refused("addresses", "[\"127.0.0.1/8\"]", "addresses[0]");
  refused("addresses", "[\"224.0.0.1/4\"]", "addresses[0]");
  refused("addresses", "[\"::1/128\"]", "addresses[0]");
  refused("addresses", "[\"10.0.0.1/8\", 7]", "addresses[1]");
  refused("addresses",
          "[\"10.0.0.1/8\",\"10.0.0.2/8\",\"10.0.0.3/8\",\"10.0.0.4/8\",\"10.0.0.5/8\","
          "\"10.0.0.6/8\",\"10.0.0.7/8\",\"10.0.0.8/8\",\"10.0.0.9/8\",\"10.0.0.10/8\","
          "\"10.0.0.11/8\",\"10.0.0.12/8\",\"10.0.0.13/8\",\"10.0.0.14/8\","
          "\"10.0.0.15/8\",\"10.0.0.16/8\",\"10.0.0.17/8\"]",
          "more than 16 addresses");
  refused("routes", "[{\"dst\": \"10.0.0.1/8\"}]", "routes[0]: dst"); /* host bits */
  refused("routes", "[{\"dst\": \"0.0.0.0/0\", \"gateway\": \"fd00::1\"}]",
          "routes[0]: gateway");
  refused("routes", "[{\"dst\": \"0.0.0.0/0\", \"gateway\": \"10.0.0.1/8\"}]",
          "routes[0]: gateway");
  refused("routes", "[{\"dst\": \"0.0.0.0/0\", \"via\": \"10.0.0.1\"}]", "routes[0]");
  refused("routes", "[\"0.0.0.0/0\"]", "routes[0]");
  refused("extra", "1", "not an object of");
}

static void test_top_level(void **state) {
  (void)state;
  struct hull_error e;
  const char *bad[] = {"[]", "{}", "{\"interfaces\": {}}", "{\"interfaces\": [], \"x\": 1}",
                       "{\"interfaces\": [1]}",
                       "{\"interfaces\": [{},{},{},{},{},{},{},{},{}]}"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    json_t *j = json_loads(bad[i], 0, NULL);
    assert_non_null(j);
    if (vm_net_desc_parse(j, &back, &e) == 0)
      fail_msg("accepted: %s", bad[i]);
    assert_int_equal(back.n, 0);
    json_decref(j);
  }
  json_t *j = json_loads("{\"interfaces\": []}", 0, NULL);
  assert_int_equal(vm_net_desc_parse(j, &back, &e), 0);
  assert_int_equal(back.n, 0);
  json_decref(j);
}

static void test_ifname(void **state) {
  (void)state;
  assert_true(vm_net_ifname_ok("eth0"));
  assert_true(vm_net_ifname_ok("tap0_hull"));
  assert_true(vm_net_ifname_ok("a.b-c_d"));
  assert_false(vm_net_ifname_ok(""));
  assert_false(vm_net_ifname_ok("."));
  assert_false(vm_net_ifname_ok(".."));
  assert_false(vm_net_ifname_ok("a/b"));
  assert_false(vm_net_ifname_ok("0123456789abcdef"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_round_trip),
      cmocka_unit_test(test_refused),
      cmocka_unit_test(test_top_level),
      cmocka_unit_test(test_ifname),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
