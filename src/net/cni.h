/* The CNI protocol (container network interface, spec 1.0): hull runs
 * the plugins containerd, CRI-O and Kubernetes use (bridge, host-local,
 * loopback, portmap, firewall, ...) for a network configuration list:
 * ADD in order with each result chained into the next plugin's
 * prevResult, CHECK and DEL (in reverse) with the cached ADD result, so
 * that DEL works after a crash or a reboot. A failed ADD is rolled back
 * with DEL. Plugins' errors are reported with their own message. */
#ifndef HULL_NET_CNI_H
#define HULL_NET_CNI_H

#include <jansson.h>

#include "../common/error.h"

struct cni_env {
  const char *plugin_path; /* CNI_PATH: directories, ':'-separated */
  const char *cache_dir;   /* where ADD results are kept for DEL */
};

struct cni_args {
  const char *container_id;
  const char *netns;      /* path of the network namespace */
  const char *ifname;     /* "eth0" */
  const char *cni_args;   /* CNI_ARGS ("K=V;K=V"), may be NULL */
  json_t *runtime_config; /* runtimeConfig for capabilities (portMappings,
                             ips, ...), may be NULL */
};

/* ADD the list's plugins; *result gets the final result (new ref). */
int cni_add(const struct cni_env *env, json_t *conflist, const struct cni_args *a,
            json_t **result, struct hull_error *e);
/* CHECK against the cached result, running what ADD ran (the cached
 * list and runtimeConfig, as DEL). */
int cni_check(const struct cni_env *env, json_t *conflist,
              const struct cni_args *a, struct hull_error *e);
/* DEL in reverse order with the cached result (absent: none); the cache
 * entry goes. A missing network namespace is not an error for DEL. */
int cni_del(const struct cni_env *env, json_t *conflist, const struct cni_args *a,
            struct hull_error *e);

/* Every cached ADD (network, container id, interface, the list it ran):
 * fn is called for each; what fn returns non-zero stops the walk. For
 * cleaning up after containers whose records are gone. */
typedef int cni_cache_fn(const char *network, const char *container_id, const char *ifname,
                         json_t *conflist, void *arg);
int cni_cache_walk(const struct cni_env *env, cni_cache_fn *fn, void *arg);

/* A result's addresses, parsed and checked. */
struct cni_ip {
  char address[64]; /* "10.88.0.2/16" */
  char gateway[48];
  int interface;    /* index into the result's interfaces, or -1 */
};
struct cni_result {
  struct cni_ip *ips;
  size_t n_ips;
  json_t *routes, *dns; /* borrowed from the result */
};
int cni_result_parse(json_t *result, struct cni_result *out, struct hull_error *e);
void cni_result_free(struct cni_result *r);

/* One plugin call: the plugin found in env->plugin_path by type, the
 * config on its stdin; *out (may be NULL) gets its parsed stdout. */
int cni_exec(const struct cni_env *env, const char *type, const char *command,
             const struct cni_args *a, const char *config, json_t **out,
             struct hull_error *e);

#endif
