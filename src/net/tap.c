/* Tap devices (see tap.h). */
#include "tap.h"

#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "netlink.h"

int tap_open(struct hull_error *e) {
  int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
  return fd < 0 ? hull_errno(e, errno, "tap: /dev/net/tun") : fd;
}

int tap_create(int fd, const char *name, unsigned mtu, struct hull_error *e) {
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  if (strlen(name) >= sizeof ifr.ifr_name)
    return hull_err(e, EINVAL, "tap %s: name too long", name);
  snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", name);
  /* with the virtio-net header (QEMU probes it on the fd) QEMU passes checksum and
   * segmentation offloads to the guest: 64 KiB segments cross the tap
   * whole instead of being cut into MTU-sized frames first */
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
  if (ioctl(fd, TUNSETIFF, &ifr) < 0)
    return hull_errno(e, errno, "tap %s: create", name);
  int r = nl_link_set_mtu(name, mtu, e);
  if (r == 0)
    r = nl_link_set_up(name, true, e);
  return r;
}
