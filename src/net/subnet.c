/* IPv4 address arithmetic (see subnet.h). */
#include "subnet.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

/* One decimal number of at most max, digits only, no leading zero; *end
 * gets the first character after it. */
static bool parse_dec(const char *s, unsigned max, unsigned *out, const char **end) {
  if (*s < '0' || *s > '9' || (s[0] == '0' && s[1] >= '0' && s[1] <= '9'))
    return false;
  unsigned v = 0;
  for (; *s >= '0' && *s <= '9'; s++) {
    v = v * 10 + (unsigned)(*s - '0');
    if (v > max)
      return false;
  }
  *out = v;
  *end = s;
  return true;
}

/* The address at the start of s, up to stop ('\0' or '/'). */
static bool parse_quad(const char *s, char stop, uint32_t *out, const char **end) {
  uint32_t a = 0;
  for (int i = 0; i < 4; i++) {
    unsigned part;
    if (!parse_dec(s, 255, &part, &s))
      return false;
    a = a << 8 | part;
    if (i < 3 && *s++ != '.')
      return false;
  }
  if (*s != stop)
    return false;
  *out = a;
  *end = s;
  return true;
}

int ipv4_parse(const char *s, uint32_t *out, struct hull_error *e) {
  const char *end;
  if (!s || !parse_quad(s, '\0', out, &end)) {
    if (s && strchr(s, ':'))
      return hull_err(e, EINVAL, "address %s: IPv6 is not supported yet", s);
    return hull_err(e, EINVAL, "invalid address \"%s\" (expected A.B.C.D)", s ? s : "");
  }
  return 0;
}

void ipv4_format(uint32_t a, char buf[IPV4_STR_MAX]) {
  snprintf(buf, IPV4_STR_MAX, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255,
           a & 255);
}

uint32_t subnet_mask(unsigned prefix) {
  return prefix == 0 ? 0 : prefix >= 32 ? 0xffffffffu : ~(0xffffffffu >> prefix);
}

int subnet_parse(const char *s, struct ipv4_subnet *out, struct hull_error *e) {
  const char *p;
  uint32_t a;
  unsigned prefix;
  if (!s || !parse_quad(s, '/', &a, &p) || !parse_dec(p + 1, 32, &prefix, &p) || *p) {
    if (s && strchr(s, ':'))
      return hull_err(e, EINVAL, "subnet %s: IPv6 is not supported yet", s);
    return hull_err(e, EINVAL, "invalid subnet \"%s\" (expected A.B.C.D/N)", s ? s : "");
  }
  struct ipv4_subnet n = {.addr = a & subnet_mask(prefix), .prefix = prefix};
  if (n.addr != a) {
    char want[SUBNET_STR_MAX];
    subnet_format(&n, want);
    return hull_err(e, EINVAL, "invalid subnet %s: host bits set, did you mean %s?", s, want);
  }
  *out = n;
  return 0;
}

void subnet_format(const struct ipv4_subnet *n, char buf[SUBNET_STR_MAX]) {
  char a[IPV4_STR_MAX];
  ipv4_format(n->addr, a);
  snprintf(buf, SUBNET_STR_MAX, "%s/%u", a, n->prefix);
}

uint32_t subnet_broadcast(const struct ipv4_subnet *n) {
  return n->addr | ~subnet_mask(n->prefix);
}

bool subnet_contains(const struct ipv4_subnet *n, uint32_t a) {
  return (a & subnet_mask(n->prefix)) == n->addr;
}

bool subnet_is_host(const struct ipv4_subnet *n, uint32_t a) {
  if (!subnet_contains(n, a))
    return false;
  if (n->prefix >= 31) /* point-to-point (RFC 3021) and single hosts */
    return true;
  return a != n->addr && a != subnet_broadcast(n);
}

bool subnet_overlaps(const struct ipv4_subnet *a, const struct ipv4_subnet *b) {
  /* two prefixes overlap iff the shorter one contains the other */
  unsigned p = a->prefix < b->prefix ? a->prefix : b->prefix;
  return (a->addr & subnet_mask(p)) == (b->addr & subnet_mask(p));
}

uint32_t subnet_first_host(const struct ipv4_subnet *n) {
  return n->prefix >= 31 ? n->addr : n->addr + 1;
}

int subnet_check_address(const char *subnet, const char *gateway, const char *ip,
                         struct hull_error *e) {
  struct ipv4_subnet n;
  uint32_t a, gw;
  int r;
  if ((r = subnet_parse(subnet, &n, e)) < 0 || (r = ipv4_parse(ip, &a, e)) < 0)
    return r;
  if (!subnet_contains(&n, a))
    return hull_err(e, EINVAL, "address %s is not in subnet %s", ip, subnet);
  if (!subnet_is_host(&n, a))
    return hull_err(e, EINVAL, "address %s is the %s address of %s", ip,
                    a == n.addr ? "network" : "broadcast", subnet);
  if (gateway && *gateway && ipv4_parse(gateway, &gw, e) == 0 && gw == a)
    return hull_err(e, EINVAL, "address %s is the gateway of %s", ip, subnet);
  return 0;
}

/* A hexadecimal field of exactly 8 digits. */
static bool parse_hex32(const char *s, size_t len, uint32_t *out) {
  if (len != 8)
    return false;
  uint32_t v = 0;
  for (size_t i = 0; i < len; i++) {
    char c = s[i];
    unsigned d = c >= '0' && c <= '9'   ? (unsigned)(c - '0')
                 : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10)
                 : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                                        : 16u;
    if (d == 16)
      return false;
    v = v << 4 | d;
  }
  *out = v;
  return true;
}

int subnet_route_conflict(const char *text, size_t len, const struct ipv4_subnet *n,
                          const char *ignore_if, char ifname[16],
                          struct ipv4_subnet *route) {
  const char *end = text + len;
  bool first = true;
  for (const char *line = text; line < end;) {
    const char *nl = memchr(line, '\n', (size_t)(end - line));
    const char *le = nl ? nl : end;
    /* fields: Iface Destination Gateway Flags RefCnt Use Metric Mask ... */
    const char *f[8];
    size_t fl[8];
    int nf = 0;
    for (const char *p = line; p < le && nf < 8;) {
      while (p < le && (*p == ' ' || *p == '\t'))
        p++;
      if (p == le)
        break;
      const char *s = p;
      while (p < le && *p != ' ' && *p != '\t')
        p++;
      f[nf] = s;
      fl[nf++] = (size_t)(p - s);
    }
    line = nl ? nl + 1 : end;
    if (first) { /* the header */
      first = false;
      continue;
    }
    uint32_t dst, mask;
    if (nf < 8 || fl[0] == 0 || fl[0] >= 16 || !parse_hex32(f[1], fl[1], &dst) ||
        !parse_hex32(f[7], fl[7], &mask))
      continue;
    /* the kernel prints the big-endian words as native integers */
    dst = ntohl(dst);
    mask = ntohl(mask);
    if (mask == 0)
      continue; /* a default route */
    unsigned prefix = (unsigned)__builtin_popcount(mask);
    if (mask != subnet_mask(prefix))
      continue;
    char ifn[16];
    memcpy(ifn, f[0], fl[0]);
    ifn[fl[0]] = '\0';
    if (ignore_if && !strcmp(ifn, ignore_if))
      continue;
    struct ipv4_subnet r = {.addr = dst & mask, .prefix = prefix};
    if (subnet_overlaps(n, &r)) {
      memcpy(ifname, ifn, sizeof ifn);
      *route = r;
      return 1;
    }
  }
  return 0;
}
