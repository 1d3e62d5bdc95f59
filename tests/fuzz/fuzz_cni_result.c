/* Fuzzing of what a CNI plugin answers, as hull reads it: any JSON a
 * plugin prints must parse into a checked result or fail cleanly. */
#include <stdint.h>
#include <string.h>

#include "common/json.h"
#include "net/cni.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  json_error_t je;
  json_t *j = hjson_loadb((const char *)data, size, 0, NULL, &je);
  if (!j)
    return 0;
  struct cni_result r;
  struct hull_error e;
  if (cni_result_parse(j, &r, &e) == 0) {
    for (size_t i = 0; i < r.n_ips; i++)
      if (!strchr(r.ips[i].address, '/'))
        __builtin_trap();
    cni_result_free(&r);
  }
  json_decref(j);
  return 0;
}
