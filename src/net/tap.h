/* Tap devices for VM networking: a tap is the host end of a guest's
 * virtio-net device; its descriptor goes to the VM monitor. */
#ifndef HULL_NET_TAP_H
#define HULL_NET_TAP_H

#include "../common/error.h"

/* Open /dev/net/tun. The tap it makes lives in the network namespace of
 * the caller at this moment, and the devices cgroup is checked now: open
 * before entering a container's cgroup. */
int tap_open(struct hull_error *e);
/* Make FD (from tap_open) the tap NAME (IFF_TAP|IFF_NO_PI, not
 * persistent: it goes away with the last descriptor), with MTU, up. */
int tap_create(int fd, const char *name, unsigned mtu, struct hull_error *e);

#endif
