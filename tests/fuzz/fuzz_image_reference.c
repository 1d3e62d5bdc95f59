/* Fuzzing of image reference parsing (src/image/reference.c): any input
 * is parsed or refused with a message; a parsed reference normalises to
 * a string that parses again to itself. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "image/store_priv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char in[1024];
  if (size >= sizeof in)
    return 0;
  memcpy(in, data, size);
  in[size] = 0;
  struct hull_error e = {0};
  char out[600], again[600];
  int r = ref_normalize(in, out, sizeof out, &e);
  if (r < 0) {
    if (e.code != -r || !e.msg[0] || strchr(e.msg, '\n'))
      abort();
    return 0;
  }
  if (ref_normalize(out, again, sizeof again, &e) < 0 || strcmp(out, again))
    abort();
  struct ref p;
  if (ref_parse(in, &p, NULL) < 0 || strlen(p.name) > 255 || strlen(p.tag) > 128)
    abort();
  if (p.digest[0] && !digest_valid(p.digest))
    abort();
  return 0;
}
