/* The process isolation driver: the container is a process tree in its
 * own namespaces on the host kernel. */
#ifndef HULL_PROCESS_H
#define HULL_PROCESS_H

#include "../runtime/container.h"
#include "cgroup.h"
#include "namespaces.h"

/* What the runtime hands to the container process it creates. */
struct init_args {
  struct container *c;
  const struct create_opts *o;
  const struct cgroup_set *cgroups;
  struct ns_plan *ns;
  unsigned unshare_flags; /* namespaces the child creates itself */
  bool double_fork;       /* pid namespace made after joining a user ns */
  int sync_fd;            /* child end of the set-up channel */
  int start_fd;           /* listening start socket (create), or -1 (run) */
  int console_fd;         /* connected console socket, or -1 */
  pid_t runtime_pid;
};

/* The container's init: never returns. */
__attribute__((noreturn)) void process_init(struct init_args *a);

/* In-memory state of a container created by this very process (run). */
struct process_priv {
  int sync_fd;    /* start over this channel instead of the start socket */
};

int process_exec(struct container *c, const struct exec_opts *o,
                 struct hull_error *e);

#endif
