/* A small rtnetlink client of hull's own (hull-runtime and hull-init are
 * static; Debian ships no static libmnl): the few messages VM networking
 * needs, written with <linux/rtnetlink.h>. Every call opens its own
 * NETLINK_ROUTE socket, so it acts on the caller's network namespace at
 * the time of the call. Every request asks for an acknowledgement; the
 * kernel's error (and its extended-ack text) becomes a hull_error that
 * names the interface. */
#ifndef HULL_NET_NETLINK_H
#define HULL_NET_NETLINK_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/error.h"

/* ---- dumps */

struct nl_link {
  char name[IF_NAMESIZE];
  int index;
  uint8_t mac[6];
  bool has_mac;   /* an Ethernet address (6 bytes) */
  unsigned mtu;
  unsigned flags; /* IFF_UP, IFF_LOOPBACK, ... */
  char kind[16];  /* "veth", "tun", "bridge", ...; "" for a plain device */
};

struct nl_addr {
  int family; /* AF_INET or AF_INET6 */
  int index;  /* of the link */
  uint8_t addr[16];
  unsigned prefix;
  unsigned scope; /* RT_SCOPE_UNIVERSE for a global address */
};

struct nl_route {
  int family;
  int oif;        /* output link, 0 if none */
  uint8_t dst[16];
  unsigned dst_len; /* 0: the default route */
  uint8_t gw[16];
  bool has_gw;
  unsigned protocol; /* RTPROT_KERNEL for the routes of an address */
  unsigned type;     /* RTN_UNICAST, ... */
  unsigned table;
};

/* Every link; *out is malloc'ed. */
int nl_link_list(struct nl_link **out, size_t *n, struct hull_error *e);
/* Addresses of FAMILY (AF_UNSPEC: IPv4 and IPv6). */
int nl_addr_list(int family, struct nl_addr **out, size_t *n, struct hull_error *e);
/* Unicast routes of the main table of FAMILY (AF_INET or AF_INET6). */
int nl_route_list(int family, struct nl_route **out, size_t *n,
                  struct hull_error *e);

/* ---- links */

int nl_link_set_up(const char *ifname, bool up, struct hull_error *e);
int nl_link_set_mtu(const char *ifname, unsigned mtu, struct hull_error *e);
int nl_link_set_mac(const char *ifname, const uint8_t mac[6], struct hull_error *e);
int nl_link_set_name(const char *ifname, const char *newname, struct hull_error *e);
/* Delete a link: 0 when deleted, 1 when there was no such link. */
int nl_link_del_name(const char *ifname, struct hull_error *e);

/* ---- addresses and routes */

/* ADDR is 4 (AF_INET) or 16 (AF_INET6) bytes. nodad: no duplicate
 * address detection (IPv6), the address is usable at once. */
int nl_addr_add(const char *ifname, int family, const void *addr, unsigned prefix,
                bool nodad, struct hull_error *e);
/* A route to DST/DST_LEN (0: default) via GW (NULL: on the link) on
 * IFNAME, in the main table. */
int nl_route_add(int family, const void *dst, unsigned dst_len, const void *gw,
                 const char *ifname, struct hull_error *e);

/* ---- traffic control: what moves frames between a VM's tap and the
 * interface it stands for (Kata's "tcfilter" model) */

/* The ingress qdisc (handle ffff:); an existing one is an error. */
int nl_tc_ingress_add(const char *ifname, struct hull_error *e);
/* Remove it: 0 when removed, 1 when there was none. */
int nl_tc_ingress_del(const char *ifname, struct hull_error *e);
/* On IFNAME's ingress qdisc, a u32 filter matching every frame with a
 * mirred action "egress redirect to TO" (as `tc filter add dev IFNAME
 * parent ffff: protocol all u32 match u8 0 0 action mirred egress
 * redirect dev TO`). */
int nl_tc_redirect_add(const char *ifname, const char *to, struct hull_error *e);

/* ---- message building (exposed for the unit tests) */

#define NL_MSG_MAX 1024

struct nl_msg {
  union {
    uint8_t buf[NL_MSG_MAX];
    uint32_t align_;
  };
  size_t len;
  bool overflow;
};

void nl_msg_init(struct nl_msg *m, uint16_t type, uint16_t flags);
/* Room for LEN bytes (a family header), zeroed; NULL on overflow. */
void *nl_msg_reserve(struct nl_msg *m, size_t len);
void nl_attr_put(struct nl_msg *m, uint16_t type, const void *data, size_t len);
void nl_attr_put_u32(struct nl_msg *m, uint16_t type, uint32_t v);
void nl_attr_put_str(struct nl_msg *m, uint16_t type, const char *s);
/* A nested attribute: start returns its offset, end fixes its length. */
size_t nl_nest_start(struct nl_msg *m, uint16_t type);
void nl_nest_end(struct nl_msg *m, size_t off);

/* The tc messages (netlink_tc.c): the ingress qdisc of IFINDEX (TYPE
 * RTM_NEWQDISC or RTM_DELQDISC), and the RTM_NEWTFILTER message of
 * nl_tc_redirect_add. */
void nl_msg_tc_ingress(struct nl_msg *m, uint16_t type, uint16_t flags, int ifindex);
void nl_msg_tc_redirect(struct nl_msg *m, int ifindex, int to_index);

/* The answer to request SEQ in BUF: 0 for an acknowledgement, -errno for
 * the kernel's error (its extended-ack text, if any, in text), 1 when BUF
 * holds no answer to SEQ. */
int nl_ack_parse(const void *buf, size_t len, uint32_t seq, char *text,
                 size_t text_cap);

#endif
