/* Unit tests for the json-file log format and the attach frames
 * (src/engine/logs.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/json.h"
#include "engine/engine.h"

static void test_line_format(void **state) {
  (void)state;
  char *l = log_line("stdout", "hi\n", 3, "2024-01-01T00:00:00.000000001Z");
  assert_string_equal(l, "{\"log\":\"hi\\n\",\"stream\":\"stdout\","
                         "\"time\":\"2024-01-01T00:00:00.000000001Z\"}\n");
  free(l);
}

static void test_line_escapes(void **state) {
  (void)state;
  const char data[] = "a\"b\\c\t\x01\x7f\xc3\xa9\xff\0z";
  size_t n = sizeof data - 1;
  char *l = log_line("stderr", data, n, "T");
  /* valid JSON; invalid UTF-8 becomes U+FFFD; a NUL is escaped */
  json_error_t je;
  json_t *o = json_loads(l, JSON_ALLOW_NUL, &je);
  assert_non_null(o);
  assert_string_equal(json_string_value(json_object_get(o, "stream")), "stderr");
  const char *s = json_string_value(json_object_get(o, "log"));
  assert_non_null(strstr(s, "a\"b\\c\t\x01\x7f\xc3\xa9\xef\xbf\xbd"));
  assert_int_equal(json_string_length(json_object_get(o, "log")), n + 2);
  json_decref(o);
  /* and back through our parser */
  char *d, stream[8], ts[48];
  size_t dl;
  assert_int_equal(log_line_parse(l, strlen(l) - 1, &d, &dl, stream, ts), 0);
  assert_int_equal(dl, n + 2);
  assert_string_equal(stream, "stderr");
  assert_string_equal(ts, "T");
  free(d);
  free(l);
  assert_true(log_line_parse("{}", 2, &d, &dl, stream, ts) < 0);
  assert_true(log_line_parse("nope", 4, &d, &dl, stream, ts) < 0);
}

static void test_frames(void **state) {
  (void)state;
  int sv[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  assert_int_equal(frame_send(sv[0], FRAME_STDOUT, "hello", 5), 0);
  assert_int_equal(frame_send(sv[0], FRAME_STDIN, NULL, 0), 0);
  char buf[16];
  int type;
  size_t len;
  assert_int_equal(frame_recv(sv[1], &type, buf, sizeof buf, &len), 0);
  assert_int_equal(type, FRAME_STDOUT);
  assert_int_equal(len, 5);
  assert_memory_equal(buf, "hello", 5);
  assert_int_equal(frame_recv(sv[1], &type, buf, sizeof buf, &len), 0);
  assert_int_equal(type, FRAME_STDIN);
  assert_int_equal(len, 0);
  /* too big for the buffer: refused, not overflowed */
  char big[64] = {0};
  assert_int_equal(frame_send(sv[0], FRAME_STDOUT, big, sizeof big), 0);
  assert_int_equal(frame_recv(sv[1], &type, buf, sizeof buf, &len), -EMSGSIZE);
  close(sv[0]);
  close(sv[1]);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_line_format),
      cmocka_unit_test(test_line_escapes),
      cmocka_unit_test(test_frames),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
