/* The container's root file system: the mounts of config.json placed
 * inside the root (destinations resolved with RESOLVE_IN_ROOT), /dev and
 * its devices, pivot_root, masked and read-only paths. */
#ifndef HULL_ROOTFS_H
#define HULL_ROOTFS_H

#include <stdbool.h>

#include "../spec/spec.h"
#include "cgroup.h"

struct rootfs_ctx {
  const struct spec *spec;
  const struct cgroup_set *cgroups;
  bool in_userns;       /* devices are bind-mounted, not created */
  int rootfd;           /* O_PATH of the bind-mounted root, set by prepare */
  /* Called once before the first sysfs mount (or at the end): the process
   * must be in its network namespace by then. */
  int (*enter_netns)(void *arg, struct hull_error *e);
  void *arg;
  bool netns_entered;
};

/* In the container's mount namespace, before pivot_root: propagation,
 * the root bind mount, every mount, /dev. */
int rootfs_prepare(struct rootfs_ctx *ctx, struct hull_error *e);
/* Call ctx->enter_netns unless that happened already. */
int rootfs_enter_netns(struct rootfs_ctx *ctx, struct hull_error *e);
/* pivot_root (or MS_MOVE + chroot with no_pivot) into the prepared root. */
int rootfs_pivot(struct rootfs_ctx *ctx, bool no_pivot, struct hull_error *e);
/* After pivot_root and sysctls: masked paths, read-only paths, read-only
 * root, final propagation. */
int rootfs_finish(struct rootfs_ctx *ctx, struct hull_error *e);

#endif
