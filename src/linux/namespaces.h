/* Namespaces of a container: which are new, which are joined by path,
 * user and group id maps, time offsets. */
#ifndef HULL_NAMESPACES_H
#define HULL_NAMESPACES_H

#include <stdbool.h>
#include <sys/types.h>

#include "../spec/spec.h"

struct ns_plan {
  unsigned new_flags;      /* CLONE_NEW* of namespaces to create */
  int join_fds[NS_COUNT];  /* open namespace files to join, or -1 */
  unsigned listed_flags;   /* every namespace the config lists */
};

/* Open the namespace paths of the config and compute the flags. */
int ns_plan_make(const struct spec *s, struct ns_plan *p, struct hull_error *e);
void ns_plan_close(struct ns_plan *p);

/* Write /proc/PID/{uid_map,gid_map} from the config's mappings. */
int ns_write_id_maps(pid_t pid, const struct spec *s, struct hull_error *e);

/* Write the time namespace offsets of the calling process's new time
 * namespace (before any process enters it). */
int ns_write_time_offsets(const struct spec *s, struct hull_error *e);

#endif
