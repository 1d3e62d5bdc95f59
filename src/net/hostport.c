/* Host ports held for published ports (see hostport.h). */
#include "hostport.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int hostport_reserve(const char *ip, unsigned port, const char *proto, int *fd,
                     unsigned *actual, struct hull_error *e) {
  bool udp = !strcmp(proto, "udp");
  struct sockaddr_storage ss = {0};
  socklen_t sl;
  int af;
  const char *shown = ip && *ip ? ip : "0.0.0.0";
  struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
  struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
  if (inet_pton(AF_INET, shown, &a4->sin_addr) == 1) {
    af = a4->sin_family = AF_INET;
    a4->sin_port = htons((uint16_t)port);
    sl = sizeof *a4;
  } else if (inet_pton(AF_INET6, shown, &a6->sin6_addr) == 1) {
    af = a6->sin6_family = AF_INET6;
    a6->sin6_port = htons((uint16_t)port);
    sl = sizeof *a6;
  } else {
    return hull_err(e, EINVAL, "host address %s: not an IP address", shown);
  }
  int s = socket(af, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
  if (s < 0)
    return hull_errno(e, errno, "port %u/%s on %s", port, proto, shown);
  int one = 1;
  /* TCP: a connection of an earlier holder in TIME_WAIT is no conflict */
  if (!udp)
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (af == AF_INET6)
    setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (bind(s, (struct sockaddr *)&ss, sl) < 0) {
    int err = errno;
    close(s);
    if (err == EADDRINUSE)
      return hull_err(e, err, "host port %u/%s on %s: already in use", port, proto, shown);
    return hull_errno(e, err, "host port %u/%s on %s", port, proto, shown);
  }
  /* listening: a bound socket alone does not keep another SO_REUSEADDR
   * socket off the port; the DNAT rule sees connections first, so none
   * ever reaches this one */
  if (!udp && listen(s, 1) < 0) {
    int err = errno;
    close(s);
    if (err == EADDRINUSE)
      return hull_err(e, err, "host port %u/%s on %s: already in use", port, proto, shown);
    return hull_errno(e, err, "host port %u/%s on %s", port, proto, shown);
  }
  sl = sizeof ss;
  getsockname(s, (struct sockaddr *)&ss, &sl);
  *actual = ntohs(af == AF_INET ? a4->sin_port : a6->sin6_port);
  *fd = s;
  return 0;
}
