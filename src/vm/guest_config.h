/* The config.json a VM guest gets, and the bind mounts it needs shared. */
#ifndef HULL_VM_GUEST_CONFIG_H
#define HULL_VM_GUEST_CONFIG_H

#include <jansson.h>

#include "supervisor.h"

/* Where hull-init mounts the shares in the guest. */
#define VM_GUEST_ROOTFS "/run/hull/rootfs"
#define VM_GUEST_BINDS "/run/hull/binds"

struct vm_guest_plan {
  json_t *create_msg;   /* the CREATE payload */
  struct vm_bind *binds;
  size_t n_binds;
};

int vm_guest_config(struct container *c, struct vm_guest_plan *p,
                    struct hull_error *e);
void vm_guest_plan_free(struct vm_guest_plan *p);
void vm_binds_free(struct vm_bind *b, size_t n);

#endif
