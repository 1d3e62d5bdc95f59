/* Host ports held for a container's published ports. The portmap plugin
 * forwards with iptables DNAT, which never looks at sockets: without a
 * holder two containers (or a host service and a container) could
 * claim the same port and one would silently win. hull holds the port
 * (a listening socket that never accepts) while the container runs, as
 * podman does:
 * a port already in use is an error at start, and port 0 gets a free
 * port from the kernel (-P). */
#ifndef HULL_NET_HOSTPORT_H
#define HULL_NET_HOSTPORT_H

#include "../common/error.h"

/* Bind ip ("" = every IPv4 address) and port (0 = any free one) for
 * proto "tcp"/"udp"; *fd gets the socket (close-on-exec), *actual the
 * port bound. */
int hostport_reserve(const char *ip, unsigned port, const char *proto, int *fd,
                     unsigned *actual, struct hull_error *e);

#endif
