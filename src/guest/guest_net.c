/* The guest's network: what the host described in CREATE ("network",
 * src/vm/net_desc.h) becomes the configuration of the VM's virtio-net
 * devices, each found by its MAC, renamed as on the host (eth0), with the
 * same MTU, addresses and routes, in the guest's root network namespace,
 * which the container uses (the VM is the isolation boundary). The
 * description is checked before anything is done with it. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../common/fs.h"
#include "../common/ids.h"
#include "../net/netlink.h"
#include "../vm/net_desc.h"
#include "guest.h"

/* The devices are probed while the kernel boots; a little patience in
 * case one is announced late. */
#define FIND_TIMEOUT_MS 3000
#define SYSCTL_VALUE_MAX 4096

/* names[i]: the guest's current name of the device of ifs[i]. */
static int find_devices(const struct vm_net_desc *d, char names[][IF_NAMESIZE],
                        struct hull_error *e) {
  long long start = hull_now_ms();
  for (;;) {
    struct nl_link *links = NULL;
    size_t n = 0;
    int r = nl_link_list(&links, &n, e);
    if (r < 0)
      return r;
    size_t found = 0, missing = 0;
    for (size_t i = 0; i < d->n; i++) {
      names[i][0] = 0;
      for (size_t k = 0; k < n; k++)
        if (links[k].has_mac && !(links[k].flags & IFF_LOOPBACK) &&
            !memcmp(links[k].mac, d->ifs[i].mac, 6))
          snprintf(names[i], IF_NAMESIZE, "%s", links[k].name);
      if (names[i][0])
        found++;
      else
        missing = i;
    }
    free(links);
    if (found == d->n)
      return 0;
    if (hull_now_ms() - start > FIND_TIMEOUT_MS) {
      char mac[18];
      vm_net_mac_text(d->ifs[missing].mac, mac);
      return hull_err(e, ENODEV, "network: interface %s: the VM has no device with MAC %s",
                      d->ifs[missing].name, mac);
    }
    usleep(10000);
  }
}

/* Give the devices the host's names: through temporary names first, so
 * that eth1 can become eth0 while eth0 becomes eth1. */
static int rename_devices(const struct vm_net_desc *d, char names[][IF_NAMESIZE],
                          struct hull_error *e) {
  for (size_t i = 0; i < d->n; i++) {
    if (!strcmp(names[i], d->ifs[i].name))
      continue;
    char tmp[IF_NAMESIZE];
    snprintf(tmp, sizeof tmp, "hullnet%zu", i);
    int r = nl_link_set_up(names[i], false, e);
    if (r == 0)
      r = nl_link_set_name(names[i], tmp, e);
    if (r < 0)
      return r;
    snprintf(names[i], IF_NAMESIZE, "%s", tmp);
  }
  for (size_t i = 0; i < d->n; i++) {
    if (strcmp(names[i], d->ifs[i].name)) {
      int r = nl_link_set_name(names[i], d->ifs[i].name, e);
      if (r < 0)
        return r;
    }
  }
  return 0;
}

static int configure(const struct vm_net_iface *f, struct hull_error *e) {
  int r = nl_link_set_mtu(f->name, f->mtu, e);
  for (size_t k = 0; r == 0 && k < f->n_addrs; k++)
    r = nl_addr_add(f->name, f->addrs[k].family, f->addrs[k].addr, f->addrs[k].prefix,
                    true, e);
  if (r == 0)
    r = nl_link_set_up(f->name, true, e);
  return r;
}

/* Routes on the link first, then those through a gateway (which must be
 * reachable on a link by then). One the kernel made already is fine. */
static int add_routes(const struct vm_net_desc *d, bool with_gw, struct hull_error *e) {
  for (size_t i = 0; i < d->n; i++) {
    const struct vm_net_iface *f = &d->ifs[i];
    for (size_t k = 0; k < f->n_routes; k++) {
      const struct vm_net_route *rt = &f->routes[k];
      if (rt->has_gw != with_gw)
        continue;
      int r = nl_route_add(rt->family, rt->dst, rt->dst_len, rt->has_gw ? rt->gw : NULL,
                           f->name, e);
      if (r < 0 && r != -EEXIST)
        return r;
    }
  }
  return 0;
}

int guest_net_configure(const struct vm_net_desc *d, struct hull_error *e) {
  char names[VM_NET_MAX_IFACES][IF_NAMESIZE];
  int r = find_devices(d, names, e);
  if (r == 0)
    r = rename_devices(d, names, e);
  for (size_t i = 0; r == 0 && i < d->n; i++)
    r = configure(&d->ifs[i], e);
  if (r == 0)
    r = add_routes(d, false, e);
  if (r == 0)
    r = add_routes(d, true, e);
  return r;
}

/* A net.* sysctl of the container, in the guest's network namespace
 * (which is the container's). */
static int write_sysctl(const char *key, const char *value, struct hull_error *e) {
  size_t kl = strlen(key);
  if (kl < 5 || kl > 200 || (strncmp(key, "net.", 4) && strncmp(key, "net/", 4)))
    return hull_err(e, EINVAL, "net_sysctl: invalid name");
  for (size_t i = 0; i < kl; i++) {
    char c = key[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
          c == '_' || c == '-' || c == '.' || c == '/'))
      return hull_err(e, EINVAL, "net_sysctl: invalid name");
  }
  if (strnlen(value, SYSCTL_VALUE_MAX + 1) > SYSCTL_VALUE_MAX)
    return hull_err(e, EINVAL, "net_sysctl: %s: value too long", key);
  char path[256];
  int r = fs_sysctl_path(key, path, sizeof path);
  if (r < 0)
    return hull_err(e, EINVAL, "net_sysctl: %s: invalid name", key);
  r = fs_write_string(path, value);
  return r < 0 ? hull_errno(e, -r, "linux.sysctl: %s=%s", key, value) : 0;
}

int guest_net_setup(json_t *network, json_t *net_sysctl, struct hull_error *e) {
  if (network) {
    static struct vm_net_desc d; /* large: not on the stack */
    int r = vm_net_desc_parse(network, &d, e);
    if (r < 0)
      return r;
    if ((r = guest_net_configure(&d, e)) < 0)
      return r;
    gdebug("network: %zu interface(s) configured", d.n);
  }
  if (net_sysctl && !json_is_object(net_sysctl))
    return hull_err(e, EINVAL, "CREATE: net_sysctl: not an object");
  const char *k;
  json_t *v;
  json_object_foreach(net_sysctl, k, v) {
    if (!json_is_string(v))
      return hull_err(e, EINVAL, "net_sysctl: %s: not a string", k);
    int r = write_sysctl(k, json_string_value(v), e);
    if (r < 0)
      return r;
  }
  return 0;
}
