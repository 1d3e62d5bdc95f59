/* Unit tests for the host-guest channel of VM isolation
 * (src/vm/channel.c): frames round-trip, arrive in pieces, and every
 * malformed header or payload is refused with a reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vm/channel.h"

static void header(uint8_t *h, uint32_t len, uint16_t type, uint16_t zero,
                   uint32_t stream) {
  memcpy(h, &len, 4);
  memcpy(h + 4, &type, 2);
  memcpy(h + 6, &zero, 2);
  memcpy(h + 8, &stream, 4);
}

static void test_round_trip_through_a_socket(void **state) {
  (void)state;
  int sp[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
  fcntl(sp[1], F_SETFL, O_NONBLOCK);
  struct vm_writer w = {0};
  assert_int_equal(vm_writer_put(&w, VM_STDOUT, 3, "hello", 5), 0);
  assert_int_equal(vm_writer_put_u32(&w, VM_EXIT, 3, 42), 0);
  assert_int_equal(vm_writer_flush(&w, sp[0]), 0);
  assert_int_equal(vm_writer_pending(&w), 0);
  struct vm_reader r = {0};
  struct hull_error e;
  struct vm_frame f;
  assert_true(vm_reader_fill(&r, sp[1]) > 0);
  assert_int_equal(vm_reader_next(&r, &f, &e), 1);
  assert_int_equal(f.type, VM_STDOUT);
  assert_int_equal(f.stream, 3);
  assert_int_equal(f.len, 5);
  assert_memory_equal(f.data, "hello", 5);
  assert_int_equal(vm_frame_check(&f, true, &e), 0);
  assert_int_equal(vm_reader_next(&r, &f, &e), 1);
  assert_int_equal(f.type, VM_EXIT);
  assert_int_equal(vm_frame_u32(&f, 0), 42);
  assert_int_equal(vm_frame_check(&f, true, &e), 0);
  assert_int_equal(vm_reader_next(&r, &f, &e), 0);
  assert_int_equal(vm_reader_fill(&r, sp[1]), -EAGAIN);
  vm_reader_free(&r);
  vm_writer_free(&w);
  close(sp[0]);
  close(sp[1]);
}

static void test_frame_in_pieces(void **state) {
  (void)state;
  struct vm_writer w = {0};
  assert_int_equal(vm_writer_put(&w, VM_STDERR, 1, "abcdef", 6), 0);
  struct vm_reader r = {0};
  struct hull_error e;
  struct vm_frame f;
  for (size_t i = 0; i < w.len; i++) {
    assert_int_equal(vm_reader_next(&r, &f, &e), 0);
    assert_int_equal(vm_reader_feed(&r, w.buf + i, 1), 0);
  }
  assert_int_equal(vm_reader_next(&r, &f, &e), 1);
  assert_memory_equal(f.data, "abcdef", 6);
  vm_reader_free(&r);
  vm_writer_free(&w);
}

static void test_bad_headers_refused(void **state) {
  (void)state;
  struct hull_error e;
  struct vm_frame f;
  uint8_t h[VM_FRAME_HEADER];
  struct vm_reader r = {0};
  header(h, VM_FRAME_MAX + 1, VM_STDOUT, 0, 0);
  vm_reader_feed(&r, h, sizeof h);
  assert_true(vm_reader_next(&r, &f, &e) < 0);
  assert_non_null(strstr(e.msg, "bytes"));
  vm_reader_free(&r);
  header(h, 0, VM_READY, 7, 0);
  vm_reader_feed(&r, h, sizeof h);
  assert_true(vm_reader_next(&r, &f, &e) < 0);
  assert_non_null(strstr(e.msg, "reserved"));
  vm_reader_free(&r);
}

static int check(uint16_t type, uint32_t stream, const void *data, uint32_t len,
                 bool guest, struct hull_error *e) {
  struct vm_frame f = {.type = type, .stream = stream, .len = len, .data = data};
  return vm_frame_check(&f, guest, e);
}

static void test_payload_rules(void **state) {
  (void)state;
  struct hull_error e;
  uint8_t buf[8] = {0};
  /* a guest may not send host frames, nor the host guest frames */
  assert_true(check(VM_START, 0, NULL, 0, true, &e) < 0);
  assert_non_null(strstr(e.msg, "sent by the guest"));
  assert_true(check(VM_READY, 0, NULL, 0, false, &e) < 0);
  assert_true(check(999, 0, NULL, 0, true, &e) < 0);
  assert_non_null(strstr(e.msg, "unknown type"));
  /* sizes */
  assert_true(check(VM_EXIT, 1, buf, 3, true, &e) < 0);
  assert_true(check(VM_STDOUT, 1, buf, VM_DATA_MAX + 1, true, &e) < 0);
  assert_true(check(VM_ERROR, 0, buf, 1025, true, &e) < 0);
  /* streams */
  assert_true(check(VM_READY, 2, NULL, 0, true, &e) < 0);
  assert_true(check(VM_EXEC, 0, "{}", 2, false, &e) < 0);
  /* values */
  uint32_t status = 256;
  assert_true(check(VM_EXIT, 0, &status, 4, true, &e) < 0);
  status = 137;
  assert_int_equal(check(VM_EXIT, 0, &status, 4, true, &e), 0);
  uint32_t sig[2] = {0, 0};
  assert_true(check(VM_SIGNAL, 0, sig, 8, false, &e) < 0);
  sig[0] = 15;
  assert_int_equal(check(VM_SIGNAL, 0, sig, 8, false, &e), 0);
  sig[1] = 2;
  assert_true(check(VM_SIGNAL, 0, sig, 8, false, &e) < 0);
  /* liveness: PING from the host, PONG from the guest, stream 0 only */
  uint32_t seq = 7;
  assert_int_equal(check(VM_PING, 0, &seq, 4, false, &e), 0);
  assert_int_equal(check(VM_PONG, 0, &seq, 4, true, &e), 0);
  assert_true(check(VM_PONG, 3, &seq, 4, true, &e) < 0);
  assert_true(check(VM_PING, 0, &seq, 4, true, &e) < 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_round_trip_through_a_socket),
      cmocka_unit_test(test_frame_in_pieces),
      cmocka_unit_test(test_bad_headers_refused),
      cmocka_unit_test(test_payload_rules),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
