/* libFuzzer target: arbitrary bytes as config.json. spec_parse must
 * either fill the struct or fail with a one-line message, never crash or
 * leak; spec_free must release everything. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "spec/spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct spec s;
  struct hull_error e = {0};
  int r = spec_parse((const char *)data, size, "/bundle", &s, &e);
  if (r < 0) {
    /* Errors are one line with a cause, and leave nothing to free. */
    if (!e.msg[0] || strchr(e.msg, '\n') || e.code != -r)
      __builtin_trap();
  } else if (!s.annotations || !s.root_path || s.root_path[0] != '/' ||
             !s.json) {
    __builtin_trap();
  }
  spec_free(&s);
  return 0;
}
