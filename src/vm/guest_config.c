/* The container's config as the guest sees it. The bundle's config.json
 * names host paths and host namespaces; inside the VM the root file system
 * and the bind mounts come from shares, namespaces are the guest's own,
 * hooks ran on the host already, and the LSMs are the host's (the guest
 * kernel has none: the VM is the boundary). The network is the guest's
 * root network namespace, which hull-init configures as the container's
 * namespace on the host is (vm_net.h): the container joins no network
 * namespace of its own in the guest, and its net.* sysctls are applied by
 * hull-init there ("net_sysctl" in CREATE). */
#include "guest_config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../runtime/container.h"

static bool has_option(json_t *mount, const char *opt) {
  size_t i;
  json_t *o;
  json_array_foreach(json_object_get(mount, "options"), i, o) {
    const char *s = json_string_value(o);
    if (s && !strcmp(s, opt))
      return true;
  }
  return false;
}

static bool is_bind(json_t *mount) {
  const char *type = json_string_value(json_object_get(mount, "type"));
  return (type && !strcmp(type, "bind")) || has_option(mount, "bind") ||
         has_option(mount, "rbind");
}

/* A namespace joined by path on the host is the container's own new one
 * in the guest (the host's namespaces do not exist there); the network
 * namespace is the guest's root one. */
static json_t *guest_namespaces(json_t *list) {
  json_t *out = json_array();
  size_t i;
  json_t *ns;
  json_array_foreach(list, i, ns) {
    const char *type = json_string_value(json_object_get(ns, "type"));
    if (type && strcmp(type, "network"))
      json_array_append_new(out, json_pack("{s:s}", "type", type));
  }
  return out;
}

/* linux.sysctl without the net.* keys, which go to *net. */
static json_t *split_sysctl(json_t *sysctl, json_t *net) {
  json_t *rest = json_object();
  const char *k;
  json_t *v;
  json_object_foreach(sysctl, k, v) {
    json_object_set(!strncmp(k, "net.", 4) || !strncmp(k, "net/", 4) ? net : rest, k, v);
  }
  return rest;
}

/* The limits the guest applies to the container itself: memory, pids and
 * devices. CPU limits are the VM's vCPUs and the host cgroup's quota;
 * block I/O, hugepages and network classes are the host's business. */
static json_t *guest_resources(json_t *res) {
  json_t *out = json_object();
  static const char *const keep[] = {"memory", "pids", "devices"};
  for (size_t i = 0; i < sizeof keep / sizeof *keep; i++) {
    json_t *v = json_object_get(res, keep[i]);
    if (v)
      json_object_set(out, keep[i], v);
  }
  return out;
}

void vm_binds_free(struct vm_bind *b, size_t n) {
  for (size_t i = 0; i < n; i++)
    free(b[i].source);
  free(b);
}

int vm_guest_config(struct container *c, struct vm_guest_plan *p,
                    struct hull_error *e) {
  memset(p, 0, sizeof *p);
  json_t *spec = c->spec.json;
  json_t *seccomp = json_object_get(json_object_get(spec, "linux"), "seccomp");
  if (json_object_get(seccomp, "listenerPath"))
    return hull_err(e, ENOTSUP,
                    "linux.seccomp.listenerPath: not supported with VM isolation "
                    "(the filter runs in the guest's kernel)");
  json_t *cfg = json_deep_copy(spec);
  if (!cfg)
    return hull_err(e, ENOMEM, "config.json");
  json_object_del(cfg, "hooks");
  json_t *proc = json_object_get(cfg, "process");
  json_object_del(proc, "apparmorProfile");
  json_object_del(proc, "selinuxLabel");
  json_t *lx = json_object_get(cfg, "linux");
  json_t *net_sysctl = json_object();
  if (lx) {
    if (json_object_get(lx, "sysctl"))
      json_object_set_new(lx, "sysctl",
                          split_sysctl(json_object_get(lx, "sysctl"), net_sysctl));
    json_object_del(lx, "mountLabel");
    json_object_del(lx, "intelRdt");
    json_object_set_new(lx, "cgroupsPath", json_string("/container"));
    json_object_set_new(lx, "namespaces",
                        guest_namespaces(json_object_get(lx, "namespaces")));
    if (json_object_get(lx, "resources"))
      json_object_set_new(lx, "resources",
                          guest_resources(json_object_get(lx, "resources")));
  }
  json_object_set_new(cfg, "root",
                      json_pack("{s:s,s:b}", "path", VM_GUEST_ROOTFS, "readonly",
                                c->spec.root_readonly));

  json_t *mounts = json_object_get(cfg, "mounts");
  size_t i;
  json_t *m;
  json_array_foreach(mounts, i, m) {
    if (!is_bind(m))
      continue;
    const char *src = json_string_value(json_object_get(m, "source"));
    if (!src) {
      json_decref(cfg);
      json_decref(net_sysctl);
      vm_binds_free(p->binds, p->n_binds);
      return hull_err(e, EINVAL, "mounts[%zu]: a bind mount needs a source", i);
    }
    struct vm_bind *nb = realloc(p->binds, (p->n_binds + 1) * sizeof *nb);
    if (!nb) {
      json_decref(cfg);
      json_decref(net_sysctl);
      vm_binds_free(p->binds, p->n_binds);
      return hull_err(e, ENOMEM, "mounts");
    }
    p->binds = nb;
    struct vm_bind *b = &p->binds[p->n_binds];
    memset(b, 0, sizeof *b);
    if (src[0] == '/')
      b->source = strdup(src);
    else if (asprintf(&b->source, "%s/%s", c->bundle, src) < 0)
      b->source = NULL;
    snprintf(b->name, sizeof b->name, "m%zu", p->n_binds);
    b->readonly = has_option(m, "ro");
    p->n_binds++;
    char guest[64];
    snprintf(guest, sizeof guest, "%s/%s", VM_GUEST_BINDS, b->name);
    json_object_set_new(m, "source", json_string(guest));
  }

  json_t *shares = json_array();
  json_array_append_new(shares, json_pack("{s:s,s:s}", "tag", "rootfs", "path",
                                          VM_GUEST_ROOTFS));
  if (p->n_binds)
    json_array_append_new(shares, json_pack("{s:s,s:s}", "tag", "binds", "path",
                                            VM_GUEST_BINDS));
  p->create_msg = json_pack("{s:s,s:o,s:o,s:o}", "id", c->id, "config", cfg,
                            "shares", shares, "net_sysctl", net_sysctl);
  if (!p->create_msg) {
    vm_binds_free(p->binds, p->n_binds);
    return hull_err(e, ENOMEM, "config.json");
  }
  return 0;
}

void vm_guest_plan_free(struct vm_guest_plan *p) {
  json_decref(p->create_msg);
  vm_binds_free(p->binds, p->n_binds);
  memset(p, 0, sizeof *p);
}
