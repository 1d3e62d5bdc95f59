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
  size_t base;      /* length of the hierarchy's mount point in path */
};

struct cgroup_set {
  struct cgroup_dir *dirs;
  size_t n;
};

enum { CGROUP_V1 = 1, CGROUP_V2 = 2, CGROUP_ALL = 3 };

/* Resolve linux.cgroupsPath (absolute, relative to the runtime's own
 * cgroup, or systemd's "slice:prefix:name") into one directory per mounted
 * hierarchy, without creating anything. */
int cgroup_plan(const char *cgroups_path, const char *id, struct cgroup_set *out,
                struct hull_error *e);
/* cgroup_plan over the given texts of /proc/self/mountinfo and
 * /proc/self/cgroup (NUL-terminated; self_cgroup may be NULL): for tests
 * and fuzzing of the parsing. */
int cgroup_plan_from(const char *mountinfo, const char *self_cgroup,
                     const char *cgroups_path, const char *id,
                     struct cgroup_set *out, struct hull_error *e);
/* Create the directories of the set (WHICH: CGROUP_V1, _V2, _ALL). The
 * runtime makes the v1 ones while the container process builds its root
 * file system: mkdir in a cgroup file system is slow (~40 us each). */
int cgroup_make(const struct cgroup_set *s, int which, struct hull_error *e);
/* Move pid into the directories of the set (WHICH: CGROUP_V1, _V2, _ALL). Moving another process takes the kernel's global threadgroup
 * lock for writing, which waits for an RCU grace period: 10-20 ms. */
int cgroup_enter(const struct cgroup_set *s, pid_t pid, int which,
                 struct hull_error *e);
/* Move the calling single-threaded process into the set's v1 hierarchies
 * through their `tasks` files with "0": the kernel skips the global lock
 * for a thread that moves itself, so this costs microseconds. v2 has no
 * such path: use clone3(CLONE_INTO_CGROUP) with cgroup_v2_open(). */
int cgroup_enter_self_v1(const struct cgroup_set *s, struct hull_error *e);
/* An fd of the set's cgroup2 directory for CLONE_INTO_CGROUP, or -1. */
int cgroup_v2_open(const struct cgroup_set *s);
/* Remove the directories (processes must be gone). */
int cgroup_destroy(const struct cgroup_set *s, struct hull_error *e);
/* Pids in the container's cgroup (caller frees *pids). */
int cgroup_pids(const struct cgroup_set *s, pid_t **pids, size_t *n);
/* The directory of a hierarchy holding CONTROLLER ("" for cgroup2). */
const char *cgroup_dir_for(const struct cgroup_set *s, const char *controller);

json_t *cgroup_set_to_json(const struct cgroup_set *s);
/* The set recorded in a container's driver data ({"cgroups": [...]}); an
 * empty set when there is none. */
int cgroup_set_load(json_t *driver_data, struct cgroup_set *out);
int cgroup_set_from_json(json_t *j, struct cgroup_set *out);
void cgroup_set_free(struct cgroup_set *s);

/* The container's cgroup view at DEST inside the root: its cgroup2
 * directory on v2 hosts, a tmpfs with one bind mount per hierarchy on
 * v1/hybrid (see cgroup.c for why bind mounts). */
int cgroup_mount_in_container(int rootfd, const char *dest, unsigned long flags,
                              const struct cgroup_set *s, struct hull_error *e);

#endif
