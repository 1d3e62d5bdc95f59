/* Unit tests of image references (src/image/reference.c) and digests
 * (src/image/digest.c): what docker accepts is accepted and normalised
 * the same way, what it refuses is refused with a message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "image/store_priv.h"

static void norm(const char *in, const char *want) {
  char out[600];
  struct hull_error e = {0};
  int r = ref_normalize(in, out, sizeof out, &e);
  if (r < 0)
    fail_msg("%s: %s", in, e.msg);
  assert_string_equal(out, want);
}

static void bad(const char *in) {
  char out[600];
  struct hull_error e = {0};
  if (ref_normalize(in, out, sizeof out, &e) == 0)
    fail_msg("%s accepted as %s", in, out);
  assert_int_equal(e.code, EINVAL);
  assert_non_null(strstr(e.msg, "invalid reference"));
}

static void test_valid(void **state) {
  (void)state;
  norm("busybox", "busybox:latest");
  norm("busybox:1.36", "busybox:1.36");
  norm("library/busybox:1.36.1-musl", "library/busybox:1.36.1-musl");
  norm("localhost:5000/team/app:v2", "localhost:5000/team/app:v2");
  norm("localhost/app", "localhost/app:latest");
  norm("docker.io/library/busybox", "docker.io/library/busybox:latest");
  norm("quay.io/a_b/c__d/e-f--g.h:T_ag.1-x", "quay.io/a_b/c__d/e-f--g.h:T_ag.1-x");
  norm("Registry.Example.COM:443/x", "Registry.Example.COM:443/x:latest");
  norm("a@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
       "a@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
  norm("a:t@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "a:t");
}

static void test_invalid(void **state) {
  (void)state;
  bad("");
  bad("Busybox");
  bad("busybox:");
  bad("busybox:bad tag");
  bad("busybox:-x");
  bad(":tag");
  bad("a//b");
  bad("a/");
  bad("/a");
  bad("a..b");
  bad("a___b");
  bad("-a");
  bad("a-");
  bad("a@sha256:abc");
  bad("a@md5:0123456789abcdef0123456789abcdef");
  bad("localhost:99999999/a");
  bad("-bad.com/a");
  char long_tag[200];
  memset(long_tag, 'a', sizeof long_tag);
  memcpy(long_tag, "x:", 2);
  long_tag[sizeof long_tag - 1] = 0;
  bad(long_tag);
  char long_name[300];
  memset(long_name, 'a', sizeof long_name);
  long_name[sizeof long_name - 1] = 0;
  bad(long_name);
}

static void test_parse_parts(void **state) {
  (void)state;
  struct ref r;
  assert_int_equal(ref_parse("localhost:5000/team/app:v2", &r, NULL), 0);
  assert_string_equal(r.name, "localhost:5000/team/app");
  assert_string_equal(r.tag, "v2");
  assert_string_equal(r.digest, "");
  /* a port is not a tag */
  assert_int_equal(ref_parse("localhost:5000/app", &r, NULL), 0);
  assert_string_equal(r.name, "localhost:5000/app");
  assert_string_equal(r.tag, "latest");
}

static void test_digest(void **state) {
  (void)state;
  char d[HULL_DIGEST_MAX];
  digest_buf("", 0, d);
  assert_string_equal(d, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  digest_buf("abc", 3, d);
  assert_string_equal(d, "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  assert_true(digest_valid(d));
  /* streaming gives the same digest */
  struct digester g;
  assert_int_equal(digester_init(&g), 0);
  digester_update(&g, "a", 1);
  digester_update(&g, "bc", 2);
  char d2[HULL_DIGEST_MAX];
  digester_final(&g, d2);
  assert_string_equal(d, d2);
  assert_false(digest_valid("sha256:BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"));
  assert_false(digest_valid("sha256:ba78"));
  assert_false(digest_valid("sha512:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
  assert_false(digest_valid("sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015adX"));
  assert_false(digest_valid(NULL));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_valid),
      cmocka_unit_test(test_invalid),
      cmocka_unit_test(test_parse_parts),
      cmocka_unit_test(test_digest),
  };
  return cmocka_run_group_tests_name("image_reference", tests, NULL, NULL);
}
