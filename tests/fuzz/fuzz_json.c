/* Differential fuzzing of hull's JSON loader against jansson's json_loadb:
 * both must accept or reject the same texts and build equal values, and
 * hull's dumper must round-trip what was loaded. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  json_error_t e1, e2;
  json_t *a = hjson_loadb((const char *)data, size, 0, NULL, &e1);
  json_t *b = json_loadb((const char *)data, size, 0, &e2);
  /* jansson counts nesting depth slightly differently; beyond the limit
   * both refuse, but not necessarily at the same input. */
  bool deep = json_error_code(&e1) == json_error_stack_overflow ||
              json_error_code(&e2) == json_error_stack_overflow;
  /* A NUL byte is never valid JSON; jansson skips one that follows a
   * number (a quirk of its lexer), hull refuses it. */
  bool nul = memchr(data, 0, size) != NULL;
  if (nul && a)
    abort();
  if (!deep && !nul) {
    if ((a == NULL) != (b == NULL))
      abort();
    if (a && !json_equal(a, b))
      abort();
  }
  if (a) {
    char *text = hjson_dumps(a);
    assert(text);
    json_t *c = hjson_loadb(text, strlen(text), 0, NULL, &e1);
    if (!c || !json_equal(a, c))
      abort();
    json_decref(c);
    free(text);
  }
  json_decref(a);
  json_decref(b);
  return 0;
}
