/* Network namespaces kept by a file: a new namespace bind-mounted on
 * <dir>/<name> (as `ip netns add` and podman do), so it outlives the
 * container's processes: CNI ADD runs before the container exists, DEL
 * after it ended (or after a crash), on the same namespace. */
#ifndef HULL_NET_NETNS_H
#define HULL_NET_NETNS_H

#include "../common/error.h"

/* Create <dir>/<name> (dir made 0700 if missing) holding a new network
 * namespace with its loopback up. An existing file is an error. */
int netns_create(const char *dir, const char *name, struct hull_error *e);
/* Unmount and remove path, and its directory when it was the last; a
 * missing file is not an error. */
int netns_remove(const char *path, struct hull_error *e);
/* Whether path holds a network namespace (a mounted nsfs file). */
int netns_is_mounted(const char *path);

#endif
