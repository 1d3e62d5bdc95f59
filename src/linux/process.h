/* The process isolation driver: the container is a process tree in its
 * own namespaces on the host kernel. */
#ifndef HULL_PROCESS_H
#define HULL_PROCESS_H

#include "../runtime/container.h"
#include "cgroup.h"
#include "namespaces.h"

struct seccomp_plan;

/* What the runtime hands to the container process it creates. */
struct init_args {
  struct container *c;
  const struct create_opts *o;
  const struct cgroup_set *cgroups;
  struct ns_plan *ns;
  unsigned unshare_flags; /* namespaces the child creates itself */
  bool double_fork;       /* pid namespace made after joining a user ns */
  bool make_cgroups;      /* make the v1 cgroups itself */
  bool join_cgroups_v1;   /* move itself into the v1 hierarchies */
  bool unshare_cgroupns;  /* once in its cgroups */
  bool wait_netns;        /* the runtime sends its network namespace */
  int sync_fd;            /* child end of the set-up channel */
  int start_fd;           /* listening start socket (create), or -1 (run) */
  int console_fd;         /* connected console socket, or -1 */
  const struct seccomp_plan *seccomp; /* linux.seccomp compiled, or NULL */
};

/* The container's init: never returns. */
__attribute__((noreturn)) void process_init(struct init_args *a);

/* In-memory state of a container created by this very process (run). */
struct process_priv {
  int sync_fd;    /* start over this channel instead of the start socket */
};

int process_exec(struct container *c, const struct exec_opts *o,
                 struct hull_error *e);

/* fork() with namespaces (CLONE_NEW*) and, given a cgroup2 directory fd,
 * born in that cgroup (CLONE_INTO_CGROUP, no migration). If the kernel
 * refuses CLONE_INTO_CGROUP, *cgroup_fd is closed and set to -1 and the
 * child is made without it. */
pid_t process_clone(unsigned flags, int *cgroup_fd);

#endif
