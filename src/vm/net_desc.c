/* The network description of a VM container (see net_desc.h): written by
 * the host, read by hull-init, which trusts nothing in it. */
#include "net_desc.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

bool vm_net_ifname_ok(const char *name) {
  size_t n = strlen(name);
  if (!n || n >= IF_NAMESIZE || !strcmp(name, ".") || !strcmp(name, ".."))
    return false;
  for (size_t i = 0; i < n; i++) {
    char c = name[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
          c == '_' || c == '.' || c == '-'))
      return false;
  }
  return true;
}

void vm_net_mac_text(const uint8_t mac[6], char out[18]) {
  snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3],
           mac[4], mac[5]);
}

static size_t alen(int family) { return family == AF_INET ? 4 : 16; }

static json_t *prefix_json(int family, const uint8_t *a, unsigned prefix) {
  char text[INET6_ADDRSTRLEN], out[INET6_ADDRSTRLEN + 8];
  if (!inet_ntop(family, a, text, sizeof text))
    return NULL;
  snprintf(out, sizeof out, "%s/%u", text, prefix);
  return json_string(out);
}

json_t *vm_net_desc_to_json(const struct vm_net_desc *d) {
  json_t *ifs = json_array();
  for (size_t i = 0; ifs && i < d->n; i++) {
    const struct vm_net_iface *f = &d->ifs[i];
    char mac[18];
    vm_net_mac_text(f->mac, mac);
    json_t *addrs = json_array(), *routes = json_array();
    for (size_t k = 0; addrs && k < f->n_addrs; k++)
      json_array_append_new(addrs, prefix_json(f->addrs[k].family, f->addrs[k].addr,
                                               f->addrs[k].prefix));
    for (size_t k = 0; routes && k < f->n_routes; k++) {
      const struct vm_net_route *r = &f->routes[k];
      json_t *o = json_pack("{s:o}", "dst", prefix_json(r->family, r->dst, r->dst_len));
      char gw[INET6_ADDRSTRLEN];
      if (o && r->has_gw && inet_ntop(r->family, r->gw, gw, sizeof gw))
        json_object_set_new(o, "gateway", json_string(gw));
      json_array_append_new(routes, o);
    }
    json_array_append_new(ifs, json_pack("{s:s,s:s,s:I,s:o,s:o}", "name", f->name, "mac",
                                         mac, "mtu", (json_int_t)f->mtu, "addresses",
                                         addrs, "routes", routes));
  }
  return ifs ? json_pack("{s:o}", "interfaces", ifs) : NULL;
}

/* ---- the guest's side */

static int parse_mac(const char *s, uint8_t mac[6]) {
  if (strlen(s) != 17)
    return -1;
  for (int i = 0; i < 6; i++) {
    const char *p = s + 3 * i;
    unsigned v = 0;
    for (int k = 0; k < 2; k++) {
      char c = p[k];
      int d = c >= '0' && c <= '9' ? c - '0'
              : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                     : -1;
      if (d < 0)
        return -1;
      v = v * 16 + (unsigned)d;
    }
    if (i < 5 && p[2] != ':')
      return -1;
    mac[i] = (uint8_t)v;
  }
  return 0;
}

/* "ADDR" (prefix < 0) or "ADDR/PREFIX" */
static int parse_addr(const char *s, bool with_prefix, int *family, uint8_t *addr,
                      unsigned *prefix) {
  char buf[INET6_ADDRSTRLEN + 8];
  if (strlen(s) >= sizeof buf)
    return -1;
  strcpy(buf, s);
  char *slash = strchr(buf, '/');
  if (with_prefix != (slash != NULL))
    return -1;
  if (slash) {
    *slash = 0;
    const char *p = slash + 1;
    size_t n = strlen(p);
    if (!n || n > 3 || (n > 1 && p[0] == '0'))
      return -1;
    unsigned v = 0;
    for (size_t i = 0; i < n; i++) {
      if (p[i] < '0' || p[i] > '9')
        return -1;
      v = v * 10 + (unsigned)(p[i] - '0');
    }
    *prefix = v;
  }
  memset(addr, 0, 16);
  if (inet_pton(AF_INET, buf, addr) == 1)
    *family = AF_INET;
  else if (inet_pton(AF_INET6, buf, addr) == 1)
    *family = AF_INET6;
  else
    return -1;
  if (slash && *prefix > alen(*family) * 8)
    return -1;
  return 0;
}

static bool is_zero(const uint8_t *a, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (a[i])
      return false;
  return true;
}

/* No bits set beyond the prefix (what the kernel asks of a route). */
static bool prefix_clean(const uint8_t *a, size_t n, unsigned prefix) {
  for (size_t i = 0; i < n; i++) {
    unsigned from = (unsigned)i * 8;
    uint8_t keep = prefix >= from + 8 ? 0xff
                   : prefix <= from   ? 0
                                      : (uint8_t)(0xff << (8 - (prefix - from)));
    if (a[i] & (uint8_t)~keep)
      return false;
  }
  return true;
}

/* Reserved for the guest's own use or no interface's: loopback,
 * multicast, unspecified. */
static bool addr_usable(int family, const uint8_t *a) {
  if (family == AF_INET)
    return a[0] != 127 && a[0] < 224 && !is_zero(a, 4);
  static const uint8_t loop6[16] = {[15] = 1};
  return a[0] != 0xff && !is_zero(a, 16) && memcmp(a, loop6, 16);
}

static const char *str_field(json_t *o, const char *key) {
  return json_string_value(json_object_get(o, key));
}

/* Only the keys listed may be there. */
static bool keys_only(json_t *o, const char *const *keys) {
  const char *k;
  json_t *v;
  json_object_foreach(o, k, v) {
    bool known = false;
    for (size_t i = 0; keys[i]; i++)
      known |= !strcmp(k, keys[i]);
    if (!known)
      return false;
  }
  return true;
}

static int parse_iface(json_t *o, size_t i, struct vm_net_iface *f,
                       struct hull_error *e) {
  static const char *const keys[] = {"name", "mac", "mtu", "addresses", "routes", NULL};
  if (!json_is_object(o) || !keys_only(o, keys))
    return hull_err(e, EINVAL, "network: interfaces[%zu]: not an object of name, mac, "
                               "mtu, addresses, routes", i);
  const char *name = str_field(o, "name"), *mac = str_field(o, "mac");
  json_t *mtu = json_object_get(o, "mtu");
  if (!name || !vm_net_ifname_ok(name) || !strcmp(name, "lo"))
    return hull_err(e, EINVAL, "network: interfaces[%zu]: invalid name", i);
  snprintf(f->name, sizeof f->name, "%s", name);
  if (!mac || parse_mac(mac, f->mac) < 0 || (f->mac[0] & 1) || is_zero(f->mac, 6))
    return hull_err(e, EINVAL, "network: interface %s: invalid MAC (a unicast "
                               "aa:bb:cc:dd:ee:ff)", f->name);
  if (!json_is_integer(mtu) || json_integer_value(mtu) < VM_NET_MIN_MTU ||
      json_integer_value(mtu) > VM_NET_MAX_MTU)
    return hull_err(e, EINVAL, "network: interface %s: mtu: an integer from %d to %d",
                    f->name, VM_NET_MIN_MTU, VM_NET_MAX_MTU);
  f->mtu = (unsigned)json_integer_value(mtu);

  json_t *addrs = json_object_get(o, "addresses");
  if (addrs && !json_is_array(addrs))
    return hull_err(e, EINVAL, "network: interface %s: addresses: not an array", f->name);
  if (json_array_size(addrs) > VM_NET_MAX_ADDRS)
    return hull_err(e, EINVAL, "network: interface %s: more than %d addresses", f->name,
                    VM_NET_MAX_ADDRS);
  size_t k;
  json_t *v;
  json_array_foreach(addrs, k, v) {
    struct vm_net_addr *a = &f->addrs[f->n_addrs];
    const char *s = json_string_value(v);
    if (!s || parse_addr(s, true, &a->family, a->addr, &a->prefix) < 0 ||
        !addr_usable(a->family, a->addr))
      return hull_err(e, EINVAL, "network: interface %s: addresses[%zu]: not an "
                                 "address/prefix", f->name, k);
    f->n_addrs++;
  }

  json_t *routes = json_object_get(o, "routes");
  if (routes && !json_is_array(routes))
    return hull_err(e, EINVAL, "network: interface %s: routes: not an array", f->name);
  if (json_array_size(routes) > VM_NET_MAX_ROUTES)
    return hull_err(e, EINVAL, "network: interface %s: more than %d routes", f->name,
                    VM_NET_MAX_ROUTES);
  static const char *const rkeys[] = {"dst", "gateway", NULL};
  json_array_foreach(routes, k, v) {
    struct vm_net_route *r = &f->routes[f->n_routes];
    const char *dst = str_field(v, "dst");
    json_t *gwj = json_object_get(v, "gateway");
    if (!json_is_object(v) || !keys_only(v, rkeys) || !dst ||
        parse_addr(dst, true, &r->family, r->dst, &r->dst_len) < 0 ||
        !prefix_clean(r->dst, alen(r->family), r->dst_len))
      return hull_err(e, EINVAL, "network: interface %s: routes[%zu]: dst: not a "
                                 "network/prefix", f->name, k);
    if (gwj) {
      int fam;
      unsigned none;
      const char *gw = json_string_value(gwj);
      if (!gw || parse_addr(gw, false, &fam, r->gw, &none) < 0 || fam != r->family ||
          !addr_usable(fam, r->gw))
        return hull_err(e, EINVAL, "network: interface %s: routes[%zu]: gateway: not "
                                   "an address of the destination's family", f->name, k);
      r->has_gw = true;
    }
    f->n_routes++;
  }
  return 0;
}

int vm_net_desc_parse(json_t *j, struct vm_net_desc *d, struct hull_error *e) {
  memset(d, 0, sizeof *d);
  static const char *const keys[] = {"interfaces", NULL};
  json_t *ifs = json_object_get(j, "interfaces");
  if (!json_is_object(j) || !keys_only(j, keys) || !json_is_array(ifs))
    return hull_err(e, EINVAL, "network: not an object with an interfaces array");
  if (json_array_size(ifs) > VM_NET_MAX_IFACES)
    return hull_err(e, EINVAL, "network: more than %d interfaces", VM_NET_MAX_IFACES);
  size_t i;
  json_t *o;
  json_array_foreach(ifs, i, o) {
    struct vm_net_iface *f = &d->ifs[d->n];
    int r = parse_iface(o, i, f, e);
    if (r < 0) {
      memset(d, 0, sizeof *d);
      return r;
    }
    for (size_t k = 0; k < d->n; k++)
      if (!strcmp(d->ifs[k].name, f->name) || !memcmp(d->ifs[k].mac, f->mac, 6)) {
        hull_err(e, EINVAL, "network: interface %s: name or MAC given twice", f->name);
        memset(d, 0, sizeof *d);
        return -EINVAL;
      }
    d->n++;
  }
  return 0;
}
