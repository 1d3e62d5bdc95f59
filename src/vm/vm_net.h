/* The network of a VM container, on the host (Kata's "tcfilter" model):
 * for each interface of the container's network namespace (the CNI veth
 * eth0, typically) a tap in the same namespace, and tc filters that move
 * every frame between the two: what arrives on eth0 goes out of the tap
 * to the guest, what the guest sends goes out of eth0. The guest's
 * virtio-net device gets eth0's MAC, and hull-init gives it eth0's
 * addresses and routes (net_desc.h). Nothing changes in the namespace but
 * the taps and the ingress qdiscs, which teardown removes again, so the
 * engine finds the namespace as it made it (CNI DEL, another start). */
#ifndef HULL_VM_NET_H
#define HULL_VM_NET_H

#include <jansson.h>

#include "net_desc.h"

/* In the container's state directory: what setup added, for the
 * supervisor to remove when it ends, or `delete` after a crash. */
#define VM_NET_FILE "vm-net.json"

struct vm_net {
  struct vm_net_desc desc;           /* for the guest, in device order */
  char taps[VM_NET_MAX_IFACES][IF_NAMESIZE];
  int fds[VM_NET_MAX_IFACES];        /* the taps' descriptors, for the monitor */
  /* what was made, to undo no more than that */
  bool tap_made[VM_NET_MAX_IFACES], qdisc_made[VM_NET_MAX_IFACES];
  size_t n;                          /* == desc.n once set up */
};

/* In the network namespace NETNS_FD (the calling thread goes back to its
 * own): describe its interfaces and make a tap with redirection for each.
 * The taps are opened here, outside the container's cgroup, so that its
 * devices controller cannot deny /dev/net/tun. A namespace with nothing
 * but loopback gives n == 0. On failure nothing is left behind. */
int vm_net_setup(int netns_fd, struct vm_net *n, struct hull_error *e);
/* Close the taps' descriptors (a tap goes away with its last one). */
void vm_net_close(struct vm_net *n);

/* What setup added, as recorded in VM_NET_FILE: the namespace (path and
 * identity) and the interfaces. New reference. */
json_t *vm_net_record(const struct vm_net *n, const char *netns_path, int netns_fd);
/* Undo a record in the calling thread's network namespace. */
int vm_net_teardown(json_t *record, struct hull_error *e);
/* Undo a record wherever its namespace is (nothing if the namespace is
 * gone or is another one now). */
int vm_net_teardown_record(json_t *record, struct hull_error *e);
/* Undo what N made in NETNS_FD (a failed create); N is empty then. */
void vm_net_teardown_in(int netns_fd, struct vm_net *n);

#endif
