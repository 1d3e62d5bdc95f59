/* Fuzzing of the host-guest channel as the host reads it: whatever bytes a
 * guest writes to its port, the reader and the frame checks must refuse
 * them cleanly or yield frames whose lengths stay inside the buffer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vm/channel.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct vm_reader r = {0};
  struct hull_error e;
  /* feed in two pieces, as a stream would deliver it */
  size_t cut = size ? data[0] % (size + 1) : 0;
  vm_reader_feed(&r, data, cut);
  for (int round = 0; round < 2; round++) {
    struct vm_frame f;
    int n;
    while ((n = vm_reader_next(&r, &f, &e)) > 0) {
      if ((size_t)(f.data - r.buf) + f.len > r.len)
        abort();
      if (vm_frame_check(&f, true, &e) == 0) {
        if (f.type == VM_EXIT && vm_frame_u32(&f, 0) > 255)
          abort();
      }
      vm_frame_check(&f, false, &e);
    }
    if (n < 0)
      break;
    if (round == 0)
      vm_reader_feed(&r, data + cut, size - cut);
  }
  vm_reader_free(&r);
  return 0;
}
