/* Unit tests for the OCI config the engine generates from an image
 * config and run options (src/engine/spec_gen.c). */
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

#include "common/json.h"
#include "engine/engine.h"
#include "spec/spec.h"

static char dir[64], rootfs[128], cdir[128], vdir[128];

static int setup(void **state) {
  (void)state;
  snprintf(dir, sizeof dir, "/tmp/hull-spec-XXXXXX");
  if (!mkdtemp(dir))
    return -1;
  snprintf(rootfs, sizeof rootfs, "%s/rootfs", dir);
  snprintf(cdir, sizeof cdir, "%s/c", dir);
  snprintf(vdir, sizeof vdir, "%s/volumes", dir);
  mkdir(rootfs, 0755);
  mkdir(cdir, 0700);
  char p[256];
  snprintf(p, sizeof p, "%s/etc", rootfs);
  mkdir(p, 0755);
  snprintf(p, sizeof p, "%s/etc/passwd", rootfs);
  FILE *f = fopen(p, "w");
  fputs("root:x:0:0:root:/root:/bin/sh\nwww:x:33:34:www:/var/www:/bin/false\n", f);
  fclose(f);
  snprintf(p, sizeof p, "%s/etc/group", rootfs);
  f = fopen(p, "w");
  fputs("root:x:0:\nstaff:x:50:\n", f);
  fclose(f);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  return system(cmd) == 0 ? 0 : -1;
}

static json_t *record(const char *conf, const char *host) {
  json_error_t je;
  json_t *r = json_loads("{\"Isolation\":\"vm\"}", 0, &je);
  json_object_set_new(r, "Config", json_loads(conf, 0, &je));
  json_object_set_new(r, "HostConfig", json_loads(host, 0, &je));
  return r;
}

static json_t *gen(json_t *rec, int want) {
  struct hull_error e;
  json_t *spec = NULL;
  int r = spec_generate(rec, "0123456789abcdef", cdir, rootfs, vdir, &spec, &e);
  if (want == 0 && r < 0)
    fail_msg("spec_generate: %s", e.msg);
  assert_int_equal(r < 0, want < 0);
  json_decref(rec);
  return spec;
}

static const char *str(json_t *spec, const char *path) {
  json_t *v = spec;
  char buf[128];
  snprintf(buf, sizeof buf, "%s", path);
  for (char *t = strtok(buf, "."); t && v; t = strtok(NULL, "."))
    v = json_is_array(v) ? json_array_get(v, (size_t)atoi(t)) : json_object_get(v, t);
  return json_string_value(v);
}

static bool has_string(json_t *arr, const char *s) {
  size_t i;
  json_t *v;
  json_array_foreach(arr, i, v) if (!strcmp(json_string_value(v), s)) return true;
  return false;
}

static json_t *mount_at(json_t *spec, const char *dest) {
  size_t i;
  json_t *m;
  json_array_foreach(json_object_get(spec, "mounts"), i, m) {
    if (!strcmp(json_string_value(json_object_get(m, "destination")), dest))
      return m;
  }
  return NULL;
}

static void test_process(void **state) {
  (void)state;
  json_t *spec = gen(record("{\"Entrypoint\":[\"/bin/ep\"],\"Cmd\":[\"a\",\"b\"],"
                            "\"Env\":[\"PATH=/x\",\"K=V\"],\"WorkingDir\":\"/w\","
                            "\"User\":\"www:staff\",\"Hostname\":\"h1\",\"Tty\":true,"
                            "\"Labels\":{\"l\":\"v\"}}",
                            "{}"),
                     0);
  json_t *proc = json_object_get(spec, "process");
  json_t *args = json_object_get(proc, "args");
  assert_int_equal(json_array_size(args), 3);
  assert_string_equal(json_string_value(json_array_get(args, 0)), "/bin/ep");
  assert_string_equal(json_string_value(json_array_get(args, 2)), "b");
  json_t *env = json_object_get(proc, "env");
  assert_true(has_string(env, "PATH=/x"));
  assert_true(has_string(env, "K=V"));
  assert_true(has_string(env, "HOSTNAME=h1"));
  assert_true(has_string(env, "TERM=xterm"));
  assert_string_equal(str(spec, "process.cwd"), "/w");
  assert_int_equal(json_integer_value(json_object_get(json_object_get(proc, "user"), "uid")), 33);
  assert_int_equal(json_integer_value(json_object_get(json_object_get(proc, "user"), "gid")), 50);
  assert_true(json_is_true(json_object_get(proc, "terminal")));
  assert_string_equal(str(spec, "hostname"), "h1");
  assert_string_equal(str(spec, "root.path"), rootfs);
  assert_false(json_is_true(json_object_get(json_object_get(spec, "root"), "readonly")));
  assert_string_equal(str(spec, "annotations.l"), "v");
  assert_string_equal(json_string_value(json_object_get(json_object_get(spec, "annotations"),
                                                        "org.hull.isolation")),
                      "vm");
  /* docker's capability set; a default seccomp profile */
  json_t *caps = json_object_get(json_object_get(proc, "capabilities"), "bounding");
  assert_int_equal(json_array_size(caps), 14);
  assert_true(has_string(caps, "CAP_CHOWN"));
  assert_false(has_string(caps, "CAP_SYS_ADMIN"));
  json_t *sc = json_object_get(json_object_get(spec, "linux"), "seccomp");
  assert_string_equal(json_string_value(json_object_get(sc, "defaultAction")), "SCMP_ACT_ALLOW");
  json_t *names = json_object_get(json_array_get(json_object_get(sc, "syscalls"), 0), "names");
  assert_true(has_string(names, "kexec_load"));
  assert_true(has_string(names, "mount"));
  /* /etc/hostname, hosts, resolv.conf are the container's own */
  assert_non_null(mount_at(spec, "/etc/hostname"));
  assert_non_null(mount_at(spec, "/etc/resolv.conf"));
  assert_non_null(mount_at(spec, "/proc"));
  assert_non_null(mount_at(spec, "/dev/pts"));
  /* the whole thing is a config the runtime accepts */
  char *text = hjson_dumps(spec);
  struct spec s;
  struct hull_error e;
  if (spec_parse(text, strlen(text), dir, &s, &e) < 0)
    fail_msg("spec_parse: %s", e.msg);
  spec_free(&s);
  free(text);
  json_decref(spec);
}

static void test_host_options(void **state) {
  (void)state;
  char host[1024];
  snprintf(host, sizeof host,
           "{\"Binds\":[\"%s:/h:ro\",\"vol1:/v\"],\"Tmpfs\":{\"/t\":\"size=1m\"},"
           "\"ReadonlyRootfs\":true,\"Memory\":67108864,\"NanoCpus\":1500000000,"
           "\"PidsLimit\":50,\"CapAdd\":[\"sys_admin\"],\"CapDrop\":[\"CAP_CHOWN\"],"
           "\"SecurityOpt\":[\"no-new-privileges\"],\"NetworkMode\":\"host\"}",
           dir);
  json_t *spec = gen(record("{\"Cmd\":[\"sh\"]}", host), 0);
  json_t *m = mount_at(spec, "/h");
  assert_non_null(m);
  assert_string_equal(json_string_value(json_object_get(m, "source")), dir);
  assert_true(has_string(json_object_get(m, "options"), "ro"));
  m = mount_at(spec, "/v");
  assert_non_null(m);
  assert_non_null(strstr(json_string_value(json_object_get(m, "source")), "/volumes/vol1/_data"));
  m = mount_at(spec, "/t");
  assert_string_equal(json_string_value(json_object_get(m, "type")), "tmpfs");
  assert_true(has_string(json_object_get(m, "options"), "size=1m"));
  assert_true(json_is_true(json_object_get(json_object_get(spec, "root"), "readonly")));
  json_t *res = json_object_get(json_object_get(spec, "linux"), "resources");
  assert_int_equal(json_integer_value(json_object_get(json_object_get(res, "memory"), "limit")), 67108864);
  assert_int_equal(json_integer_value(json_object_get(json_object_get(res, "cpu"), "quota")), 150000);
  assert_int_equal(json_integer_value(json_object_get(json_object_get(res, "pids"), "limit")), 50);
  json_t *proc = json_object_get(spec, "process");
  json_t *caps = json_object_get(json_object_get(proc, "capabilities"), "effective");
  assert_true(has_string(caps, "CAP_SYS_ADMIN"));
  assert_false(has_string(caps, "CAP_CHOWN"));
  assert_true(json_is_true(json_object_get(proc, "noNewPrivileges")));
  /* with CAP_SYS_ADMIN the mount API is allowed */
  json_t *sc = json_object_get(json_object_get(spec, "linux"), "seccomp");
  json_t *names = json_object_get(json_array_get(json_object_get(sc, "syscalls"), 0), "names");
  assert_false(has_string(names, "mount"));
  /* host network: no network namespace */
  size_t i;
  json_t *ns;
  json_array_foreach(json_object_get(json_object_get(spec, "linux"), "namespaces"), i, ns)
      assert_string_not_equal(json_string_value(json_object_get(ns, "type")), "network");
  json_decref(spec);
}

static void test_errors(void **state) {
  (void)state;
  gen(record("{}", "{}"), -1);                                      /* no command */
  gen(record("{\"Cmd\":[\"sh\"],\"User\":\"nobody-here\"}", "{}"), -1);
  gen(record("{\"Cmd\":[\"sh\"]}", "{\"CapAdd\":[\"NOT_A_CAP\"]}"), -1);
  gen(record("{\"Cmd\":[\"sh\"]}", "{\"SecurityOpt\":[\"bogus\"]}"), -1);
  gen(record("{\"Cmd\":[\"sh\"]}", "{\"Binds\":[\"/no/such/dir:/x\"]}"), -1);
  json_t *spec = gen(record("{\"Cmd\":[\"sh\"]}",
                            "{\"SecurityOpt\":[\"seccomp=unconfined\"],\"CapDrop\":[\"ALL\"]}"),
                     0);
  assert_null(json_object_get(json_object_get(spec, "linux"), "seccomp"));
  assert_int_equal(json_array_size(json_object_get(
                       json_object_get(json_object_get(spec, "process"), "capabilities"),
                       "bounding")),
                   0);
  json_decref(spec);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_process),
      cmocka_unit_test(test_host_options),
      cmocka_unit_test(test_errors),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
