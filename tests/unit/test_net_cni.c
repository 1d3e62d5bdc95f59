/* Unit tests for the CNI protocol (src/net/cni.c), with plugins that are
 * shell scripts written by the test: results chained into prevResult, the
 * spec's environment, plugins' own error messages, a failed ADD rolled
 * back with DEL, DEL from the cached result, runtimeConfig by capability,
 * and result parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/json.h"
#include "net/cni.h"

static char dir[64];
static char plugins[128], cache[128];

/* A plugin that records its environment and stdin as
 * <dir>/<type>.<COMMAND>.{env,in}, and answers ADD with REPLY. */
static void plugin(const char *type, const char *reply, int status) {
  char path[256];
  snprintf(path, sizeof path, "%s/%s", plugins, type);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fprintf(f,
          "#!/bin/sh\n"
          "env | grep ^CNI_ | sort > %s/%s.$CNI_COMMAND.env\n"
          "cat > %s/%s.$CNI_COMMAND.in\n"
          "[ \"$CNI_COMMAND\" = ADD ] || exit 0\n"
          "printf '%%s' '%s'\n"
          "exit %d\n",
          dir, type, dir, type, reply, status);
  fclose(f);
  chmod(path, 0755);
}

static json_t *recorded(const char *type, const char *command) {
  char path[256];
  snprintf(path, sizeof path, "%s/%s.%s.in", dir, type, command);
  char *text = NULL;
  size_t len;
  struct hull_error e;
  if (fs_read_file(path, &text, &len, &e) < 0)
    return NULL;
  json_error_t je;
  json_t *j = hjson_loadb(text, len, 0, NULL, &je);
  free(text);
  return j;
}

static int setup(void **state) {
  (void)state;
  snprintf(dir, sizeof dir, "/tmp/hull-cni-test.XXXXXX");
  assert_non_null(mkdtemp(dir));
  snprintf(plugins, sizeof plugins, "%s/bin", dir);
  snprintf(cache, sizeof cache, "%s/cache", dir);
  mkdir(plugins, 0755);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  return system(cmd) == 0 ? 0 : -1;
}

static json_t *list(const char *plugins_json) {
  char text[1024];
  snprintf(text, sizeof text, "{\"cniVersion\":\"1.0.0\",\"name\":\"net1\",\"plugins\":%s}",
           plugins_json);
  json_error_t je;
  json_t *j = hjson_loadb(text, strlen(text), 0, NULL, &je);
  assert_non_null(j);
  return j;
}

static const struct cni_args args = {.container_id = "c1", .netns = "/run/netns/x",
                                     .ifname = "eth0"};

static void test_add_chains_and_caches(void **state) {
  (void)state;
  plugin("first", "{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.1.0.2/24\"}]}", 0);
  plugin("second", "{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.1.0.2/24\","
                   "\"gateway\":\"10.1.0.1\"}],\"dns\":{}}", 0);
  json_t *l = list("[{\"type\":\"first\",\"x\":1},{\"type\":\"second\"}]");
  struct cni_env env = {.plugin_path = plugins, .cache_dir = cache};
  json_t *res = NULL;
  struct hull_error e;
  assert_int_equal(cni_add(&env, l, &args, &res, &e), 0);
  /* the second plugin got the list's name and version, and the first's result */
  json_t *in = recorded("second", "ADD");
  assert_non_null(in);
  assert_string_equal(json_string_value(json_object_get(in, "name")), "net1");
  assert_string_equal(json_string_value(json_object_get(in, "cniVersion")), "1.0.0");
  assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(
                          json_object_get(in, "prevResult"), "ips"), 0), "address")),
                      "10.1.0.2/24");
  json_decref(in);
  in = recorded("first", "ADD");
  assert_int_equal(json_integer_value(json_object_get(in, "x")), 1);
  assert_null(json_object_get(in, "prevResult"));
  json_decref(in);
  /* the spec's environment */
  char path[256], *envtext = NULL;
  size_t len;
  snprintf(path, sizeof path, "%s/first.ADD.env", dir);
  assert_int_equal(fs_read_file(path, &envtext, &len, &e), 0);
  assert_non_null(strstr(envtext, "CNI_COMMAND=ADD"));
  assert_non_null(strstr(envtext, "CNI_CONTAINERID=c1"));
  assert_non_null(strstr(envtext, "CNI_IFNAME=eth0"));
  assert_non_null(strstr(envtext, "CNI_NETNS=/run/netns/x"));
  free(envtext);
  /* the final result parses */
  struct cni_result r;
  assert_int_equal(cni_result_parse(res, &r, &e), 0);
  assert_int_equal(r.n_ips, 1);
  assert_string_equal(r.ips[0].gateway, "10.1.0.1");
  cni_result_free(&r);
  json_decref(res);
  /* DEL in reverse with the cached result, then the cache entry goes */
  assert_int_equal(cni_del(&env, l, &args, &e), 0);
  in = recorded("first", "DEL");
  assert_non_null(in);
  assert_non_null(json_object_get(json_object_get(in, "prevResult"), "dns"));
  json_decref(in);
  snprintf(path, sizeof path, "%s/results/net1-c1-eth0", cache);
  assert_int_equal(access(path, F_OK), -1);
  json_decref(l);
}

/* DEL runs the list ADD ran, with the runtimeConfig ADD was given, from
 * the cache (portmap finds its rules by the mappings); the cache walk
 * lists what is cached. */
static int count_entry(const char *net, const char *id, const char *ifname, json_t *l,
                       void *arg) {
  (void)l;
  assert_string_equal(net, "net1");
  assert_string_equal(id, "c1");
  assert_string_equal(ifname, "eth0");
  ++*(int *)arg;
  return 0;
}

static void test_del_from_cache(void **state) {
  (void)state;
  plugin("pm", "{\"cniVersion\":\"1.0.0\"}", 0);
  plugin("extra", "{\"cniVersion\":\"1.0.0\"}", 0);
  json_t *ran = list("[{\"type\":\"pm\",\"capabilities\":{\"portMappings\":true}}]");
  json_t *now = list("[{\"type\":\"extra\"},{\"type\":\"pm\",\"capabilities\":{\"portMappings\":true}}]");
  struct cni_env env = {.plugin_path = plugins, .cache_dir = cache};
  struct cni_args a = args;
  a.runtime_config = json_pack("{s:[{s:i}]}", "portMappings", "hostPort", 8080);
  json_t *res = NULL;
  struct hull_error e;
  assert_int_equal(cni_add(&env, ran, &a, &res, &e), 0);
  json_decref(res);
  json_decref(a.runtime_config);
  int n = 0;
  assert_int_equal(cni_cache_walk(&env, count_entry, &n), 0);
  assert_int_equal(n, 1);
  /* CHECK and DEL given the network's current list and no runtimeConfig */
  assert_int_equal(cni_check(&env, now, &args, &e), 0);
  assert_null(recorded("extra", "CHECK"));
  json_t *chk = recorded("pm", "CHECK");
  assert_non_null(json_object_get(json_object_get(chk, "runtimeConfig"), "portMappings"));
  json_decref(chk);
  assert_int_equal(cni_del(&env, now, &args, &e), 0);
  json_t *in = recorded("pm", "DEL");
  assert_non_null(in);
  assert_int_equal(json_integer_value(json_object_get(json_array_get(json_object_get(
                       json_object_get(in, "runtimeConfig"), "portMappings"), 0), "hostPort")),
                   8080);
  json_decref(in);
  assert_null(recorded("extra", "DEL")); /* ADD never ran it */
  n = 0;
  assert_int_equal(cni_cache_walk(&env, count_entry, &n), 0);
  assert_int_equal(n, 0);
  json_decref(ran);
  json_decref(now);
}

static void test_failed_add_rolls_back(void **state) {
  (void)state;
  plugin("good", "{\"cniVersion\":\"1.0.0\",\"ips\":[]}", 0);
  plugin("bad", "{\"cniVersion\":\"1.0.0\",\"code\":11,\"msg\":\"no addresses left\","
                "\"details\":\"range 10.9.0.0/30 is full\"}", 1);
  json_t *l = list("[{\"type\":\"good\"},{\"type\":\"bad\"}]");
  struct cni_env env = {.plugin_path = plugins, .cache_dir = cache};
  json_t *res = NULL;
  struct hull_error e;
  char path[256];
  snprintf(path, sizeof path, "%s/good.DEL.in", dir);
  unlink(path);
  assert_true(cni_add(&env, l, &args, &res, &e) < 0);
  assert_null(res);
  assert_non_null(strstr(e.msg, "no addresses left"));
  assert_non_null(strstr(e.msg, "range 10.9.0.0/30 is full"));
  assert_non_null(strstr(e.msg, "code 11"));
  assert_non_null(strstr(e.msg, "network net1"));
  /* rolled back: the first plugin got its DEL, nothing is cached */
  assert_int_equal(access(path, F_OK), 0);
  snprintf(path, sizeof path, "%s/results/net1-c1-eth0", cache);
  assert_int_equal(access(path, F_OK), -1);
  json_decref(l);
}

static void test_runtime_config_by_capability(void **state) {
  (void)state;
  plugin("ports", "{\"cniVersion\":\"1.0.0\"}", 0);
  plugin("plain", "{\"cniVersion\":\"1.0.0\"}", 0);
  json_t *l = list("[{\"type\":\"plain\"},{\"type\":\"ports\",\"capabilities\":"
                   "{\"portMappings\":true}}]");
  json_t *rc = json_pack("{s:[{s:i,s:i,s:s}]}", "portMappings", "hostPort", 8080,
                         "containerPort", 80, "protocol", "tcp");
  struct cni_args a = args;
  a.runtime_config = rc;
  struct cni_env env = {.plugin_path = plugins, .cache_dir = cache};
  json_t *res = NULL;
  struct hull_error e;
  assert_int_equal(cni_add(&env, l, &a, &res, &e), 0);
  json_t *in = recorded("ports", "ADD");
  assert_non_null(json_object_get(json_object_get(in, "runtimeConfig"), "portMappings"));
  json_decref(in);
  in = recorded("plain", "ADD");
  assert_null(json_object_get(in, "runtimeConfig"));
  json_decref(in);
  assert_int_equal(cni_del(&env, l, &a, &e), 0);
  json_decref(res);
  json_decref(rc);
  json_decref(l);
}

/* A plugin that closes its stdin before reading a large config: an
 * error from the plugin, not a SIGPIPE that ends the caller. */
static void test_plugin_closes_stdin(void **state) {
  (void)state;
  char path[256];
  snprintf(path, sizeof path, "%s/closer", plugins);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fprintf(f, "#!/bin/sh\nexec 0<&-\nprintf '{\"code\":7,\"msg\":\"closed early\"}'\nexit 1\n");
  fclose(f);
  chmod(path, 0755);
  size_t big = 256 << 10;
  char *pad = malloc(big + 1);
  assert_non_null(pad);
  memset(pad, 'x', big);
  pad[big] = '\0';
  json_t *l = list("[{\"type\":\"closer\"}]");
  json_object_set_new(json_array_get(json_object_get(l, "plugins"), 0), "pad", json_string(pad));
  free(pad);
  struct cni_env env = {.plugin_path = plugins, .cache_dir = cache};
  json_t *res = NULL;
  struct hull_error e;
  assert_true(cni_add(&env, l, &args, &res, &e) < 0);
  assert_non_null(strstr(e.msg, "closed early"));
  json_decref(l);
}

static void test_bad_lists_and_plugins(void **state) {
  (void)state;
  struct cni_env env = {.plugin_path = plugins, .cache_dir = cache};
  json_t *res = NULL;
  struct hull_error e;
  json_t *l = list("[{\"type\":\"../../bin/sh\"}]");
  assert_true(cni_add(&env, l, &args, &res, &e) < 0);
  assert_non_null(strstr(e.msg, "plain name"));
  json_decref(l);
  l = list("[{\"type\":\"nosuchplugin\"}]");
  assert_true(cni_add(&env, l, &args, &res, &e) < 0);
  assert_non_null(strstr(e.msg, "not found"));
  json_decref(l);
  l = list("[]");
  assert_true(cni_add(&env, l, &args, &res, &e) < 0);
  json_decref(l);
  /* a plugin that dies without a JSON error: its stderr's last line */
  char path[256];
  snprintf(path, sizeof path, "%s/crash", plugins);
  FILE *f = fopen(path, "w");
  fprintf(f, "#!/bin/sh\ncat >/dev/null\necho 'iptables: Permission denied' >&2\nexit 3\n");
  fclose(f);
  chmod(path, 0755);
  l = list("[{\"type\":\"crash\"}]");
  assert_true(cni_add(&env, l, &args, &res, &e) < 0);
  assert_non_null(strstr(e.msg, "exit status 3"));
  assert_non_null(strstr(e.msg, "iptables: Permission denied"));
  json_decref(l);
}

static void test_result_parse(void **state) {
  (void)state;
  struct cni_result r;
  struct hull_error e;
  json_error_t je;
  const char *bad[] = {
      "[]",
      "{\"ips\":{}}",
      "{\"ips\":[{\"address\":\"10.0.0.1\"}]}",
      "{\"ips\":[{\"address\":\"10.0.0.1/8\",\"interface\":3}],\"interfaces\":[]}",
      "{\"ips\":[{}]}",
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    json_t *j = hjson_loadb(bad[i], strlen(bad[i]), 0, NULL, &je);
    assert_true(cni_result_parse(j, &r, &e) < 0);
    json_decref(j);
  }
  const char *good = "{\"interfaces\":[{\"name\":\"eth0\"}],\"ips\":[{\"address\":"
                     "\"fd00::2/64\",\"interface\":0}]}";
  json_t *j = hjson_loadb(good, strlen(good), 0, NULL, &je);
  assert_int_equal(cni_result_parse(j, &r, &e), 0);
  assert_int_equal(r.ips[0].interface, 0);
  cni_result_free(&r);
  json_decref(j);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_add_chains_and_caches),
      cmocka_unit_test(test_failed_add_rolls_back),
      cmocka_unit_test(test_del_from_cache),
      cmocka_unit_test(test_plugin_closes_stdin),
      cmocka_unit_test(test_runtime_config_by_capability),
      cmocka_unit_test(test_bad_lists_and_plugins),
      cmocka_unit_test(test_result_parse),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
