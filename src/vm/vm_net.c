/* The host's side of a VM container's network (see vm_net.h). */
#include "vm_net.h"

#include <fcntl.h>
#include <linux/rtnetlink.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/cleanup.h"
#include "../common/log.h"
#include "../net/netlink.h"
#include "../net/tap.h"

/* ---- in another network namespace, for one call */

typedef int (*ns_fn)(void *arg, struct hull_error *e);

static int in_netns(int netns_fd, ns_fn fn, void *arg, struct hull_error *e) {
  /* the thread's own (setns changes the calling thread only) */
  _cleanup_close_ int own = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (own < 0)
    return hull_errno(e, errno, "network namespace: /proc/thread-self/ns/net");
  if (setns(netns_fd, CLONE_NEWNET) < 0)
    return hull_errno(e, errno, "join the container's network namespace");
  int r = fn(arg, e);
  if (setns(own, CLONE_NEWNET) < 0) {
    /* staying in the container's namespace would be worse than dying */
    log_error("return to the runtime's network namespace: %s", strerror(errno));
    abort();
  }
  return r;
}

/* ---- the description */

static bool wanted(const struct nl_link *l, const struct nl_addr *addrs, size_t n_addrs) {
  /* Ethernet-like links only: loopback stays the guest's own, taps
   * (another VM's, or ours) are not forwarded into a guest */
  if ((l->flags & IFF_LOOPBACK) || !l->has_mac || !strcmp(l->kind, "tun"))
    return false;
  if (l->flags & IFF_UP)
    return true;
  for (size_t i = 0; i < n_addrs; i++)
    if (addrs[i].index == l->index)
      return true;
  return false;
}

static int describe_link(const struct nl_link *l, const struct nl_addr *addrs,
                         size_t n_addrs, const struct nl_route *routes, size_t n_routes,
                         struct vm_net_iface *f, struct hull_error *e) {
  snprintf(f->name, sizeof f->name, "%s", l->name);
  if (!vm_net_ifname_ok(f->name))
    return hull_err(e, EINVAL, "interface \"%s\": a name the VM cannot take", l->name);
  memcpy(f->mac, l->mac, 6);
  f->mtu = l->mtu < VM_NET_MIN_MTU ? VM_NET_MIN_MTU
           : l->mtu > VM_NET_MAX_MTU ? VM_NET_MAX_MTU
                                     : l->mtu;
  for (size_t i = 0; i < n_addrs; i++) {
    const struct nl_addr *a = &addrs[i];
    /* global addresses: the guest makes its own link-local ones (the
     * same, from the same MAC) */
    if (a->index != l->index || a->scope != RT_SCOPE_UNIVERSE)
      continue;
    if (f->n_addrs == VM_NET_MAX_ADDRS)
      return hull_err(e, E2BIG, "interface %s: more than %d addresses for the VM",
                      l->name, VM_NET_MAX_ADDRS);
    struct vm_net_addr *o = &f->addrs[f->n_addrs++];
    o->family = a->family;
    memcpy(o->addr, a->addr, 16);
    o->prefix = a->prefix;
  }
  for (size_t i = 0; i < n_routes; i++) {
    const struct nl_route *r = &routes[i];
    /* the routes of the addresses themselves come back with them */
    if (r->oif != l->index || r->protocol == RTPROT_KERNEL)
      continue;
    if (f->n_routes == VM_NET_MAX_ROUTES)
      return hull_err(e, E2BIG, "interface %s: more than %d routes for the VM", l->name,
                      VM_NET_MAX_ROUTES);
    struct vm_net_route *o = &f->routes[f->n_routes++];
    o->family = r->family;
    memcpy(o->dst, r->dst, 16);
    o->dst_len = r->dst_len;
    memcpy(o->gw, r->gw, 16);
    o->has_gw = r->has_gw;
  }
  return 0;
}

static int describe(struct vm_net *n, struct nl_link **links, size_t *n_links,
                    struct hull_error *e) {
  struct nl_addr *addrs = NULL;
  struct nl_route *r4 = NULL, *r6 = NULL, *routes = NULL;
  size_t n_addrs = 0, n4 = 0, n6 = 0;
  int r = nl_link_list(links, n_links, e);
  if (r == 0)
    r = nl_addr_list(AF_UNSPEC, &addrs, &n_addrs, e);
  if (r == 0)
    r = nl_route_list(AF_INET, &r4, &n4, e);
  if (r == 0)
    r = nl_route_list(AF_INET6, &r6, &n6, e);
  if (r == 0 && !(routes = calloc(n4 + n6 + 1, sizeof *routes)))
    r = hull_err(e, ENOMEM, "routes");
  if (r == 0) {
    if (n4)
      memcpy(routes, r4, n4 * sizeof *routes);
    if (n6)
      memcpy(routes + n4, r6, n6 * sizeof *routes);
  }
  for (size_t i = 0; r == 0 && i < *n_links; i++) {
    const struct nl_link *l = &(*links)[i];
    if (!wanted(l, addrs, n_addrs))
      continue;
    if (n->desc.n == VM_NET_MAX_IFACES) {
      r = hull_err(e, E2BIG, "network namespace: more than %d interfaces for the VM",
                   VM_NET_MAX_IFACES);
      break;
    }
    r = describe_link(l, addrs, n_addrs, routes, n4 + n6, &n->desc.ifs[n->desc.n], e);
    if (r == 0)
      n->desc.n++;
  }
  free(addrs);
  free(r4);
  free(r6);
  free(routes);
  return r;
}

/* ---- taps and redirection */

/* Undo what was made: the host side's ingress qdisc (its filter goes
 * with it) and the tap (with its own). An ingress qdisc that was there
 * before is not ours to remove. */
static void undo(struct vm_net *n) {
  for (size_t i = 0; i < VM_NET_MAX_IFACES; i++) {
    struct hull_error e;
    if (n->qdisc_made[i] && nl_tc_ingress_del(n->desc.ifs[i].name, &e) < 0)
      log_warn("%s", e.msg);
    if (n->tap_made[i] && nl_link_del_name(n->taps[i], &e) < 0)
      log_warn("%s", e.msg);
    n->qdisc_made[i] = n->tap_made[i] = false;
  }
}

static int connect_tap(struct vm_net *n, size_t i, struct hull_error *e) {
  const char *host = n->desc.ifs[i].name, *tap = n->taps[i];
  /* the interface's ingress first: taken, it says why (another VM
   * container here would also hold the tap's name) */
  int r = nl_tc_ingress_add(host, e);
  if (r == -EEXIST)
    r = hull_err(e, EEXIST, "interface %s: has an ingress qdisc already (is another VM "
                            "container using this network namespace?)", host);
  n->qdisc_made[i] = r == 0;
  if (r == 0) {
    r = tap_create(n->fds[i], tap, n->desc.ifs[i].mtu, e);
    /* (a tap that failed after it was made goes with its descriptor) */
    n->tap_made[i] = r == 0;
  }
  if (r == 0)
    r = nl_tc_redirect_add(host, tap, e);
  if (r == 0)
    r = nl_tc_ingress_add(tap, e);
  if (r == 0)
    r = nl_tc_redirect_add(tap, host, e);
  return r;
}

static int setup_here(void *arg, struct hull_error *e) {
  struct vm_net *n = arg;
  struct nl_link *links = NULL;
  size_t n_links = 0;
  int r = describe(n, &links, &n_links, e);
  free(links);
  if (r < 0)
    return r;
  for (size_t i = 0; i < n->desc.n; i++) {
    snprintf(n->taps[i], sizeof n->taps[i], "tap%zu_hull", i);
    /* opened in the container's namespace: the tap is made there */
    if ((n->fds[i] = tap_open(e)) < 0) {
      r = n->fds[i];
      break;
    }
    if ((r = connect_tap(n, i, e)) < 0)
      break;
    log_debug("VM network: %s <-> %s", n->desc.ifs[i].name, n->taps[i]);
  }
  if (r < 0) {
    vm_net_close(n); /* first: a tap goes with its descriptor */
    undo(n);
    return r;
  }
  n->n = n->desc.n;
  return 0;
}

int vm_net_setup(int netns_fd, struct vm_net *n, struct hull_error *e) {
  memset(n, 0, sizeof *n);
  for (size_t i = 0; i < VM_NET_MAX_IFACES; i++)
    n->fds[i] = -1;
  int r = in_netns(netns_fd, setup_here, n, e);
  return r < 0 ? hull_err_prefix(e, "VM network") : 0;
}

void vm_net_close(struct vm_net *n) {
  for (size_t i = 0; i < VM_NET_MAX_IFACES; i++)
    if (n->fds[i] >= 0) {
      close(n->fds[i]);
      n->fds[i] = -1;
    }
}

static int undo_here(void *arg, struct hull_error *e) {
  (void)e;
  undo(arg);
  return 0;
}

void vm_net_teardown_in(int netns_fd, struct vm_net *n) {
  struct hull_error e;
  if (n->n && in_netns(netns_fd, undo_here, n, &e) < 0)
    log_warn("VM network: %s", e.msg);
  n->n = 0;
}

/* ---- the record */

json_t *vm_net_record(const struct vm_net *n, const char *netns_path, int netns_fd) {
  struct stat st;
  if (fstat(netns_fd, &st) < 0)
    return NULL;
  json_t *links = json_array();
  for (size_t i = 0; links && i < n->n; i++)
    json_array_append_new(links, json_pack("{s:s,s:s}", "host", n->desc.ifs[i].name,
                                           "tap", n->taps[i]));
  return json_pack("{s:s,s:I,s:I,s:o}", "netns", netns_path, "dev",
                   (json_int_t)st.st_dev, "ino", (json_int_t)st.st_ino, "links", links);
}

int vm_net_teardown(json_t *record, struct hull_error *e) {
  int ret = 0;
  size_t i;
  json_t *l;
  json_array_foreach(json_object_get(record, "links"), i, l) {
    const char *host = json_string_value(json_object_get(l, "host"));
    const char *tap = json_string_value(json_object_get(l, "tap"));
    int r;
    if (host && vm_net_ifname_ok(host) && (r = nl_tc_ingress_del(host, e)) < 0)
      ret = r;
    if (tap && vm_net_ifname_ok(tap) && (r = nl_link_del_name(tap, e)) < 0)
      ret = r;
  }
  return ret;
}

static int teardown_here(void *arg, struct hull_error *e) {
  return vm_net_teardown(arg, e);
}

int vm_net_teardown_record(json_t *record, struct hull_error *e) {
  const char *path = json_string_value(json_object_get(record, "netns"));
  if (!path)
    return 0;
  _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  /* gone, or the path names another namespace now: nothing of ours there */
  if (fd < 0 || fstat(fd, &st) < 0 ||
      (json_int_t)st.st_dev != json_integer_value(json_object_get(record, "dev")) ||
      (json_int_t)st.st_ino != json_integer_value(json_object_get(record, "ino")))
    return 0;
  int r = in_netns(fd, teardown_here, record, e);
  return r < 0 ? hull_err_prefix(e, "VM network") : 0;
}
