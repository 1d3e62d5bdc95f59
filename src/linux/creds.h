/* The process side of a container: rlimits, oom_score_adj, user and
 * groups, capabilities, no_new_privileges, umask, cwd, and the final exec
 * with the container's PATH. Shared by container init and exec. */
#ifndef HULL_CREDS_H
#define HULL_CREDS_H

#include "../spec/spec.h"

/* Needs privileges in the container: call before creds_apply. */
int creds_set_rlimits(const struct spec_process *p, struct hull_error *e);
int creds_set_oom_score_adj(const struct spec_process *p, struct hull_error *e);

/* Bounding set, groups, uid/gid, capabilities (all five sets), umask and
 * no_new_privileges, in the order that keeps the needed privileges until
 * the end. */
int creds_apply(const struct spec_process *p, struct hull_error *e);

/* execve args[0] searched in the PATH of p->env, like a shell would.
 * Returns only on failure, with e filled. */
int creds_exec(const struct spec_process *p, struct hull_error *e);

#endif
