/* Unit tests for the engine's option parsers (src/engine/options.c):
 * sizes, cpus, -v specs, -e and --env-file, names, signals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"

static void test_mem_size(void **state) {
  (void)state;
  struct hull_error e;
  int64_t v;
  assert_int_equal(parse_mem_size("1024", &v, &e), 0);
  assert_int_equal(v, 1024);
  assert_int_equal(parse_mem_size("512m", &v, &e), 0);
  assert_int_equal(v, 512LL << 20);
  assert_int_equal(parse_mem_size("1G", &v, &e), 0);
  assert_int_equal(v, 1LL << 30);
  assert_int_equal(parse_mem_size("1.5g", &v, &e), 0);
  assert_int_equal(v, 3LL << 29);
  assert_int_equal(parse_mem_size("64mb", &v, &e), 0);
  assert_int_equal(v, 64LL << 20);
  assert_int_equal(parse_mem_size("10k", &v, &e), 0);
  assert_int_equal(v, 10240);
  assert_true(parse_mem_size("", &v, &e) < 0);
  assert_true(parse_mem_size("m", &v, &e) < 0);
  assert_true(parse_mem_size("12q", &v, &e) < 0);
  assert_non_null(strstr(e.msg, "12q"));
  assert_true(parse_mem_size("-1", &v, &e) < 0);
  assert_true(parse_mem_size("1m1", &v, &e) < 0);
  assert_true(parse_mem_size("99999999999999999999", &v, &e) < 0);
  assert_true(parse_mem_size("9999999999t", &v, &e) < 0);
}

static void test_cpus(void **state) {
  (void)state;
  struct hull_error e;
  int64_t m;
  assert_int_equal(parse_cpus("1.5", &m, &e), 0);
  assert_int_equal(m, 1500);
  assert_int_equal(parse_cpus("0.001", &m, &e), 0);
  assert_int_equal(m, 1);
  assert_true(parse_cpus("0", &m, &e) < 0);
  assert_true(parse_cpus("-1", &m, &e) < 0);
  assert_true(parse_cpus("x", &m, &e) < 0);
  assert_true(parse_cpus("nan", &m, &e) < 0);
}

static void test_volume_spec(void **state) {
  (void)state;
  struct hull_error e;
  struct volume_spec v;
  assert_int_equal(parse_volume_spec("/host:/ctr", &v, &e), 0);
  assert_true(v.is_bind);
  assert_false(v.readonly);
  assert_string_equal(v.source, "/host");
  assert_string_equal(v.target, "/ctr");
  volume_spec_free(&v);
  assert_int_equal(parse_volume_spec("data:/data:ro", &v, &e), 0);
  assert_false(v.is_bind);
  assert_true(v.readonly);
  assert_string_equal(v.source, "data");
  volume_spec_free(&v);
  assert_int_equal(parse_volume_spec("/anon", &v, &e), 0);
  assert_null(v.source);
  assert_string_equal(v.target, "/anon");
  volume_spec_free(&v);
  assert_int_equal(parse_volume_spec("/a:/b:rw,z", &v, &e), 0);
  volume_spec_free(&v);
  assert_true(parse_volume_spec("", &v, &e) < 0);
  assert_true(parse_volume_spec("relative:path", &v, &e) < 0);
  assert_true(parse_volume_spec("a:/b:ro:x", &v, &e) < 0);
  assert_true(parse_volume_spec("a:/b:bogus", &v, &e) < 0);
  assert_true(parse_volume_spec("../x:/b", &v, &e) < 0);
  assert_true(parse_volume_spec("/x:/b/../c", &v, &e) < 0);
  assert_true(parse_volume_spec(":/b", &v, &e) < 0);
}

static void test_env(void **state) {
  (void)state;
  struct hull_error e;
  char *v;
  assert_int_equal(parse_env_arg("A=1", &v, &e), 0);
  assert_string_equal(v, "A=1");
  free(v);
  setenv("HULL_TEST_ENV", "from-env", 1);
  assert_int_equal(parse_env_arg("HULL_TEST_ENV", &v, &e), 0);
  assert_string_equal(v, "HULL_TEST_ENV=from-env");
  free(v);
  unsetenv("HULL_TEST_NOPE");
  assert_int_equal(parse_env_arg("HULL_TEST_NOPE", &v, &e), 1);
  assert_true(parse_env_arg("=x", &v, &e) < 0);
  assert_true(parse_env_arg("A B=x", &v, &e) < 0);

  json_t *arr = json_array();
  const char *f = "# comment\n\nA=1\r\n  B=two words\nHULL_TEST_ENV\nHULL_TEST_NOPE\nC=";
  assert_int_equal(parse_env_file(f, strlen(f), "f", arr, &e), 0);
  assert_int_equal(json_array_size(arr), 4);
  assert_string_equal(json_string_value(json_array_get(arr, 0)), "A=1");
  assert_string_equal(json_string_value(json_array_get(arr, 1)), "B=two words");
  assert_string_equal(json_string_value(json_array_get(arr, 2)), "HULL_TEST_ENV=from-env");
  assert_string_equal(json_string_value(json_array_get(arr, 3)), "C=");
  const char *bad = "A=1\n=x\n";
  assert_true(parse_env_file(bad, strlen(bad), "bad.env", arr, &e) < 0);
  assert_non_null(strstr(e.msg, "line 2"));
  assert_non_null(strstr(e.msg, "bad.env"));
  json_decref(arr);
}

static void test_names(void **state) {
  (void)state;
  struct hull_error e;
  assert_int_equal(engine_validate_name("web", &e), 0);
  assert_int_equal(engine_validate_name("a.b-c_d9", &e), 0);
  assert_int_equal(engine_validate_name("9", &e), 0);
  assert_true(engine_validate_name("", &e) < 0);
  assert_true(engine_validate_name("-x", &e) < 0);
  assert_true(engine_validate_name("_x", &e) < 0);
  assert_true(engine_validate_name("a/b", &e) < 0);
  assert_true(engine_validate_name("a b", &e) < 0);
  assert_true(engine_validate_name("..", &e) < 0);
  char longname[200];
  memset(longname, 'a', sizeof longname - 1);
  longname[sizeof longname - 1] = 0;
  assert_true(engine_validate_name(longname, &e) < 0);
}

static void test_signals(void **state) {
  (void)state;
  struct hull_error e;
  int s;
  assert_int_equal(engine_parse_signal("KILL", &s, &e), 0);
  assert_int_equal(s, SIGKILL);
  assert_int_equal(engine_parse_signal("SIGTERM", &s, &e), 0);
  assert_int_equal(s, SIGTERM);
  assert_int_equal(engine_parse_signal("usr1", &s, &e), 0);
  assert_int_equal(s, SIGUSR1);
  assert_int_equal(engine_parse_signal("9", &s, &e), 0);
  assert_int_equal(s, 9);
  assert_int_equal(engine_parse_signal("RTMIN+2", &s, &e), 0);
  assert_int_equal(s, SIGRTMIN + 2);
  assert_true(engine_parse_signal("NOPE", &s, &e) < 0);
  assert_true(engine_parse_signal("0", &s, &e) < 0);
  assert_true(engine_parse_signal("999", &s, &e) < 0);
  assert_true(engine_parse_signal("", &s, &e) < 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_mem_size), cmocka_unit_test(test_cpus),
      cmocka_unit_test(test_volume_spec), cmocka_unit_test(test_env),
      cmocka_unit_test(test_names), cmocka_unit_test(test_signals),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
