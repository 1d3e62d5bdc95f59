/* cgroups on every layout a Linux host has: v1 (a hierarchy per
 * controller), v2 (unified) and hybrid (v1 controllers plus a cgroup2
 * mount). A container's cgroup is one directory in each mounted hierarchy;
 * the set of directories is recorded in the container's state so exec,
 * kill --all and delete find them again without re-deriving anything. */
#ifndef HULL_CGROUP_H
#define HULL_CGROUP_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "../common/error.h"

struct cgroup_dir {
  char *path;       /* /sys/fs/cgroup/memory/hull/c1 */
  char *controllers;/* "memory", "cpu,cpuacct", "" for cgroup2 */
  bool v2;
};

struct cgroup_set {
  struct cgroup_dir *dirs;
  size_t n;
};

/* Resolve linux.cgroupsPath (absolute, relative to the runtime's own
 * cgroup, or systemd's "slice:prefix:name") and create the directories. */
int cgroup_create(const char *cgroups_path, const char *id,
                  struct cgroup_set *out, struct hull_error *e);
/* Move pid into every directory of the set. */
int cgroup_enter(const struct cgroup_set *s, pid_t pid, struct hull_error *e);
/* Remove the directories (processes must be gone). */
int cgroup_destroy(const struct cgroup_set *s, struct hull_error *e);
/* Pids in the container's cgroup (caller frees *pids). */
int cgroup_pids(const struct cgroup_set *s, pid_t **pids, size_t *n);
/* The directory of a hierarchy holding CONTROLLER ("" for cgroup2). */
const char *cgroup_dir_for(const struct cgroup_set *s, const char *controller);

json_t *cgroup_set_to_json(const struct cgroup_set *s);
int cgroup_set_from_json(json_t *j, struct cgroup_set *out);
void cgroup_set_free(struct cgroup_set *s);

/* Mount a cgroup file system view at target (an O_PATH fd path inside the
 * container's root): cgroup2 on v2 hosts, a tmpfs with one mount per
 * hierarchy on v1/hybrid. */
int cgroup_mount_in_container(int rootfd, const char *dest, unsigned long flags,
                              const struct cgroup_set *s, bool own_cgroupns,
                              struct hull_error *e);

#endif
