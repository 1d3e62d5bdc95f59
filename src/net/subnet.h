/* IPv4 addresses and subnets as people type them ("10.90.0.1",
 * "10.90.0.0/16"), and the arithmetic networks need: containment, overlap,
 * host addresses, and the host's routes (/proc/net/route) a new subnet
 * must not overlap. Addresses are uint32_t in host byte order. The
 * parsers are strict: four decimal parts 0-255 without leading zeros (so
 * "010.1.1.1" is not silently octal), a prefix 0-32, no spaces. */
#ifndef HULL_NET_SUBNET_H
#define HULL_NET_SUBNET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/error.h"

/* "255.255.255.255" and a NUL; SUBNET_STR_MAX also fits "/32". */
#define IPV4_STR_MAX 16
#define SUBNET_STR_MAX 19

struct ipv4_subnet {
  uint32_t addr;   /* the network address (host bits clear) */
  unsigned prefix; /* 0..32 */
};

/* A dotted quad; 0 or -EINVAL (an IPv6 address says so in the message). */
int ipv4_parse(const char *s, uint32_t *out, struct hull_error *e);
/* Writes the dotted quad of a into buf (IPV4_STR_MAX bytes). */
void ipv4_format(uint32_t a, char buf[IPV4_STR_MAX]);

/* "A.B.C.D/N". Host bits set is an error, as docker has it ("invalid
 * subnet 10.1.2.3/16: host bits set, did you mean 10.1.0.0/16?"). */
int subnet_parse(const char *s, struct ipv4_subnet *out, struct hull_error *e);
/* Writes "A.B.C.D/N" into buf (SUBNET_STR_MAX bytes). */
void subnet_format(const struct ipv4_subnet *n, char buf[SUBNET_STR_MAX]);

uint32_t subnet_mask(unsigned prefix);
uint32_t subnet_broadcast(const struct ipv4_subnet *n);
/* Is a inside n (network and broadcast addresses included)? */
bool subnet_contains(const struct ipv4_subnet *n, uint32_t a);
/* Is a a host address of n: inside, neither the network nor the broadcast
 * address? */
bool subnet_is_host(const struct ipv4_subnet *n, uint32_t a);
/* Do a and b share an address? */
bool subnet_overlaps(const struct ipv4_subnet *a, const struct ipv4_subnet *b);
/* The first host address (network + 1): the default gateway. */
uint32_t subnet_first_host(const struct ipv4_subnet *n);

/* Check an address asked for a container (`--ip`) on a network of that
 * subnet and gateway: it must be a host address of the subnet and not the
 * gateway. gateway may be NULL or "". Errors name the address and the
 * cause ("address 10.90.0.1 is the gateway of 10.90.0.0/16"). */
int subnet_check_address(const char *subnet, const char *gateway, const char *ip,
                         struct hull_error *e);

/* The first route of a /proc/net/route text (len bytes) that overlaps n,
 * default routes (mask 0) and routes on interface ignore_if (may be NULL)
 * left out. Returns 1 with its interface in ifname (16 bytes) and its
 * destination in *route, 0 when none overlaps. Lines that do not parse
 * are skipped. */
int subnet_route_conflict(const char *text, size_t len, const struct ipv4_subnet *n,
                          const char *ignore_if, char ifname[16],
                          struct ipv4_subnet *route);

#endif
