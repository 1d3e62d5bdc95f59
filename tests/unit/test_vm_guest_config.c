/* Unit tests for the config a VM guest gets (src/vm/guest_config.c): the
 * root and bind mounts become shares, host namespaces by path become the
 * guest's own (the network namespace the guest's root one, with the net.*
 * sysctls applied by hull-init), hooks and LSM labels stay on the host,
 * only the limits the guest applies go in, and uint64 values survive the
 * trip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "common/json.h"
#include "runtime/container.h"
#include "vm/guest_config.h"

static const char *base =
    "{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"/r\",\"readonly\":true},"
    "\"process\":{\"args\":[\"sh\"],\"cwd\":\"/\",\"apparmorProfile\":\"p\","
    "\"rlimits\":[{\"type\":\"RLIMIT_CORE\",\"soft\":18446744073709551615,"
    "\"hard\":18446744073709551615}]},"
    "\"hooks\":{\"prestart\":[{\"path\":\"/bin/true\"}]},"
    "\"mounts\":[{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"},"
    "{\"destination\":\"/data\",\"type\":\"bind\",\"source\":\"/srv/data\","
    "\"options\":[\"rbind\",\"ro\"]},"
    "{\"destination\":\"/etc/hosts\",\"source\":\"hosts\",\"options\":[\"bind\"]}],"
    "\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"mount\"},"
    "{\"type\":\"network\",\"path\":\"/run/netns/x\"},{\"type\":\"ipc\"}],"
    "\"sysctl\":{\"net.ipv4.ip_forward\":\"1\",\"kernel.shmmax\":\"1000\"},"
    "\"cgroupsPath\":\"/host/path\",\"resources\":{\"memory\":{\"limit\":268435456},"
    "\"pids\":{\"limit\":64},\"cpu\":{\"quota\":50000,\"period\":100000},"
    "\"blockIO\":{\"weight\":100}}}}";

static struct container *load(const char *text) {
  static struct container c;
  memset(&c, 0, sizeof c);
  snprintf(c.id, sizeof c.id, "c1");
  c.bundle = "/bundle";
  struct hull_error e;
  if (spec_parse(text, strlen(text), "/bundle", &c.spec, &e) < 0)
    fail_msg("spec: %s", e.msg);
  return &c;
}

static void test_rewrite(void **state) {
  (void)state;
  struct container *c = load(base);
  struct vm_guest_plan p;
  struct hull_error e;
  assert_int_equal(vm_guest_config(c, &p, &e), 0);
  json_t *cfg = json_object_get(p.create_msg, "config");
  assert_string_equal(json_string_value(json_object_get(p.create_msg, "id")), "c1");
  /* the root is the rootfs share */
  assert_string_equal(json_string_value(json_object_get(json_object_get(cfg, "root"), "path")),
                      VM_GUEST_ROOTFS);
  assert_true(json_is_true(json_object_get(json_object_get(cfg, "root"), "readonly")));
  /* bind mounts come from the binds share, others stay */
  assert_int_equal(p.n_binds, 2);
  assert_string_equal(p.binds[0].source, "/srv/data");
  assert_true(p.binds[0].readonly);
  assert_string_equal(p.binds[1].source, "/bundle/hosts");
  assert_false(p.binds[1].readonly);
  json_t *mounts = json_object_get(cfg, "mounts");
  assert_string_equal(json_string_value(json_object_get(json_array_get(mounts, 0), "source")),
                      "proc");
  assert_string_equal(json_string_value(json_object_get(json_array_get(mounts, 1), "source")),
                      VM_GUEST_BINDS "/m0");
  assert_string_equal(json_string_value(json_object_get(json_array_get(mounts, 2), "source")),
                      VM_GUEST_BINDS "/m1");
  assert_int_equal(json_array_size(json_object_get(p.create_msg, "shares")), 2);
  /* hooks and LSM labels stay on the host */
  assert_null(json_object_get(cfg, "hooks"));
  assert_null(json_object_get(json_object_get(cfg, "process"), "apparmorProfile"));
  /* namespaces by path are the guest's own; the network is the guest's
   * root namespace, configured by hull-init */
  json_t *lx = json_object_get(cfg, "linux");
  json_t *ns = json_object_get(lx, "namespaces");
  assert_int_equal(json_array_size(ns), 3);
  assert_string_equal(json_string_value(json_object_get(json_array_get(ns, 0), "type")), "pid");
  assert_string_equal(json_string_value(json_object_get(json_array_get(ns, 2), "type")), "ipc");
  assert_string_equal(json_string_value(json_object_get(json_array_get(ns, 1), "type")),
                      "mount");
  assert_null(json_object_get(json_array_get(ns, 1), "path"));
  /* net.* sysctls go to hull-init, the others stay */
  json_t *sysctl = json_object_get(lx, "sysctl");
  assert_int_equal(json_object_size(sysctl), 1);
  assert_string_equal(json_string_value(json_object_get(sysctl, "kernel.shmmax")), "1000");
  json_t *net_sysctl = json_object_get(p.create_msg, "net_sysctl");
  assert_int_equal(json_object_size(net_sysctl), 1);
  assert_string_equal(json_string_value(json_object_get(net_sysctl, "net.ipv4.ip_forward")),
                      "1");
  assert_string_equal(json_string_value(json_object_get(lx, "cgroupsPath")), "/container");
  /* memory and pids apply in the guest; cpu and block I/O do not */
  json_t *res = json_object_get(lx, "resources");
  assert_non_null(json_object_get(res, "memory"));
  assert_non_null(json_object_get(res, "pids"));
  assert_null(json_object_get(res, "cpu"));
  assert_null(json_object_get(res, "blockIO"));
  /* RLIM_INFINITY reaches the guest's parser as it left the bundle */
  char *text = hjson_dumps_wrapped(cfg);
  assert_non_null(strstr(text, "18446744073709551615"));
  struct spec guest;
  assert_int_equal(spec_parse(text, strlen(text), "/", &guest, &e), 0);
  assert_int_equal(guest.process.n_rlimits, 1);
  assert_true(guest.process.rlimits[0].soft == UINT64_MAX);
  assert_int_equal(json_integer_value(json_object_get(json_object_get(
                       json_object_get(json_object_get(guest.json, "linux"), "resources"),
                       "memory"), "limit")),
                   268435456);
  spec_free(&guest);
  free(text);
  vm_guest_plan_free(&p);
  spec_free(&c->spec);
}

static void test_listener_refused(void **state) {
  (void)state;
  struct container *c = load(
      "{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"/r\"},\"process\":{\"args\":[\"sh\"],"
      "\"cwd\":\"/\"},\"linux\":{\"namespaces\":[{\"type\":\"mount\"}],\"seccomp\":"
      "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"listenerPath\":\"/run/l.sock\"}}}");
  struct vm_guest_plan p;
  struct hull_error e;
  assert_int_equal(vm_guest_config(c, &p, &e), -ENOTSUP);
  assert_non_null(strstr(e.msg, "listenerPath"));
  assert_null(p.create_msg);
  spec_free(&c->spec);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rewrite),
      cmocka_unit_test(test_listener_refused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
