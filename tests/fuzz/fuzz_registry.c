/* Fuzzing of what a registry says that hull parses itself: the
 * WWW-Authenticate challenge of a 401 and the repository part of a
 * reference. Whatever the bytes, no crash, no overread, no leak. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "image/registry_priv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *s = strndup((const char *)data, size);
  if (!s)
    return 0;
  static const char *const keys[] = {"realm", "service", "scope", "error"};
  for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
    free(reg_challenge_param(s, keys[i]));
  char host[256], repo[256];
  struct hull_error e;
  reg_split(s, host, sizeof host, repo, sizeof repo, &e);
  free(s);
  return 0;
}
