/* Fuzzing of what people type for networks and what the host says about
 * its routes (src/net/subnet.c, src/net/network.c): addresses, subnets,
 * the --ip check, labels, network names, and /proc/net/route text. The
 * first byte picks the parser; the rest is the input. Every parser must
 * accept or refuse cleanly, and what it accepts must format back to the
 * same text (the parsers take one spelling only). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "net/network.h"
#include "net/subnet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  unsigned which = data[0] % 6;
  const char *in = (const char *)data + 1;
  size_t n = size - 1;
  char *s = strndup(in, n); /* as a C string (argv): up to the first NUL */
  if (!s)
    return 0;
  struct hull_error e;
  switch (which) {
  case 0: {
    uint32_t a;
    char buf[IPV4_STR_MAX];
    if (ipv4_parse(s, &a, &e) == 0) {
      ipv4_format(a, buf);
      if (strcmp(buf, s))
        abort();
    }
    break;
  }
  case 1: {
    struct ipv4_subnet sn;
    char buf[SUBNET_STR_MAX];
    if (subnet_parse(s, &sn, &e) == 0) {
      subnet_format(&sn, buf);
      if (strcmp(buf, s) || sn.prefix > 32 || (sn.addr & ~subnet_mask(sn.prefix)))
        abort();
      uint32_t first = subnet_first_host(&sn);
      if (!subnet_contains(&sn, first) || !subnet_contains(&sn, subnet_broadcast(&sn)) ||
          !subnet_overlaps(&sn, &sn))
        abort();
      if (sn.prefix <= 30 && !subnet_is_host(&sn, first))
        abort();
    }
    break;
  }
  case 2: {
    /* "SUBNET GATEWAY IP" */
    char *sp1 = strchr(s, ' '), *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
    if (sp2) {
      *sp1 = *sp2 = '\0';
      if (subnet_check_address(s, sp1 + 1, sp2 + 1, &e) == 0) {
        struct ipv4_subnet sn;
        uint32_t a;
        if (subnet_parse(s, &sn, &e) < 0 || ipv4_parse(sp2 + 1, &a, &e) < 0 ||
            !subnet_is_host(&sn, a) || !strcmp(sp1 + 1, sp2 + 1))
          abort();
      }
    }
    break;
  }
  case 3: {
    json_t *labels = json_object();
    if (network_label_parse(s, labels, &e) == 0) {
      const char *eq = strchr(s, '=');
      if (!eq || eq == s || json_object_size(labels) != 1)
        abort();
      char *key = strndup(s, (size_t)(eq - s));
      const char *v = key ? json_string_value(json_object_get(labels, key)) : "";
      free(key);
      if (!v || strcmp(v, eq + 1))
        abort();
    }
    json_decref(labels);
    break;
  }
  case 4:
    if (network_validate_name(s, &e) == 0 &&
        (strlen(s) > NET_NAME_MAX || strchr(s, '/') || strchr(s, ':') || s[0] == '.'))
      abort();
    break;
  case 5: {
    /* route text (all of it, NULs too) against a subnet from its first line */
    struct ipv4_subnet sn = {.addr = 0x0a000000, .prefix = 8}, r;
    char ifname[16];
    if (subnet_route_conflict(in, n, &sn, NULL, ifname, &r) == 1) {
      if (strlen(ifname) >= 16 || !subnet_overlaps(&sn, &r) || r.prefix == 0)
        abort();
    }
    break;
  }
  }
  free(s);
  return 0;
}
