/* Unit tests for the registry client's host rules (src/image/registry_http.c):
 * TLS is relaxed only for this machine, never for a name that merely
 * starts like it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdbool.h>

#include "image/registry_priv.h"

static void test_loopback_hosts(void **state) {
  (void)state;
  const char *yes[] = {"localhost", "localhost:5000", "127.0.0.1", "127.1.2.3:443",
                       "[::1]:5000", "[::1]"};
  const char *no[] = {"localhost.example.com", "localhostx:5000", "127.example.com",
                      "registry-1.docker.io", "10.0.0.1:5000", "[::2]:5000", "[::1", ""};
  for (size_t i = 0; i < sizeof yes / sizeof *yes; i++)
    assert_true(registry_is_loopback(yes[i]));
  for (size_t i = 0; i < sizeof no / sizeof *no; i++)
    assert_false(registry_is_loopback(no[i]));
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_loopback_hosts)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
