/* Unit tests for network definitions (src/net/network.c), each in a fresh
 * store: names (syntax, reserved, duplicates), labels, the conflist
 * written, subnets (given, overlapping another network or a host route,
 * picked when not given), gateways, the default network made on first
 * use ("bridge" its other name, HULL_DEFAULT_SUBNET), lookup by id and
 * prefix, listing, removal (leases, refusal while busy), what records
 * use a network, and concurrent creates. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/json.h"
#include "net/network.h"
#include "net/subnet.h"

static char dir[64], root[128];

static int setup(void **state) {
  (void)state;
  snprintf(dir, sizeof dir, "/tmp/hull-net-XXXXXX");
  if (!mkdtemp(dir))
    return -1;
  snprintf(root, sizeof root, "%s/store", dir);
  unsetenv(NET_DEFAULT_SUBNET_ENV);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  return system(cmd) == 0 ? 0 : -1;
}

/* Create NAME with SUBNET (may be NULL); returns the result. */
static int mk(const char *name, const char *subnet, struct net_def *out, struct hull_error *e) {
  struct net_create_opts o = {.name = name, .subnet = subnet};
  struct net_def d;
  int r = network_create(root, &o, out ? out : &d, e);
  if (r == 0 && !out)
    net_def_free(&d);
  return r;
}

static void must_mk(const char *name, const char *subnet, struct net_def *out) {
  struct hull_error e;
  if (mk(name, subnet, out, &e) < 0)
    fail_msg("create %s: %s", name, e.msg);
}

/* Entries of <root>/networks (but lock, ipam, cache), sorted, joined by
 * spaces. */
static void entries(char *buf, size_t len) {
  char p[256];
  snprintf(p, sizeof p, "%s/networks", root);
  struct dirent **v;
  int n = scandir(p, &v, NULL, alphasort);
  buf[0] = '\0';
  for (int i = 0; i < n; i++) {
    const char *s = v[i]->d_name;
    if (strcmp(s, ".") && strcmp(s, "..") && strcmp(s, "lock") && strcmp(s, "ipam") &&
        strcmp(s, "cache"))
      snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", *buf ? " " : "", s);
    free(v[i]);
  }
  if (n >= 0)
    free(v);
}

static void test_names(void **state) {
  (void)state;
  struct hull_error e;
  const char *good[] = {"a", "net1", "my_net", "my-net.v2", "0net", "A"};
  for (size_t i = 0; i < sizeof good / sizeof *good; i++)
    if (network_validate_name(good[i], &e) < 0)
      fail_msg("refused %s: %s", good[i], e.msg);
  char longest[NET_NAME_MAX + 2];
  memset(longest, 'n', NET_NAME_MAX);
  longest[NET_NAME_MAX] = '\0';
  assert_int_equal(network_validate_name(longest, &e), 0);
  longest[NET_NAME_MAX] = 'n';
  longest[NET_NAME_MAX + 1] = '\0';
  assert_int_equal(network_validate_name(longest, &e), -EINVAL);
  const char *bad[] = {"", "-net", ".net", "_net", "a b", "a/b", "..", "net\n", "é"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    if (network_validate_name(bad[i], &e) != -EINVAL)
      fail_msg("accepted \"%s\"", bad[i]);
  }
  assert_int_equal(network_validate_name("a b", &e), -EINVAL);
  assert_non_null(strstr(e.msg, "invalid name"));
  const char *reserved[] = {"none", "host", "container", "container:abc", "a:b"};
  for (size_t i = 0; i < sizeof reserved / sizeof *reserved; i++) {
    assert_int_equal(network_validate_name(reserved[i], &e), -EINVAL);
    assert_non_null(strstr(e.msg, "reserved"));
    assert_int_equal(mk(reserved[i], "10.213.1.0/24", NULL, &e), -EINVAL);
  }
  assert_int_equal(network_validate_name(NULL, &e), -EINVAL);
  /* refused creates leave nothing */
  char ls[512];
  entries(ls, sizeof ls);
  assert_string_equal(ls, "");
}

static void test_labels(void **state) {
  (void)state;
  struct hull_error e;
  json_t *l = json_object();
  assert_int_equal(network_label_parse("a=b", l, &e), 0);
  assert_int_equal(network_label_parse("empty=", l, &e), 0);
  assert_int_equal(network_label_parse("x=1=2", l, &e), 0);
  assert_int_equal(network_label_parse("a=c", l, &e), 0); /* the last wins */
  assert_string_equal(json_string_value(json_object_get(l, "a")), "c");
  assert_string_equal(json_string_value(json_object_get(l, "empty")), "");
  assert_string_equal(json_string_value(json_object_get(l, "x")), "1=2");
  assert_int_equal(network_label_parse("novalue", l, &e), -EINVAL);
  assert_non_null(strstr(e.msg, "KEY=VALUE"));
  assert_int_equal(network_label_parse("=v", l, &e), -EINVAL);
  assert_int_equal(network_label_parse("k=\xff", l, &e), -EINVAL);
  assert_int_equal(json_object_size(l), 3);

  /* labels reach the definition */
  struct net_create_opts o = {.name = "lab", .subnet = "10.213.9.0/24", .labels = l};
  struct net_def d;
  assert_int_equal(network_create(root, &o, &d, &e), 0);
  assert_true(json_equal(d.labels, l));
  assert_true(json_equal(json_object_get(json_object_get(d.conflist, "hull"), "labels"), l));
  net_def_free(&d);
  json_decref(l);
  /* a label that is not a string (a caller's mistake) */
  l = json_pack("{s:i}", "n", 1);
  o = (struct net_create_opts){.name = "lab2", .subnet = "10.213.10.0/24", .labels = l};
  assert_int_equal(network_create(root, &o, &d, &e), -EINVAL);
  json_decref(l);
}

static void test_conflist(void **state) {
  (void)state;
  struct net_def d;
  must_mk("web", "10.213.1.0/24", &d);
  assert_string_equal(d.name, "web");
  assert_int_equal(strlen(d.id), NET_ID_LEN);
  char bridge[16];
  snprintf(bridge, sizeof bridge, "hull-%.10s", d.id);
  assert_string_equal(d.bridge, bridge);
  assert_int_equal(strlen(d.bridge), 15);
  assert_string_equal(d.subnet, "10.213.1.0/24");
  assert_string_equal(d.gateway, "10.213.1.1");
  assert_string_equal(d.driver, "bridge");
  assert_false(d.internal);
  assert_false(d.is_default);
  assert_true(strlen(d.created) > 20 && d.created[strlen(d.created) - 1] == 'Z');

  /* what is on disk is what was returned, and what the plugins get */
  char path[256];
  snprintf(path, sizeof path, "%s/networks/web.conflist", root);
  char *text;
  size_t len;
  struct hull_error e;
  assert_int_equal(fs_read_file(path, &text, &len, &e), 0);
  json_error_t je;
  json_t *j = hjson_loadb(text, len, 0, NULL, &je);
  free(text);
  assert_non_null(j);
  assert_true(json_equal(j, d.conflist));
  assert_string_equal(json_string_value(json_object_get(j, "cniVersion")), "1.0.0");
  assert_string_equal(json_string_value(json_object_get(j, "name")), "web");
  json_t *pl = json_object_get(j, "plugins");
  assert_int_equal(json_array_size(pl), 3);
  json_t *br = json_array_get(pl, 0);
  assert_string_equal(json_string_value(json_object_get(br, "type")), "bridge");
  assert_string_equal(json_string_value(json_object_get(br, "bridge")), bridge);
  assert_true(json_is_true(json_object_get(br, "isGateway")));
  assert_true(json_is_true(json_object_get(br, "ipMasq")));
  assert_true(json_is_true(json_object_get(br, "hairpinMode")));
  assert_true(json_is_true(json_object_get(json_object_get(br, "capabilities"), "ips")));
  json_t *ipam = json_object_get(br, "ipam");
  assert_string_equal(json_string_value(json_object_get(ipam, "type")), "host-local");
  char real[PATH_MAX], want[PATH_MAX + 32];
  assert_non_null(realpath(root, real));
  snprintf(want, sizeof want, "%s/networks/ipam", real);
  assert_string_equal(json_string_value(json_object_get(ipam, "dataDir")), want);
  char *ipam_dir = network_ipam_dir(real), *cache_dir = network_cache_dir(real);
  assert_string_equal(ipam_dir, want);
  snprintf(want, sizeof want, "%s/networks/cache", real);
  assert_string_equal(cache_dir, want);
  free(ipam_dir);
  free(cache_dir);
  json_t *range = json_array_get(json_array_get(json_object_get(ipam, "ranges"), 0), 0);
  assert_string_equal(json_string_value(json_object_get(range, "subnet")), "10.213.1.0/24");
  assert_string_equal(json_string_value(json_object_get(range, "gateway")), "10.213.1.1");
  json_t *routes = json_object_get(ipam, "routes");
  assert_int_equal(json_array_size(routes), 1);
  assert_string_equal(json_string_value(json_object_get(json_array_get(routes, 0), "dst")),
                      "0.0.0.0/0");
  json_t *pm = json_array_get(pl, 1);
  assert_string_equal(json_string_value(json_object_get(pm, "type")), "portmap");
  assert_true(
      json_is_true(json_object_get(json_object_get(pm, "capabilities"), "portMappings")));
  assert_string_equal(json_string_value(json_object_get(json_array_get(pl, 2), "type")),
                      "firewall");
  json_t *h = json_object_get(j, "hull");
  assert_string_equal(json_string_value(json_object_get(h, "id")), d.id);
  assert_string_equal(json_string_value(json_object_get(h, "bridge")), bridge);
  assert_string_equal(json_string_value(json_object_get(h, "driver")), "bridge");
  assert_string_equal(json_string_value(json_object_get(h, "subnet")), "10.213.1.0/24");
  assert_string_equal(json_string_value(json_object_get(h, "gateway")), "10.213.1.1");
  assert_true(json_is_false(json_object_get(h, "internal")));
  assert_string_equal(json_string_value(json_object_get(h, "created")), d.created);
  assert_true(json_is_object(json_object_get(h, "labels")));
  json_decref(j);
  net_def_free(&d);

  /* internal: no gateway on the bridge, no masquerade, no route, no ports */
  struct net_create_opts o = {.name = "back", .subnet = "10.213.2.0/24", .internal = true};
  assert_int_equal(network_create(root, &o, &d, &e), 0);
  assert_true(d.internal);
  pl = json_object_get(d.conflist, "plugins");
  assert_int_equal(json_array_size(pl), 2);
  br = json_array_get(pl, 0);
  assert_true(json_is_false(json_object_get(br, "isGateway")));
  assert_true(json_is_false(json_object_get(br, "ipMasq")));
  assert_null(json_object_get(json_object_get(br, "ipam"), "routes"));
  assert_string_equal(json_string_value(json_object_get(json_array_get(pl, 1), "type")),
                      "firewall");
  assert_true(json_is_true(json_object_get(json_object_get(d.conflist, "hull"), "internal")));
  net_def_free(&d);

  /* the one file per network, no temporary left */
  char ls[512];
  entries(ls, sizeof ls);
  assert_string_equal(ls, "back.conflist web.conflist");
}

static void test_duplicates_and_driver(void **state) {
  (void)state;
  struct hull_error e;
  must_mk("one", "10.213.1.0/24", NULL);
  assert_int_equal(mk("one", "10.213.2.0/24", NULL, &e), -EEXIST);
  assert_string_equal(e.msg, "network one: already exists");
  assert_int_equal(mk("one", NULL, NULL, &e), -EEXIST);
  struct net_create_opts o = {.name = "two", .driver = "macvlan"};
  struct net_def d;
  assert_int_equal(network_create(root, &o, &d, &e), -EINVAL);
  assert_non_null(strstr(e.msg, "driver macvlan"));
  o.driver = "bridge";
  assert_int_equal(network_create(root, &o, &d, &e), 0);
  net_def_free(&d);
  char ls[512];
  entries(ls, sizeof ls);
  assert_string_equal(ls, "one.conflist two.conflist");
}

static void test_subnets(void **state) {
  (void)state;
  struct hull_error e;
  must_mk("a", "10.213.0.0/20", NULL);
  /* overlapping another network, either way round, names it */
  assert_int_equal(mk("b", "10.213.4.0/24", NULL, &e), -EADDRINUSE);
  assert_string_equal(e.msg, "network b: subnet 10.213.4.0/24 overlaps network a (10.213.0.0/20)");
  assert_int_equal(mk("b", "10.0.0.0/8", NULL, &e), -EADDRINUSE);
  assert_non_null(strstr(e.msg, "overlaps network a"));
  must_mk("b", "10.213.16.0/24", NULL); /* next to it */
  /* malformed, host bits, too small, IPv6 */
  assert_int_equal(mk("c", "10.213.32.1/24", NULL, &e), -EINVAL);
  assert_non_null(strstr(e.msg, "network c: invalid subnet 10.213.32.1/24"));
  assert_int_equal(mk("c", "10.213.32.0", NULL, &e), -EINVAL);
  assert_int_equal(mk("c", "10.213.32.0/31", NULL, &e), -EINVAL);
  assert_non_null(strstr(e.msg, "too small"));
  assert_int_equal(mk("c", "0.0.0.0/0", NULL, &e), -EINVAL);
  assert_int_equal(mk("c", "fd00::/64", NULL, &e), -EINVAL);
  assert_non_null(strstr(e.msg, "IPv6"));
  must_mk("c", "10.213.32.0/30", NULL); /* the smallest */

  /* a route of the host (if this host has one to try) */
  char *routes;
  size_t len;
  if (fs_read_file("/proc/net/route", &routes, &len, &e) == 0) {
    char *save = NULL;
    for (char *l = strtok_r(routes, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
      char ifn[32];
      unsigned dst, mask;
      if (sscanf(l, "%31s %x %*x %*x %*d %*d %*d %x", ifn, &dst, &mask) != 3 || !mask)
        continue;
      struct ipv4_subnet n = {.addr = ntohl(dst) & ntohl(mask),
                              .prefix = (unsigned)__builtin_popcount(mask)};
      if (n.prefix > 30) {
        n.prefix = 30;
        n.addr &= subnet_mask(30);
      }
      char s[SUBNET_STR_MAX];
      subnet_format(&n, s);
      int r = mk("routed", s, NULL, &e);
      if (r == -EINVAL)
        continue; /* a /0 .. (never mind) */
      assert_int_equal(r, -EADDRINUSE);
      char want[64];
      snprintf(want, sizeof want, "on %s", ifn);
      assert_non_null(strstr(e.msg, want));
      assert_non_null(strstr(e.msg, "overlaps the route to"));
      break;
    }
    free(routes);
  }
}

static void test_auto_subnet(void **state) {
  (void)state;
  struct net_def a, b, c;
  must_mk("a", NULL, &a);
  assert_string_equal(a.subnet, "10.91.0.0/24");
  assert_string_equal(a.gateway, "10.91.0.1");
  must_mk("b", NULL, &b);
  assert_string_equal(b.subnet, "10.91.1.0/24");
  must_mk("taken", "10.91.2.0/23", NULL);
  must_mk("c", NULL, &c);
  assert_string_equal(c.subnet, "10.91.4.0/24");
  net_def_free(&a);
  net_def_free(&b);
  net_def_free(&c);
  /* a freed subnet is given again */
  struct hull_error e;
  assert_int_equal(network_remove_def(root, "a", NULL, NULL, &e), 0);
  must_mk("d", NULL, &a);
  assert_string_equal(a.subnet, "10.91.0.0/24");
  net_def_free(&a);
  /* a network over all of 10.91.0.0/16: the next ones come from 10.92 */
  const char *names[] = {"b", "c", "d", "taken"};
  for (size_t i = 0; i < 4; i++)
    assert_int_equal(network_remove_def(root, names[i], NULL, NULL, &e), 0);
  must_mk("wide", "10.91.0.0/16", NULL);
  must_mk("e", NULL, &a);
  assert_string_equal(a.subnet, "10.92.0.0/24");
  net_def_free(&a);
}

static void test_gateway(void **state) {
  (void)state;
  struct hull_error e;
  struct net_def d;
  struct net_create_opts o = {.name = "g", .subnet = "10.213.1.0/24", .gateway = "10.213.1.254"};
  assert_int_equal(network_create(root, &o, &d, &e), 0);
  assert_string_equal(d.gateway, "10.213.1.254");
  json_t *range = json_array_get(
      json_array_get(json_object_get(json_object_get(json_array_get(json_object_get(
                                                         d.conflist, "plugins"),
                                                     0),
                                                     "ipam"),
                                     "ranges"),
                     0),
      0);
  assert_string_equal(json_string_value(json_object_get(range, "gateway")), "10.213.1.254");
  net_def_free(&d);
  struct {
    const char *gw, *msg;
  } bad[] = {{"10.213.3.1", "gateway 10.213.3.1 is not in subnet 10.213.2.0/24"},
             {"10.213.2.0", "is the network address of"},
             {"10.213.2.255", "is the broadcast address of"},
             {"10.213.2", "invalid address"},
             {"fd00::1", "IPv6"}};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    o = (struct net_create_opts){.name = "h", .subnet = "10.213.2.0/24", .gateway = bad[i].gw};
    assert_int_equal(network_create(root, &o, &d, &e), -EINVAL);
    if (!strstr(e.msg, bad[i].msg))
      fail_msg("gateway %s: %s", bad[i].gw, e.msg);
    assert_non_null(strstr(e.msg, "network h"));
  }
  char ls[512];
  entries(ls, sizeof ls);
  assert_string_equal(ls, "g.conflist");
}

static void test_default_network(void **state) {
  (void)state;
  struct hull_error e;
  struct net_def d, d2;
  /* lookup never creates it; get does, by either name */
  assert_int_equal(network_lookup(root, "hull", &d, &e), -ENOENT);
  assert_int_equal(network_lookup(root, "bridge", &d, &e), -ENOENT);
  assert_int_equal(network_get(root, "other", &d, &e), -ENOENT);
  assert_string_equal(e.msg, "network other: no such network");
  char ls[512];
  entries(ls, sizeof ls);
  assert_string_equal(ls, "");
  assert_int_equal(network_get(root, "bridge", &d, &e), 0);
  assert_string_equal(d.name, "hull");
  assert_true(d.is_default);
  assert_string_equal(d.bridge, "hull0");
  assert_string_equal(d.subnet, "10.90.0.0/16");
  assert_string_equal(d.gateway, "10.90.0.1");
  assert_int_equal(network_get(root, "hull", &d2, &e), 0);
  assert_string_equal(d2.id, d.id); /* made once */
  net_def_free(&d2);
  assert_int_equal(network_lookup(root, "bridge", &d2, &e), 0);
  assert_string_equal(d2.id, d.id);
  net_def_free(&d2);
  /* a second default or an overlapping network is refused */
  assert_int_equal(mk("bridge", "10.213.1.0/24", NULL, &e), -EEXIST);
  assert_string_equal(e.msg, "network hull: already exists");
  assert_int_equal(mk("x", "10.90.8.0/24", NULL, &e), -EADDRINUSE);
  assert_non_null(strstr(e.msg, "overlaps network hull"));
  /* removed when unused, it comes back (a new one) on next use; this
   * removes the link hull0 too: not when this host has one */
  if (if_nametoindex("hull0") == 0) {
    assert_int_equal(network_remove_def(root, "bridge", NULL, NULL, &e), 0);
    assert_int_equal(network_lookup(root, "hull", &d2, &e), -ENOENT);
    setenv(NET_DEFAULT_SUBNET_ENV, "10.213.77.0/24", 1);
    assert_int_equal(network_get(root, "hull", &d2, &e), 0);
    assert_string_equal(d2.subnet, "10.213.77.0/24");
    assert_string_equal(d2.gateway, "10.213.77.1");
    assert_string_not_equal(d2.id, d.id);
    net_def_free(&d2);
  }
  net_def_free(&d);
}

static void test_default_subnet_choice(void **state) {
  (void)state;
  struct hull_error e;
  struct net_def d;
  /* HULL_DEFAULT_SUBNET: checked like --subnet */
  setenv(NET_DEFAULT_SUBNET_ENV, "10.213.5.1/24", 1);
  assert_int_equal(network_get(root, "hull", &d, &e), -EINVAL);
  assert_non_null(strstr(e.msg, "network hull: HULL_DEFAULT_SUBNET: invalid subnet"));
  setenv(NET_DEFAULT_SUBNET_ENV, "10.213.5.0/24", 1);
  must_mk("first", "10.213.5.0/25", NULL);
  assert_int_equal(network_get(root, "hull", &d, &e), -EADDRINUSE);
  assert_non_null(strstr(e.msg, "overlaps network first"));
  unsetenv(NET_DEFAULT_SUBNET_ENV);
  /* `hull network create --subnet X hull` before first use */
  struct net_create_opts o = {.name = "hull", .subnet = "10.213.6.0/24", .internal = true};
  assert_int_equal(network_create(root, &o, &d, &e), 0);
  assert_string_equal(d.bridge, "hull0");
  assert_true(d.is_default);
  net_def_free(&d);
  assert_int_equal(network_get(root, "bridge", &d, &e), 0);
  assert_string_equal(d.subnet, "10.213.6.0/24");
  assert_true(d.internal);
  net_def_free(&d);
}

static bool busy_yes(const struct net_def *d, void *arg, char *who, size_t len) {
  (void)d;
  *(int *)arg += 1;
  snprintf(who, len, "web");
  return true;
}

static void test_lookup_list(void **state) {
  (void)state;
  struct hull_error e;
  struct net_def d, got;
  must_mk("zeta", NULL, NULL);
  must_mk("alpha", NULL, &d);
  must_mk("mid", NULL, NULL);
  /* by full id and by prefix */
  assert_int_equal(network_lookup(root, d.id, &got, &e), 0);
  assert_string_equal(got.name, "alpha");
  net_def_free(&got);
  char prefix[NET_SHORT_ID + 1];
  snprintf(prefix, sizeof prefix, "%.12s", d.id);
  assert_int_equal(network_get(root, prefix, &got, &e), 0);
  assert_string_equal(got.name, "alpha");
  net_def_free(&got);
  assert_int_equal(network_lookup(root, "../x", &got, &e), -ENOENT);
  assert_int_equal(network_lookup(root, "nope", &got, &e), -ENOENT);
  net_def_free(&d);

  /* sorted by name; a definition that does not parse is skipped */
  char p[256];
  snprintf(p, sizeof p, "%s/networks/broken.conflist", root);
  FILE *f = fopen(p, "w");
  fputs("{\"name\":", f);
  fclose(f);
  snprintf(p, sizeof p, "%s/networks/other.json", root);
  fclose(fopen(p, "w"));
  struct net_def *defs;
  size_t n;
  assert_int_equal(network_list(root, &defs, &n, &e), 0);
  assert_int_equal(n, 3);
  assert_string_equal(defs[0].name, "alpha");
  assert_string_equal(defs[1].name, "mid");
  assert_string_equal(defs[2].name, "zeta");
  net_defs_free(defs, n);
  assert_int_equal(network_lookup(root, "broken", &got, &e), -EBADMSG);
  assert_non_null(strstr(e.msg, "network broken: definition corrupt"));
  /* it can be removed */
  int calls = 0;
  assert_int_equal(network_remove_def(root, "broken", busy_yes, &calls, &e), -EBUSY);
  assert_int_equal(calls, 1);
  assert_int_equal(network_remove_def(root, "broken", NULL, NULL, &e), 0);
  assert_int_equal(network_lookup(root, "broken", &got, &e), -ENOENT);
  /* a bridge that is not hull's (an edited definition) is refused: its
   * removal must never delete somebody else's link */
  must_mk("evil", NULL, &got);
  json_object_set_new(json_object_get(got.conflist, "hull"), "bridge", json_string("lo"));
  char *t = hjson_dumps(got.conflist);
  snprintf(p, sizeof p, "%s/networks/evil.conflist", root);
  f = fopen(p, "w");
  fputs(t, f);
  fclose(f);
  free(t);
  net_def_free(&got);
  assert_int_equal(network_lookup(root, "evil", &got, &e), -EBADMSG);
  assert_int_equal(network_remove_def(root, "evil", NULL, NULL, &e), 0);
  assert_int_not_equal(if_nametoindex("lo"), 0);

  /* 17 networks: two ids share their first digit, an ambiguous prefix */
  for (int i = 0; i < 14; i++) {
    char name[16];
    snprintf(name, sizeof name, "n%d", i);
    must_mk(name, NULL, NULL);
  }
  bool ambiguous = false;
  for (const char *h = "0123456789abcdef"; *h && !ambiguous; h++) {
    char pre[2] = {*h, 0};
    if (network_lookup(root, pre, &got, &e) == 0)
      net_def_free(&got);
    else if (e.code == EINVAL && strstr(e.msg, "ambiguous"))
      ambiguous = true;
  }
  assert_true(ambiguous);

  /* an empty store: nothing, and nothing made */
  snprintf(p, sizeof p, "%s/empty", dir);
  assert_int_equal(network_list(p, &defs, &n, &e), 0);
  assert_int_equal(n, 0);
  assert_int_equal(network_lookup(p, "x", &got, &e), -ENOENT);
  struct stat sb;
  assert_int_equal(stat(p, &sb), -1);
}

static void test_remove(void **state) {
  (void)state;
  struct hull_error e;
  struct net_def d;
  must_mk("gone", "10.213.1.0/24", &d);
  /* a lease host-local would have written */
  char p[256];
  snprintf(p, sizeof p, "%s/networks/ipam", root);
  mkdir(p, 0700);
  snprintf(p, sizeof p, "%s/networks/ipam/gone", root);
  mkdir(p, 0700);
  snprintf(p, sizeof p, "%s/networks/ipam/gone/10.213.1.2", root);
  fclose(fopen(p, "w"));
  int calls = 0;
  assert_int_equal(network_remove_def(root, "gone", busy_yes, &calls, &e), -EBUSY);
  assert_int_equal(calls, 1);
  assert_string_equal(e.msg, "network gone: in use by container web");
  struct stat sb;
  assert_int_equal(stat(p, &sb), 0);
  char ls[512];
  entries(ls, sizeof ls);
  assert_string_equal(ls, "gone.conflist");
  /* by id prefix */
  char prefix[NET_SHORT_ID + 1];
  snprintf(prefix, sizeof prefix, "%.12s", d.id);
  assert_int_equal(network_remove_def(root, prefix, NULL, NULL, &e), 0);
  net_def_free(&d);
  entries(ls, sizeof ls);
  assert_string_equal(ls, "");
  snprintf(p, sizeof p, "%s/networks/ipam/gone", root);
  assert_int_equal(stat(p, &sb), -1);
  assert_int_equal(network_remove_def(root, "gone", NULL, NULL, &e), -ENOENT);
  assert_string_equal(e.msg, "network gone: no such network");
  snprintf(p, sizeof p, "%s/never", dir);
  assert_int_equal(network_remove_def(p, "x", NULL, NULL, &e), -ENOENT);

  /* stale leases of an earlier network of the name go at create */
  snprintf(p, sizeof p, "%s/networks/ipam/again", root);
  mkdir(p, 0700);
  snprintf(p, sizeof p, "%s/networks/ipam/again/10.213.2.9", root);
  fclose(fopen(p, "w"));
  must_mk("again", "10.213.2.0/24", NULL);
  assert_int_equal(stat(p, &sb), -1);
}

static void test_record_uses(void **state) {
  (void)state;
  struct net_def d, def;
  struct hull_error e;
  must_mk("front", "10.213.1.0/24", &d);
  setenv(NET_DEFAULT_SUBNET_ENV, "10.213.2.0/24", 1);
  assert_int_equal(network_get(root, "hull", &def, &e), 0);
  json_t *ep;
  json_t *r = json_pack("{s:{s:{s:{s:s, s:s}}}}", "NetworkSettings", "Networks", "front",
                        "NetworkID", d.id, "IPAddress", "10.213.1.2");
  assert_true(network_record_uses(&d, r, &ep));
  assert_string_equal(json_string_value(json_object_get(ep, "IPAddress")), "10.213.1.2");
  assert_false(network_record_uses(&def, r, NULL));
  json_decref(r);
  /* by the name alone, by the default's other name, by the id alone */
  r = json_pack("{s:{s:{s:{}}}}", "NetworkSettings", "Networks", "front");
  assert_true(network_record_uses(&d, r, NULL));
  json_decref(r);
  r = json_pack("{s:{s:{s:{}}}}", "NetworkSettings", "Networks", "bridge");
  assert_true(network_record_uses(&def, r, NULL));
  assert_false(network_record_uses(&d, r, NULL));
  json_decref(r);
  r = json_pack("{s:{s:{s:{s:s}}}}", "NetworkSettings", "Networks", "renamed", "NetworkID",
                def.id);
  assert_true(network_record_uses(&def, r, NULL));
  json_decref(r);
  r = json_pack("{s:s}", "Name", "plain");
  assert_false(network_record_uses(&d, r, NULL));
  json_decref(r);
  r = json_pack("{s:{s:[]}}", "NetworkSettings", "Networks");
  assert_false(network_record_uses(&d, r, NULL));
  json_decref(r);
  net_def_free(&d);
  net_def_free(&def);
}

/* Concurrent creates: distinct names get distinct subnets; one name is
 * made once. */
static void test_concurrent(void **state) {
  (void)state;
  enum { N = 8 };
  pid_t pids[N];
  for (int round = 0; round < 2; round++) {
    for (int i = 0; i < N; i++) {
      pids[i] = fork();
      assert_true(pids[i] >= 0);
      if (pids[i] == 0) {
        char name[16];
        snprintf(name, sizeof name, round ? "same" : "c%d", i);
        struct hull_error e;
        _exit(mk(name, NULL, NULL, &e) == 0 ? 0 : e.code == EEXIST ? 3 : 1);
      }
    }
    int ok = 0, exists = 0;
    for (int i = 0; i < N; i++) {
      int st;
      assert_int_equal(waitpid(pids[i], &st, 0), pids[i]);
      assert_true(WIFEXITED(st));
      ok += WEXITSTATUS(st) == 0;
      exists += WEXITSTATUS(st) == 3;
    }
    assert_int_equal(ok, round ? 1 : N);
    assert_int_equal(exists, round ? N - 1 : 0);
  }
  struct net_def *defs;
  size_t n;
  struct hull_error e;
  assert_int_equal(network_list(root, &defs, &n, &e), 0);
  assert_int_equal(n, N + 1);
  for (size_t i = 0; i < n; i++)
    for (size_t j = i + 1; j < n; j++) {
      struct ipv4_subnet a, b;
      assert_int_equal(subnet_parse(defs[i].subnet, &a, &e), 0);
      assert_int_equal(subnet_parse(defs[j].subnet, &b, &e), 0);
      assert_false(subnet_overlaps(&a, &b));
      assert_string_not_equal(defs[i].bridge, defs[j].bridge);
    }
  net_defs_free(defs, n);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void) {
  const struct CMUnitTest tests[] = {
      T(test_names),           T(test_labels),
      T(test_conflist),        T(test_duplicates_and_driver),
      T(test_subnets),         T(test_auto_subnet),
      T(test_gateway),         T(test_default_network),
      T(test_default_subnet_choice), T(test_lookup_list),
      T(test_remove),          T(test_record_uses),
      T(test_concurrent),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
