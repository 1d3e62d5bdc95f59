/* The rtnetlink client (see netlink.h): message building, one request and
 * its acknowledgement, dumps, and the link, address and route requests. */
#include "netlink.h"

#include <arpa/inet.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "../common/cleanup.h"

#define RECV_BUF 32768
/* The kernel always answers; a lost answer must not hang a create. */
#define NL_TIMEOUT_S 10

/* ---- building */

void nl_msg_init(struct nl_msg *m, uint16_t type, uint16_t flags) {
  memset(m, 0, sizeof *m);
  struct nlmsghdr *h = (struct nlmsghdr *)m->buf;
  h->nlmsg_type = type;
  h->nlmsg_flags = flags;
  m->len = NLMSG_HDRLEN;
  h->nlmsg_len = (uint32_t)m->len;
}

static void *tail(struct nl_msg *m, size_t len) {
  size_t aligned = NLMSG_ALIGN(len);
  if (m->overflow || m->len + aligned > sizeof m->buf) {
    m->overflow = true;
    return NULL;
  }
  void *p = m->buf + m->len;
  memset(p, 0, aligned);
  m->len += aligned;
  ((struct nlmsghdr *)m->buf)->nlmsg_len = (uint32_t)m->len;
  return p;
}

void *nl_msg_reserve(struct nl_msg *m, size_t len) { return tail(m, len); }

void nl_attr_put(struct nl_msg *m, uint16_t type, const void *data, size_t len) {
  struct nlattr *a = tail(m, NLA_HDRLEN + len);
  if (!a)
    return;
  a->nla_type = type;
  a->nla_len = (uint16_t)(NLA_HDRLEN + len);
  if (len)
    memcpy((uint8_t *)a + NLA_HDRLEN, data, len);
}

void nl_attr_put_u32(struct nl_msg *m, uint16_t type, uint32_t v) {
  nl_attr_put(m, type, &v, sizeof v);
}

void nl_attr_put_str(struct nl_msg *m, uint16_t type, const char *s) {
  nl_attr_put(m, type, s, strlen(s) + 1);
}

size_t nl_nest_start(struct nl_msg *m, uint16_t type) {
  size_t off = m->len;
  nl_attr_put(m, type, NULL, 0);
  return off;
}

void nl_nest_end(struct nl_msg *m, size_t off) {
  if (m->overflow)
    return;
  struct nlattr *a = (struct nlattr *)(m->buf + off);
  a->nla_len = (uint16_t)(m->len - off);
}

/* ---- answers */

static void clean_copy(char *dst, size_t cap, const char *src, size_t len) {
  size_t n = 0;
  for (size_t i = 0; i < len && src[i] && n + 1 < cap; i++)
    dst[n++] = src[i] >= 0x20 && src[i] < 0x7f ? src[i] : '?';
  if (cap)
    dst[n] = 0;
}

int nl_ack_parse(const void *buf, size_t len, uint32_t seq, char *text,
                 size_t text_cap) {
  if (text_cap)
    text[0] = 0;
  int left = len > INT32_MAX ? INT32_MAX : (int)len;
  for (const struct nlmsghdr *h = buf; NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
    if (h->nlmsg_seq != seq || h->nlmsg_type != NLMSG_ERROR)
      continue;
    if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct nlmsgerr)))
      return -EBADMSG;
    const struct nlmsgerr *err = NLMSG_DATA(h);
    if (err->error == 0)
      return 0;
    if (h->nlmsg_flags & NLM_F_ACK_TLVS) {
      /* the request comes back whole unless the kernel capped it */
      size_t off = sizeof *err;
      if (!(h->nlmsg_flags & NLM_F_CAPPED))
        off += err->msg.nlmsg_len > NLMSG_HDRLEN ? err->msg.nlmsg_len - NLMSG_HDRLEN : 0;
      size_t total = h->nlmsg_len - NLMSG_HDRLEN;
      const uint8_t *p = (const uint8_t *)err;
      while (off + NLA_HDRLEN <= total) {
        const struct nlattr *a = (const struct nlattr *)(p + off);
        if (a->nla_len < NLA_HDRLEN || off + a->nla_len > total)
          break;
        if ((a->nla_type & NLA_TYPE_MASK) == NLMSGERR_ATTR_MSG)
          clean_copy(text, text_cap, (const char *)a + NLA_HDRLEN,
                     a->nla_len - NLA_HDRLEN);
        off += NLA_ALIGN(a->nla_len);
      }
    }
    return err->error < 0 && err->error > -4096 ? err->error : -EPROTO;
  }
  return 1;
}

/* ---- one request */

static int nl_socket(struct hull_error *e) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0)
    return hull_errno(e, errno, "netlink socket");
  int one = 1;
  /* the kernel's reason as text; no copy of the request in errors */
  setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
  setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
  struct timeval tv = {.tv_sec = NL_TIMEOUT_S};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
    int err = errno;
    close(fd);
    return hull_errno(e, err, "netlink socket: bind");
  }
  return fd;
}

static uint32_t next_seq(void) {
  static uint32_t seq;
  if (!seq)
    seq = (uint32_t)getpid() << 8;
  return ++seq;
}

/* A request on its own socket, and the socket's answers. */
struct exchange {
  int fd;
  uint32_t seq;
  uint8_t *buf;
  const char *what; /* names the object and the action */
};

static void exchange_end(struct exchange *x) {
  if (x->fd >= 0)
    close(x->fd);
  free(x->buf);
}

/* Send M with EXTRA flags (NLM_F_ACK, NLM_F_DUMP). */
static int exchange_start(struct exchange *x, struct nl_msg *m, uint16_t extra,
                          const char *what, struct hull_error *e) {
  *x = (struct exchange){.fd = -1, .what = what};
  if (m->overflow)
    return hull_err(e, EMSGSIZE, "%s: netlink message too long", what);
  if (!(x->buf = malloc(RECV_BUF)))
    return hull_err(e, ENOMEM, "%s", what);
  if ((x->fd = nl_socket(e)) < 0)
    return hull_err_prefix(e, "%s", what);
  struct nlmsghdr *h = (struct nlmsghdr *)m->buf;
  h->nlmsg_flags |= NLM_F_REQUEST | extra;
  h->nlmsg_seq = x->seq = next_seq();
  struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
  ssize_t n = sendto(x->fd, m->buf, m->len, 0, (struct sockaddr *)&kernel, sizeof kernel);
  if (n != (ssize_t)m->len)
    return hull_errno(e, n < 0 ? errno : EIO, "%s: netlink send", what);
  return 0;
}

/* The next datagram of answers: its length. */
static int exchange_recv(struct exchange *x, struct hull_error *e) {
  for (;;) {
    /* MSG_TRUNC: the datagram's real length, so one cut short is an
     * error rather than a dump that silently lacks its tail */
    ssize_t n = recv(x->fd, x->buf, RECV_BUF, MSG_TRUNC);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return hull_errno(e, errno, "%s: netlink answer", x->what);
    if (n == 0)
      return hull_err(e, EPROTO, "%s: netlink: no answer", x->what);
    if (n > RECV_BUF)
      return hull_err(e, EMSGSIZE, "%s: netlink answer of %zd bytes, more than %d", x->what,
                      n, RECV_BUF);
    return (int)n;
  }
}

/* Send M, wait for its acknowledgement. */
static int request(struct nl_msg *m, struct hull_error *e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int request(struct nl_msg *m, struct hull_error *e, const char *fmt, ...) {
  char what[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  struct exchange x;
  int r = exchange_start(&x, m, NLM_F_ACK, what, e);
  while (r == 0) {
    int n = exchange_recv(&x, e);
    if (n < 0) {
      r = n;
      break;
    }
    char text[256];
    r = nl_ack_parse(x.buf, (size_t)n, x.seq, text, sizeof text);
    if (r < 0)
      r = *text ? hull_err(e, -r, "%s: %s (%s)", what, strerror(-r), text)
                : hull_errno(e, -r, "%s", what);
    else if (r == 0)
      break;
    else
      r = 0; /* not the answer yet */
  }
  exchange_end(&x);
  return r;
}

/* A dump: CB gets each message of type TYPE. */
typedef int (*dump_cb)(const struct nlmsghdr *h, void *ctx, struct hull_error *e);

static int dump_answers(struct exchange *x, uint16_t type, dump_cb cb, void *ctx,
                        struct hull_error *e) {
  for (;;) {
    int n = exchange_recv(x, e);
    if (n < 0)
      return n;
    int left = n, r;
    for (const struct nlmsghdr *h = (void *)x->buf; NLMSG_OK(h, left);
         h = NLMSG_NEXT(h, left)) {
      if (h->nlmsg_seq != x->seq)
        continue;
      if (h->nlmsg_type == NLMSG_DONE)
        return 0;
      if (h->nlmsg_type == NLMSG_ERROR) {
        char text[256];
        r = nl_ack_parse(h, h->nlmsg_len, x->seq, text, sizeof text);
        if (r < 0)
          return hull_errno(e, -r, "%s", x->what);
        continue;
      }
      if (h->nlmsg_type == type && (r = cb(h, ctx, e)) < 0)
        return r;
    }
  }
}

static int dump(struct nl_msg *m, uint16_t type, dump_cb cb, void *ctx,
                const char *what, struct hull_error *e) {
  struct exchange x;
  int r = exchange_start(&x, m, NLM_F_DUMP, what, e);
  if (r == 0)
    r = dump_answers(&x, type, cb, ctx, e);
  exchange_end(&x);
  return r;
}

/* The attributes after a family header of HDR bytes: tb[type] or NULL. */
static void parse_attrs(const struct nlmsghdr *h, size_t hdr, const struct nlattr **tb,
                        size_t max) {
  memset(tb, 0, (max + 1) * sizeof *tb);
  size_t off = NLMSG_HDRLEN + NLMSG_ALIGN(hdr);
  const uint8_t *p = (const uint8_t *)h;
  while (off + NLA_HDRLEN <= h->nlmsg_len) {
    const struct nlattr *a = (const struct nlattr *)(p + off);
    if (a->nla_len < NLA_HDRLEN || off + a->nla_len > h->nlmsg_len)
      break;
    uint16_t t = a->nla_type & NLA_TYPE_MASK;
    if (t <= max)
      tb[t] = a;
    off += NLA_ALIGN(a->nla_len);
  }
}

static const void *attr_data(const struct nlattr *a) {
  return (const uint8_t *)a + NLA_HDRLEN;
}
static size_t attr_len(const struct nlattr *a) { return a->nla_len - NLA_HDRLEN; }
static uint32_t attr_u32(const struct nlattr *a) {
  uint32_t v = 0;
  if (a && attr_len(a) >= 4)
    memcpy(&v, attr_data(a), 4);
  return v;
}

struct array {
  void **items;
  size_t *n;
  size_t size;
};

static void *array_add(struct array *a, struct hull_error *e) {
  void *grown = realloc(*a->items, (*a->n + 1) * a->size);
  if (!grown) {
    hull_err(e, ENOMEM, "netlink dump");
    return NULL;
  }
  *a->items = grown;
  void *item = (uint8_t *)grown + *a->n * a->size;
  memset(item, 0, a->size);
  (*a->n)++;
  return item;
}

/* ---- links */

static int link_cb(const struct nlmsghdr *h, void *ctx, struct hull_error *e) {
  if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct ifinfomsg)))
    return 0;
  const struct ifinfomsg *ifi = NLMSG_DATA(h);
  const struct nlattr *tb[IFLA_MAX + 1];
  parse_attrs(h, sizeof *ifi, tb, IFLA_MAX);
  if (!tb[IFLA_IFNAME])
    return 0;
  struct nl_link *l = array_add(ctx, e);
  if (!l)
    return -ENOMEM;
  clean_copy(l->name, sizeof l->name, attr_data(tb[IFLA_IFNAME]),
             attr_len(tb[IFLA_IFNAME]));
  l->index = ifi->ifi_index;
  l->flags = ifi->ifi_flags;
  l->mtu = attr_u32(tb[IFLA_MTU]);
  if (tb[IFLA_ADDRESS] && attr_len(tb[IFLA_ADDRESS]) == 6) {
    memcpy(l->mac, attr_data(tb[IFLA_ADDRESS]), 6);
    l->has_mac = true;
  }
  if (tb[IFLA_LINKINFO]) {
    /* IFLA_INFO_KIND inside the nest */
    const struct nlattr *nest = tb[IFLA_LINKINFO];
    size_t off = NLA_HDRLEN;
    while (off + NLA_HDRLEN <= nest->nla_len) {
      const struct nlattr *a = (const struct nlattr *)((const uint8_t *)nest + off);
      if (a->nla_len < NLA_HDRLEN || off + a->nla_len > nest->nla_len)
        break;
      if ((a->nla_type & NLA_TYPE_MASK) == IFLA_INFO_KIND)
        clean_copy(l->kind, sizeof l->kind, attr_data(a), attr_len(a));
      off += NLA_ALIGN(a->nla_len);
    }
  }
  return 0;
}

int nl_link_list(struct nl_link **out, size_t *n, struct hull_error *e) {
  *out = NULL;
  *n = 0;
  struct nl_msg m;
  nl_msg_init(&m, RTM_GETLINK, 0);
  struct ifinfomsg *ifi = nl_msg_reserve(&m, sizeof *ifi);
  ifi->ifi_family = AF_UNSPEC;
  struct array a = {(void **)out, n, sizeof **out};
  int r = dump(&m, RTM_NEWLINK, link_cb, &a, "list network interfaces", e);
  if (r < 0) {
    free(*out);
    *out = NULL;
    *n = 0;
  }
  return r;
}

static int link_index(const char *ifname, struct hull_error *e) {
  unsigned idx = if_nametoindex(ifname);
  if (!idx)
    return errno == ENODEV || errno == ENXIO || errno == ENOENT || !errno
               ? hull_err(e, ENODEV, "interface %s: no such interface", ifname)
               : hull_errno(e, errno, "interface %s", ifname);
  return (int)idx;
}

/* RTM_NEWLINK on an existing link: the caller adds attributes. */
static struct ifinfomsg *link_msg(struct nl_msg *m, uint16_t type, int index) {
  nl_msg_init(m, type, 0);
  struct ifinfomsg *ifi = nl_msg_reserve(m, sizeof *ifi);
  ifi->ifi_family = AF_UNSPEC;
  ifi->ifi_index = index;
  return ifi;
}

int nl_link_set_up(const char *ifname, bool up, struct hull_error *e) {
  int idx = link_index(ifname, e);
  if (idx < 0)
    return idx;
  struct nl_msg m;
  struct ifinfomsg *ifi = link_msg(&m, RTM_NEWLINK, idx);
  ifi->ifi_change = IFF_UP;
  ifi->ifi_flags = up ? IFF_UP : 0;
  return request(&m, e, "interface %s: set %s", ifname, up ? "up" : "down");
}

int nl_link_set_mtu(const char *ifname, unsigned mtu, struct hull_error *e) {
  int idx = link_index(ifname, e);
  if (idx < 0)
    return idx;
  struct nl_msg m;
  link_msg(&m, RTM_NEWLINK, idx);
  nl_attr_put_u32(&m, IFLA_MTU, mtu);
  return request(&m, e, "interface %s: set MTU %u", ifname, mtu);
}

int nl_link_set_mac(const char *ifname, const uint8_t mac[6], struct hull_error *e) {
  int idx = link_index(ifname, e);
  if (idx < 0)
    return idx;
  struct nl_msg m;
  link_msg(&m, RTM_NEWLINK, idx);
  nl_attr_put(&m, IFLA_ADDRESS, mac, 6);
  return request(&m, e, "interface %s: set MAC %02x:%02x:%02x:%02x:%02x:%02x", ifname,
                 mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
}

int nl_link_set_name(const char *ifname, const char *newname, struct hull_error *e) {
  if (!*newname || strlen(newname) >= IF_NAMESIZE)
    return hull_err(e, EINVAL, "interface %s: rename to \"%s\": invalid name", ifname,
                    newname);
  int idx = link_index(ifname, e);
  if (idx < 0)
    return idx;
  struct nl_msg m;
  link_msg(&m, RTM_NEWLINK, idx);
  nl_attr_put_str(&m, IFLA_IFNAME, newname);
  return request(&m, e, "interface %s: rename to %s", ifname, newname);
}

int nl_link_del_name(const char *ifname, struct hull_error *e) {
  if (!ifname || !*ifname || strlen(ifname) >= IF_NAMESIZE)
    return hull_err(e, EINVAL, "interface \"%s\": invalid name", ifname ? ifname : "");
  unsigned idx = if_nametoindex(ifname);
  if (!idx)
    return 1;
  struct nl_msg m;
  link_msg(&m, RTM_DELLINK, (int)idx);
  int r = request(&m, e, "interface %s: delete", ifname);
  return r == -ENODEV ? 1 : r;
}

/* ---- addresses */

static size_t family_len(int family) {
  return family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
}

static int addr_cb(const struct nlmsghdr *h, void *ctx, struct hull_error *e) {
  if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct ifaddrmsg)))
    return 0;
  const struct ifaddrmsg *ifa = NLMSG_DATA(h);
  size_t alen = family_len(ifa->ifa_family);
  if (!alen)
    return 0;
  const struct nlattr *tb[IFA_MAX + 1];
  parse_attrs(h, sizeof *ifa, tb, IFA_MAX);
  /* IFA_LOCAL is the address itself (IFA_ADDRESS the peer's on a
   * point-to-point link); IPv6 has only IFA_ADDRESS. */
  const struct nlattr *a = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
  if (!a || attr_len(a) != alen)
    return 0;
  struct nl_addr *out = array_add(ctx, e);
  if (!out)
    return -ENOMEM;
  out->family = ifa->ifa_family;
  out->index = (int)ifa->ifa_index;
  out->prefix = ifa->ifa_prefixlen;
  out->scope = ifa->ifa_scope;
  memcpy(out->addr, attr_data(a), alen);
  return 0;
}

int nl_addr_list(int family, struct nl_addr **out, size_t *n, struct hull_error *e) {
  *out = NULL;
  *n = 0;
  struct nl_msg m;
  nl_msg_init(&m, RTM_GETADDR, 0);
  struct ifaddrmsg *ifa = nl_msg_reserve(&m, sizeof *ifa);
  ifa->ifa_family = (uint8_t)family;
  struct array a = {(void **)out, n, sizeof **out};
  int r = dump(&m, RTM_NEWADDR, addr_cb, &a, "list addresses", e);
  if (r < 0) {
    free(*out);
    *out = NULL;
    *n = 0;
  }
  return r;
}

static const char *addr_text(int family, const void *addr, char *buf, size_t cap) {
  if (!inet_ntop(family, addr, buf, (socklen_t)cap))
    snprintf(buf, cap, "?");
  return buf;
}

int nl_addr_add(const char *ifname, int family, const void *addr, unsigned prefix,
                bool nodad, struct hull_error *e) {
  size_t alen = family_len(family);
  char text[INET6_ADDRSTRLEN];
  if (!alen || prefix > alen * 8)
    return hull_err(e, EINVAL, "interface %s: invalid address", ifname);
  addr_text(family, addr, text, sizeof text);
  int idx = link_index(ifname, e);
  if (idx < 0)
    return idx;
  struct nl_msg m;
  nl_msg_init(&m, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
  struct ifaddrmsg *ifa = nl_msg_reserve(&m, sizeof *ifa);
  ifa->ifa_family = (uint8_t)family;
  ifa->ifa_prefixlen = (uint8_t)prefix;
  ifa->ifa_scope = RT_SCOPE_UNIVERSE;
  ifa->ifa_index = (uint32_t)idx;
  nl_attr_put(&m, IFA_LOCAL, addr, alen);
  nl_attr_put(&m, IFA_ADDRESS, addr, alen);
  if (family == AF_INET && prefix < 31) {
    /* the broadcast address, as `ip addr add ... brd +` gives it */
    uint32_t a, mask = prefix ? htonl(~0u << (32 - prefix)) : 0;
    memcpy(&a, addr, 4);
    uint32_t brd = a | ~mask;
    nl_attr_put(&m, IFA_BROADCAST, &brd, 4);
  }
  if (nodad && family == AF_INET6)
    nl_attr_put_u32(&m, IFA_FLAGS, IFA_F_NODAD);
  return request(&m, e, "interface %s: add address %s/%u", ifname, text, prefix);
}

/* ---- routes */

static int route_cb(const struct nlmsghdr *h, void *ctx, struct hull_error *e) {
  if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct rtmsg)))
    return 0;
  const struct rtmsg *rt = NLMSG_DATA(h);
  size_t alen = family_len(rt->rtm_family);
  if (!alen)
    return 0;
  const struct nlattr *tb[RTA_MAX + 1];
  parse_attrs(h, sizeof *rt, tb, RTA_MAX);
  unsigned table = tb[RTA_TABLE] ? attr_u32(tb[RTA_TABLE]) : rt->rtm_table;
  if (table != RT_TABLE_MAIN || rt->rtm_type != RTN_UNICAST)
    return 0;
  struct nl_route *out = array_add(ctx, e);
  if (!out)
    return -ENOMEM;
  out->family = rt->rtm_family;
  out->dst_len = rt->rtm_dst_len;
  out->protocol = rt->rtm_protocol;
  out->type = rt->rtm_type;
  out->table = table;
  /* a multipath route has no single output link: oif stays 0 */
  out->oif = tb[RTA_MULTIPATH] ? 0 : (int)attr_u32(tb[RTA_OIF]);
  if (tb[RTA_DST] && attr_len(tb[RTA_DST]) == alen)
    memcpy(out->dst, attr_data(tb[RTA_DST]), alen);
  if (tb[RTA_GATEWAY] && attr_len(tb[RTA_GATEWAY]) == alen) {
    memcpy(out->gw, attr_data(tb[RTA_GATEWAY]), alen);
    out->has_gw = true;
  }
  return 0;
}

int nl_route_list(int family, struct nl_route **out, size_t *n,
                  struct hull_error *e) {
  *out = NULL;
  *n = 0;
  struct nl_msg m;
  nl_msg_init(&m, RTM_GETROUTE, 0);
  struct rtmsg *rt = nl_msg_reserve(&m, sizeof *rt);
  rt->rtm_family = (uint8_t)family;
  struct array a = {(void **)out, n, sizeof **out};
  int r = dump(&m, RTM_NEWROUTE, route_cb, &a, "list routes", e);
  if (r < 0) {
    free(*out);
    *out = NULL;
    *n = 0;
  }
  return r;
}

int nl_route_add(int family, const void *dst, unsigned dst_len, const void *gw,
                 const char *ifname, struct hull_error *e) {
  size_t alen = family_len(family);
  if (!alen || dst_len > alen * 8)
    return hull_err(e, EINVAL, "interface %s: route: invalid destination", ifname);
  char dtext[INET6_ADDRSTRLEN], gtext[INET6_ADDRSTRLEN];
  addr_text(family, dst, dtext, sizeof dtext);
  if (gw)
    addr_text(family, gw, gtext, sizeof gtext);
  int idx = link_index(ifname, e);
  if (idx < 0)
    return idx;
  struct nl_msg m;
  nl_msg_init(&m, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
  struct rtmsg *rt = nl_msg_reserve(&m, sizeof *rt);
  rt->rtm_family = (uint8_t)family;
  rt->rtm_dst_len = (uint8_t)dst_len;
  rt->rtm_table = RT_TABLE_MAIN;
  rt->rtm_protocol = RTPROT_BOOT;
  rt->rtm_scope = gw ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
  rt->rtm_type = RTN_UNICAST;
  if (dst_len)
    nl_attr_put(&m, RTA_DST, dst, alen);
  if (gw)
    nl_attr_put(&m, RTA_GATEWAY, gw, alen);
  nl_attr_put_u32(&m, RTA_OIF, (uint32_t)idx);
  return request(&m, e, "interface %s: add route %s/%u%s%s", ifname, dtext, dst_len,
                 gw ? " via " : "", gw ? gtext : "");
}

/* ---- traffic control (the messages are built in netlink_tc.c) */

int nl_tc_ingress_add(const char *ifname, struct hull_error *e) {
  int idx = link_index(ifname, e);
  if (idx < 0)
    return idx;
  struct nl_msg m;
  nl_msg_tc_ingress(&m, RTM_NEWQDISC, NLM_F_CREATE | NLM_F_EXCL, idx);
  return request(&m, e, "interface %s: add ingress qdisc", ifname);
}

int nl_tc_ingress_del(const char *ifname, struct hull_error *e) {
  unsigned idx = if_nametoindex(ifname);
  if (!idx)
    return 1;
  struct nl_msg m;
  nl_msg_tc_ingress(&m, RTM_DELQDISC, 0, (int)idx);
  int r = request(&m, e, "interface %s: remove ingress qdisc", ifname);
  /* none: "Cannot find specified qdisc" (ENOENT), or "Invalid handle"
   * (EINVAL) when the device never had one */
  return r == -ENOENT || r == -ENODEV || r == -EINVAL ? 1 : r;
}

int nl_tc_redirect_add(const char *ifname, const char *to, struct hull_error *e) {
  int idx = link_index(ifname, e);
  if (idx < 0)
    return idx;
  int to_idx = link_index(to, e);
  if (to_idx < 0)
    return to_idx;
  struct nl_msg m;
  nl_msg_tc_redirect(&m, idx, to_idx);
  return request(&m, e, "interface %s: redirect its traffic to %s", ifname, to);
}
