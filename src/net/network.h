/* hull's networks: bridge networks defined as CNI network configuration
 * lists, one file per network, run by the CNI plugins (bridge, host-local,
 * portmap, firewall) through cni.h.
 *
 * Layout under the store (<root>, `hull --root`):
 *   networks/<name>.conflist  a definition (atomic, durable writes)
 *   networks/lock             flock'ed by create and remove: two creates
 *                             never pick one name or overlapping subnets
 *   networks/ipam/<name>/     host-local's leases (its dataDir is
 *                             networks/ipam, it adds the network's name);
 *                             the default network's are in
 *                             NET_SHARED_IPAM_DIR/hull, shared by stores
 *   networks/cache/           the CNI ADD results (cni_env.cache_dir)
 *
 * A definition is the conflist itself, with hull's own metadata under the
 * top-level key "hull" (plugins ignore keys they do not know):
 *   {"cniVersion":"1.0.0","name":NAME,"plugins":[
 *     {"type":"bridge","bridge":BRIDGE,"isGateway":!internal,
 *      "ipMasq":!internal,"hairpinMode":true,"capabilities":{"ips":true},
 *      "ipam":{"type":"host-local","dataDir":"<root>/networks/ipam",
 *              "ranges":[[{"subnet":SUBNET,"gateway":GATEWAY}]],
 *              "routes":[{"dst":"0.0.0.0/0"}]}},      (no routes: internal)
 *     {"type":"portmap","capabilities":{"portMappings":true}}, (not internal)
 *     {"type":"firewall"}],
 *    "hull":{"id":HEX64,"created":RFC3339,"driver":"bridge","bridge":BRIDGE,
 *            "subnet":SUBNET,"gateway":GATEWAY,"internal":BOOL,"labels":{}}}
 *
 * The default network, "hull" (also called "bridge", as docker users type
 * it), bridge hull0, subnet 10.90.0.0/16 (HULL_DEFAULT_SUBNET when it is
 * first made, or `hull network create --subnet X hull` before), is made
 * on first use by network_get. User networks get the bridge "hull-" and
 * the first 10 hex digits of their id, and without --subnet the first
 * free 10.91.N.0/24 .. 10.99.N.0/24. A subnet may overlap neither another
 * hull network nor a route of the host (default routes and routes on the
 * network's own bridge aside). */
#ifndef HULL_NET_NETWORK_H
#define HULL_NET_NETWORK_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "../common/error.h"

#define NET_NAME_MAX 64
#define NET_ID_LEN 64
#define NET_SHORT_ID 12
#define NET_DEFAULT_NAME "hull"
#define NET_DEFAULT_ALIAS "bridge"
#define NET_DEFAULT_BRIDGE "hull0"
#define NET_DEFAULT_SUBNET "10.90.0.0/16"
#define NET_DEFAULT_SUBNET_ENV "HULL_DEFAULT_SUBNET"
/* host-local's leases for the default network, shared by every store
 * (they all use the bridge hull0): CNI's usual directory */
#define NET_SHARED_IPAM_DIR "/var/lib/cni/networks"

struct net_def {
  char name[NET_NAME_MAX + 1];
  char id[NET_ID_LEN + 1];
  char driver[16];   /* "bridge" */
  char bridge[16];   /* the Linux bridge (IFNAMSIZ) */
  char subnet[48];   /* "10.90.0.0/16" */
  char gateway[48];  /* "10.90.0.1" */
  char created[48];  /* RFC 3339 */
  bool internal;     /* no gateway on the bridge, no masquerade, no route
                        out, no published ports */
  bool is_default;   /* the network "hull" */
  json_t *labels;    /* object of strings (owned) */
  json_t *conflist;  /* the whole definition (owned): what cni_add runs */
};

struct net_create_opts {
  const char *name;    /* required; "bridge" means "hull" */
  const char *driver;  /* NULL or "bridge" */
  const char *subnet;  /* NULL: the default one ("hull") or a free one */
  const char *gateway; /* NULL: the subnet's first host */
  bool internal;
  json_t *labels;      /* NULL or an object of strings (borrowed) */
};

/* Network names: [a-zA-Z0-9][a-zA-Z0-9_.-]*, at most 64 characters, not
 * "none", "host", "container" (`--network` modes) nor with a ':'. */
int network_validate_name(const char *name, struct hull_error *e);
/* "K=V" (K not empty, valid UTF-8) into the object labels; a repeated K
 * takes the last value. */
int network_label_parse(const char *s, json_t *labels, struct hull_error *e);

/* Create a network: checks the name is free and the subnet overlaps
 * nothing, under the store-wide lock. out (may be NULL) gets the
 * definition (free it with net_def_free). Nothing is left on failure. */
int network_create(const char *root, const struct net_create_opts *o,
                   struct net_def *out, struct hull_error *e);

/* A network by name, full id or unique id prefix ("bridge": the default
 * network). network_get makes the default network on first use;
 * network_lookup never creates anything (-ENOENT: "network X: no such
 * network"). */
int network_get(const char *root, const char *name_or_id, struct net_def *out,
                struct hull_error *e);
int network_lookup(const char *root, const char *name_or_id, struct net_def *out,
                   struct hull_error *e);

/* Every definition, sorted by name (definitions that do not parse are
 * skipped with a warning; looked up they are -EBADMSG, "network X:
 * definition corrupt", and network_remove_def removes them). Free with
 * net_defs_free. */
int network_list(const char *root, struct net_def **out, size_t *n, struct hull_error *e);
void net_defs_free(struct net_def *defs, size_t n);
void net_def_free(struct net_def *d);

/* Who uses a network: returns true and names a user (a container) in who,
 * called under the lock, before anything is removed. */
typedef bool network_busy_fn(const struct net_def *d, void *arg, char *who, size_t len);

/* Remove a network (by name, id or id prefix): its bridge link (if it
 * exists), its definition and its leases (networks/ipam/<name>). With
 * busy (may be NULL) saying it is used, nothing is removed: -EBUSY,
 * "network X: in use by container Y". The default network may be removed
 * (when unused): it comes back on next use. */
int network_remove_def(const char *root, const char *name_or_id, network_busy_fn *busy,
                       void *arg, struct hull_error *e);

/* Does a container's record attach it to d? (its
 * NetworkSettings.Networks has d's name, "bridge" for the default one, or
 * an entry whose NetworkID is d's id); *ep (may be NULL) gets the
 * endpoint object (borrowed). */
bool network_record_uses(const struct net_def *d, json_t *record, json_t **ep);

/* <root>/networks/ipam (host-local's dataDir) and <root>/networks/cache
 * (cni_env.cache_dir), malloc'd; NULL when out of memory. */
char *network_ipam_dir(const char *root);
char *network_cache_dir(const char *root);

#endif
