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

static void test_port_specs(void **state) {
  (void)state;
  struct port_spec ps;
  struct hull_error e;
  assert_int_equal(parse_port_spec("80", &ps, &e), 0);
  assert_int_equal(ps.ctr_port, 80);
  assert_int_equal(ps.host_port, 0);
  assert_string_equal(ps.proto, "tcp");
  assert_string_equal(ps.host_ip, "");
  assert_int_equal(parse_port_spec("8080:80/udp", &ps, &e), 0);
  assert_int_equal(ps.host_port, 8080);
  assert_int_equal(ps.ctr_port, 80);
  assert_string_equal(ps.proto, "udp");
  assert_int_equal(parse_port_spec("127.0.0.1:8080:80", &ps, &e), 0);
  assert_string_equal(ps.host_ip, "127.0.0.1");
  assert_int_equal(parse_port_spec("127.0.0.1::80", &ps, &e), 0);
  assert_int_equal(ps.host_port, 0);
  assert_int_equal(parse_port_spec("[::1]:8080:80", &ps, &e), 0);
  assert_string_equal(ps.host_ip, "::1");
  assert_int_equal(parse_port_spec("8000-8002:80-82", &ps, &e), 0);
  assert_int_equal(ps.host_port, 8000);
  assert_int_equal(ps.ctr_port_end, 82);
  const char *bad[] = {"", "0", "65536", "80/sctp", "a:80", "8000-8001:80", "1.2.3:80:80",
                       "80-79", ":", "8080:", "[::1]80", "1:2:3:4", "080x"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    assert_true(parse_port_spec(bad[i], &ps, &e) < 0);
}

static void test_add_host(void **state) {
  (void)state;
  char n[256], ip[64];
  struct hull_error e;
  assert_int_equal(parse_add_host("db:10.1.2.3", n, sizeof n, ip, sizeof ip, &e), 0);
  assert_string_equal(n, "db");
  assert_string_equal(ip, "10.1.2.3");
  assert_int_equal(parse_add_host("v6.test:[::1]", n, sizeof n, ip, sizeof ip, &e), 0);
  assert_string_equal(ip, "::1");
  assert_true(parse_add_host("db", n, sizeof n, ip, sizeof ip, &e) < 0);
  assert_true(parse_add_host(":1.2.3.4", n, sizeof n, ip, sizeof ip, &e) < 0);
  assert_true(parse_add_host("a b:1.2.3.4", n, sizeof n, ip, sizeof ip, &e) < 0);
  assert_true(parse_add_host("db:1.2.3", n, sizeof n, ip, sizeof ip, &e) < 0);
}

static void test_resolv_and_hosts(void **state) {
  (void)state;
  json_t *cfg = json_pack("{s:{s:[s], s:[s], s:[], s:[s]}}", "HostConfig", "Dns", "10.0.0.53",
                          "DnsSearch", "corp.test", "DnsOptions", "ExtraHosts", "db:10.0.0.9");
  const char *host = "nameserver 127.0.0.53\nsearch home.test\noptions edns0\n";
  char *r = engine_resolv_text(cfg, host, false);
  assert_non_null(strstr(r, "nameserver 10.0.0.53\n"));
  assert_null(strstr(r, "127.0.0.53"));
  assert_null(strstr(r, "home.test"));
  assert_non_null(strstr(r, "search corp.test\n"));
  assert_non_null(strstr(r, "options edns0\n"));
  free(r);
  json_t *plain = json_object();
  r = engine_resolv_text(plain, host, false);
  /* the host had only a loopback resolver: docker's fallback */
  assert_non_null(strstr(r, "nameserver 8.8.8.8\n"));
  assert_non_null(strstr(r, "search home.test\n"));
  free(r);
  r = engine_resolv_text(plain, host, true);
  assert_non_null(strstr(r, "nameserver 127.0.0.53\n"));
  free(r);
  r = engine_hosts_text(cfg, "web c1", "10.0.0.2");
  assert_non_null(strstr(r, "127.0.0.1\tlocalhost\n"));
  assert_non_null(strstr(r, "10.0.0.9\tdb\n"));
  assert_non_null(strstr(r, "10.0.0.2\tweb c1\n"));
  free(r);
  json_decref(plain);
  json_decref(cfg);
}

static void test_templates(void **state) {
  (void)state;
  json_t *v = json_pack("{s:s, s:{s:s, s:{s:{s:s}, s:{s:s}}}, s:{s:i, s:b}}", "Name", "web",
                        "NetworkSettings", "IPAddress", "10.0.0.2", "Networks", "a",
                        "IPAddress", "10.0.0.2", "b", "IPAddress", "10.1.0.2", "State",
                        "ExitCode", 3, "Running", 0);
  struct hull_error e;
  char *out;
  assert_int_equal(engine_template("{{.Name}} {{ .NetworkSettings.IPAddress }}", v, &out, &e), 0);
  assert_string_equal(out, "web 10.0.0.2");
  free(out);
  assert_int_equal(engine_template("{{range .NetworkSettings.Networks}}[{{.IPAddress}}]{{end}}",
                                   v, &out, &e), 0);
  assert_string_equal(out, "[10.0.0.2][10.1.0.2]");
  free(out);
  assert_int_equal(engine_template("{{.State.ExitCode}} {{.State.Running}} {{json .State}} {{.X.Y}}",
                                   v, &out, &e), 0);
  assert_string_equal(out, "3 false {\"ExitCode\":3,\"Running\":false} <no value>");
  free(out);
  const char *bad[] = {"{{.Name", "{{if .Name}}x{{end}}", "{{range .State}}", "{{printf \"%s\" .Name}}",
                       "{{end}}"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    assert_true(engine_template(bad[i], v, &out, &e) < 0);
  json_decref(v);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_mem_size), cmocka_unit_test(test_cpus),
      cmocka_unit_test(test_volume_spec), cmocka_unit_test(test_env),
      cmocka_unit_test(test_names), cmocka_unit_test(test_signals),
      cmocka_unit_test(test_port_specs), cmocka_unit_test(test_add_host),
      cmocka_unit_test(test_resolv_and_hosts), cmocka_unit_test(test_templates),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
