/* Fuzzing of the network description hull-init reads from the host
 * ("network" in CREATE, src/vm/net_desc.h): any JSON parses into a checked
 * description or fails cleanly, and what parses is written back to the
 * same description (the host's writer and the guest's reader agree). */
#include <stdint.h>
#include <string.h>

#include "common/json.h"
#include "vm/net_desc.h"

static struct vm_net_desc d, again;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  json_error_t je;
  json_t *j = hjson_loadb((const char *)data, size, 0, NULL, &je);
  if (!j)
    return 0;
  struct hull_error e;
  if (vm_net_desc_parse(j, &d, &e) == 0) {
    if (d.n > VM_NET_MAX_IFACES)
      __builtin_trap();
    for (size_t i = 0; i < d.n; i++)
      if (!vm_net_ifname_ok(d.ifs[i].name) || d.ifs[i].mtu < VM_NET_MIN_MTU ||
          d.ifs[i].n_addrs > VM_NET_MAX_ADDRS || d.ifs[i].n_routes > VM_NET_MAX_ROUTES)
        __builtin_trap();
    json_t *back = vm_net_desc_to_json(&d);
    if (!back || vm_net_desc_parse(back, &again, &e) < 0 || memcmp(&d, &again, sizeof d))
      __builtin_trap();
    json_decref(back);
  }
  json_decref(j);
  return 0;
}
