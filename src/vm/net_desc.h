/* The description of a VM container's network that the host sends to
 * hull-init in CREATE ("network"): the interfaces of the container's
 * network namespace, in the order of the VM's virtio-net devices, with
 * their MAC, MTU, addresses and routes. hull-init finds each device by
 * its MAC and configures it the same way. The guest's parser treats it as
 * untrusted input: fixed limits, every field checked.
 *
 *   {"interfaces": [{"name": "eth0", "mac": "aa:bb:cc:dd:ee:ff",
 *     "mtu": 1500, "addresses": ["10.88.0.2/16", "fd00::2/64"],
 *     "routes": [{"dst": "0.0.0.0/0", "gateway": "10.88.0.1"},
 *                {"dst": "10.99.0.0/16"}]}]}
 */
#ifndef HULL_VM_NET_DESC_H
#define HULL_VM_NET_DESC_H

#include <jansson.h>
#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/error.h"

#define VM_NET_MAX_IFACES 8
#define VM_NET_MAX_ADDRS 16
#define VM_NET_MAX_ROUTES 32
#define VM_NET_MIN_MTU 68
#define VM_NET_MAX_MTU 65535

struct vm_net_addr {
  int family; /* AF_INET, AF_INET6 */
  uint8_t addr[16];
  unsigned prefix;
};

struct vm_net_route {
  int family;
  uint8_t dst[16];
  unsigned dst_len; /* 0: default route */
  uint8_t gw[16];
  bool has_gw;
};

struct vm_net_iface {
  char name[IF_NAMESIZE];
  uint8_t mac[6];
  unsigned mtu;
  struct vm_net_addr addrs[VM_NET_MAX_ADDRS];
  size_t n_addrs;
  struct vm_net_route routes[VM_NET_MAX_ROUTES];
  size_t n_routes;
};

struct vm_net_desc {
  struct vm_net_iface ifs[VM_NET_MAX_IFACES];
  size_t n;
};

/* A new JSON object for the description, NULL without memory. */
json_t *vm_net_desc_to_json(const struct vm_net_desc *d);
/* Parse and check (names, MACs, MTUs, addresses, prefixes, gateways). */
int vm_net_desc_parse(json_t *j, struct vm_net_desc *d, struct hull_error *e);

/* An interface name the kernel accepts and that names no path trick:
 * 1-15 characters of [A-Za-z0-9_.-], not "." or "..". */
bool vm_net_ifname_ok(const char *name);
/* "aa:bb:cc:dd:ee:ff" (lower case) into out[18]. */
void vm_net_mac_text(const uint8_t mac[6], char out[18]);

#endif
