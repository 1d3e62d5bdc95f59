/* hull's network definitions (see network.h). */
#include "network.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../common/cleanup.h"
#include "../common/fs.h"
#include "../common/ids.h"
#include "../common/json.h"
#include "../common/log.h"
#include "netlink.h"
#include "subnet.h"

#define ROUTE_FILE "/proc/net/route"
/* Subnets given to networks created without --subnet: 10.A.N.0/24 */
#define AUTO_FIRST 91
#define AUTO_LAST 99
#define SUFFIX ".conflist"

/* ---------------------------------------------------------------- paths */

static char *networks_path(const char *root, const char *sub) {
  char *p;
  if (asprintf(&p, "%s/networks%s%s", root, sub ? "/" : "", sub ? sub : "") < 0)
    return NULL;
  return p;
}

char *network_ipam_dir(const char *root) { return networks_path(root, "ipam"); }
char *network_cache_dir(const char *root) { return networks_path(root, "cache"); }

/* The store's networks directory. */
struct netdir {
  char *root; /* absolute */
  int dfd;    /* <root>/networks */
};

static void netdir_close(struct netdir *nd) {
  free(nd->root);
  if (nd->dfd >= 0)
    close(nd->dfd);
  nd->root = NULL;
  nd->dfd = -1;
}

/* create: make the directories; otherwise returns 1 when there are none
 * (no network was ever defined). */
static int netdir_open(const char *root, bool create, struct netdir *nd,
                       struct hull_error *e) {
  nd->root = NULL;
  nd->dfd = -1;
  int r;
  if (create && (r = fs_mkdir_p(root, 0700)) < 0)
    return hull_errno(e, -r, "store %s", root);
  if (!(nd->root = realpath(root, NULL)))
    return !create && errno == ENOENT ? 1 : hull_errno(e, errno, "store %s", root);
  _cleanup_free_ char *dir = networks_path(nd->root, NULL);
  if (!dir) {
    netdir_close(nd);
    return hull_errno(e, ENOMEM, "store %s", root);
  }
  if (create && mkdir(dir, 0700) < 0 && errno != EEXIST) {
    r = hull_errno(e, errno, "networks directory %s", dir);
    netdir_close(nd);
    return r;
  }
  nd->dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (nd->dfd < 0) {
    r = !create && errno == ENOENT ? 1 : hull_errno(e, errno, "networks directory %s", dir);
    netdir_close(nd);
    return r;
  }
  return 0;
}

/* The store-wide lock (an fd to close), or -errno. */
static int netdir_lock(struct netdir *nd, struct hull_error *e) {
  int fd = openat(nd->dfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0)
    return hull_errno(e, errno, "networks %s/networks: lock", nd->root);
  while (flock(fd, LOCK_EX) < 0) {
    if (errno == EINTR)
      continue;
    int r = hull_errno(e, errno, "networks %s/networks: lock", nd->root);
    close(fd);
    return r;
  }
  return fd;
}

/* Leases of network name (ipam/<name>), gone. */
static int remove_leases(struct netdir *nd, const char *name) {
  _cleanup_close_ int ifd = openat(nd->dfd, "ipam", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (ifd < 0)
    return errno == ENOENT ? 0 : -errno;
  return fs_rm_rf_at(ifd, name);
}

/* ---------------------------------------------------------------- names */

static bool name_char(char c, bool first) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         (!first && (c == '_' || c == '.' || c == '-'));
}

/* The syntax alone: safe as a file name. */
static bool name_ok(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > NET_NAME_MAX)
    return false;
  for (size_t i = 0; i < n; i++)
    if (!name_char(s[i], i == 0))
      return false;
  return true;
}

int network_validate_name(const char *name, struct hull_error *e) {
  if (!name || !*name)
    return hull_err(e, EINVAL, "network name: empty");
  if (strchr(name, ':') || !strcmp(name, "none") || !strcmp(name, "host") ||
      !strcmp(name, "container"))
    return hull_err(e, EINVAL, "network %s: the name is reserved", name);
  if (!name_ok(name))
    return hull_err(e, EINVAL,
                    "network \"%s\": invalid name (letters, digits, '_', '.', '-', "
                    "starting with a letter or digit, at most %d characters)",
                    name, NET_NAME_MAX);
  return 0;
}

/* "bridge" is the default network's other name. */
static const char *canonical(const char *name) {
  return strcmp(name, NET_DEFAULT_ALIAS) ? name : NET_DEFAULT_NAME;
}

int network_label_parse(const char *s, json_t *labels, struct hull_error *e) {
  const char *eq = strchr(s, '=');
  if (!eq || eq == s)
    return hull_err(e, EINVAL, "label \"%s\": expected KEY=VALUE", s);
  if (!hjson_valid_utf8(s))
    return hull_err(e, EINVAL, "label: not valid UTF-8");
  _cleanup_free_ char *key = strndup(s, (size_t)(eq - s));
  json_t *v = json_string(eq + 1);
  if (!key || !v || json_object_set_new(labels, key, v) < 0)
    return hull_err(e, ENOMEM, "label %s", s);
  return 0;
}

/* ---------------------------------------------------------------- definitions */

void net_def_free(struct net_def *d) {
  if (!d)
    return;
  json_decref(d->labels);
  json_decref(d->conflist);
  d->labels = d->conflist = NULL;
}

void net_defs_free(struct net_def *defs, size_t n) {
  for (size_t i = 0; i < n; i++)
    net_def_free(&defs[i]);
  free(defs);
}

static bool is_hex(const char *s, size_t min, size_t max) {
  size_t n = strlen(s);
  if (n < min || n > max)
    return false;
  for (; *s; s++)
    if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
      return false;
  return true;
}

static bool copy(char *dst, size_t cap, const char *src) {
  if (!src || strlen(src) >= cap)
    return false;
  memcpy(dst, src, strlen(src) + 1);
  return true;
}

/* The bridge of a network is hull's: hull0 or hull-<10 hex digits> (so
 * that removing a network never deletes a link someone else made, even
 * when its definition was edited). */
static bool bridge_ok(const char *bridge, bool is_default) {
  if (is_default)
    return !strcmp(bridge, NET_DEFAULT_BRIDGE);
  return !strncmp(bridge, "hull-", 5) && is_hex(bridge + 5, 10, 10);
}

/* A definition from its conflist j (a new reference is taken), the file
 * being <name>.conflist. */
static int def_from_json(json_t *j, const char *name, struct net_def *d,
                         struct hull_error *e) {
  memset(d, 0, sizeof *d);
  json_t *h = json_object_get(j, "hull");
  const char *id = json_string_value(json_object_get(h, "id"));
  const char *driver = json_string_value(json_object_get(h, "driver"));
  struct ipv4_subnet sn;
  uint32_t gw;
  struct hull_error ig;
  bool ok = json_is_object(h) && json_is_array(json_object_get(j, "plugins")) &&
            copy(d->name, sizeof d->name, json_string_value(json_object_get(j, "name"))) &&
            !strcmp(d->name, name) && id && is_hex(id, NET_ID_LEN, NET_ID_LEN) &&
            copy(d->id, sizeof d->id, id) &&
            copy(d->driver, sizeof d->driver, driver ? driver : "bridge") &&
            copy(d->bridge, sizeof d->bridge, json_string_value(json_object_get(h, "bridge"))) &&
            bridge_ok(d->bridge, !strcmp(name, NET_DEFAULT_NAME)) &&
            copy(d->subnet, sizeof d->subnet, json_string_value(json_object_get(h, "subnet"))) &&
            subnet_parse(d->subnet, &sn, &ig) == 0 &&
            copy(d->gateway, sizeof d->gateway,
                 json_string_value(json_object_get(h, "gateway"))) &&
            ipv4_parse(d->gateway, &gw, &ig) == 0;
  if (!ok) {
    memset(d, 0, sizeof *d);
    return hull_err(e, EBADMSG, "network %s: definition corrupt", name);
  }
  copy(d->created, sizeof d->created, json_string_value(json_object_get(h, "created")) ?: "");
  d->internal = json_is_true(json_object_get(h, "internal"));
  d->is_default = !strcmp(d->name, NET_DEFAULT_NAME);
  json_t *labels = json_object_get(h, "labels");
  d->labels = json_is_object(labels) ? json_incref(labels) : json_object();
  d->conflist = json_incref(j);
  return 0;
}

/* Load <name>.conflist; -ENOENT: "network NAME: no such network". */
static int def_load(int dfd, const char *name, struct net_def *d, struct hull_error *e) {
  if (!name_ok(name))
    return hull_err(e, ENOENT, "network %s: no such network", name);
  char fname[NET_NAME_MAX + sizeof SUFFIX];
  snprintf(fname, sizeof fname, "%s%s", name, SUFFIX);
  _cleanup_free_ char *text = NULL;
  size_t len;
  struct hull_error re;
  int r = fs_read_file_at(dfd, fname, &text, &len, &re);
  if (r == -ENOENT)
    return hull_err(e, ENOENT, "network %s: no such network", name);
  if (r < 0)
    return hull_err(e, -r, "network %s: definition: %s", name, strerror(-r));
  json_error_t je;
  json_t *j = hjson_loadb(text, len, 0, NULL, &je);
  if (!j)
    return hull_err(e, EBADMSG, "network %s: definition corrupt: %s", name, je.text);
  r = def_from_json(j, name, d, e);
  json_decref(j);
  return r;
}

static int cmp_name(const void *a, const void *b) {
  return strcmp(((const struct net_def *)a)->name, ((const struct net_def *)b)->name);
}

/* Every definition that parses; warn: say which do not. */
static int defs_load_all(struct netdir *nd, bool warn, struct net_def **out, size_t *n,
                         struct hull_error *e) {
  *out = NULL;
  *n = 0;
  int fd = openat(nd->dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *d = fd < 0 ? NULL : fdopendir(fd);
  if (!d) {
    if (fd >= 0)
      close(fd);
    return hull_errno(e, errno, "networks directory %s/networks", nd->root);
  }
  size_t cap = 0;
  struct net_def *v = NULL;
  struct dirent *de;
  int r = 0;
  while ((de = readdir(d))) {
    size_t l = strlen(de->d_name), sl = strlen(SUFFIX);
    if (de->d_name[0] == '.' || l <= sl || strcmp(de->d_name + l - sl, SUFFIX))
      continue;
    char name[NET_NAME_MAX + 1];
    if (l - sl > NET_NAME_MAX)
      continue;
    memcpy(name, de->d_name, l - sl);
    name[l - sl] = '\0';
    if (*n == cap) {
      struct net_def *nv = realloc(v, (cap = cap ? cap * 2 : 8) * sizeof *v);
      if (!nv) {
        r = hull_err(e, ENOMEM, "networks");
        break;
      }
      v = nv;
    }
    struct hull_error le;
    if (def_load(nd->dfd, name, &v[*n], &le) < 0) {
      if (warn && le.code != ENOENT) /* not removed meanwhile */
        log_warn("%s (%s/networks/%s)", le.msg, nd->root, de->d_name);
      continue;
    }
    (*n)++;
  }
  closedir(d);
  if (r < 0) {
    net_defs_free(v, *n);
    *n = 0;
    return r;
  }
  if (*n)
    qsort(v, *n, sizeof *v, cmp_name);
  *out = v;
  return 0;
}

int network_list(const char *root, struct net_def **out, size_t *n, struct hull_error *e) {
  struct netdir nd;
  *out = NULL;
  *n = 0;
  int r = netdir_open(root, false, &nd, e);
  if (r != 0)
    return r > 0 ? 0 : r;
  r = defs_load_all(&nd, true, out, n, e);
  netdir_close(&nd);
  return r;
}

/* By name, full id or unique id prefix, in an open directory. */
static int lookup_in(struct netdir *nd, const char *name_or_id, struct net_def *out,
                     struct hull_error *e) {
  const char *name = canonical(name_or_id);
  int r = def_load(nd->dfd, name, out, e);
  if (r != -ENOENT || !is_hex(name_or_id, 1, NET_ID_LEN))
    return r;
  struct net_def *defs;
  size_t n;
  if ((r = defs_load_all(nd, false, &defs, &n, e)) < 0)
    return r;
  size_t hit = 0, hits = 0, l = strlen(name_or_id);
  for (size_t i = 0; i < n; i++)
    if (!strncmp(defs[i].id, name_or_id, l)) {
      hit = i;
      hits++;
    }
  if (hits == 1) {
    *out = defs[hit];
    memset(&defs[hit], 0, sizeof defs[hit]);
    r = 0;
  } else if (hits > 1) {
    r = hull_err(e, EINVAL, "network %s: ambiguous id prefix (%zu networks)", name_or_id,
                 hits);
  } else {
    r = hull_err(e, ENOENT, "network %s: no such network", name_or_id);
  }
  net_defs_free(defs, n);
  return r;
}

int network_lookup(const char *root, const char *name_or_id, struct net_def *out,
                   struct hull_error *e) {
  struct netdir nd;
  int r = netdir_open(root, false, &nd, e);
  if (r > 0)
    return hull_err(e, ENOENT, "network %s: no such network", name_or_id);
  if (r < 0)
    return r;
  r = lookup_in(&nd, name_or_id, out, e);
  netdir_close(&nd);
  return r;
}

/* ---------------------------------------------------------------- create */

static json_t *conflist_new(const char *root, const char *name, const char *id,
                            const char *created, const char *bridge, const char *subnet,
                            const char *gateway, bool internal, json_t *labels) {
  /* hull0 is every store's default bridge: its addresses come from one
   * pool, CNI's usual place, or two stores would hand out the same one */
  _cleanup_free_ char *ipam_dir =
      strcmp(bridge, NET_DEFAULT_BRIDGE) ? network_ipam_dir(root) : strdup(NET_SHARED_IPAM_DIR);
  if (!ipam_dir)
    return NULL;
  json_t *ipam = json_pack("{s:s, s:s, s:[[{s:s, s:s}]]}", "type", "host-local", "dataDir",
                           ipam_dir, "ranges", "subnet", subnet, "gateway", gateway);
  if (ipam && !internal)
    json_object_set_new(ipam, "routes", json_pack("[{s:s}]", "dst", "0.0.0.0/0"));
  json_t *plugins = json_pack(
      "[{s:s, s:s, s:b, s:b, s:b, s:{s:b}, s:o}]", "type", "bridge", "bridge", bridge,
      "isGateway", !internal, "ipMasq", !internal, "hairpinMode", 1, "capabilities", "ips", 1,
      "ipam", ipam);
  if (plugins && !internal)
    json_array_append_new(plugins, json_pack("{s:s, s:{s:b}}", "type", "portmap",
                                             "capabilities", "portMappings", 1));
  if (plugins)
    json_array_append_new(plugins, json_pack("{s:s}", "type", "firewall"));
  return json_pack("{s:s, s:s, s:o, s:{s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:O}}",
                   "cniVersion", "1.0.0", "name", name, "plugins", plugins, "hull", "id", id,
                   "created", created, "driver", "bridge", "bridge", bridge, "subnet",
                   subnet, "gateway", gateway, "internal", internal, "labels", labels);
}

/* The hull network or host route n overlaps, as an error. */
static int check_overlap(const char *name, const struct ipv4_subnet *n, const char *bridge,
                         const struct net_def *defs, size_t ndefs, const char *routes,
                         size_t rlen, struct hull_error *e) {
  char s[SUBNET_STR_MAX];
  subnet_format(n, s);
  for (size_t i = 0; i < ndefs; i++) {
    struct ipv4_subnet o;
    struct hull_error ig;
    if (subnet_parse(defs[i].subnet, &o, &ig) == 0 && subnet_overlaps(n, &o))
      return hull_err(e, EADDRINUSE, "network %s: subnet %s overlaps network %s (%s)", name,
                      s, defs[i].name, defs[i].subnet);
  }
  char ifname[16];
  struct ipv4_subnet route;
  if (routes && subnet_route_conflict(routes, rlen, n, bridge, ifname, &route)) {
    char rs[SUBNET_STR_MAX];
    subnet_format(&route, rs);
    return hull_err(e, EADDRINUSE, "network %s: subnet %s overlaps the route to %s on %s",
                    name, s, rs, ifname);
  }
  return 0;
}

static int create_locked(struct netdir *nd, const struct net_create_opts *o, const char *name,
                         bool exist_ok, struct net_def *out, struct hull_error *e) {
  struct net_def *defs;
  size_t ndefs;
  int r = defs_load_all(nd, false, &defs, &ndefs, e);
  if (r < 0)
    return r;
  _cleanup_free_ char *routes = NULL;
  size_t rlen = 0;
  json_t *conflist = NULL, *labels = NULL;
  char *text = NULL;
  for (size_t i = 0; i < ndefs; i++)
    if (!strcmp(defs[i].name, name)) {
      if (exist_ok) { /* made by another process meanwhile */
        if (out) {
          *out = defs[i];
          memset(&defs[i], 0, sizeof defs[i]);
        }
        r = 0;
      } else {
        r = hull_err(e, EEXIST, "network %s: already exists", name);
      }
      goto out;
    }
  bool is_default = !strcmp(name, NET_DEFAULT_NAME);

  /* the subnet: given, the default one, or the first free one */
  struct ipv4_subnet sn;
  const char *want = o->subnet, *from = ""; /* where the subnet came from */
  if (!want && is_default) {
    want = getenv(NET_DEFAULT_SUBNET_ENV);
    from = want && *want ? NET_DEFAULT_SUBNET_ENV ": " : "";
    if (!want || !*want)
      want = NET_DEFAULT_SUBNET;
  }
  struct hull_error re;
  if (fs_read_file(ROUTE_FILE, &routes, &rlen, &re) < 0)
    log_debug("network %s: no routes to check: %s", name, re.msg);
  char bridge[16];
  char id[NET_ID_LEN + 1];
  /* the id, and a bridge no other network has */
  for (bool taken = true; taken;) {
    hull_random_id(id);
    if (is_default)
      snprintf(bridge, sizeof bridge, "%s", NET_DEFAULT_BRIDGE);
    else
      snprintf(bridge, sizeof bridge, "hull-%.10s", id);
    taken = false;
    for (size_t i = 0; i < ndefs; i++)
      taken |= !strcmp(defs[i].bridge, bridge) || !strcmp(defs[i].id, id);
    if (taken && is_default) {
      r = hull_err(e, EEXIST, "network %s: bridge %s is another network's", name, bridge);
      goto out;
    }
  }
  if (want) {
    if ((r = subnet_parse(want, &sn, e)) < 0) {
      if (*from)
        hull_err_prefix(e, "network %s: %s", name, NET_DEFAULT_SUBNET_ENV);
      else
        hull_err_prefix(e, "network %s", name);
      goto out;
    }
    if (sn.prefix == 0 || sn.prefix > 30) {
      r = hull_err(e, EINVAL, "network %s: %ssubnet %s: %s", name, from, want,
                   sn.prefix ? "too small (at most /30)" : "covers every address");
      goto out;
    }
    if ((r = check_overlap(name, &sn, bridge, defs, ndefs, routes, rlen, e)) < 0)
      goto out;
  } else {
    bool found = false;
    for (unsigned a = AUTO_FIRST; a <= AUTO_LAST && !found; a++)
      for (unsigned b = 0; b < 256 && !found; b++) {
        sn = (struct ipv4_subnet){.addr = 10u << 24 | a << 16 | b << 8, .prefix = 24};
        struct hull_error ig;
        found = check_overlap(name, &sn, bridge, defs, ndefs, routes, rlen, &ig) == 0;
      }
    if (!found) {
      r = hull_err(e, EADDRINUSE,
                   "network %s: no free subnet left in 10.%d.0.0/16 .. 10.%d.0.0/16 (give "
                   "one with --subnet)",
                   name, AUTO_FIRST, AUTO_LAST);
      goto out;
    }
  }
  char subnet[SUBNET_STR_MAX], gateway[IPV4_STR_MAX];
  subnet_format(&sn, subnet);

  /* the gateway: given (a host address of the subnet), or the first host */
  uint32_t gw = subnet_first_host(&sn);
  if (o->gateway) {
    if ((r = ipv4_parse(o->gateway, &gw, e)) < 0) {
      hull_err_prefix(e, "network %s: gateway", name);
      goto out;
    }
    if (!subnet_is_host(&sn, gw)) {
      r = hull_err(e, EINVAL, "network %s: gateway %s %s subnet %s", name, o->gateway,
                   !subnet_contains(&sn, gw) ? "is not in"
                   : gw == sn.addr          ? "is the network address of"
                                            : "is the broadcast address of",
                   subnet);
      goto out;
    }
  }
  ipv4_format(gw, gateway);

  labels = o->labels ? json_deep_copy(o->labels) : json_object();
  const char *k;
  json_t *v;
  json_object_foreach(labels, k, v) if (!json_is_string(v)) {
    r = hull_err(e, EINVAL, "network %s: label %s: not a string", name, k);
    goto out;
  }
  char created[48];
  hull_now_rfc3339(created, sizeof created);
  conflist = conflist_new(nd->root, name, id, created, bridge, subnet, gateway, o->internal,
                          labels);
  text = conflist ? hjson_dumps(conflist) : NULL;
  if (!text) {
    r = hull_err(e, ENOMEM, "network %s", name);
    goto out;
  }
  /* leases left by an earlier network of this name are stale */
  remove_leases(nd, name);
  char fname[NET_NAME_MAX + sizeof SUFFIX];
  snprintf(fname, sizeof fname, "%s%s", name, SUFFIX);
  if ((r = fs_atomic_write(nd->dfd, fname, text, strlen(text), true, e)) < 0) {
    hull_err_prefix(e, "network %s", name);
    goto out;
  }
  fsync(nd->dfd);
  if (out && (r = def_from_json(conflist, name, out, e)) < 0)
    goto out;
  r = 0;
out:
  free(text);
  json_decref(conflist);
  json_decref(labels);
  net_defs_free(defs, ndefs);
  return r;
}

static int create(const char *root, const struct net_create_opts *o, bool exist_ok,
                  struct net_def *out, struct hull_error *e) {
  const char *name = o->name ? canonical(o->name) : NULL;
  int r = network_validate_name(name, e);
  if (r < 0)
    return r;
  if (o->driver && strcmp(o->driver, "bridge"))
    return hull_err(e, EINVAL, "network %s: driver %s is not supported (bridge only)", name,
                    o->driver);
  struct netdir nd;
  if ((r = netdir_open(root, true, &nd, e)) < 0)
    return r;
  _cleanup_close_ int lk = netdir_lock(&nd, e);
  if (lk < 0) {
    netdir_close(&nd);
    return lk;
  }
  r = create_locked(&nd, o, name, exist_ok, out, e);
  netdir_close(&nd);
  return r;
}

int network_create(const char *root, const struct net_create_opts *o, struct net_def *out,
                   struct hull_error *e) {
  return create(root, o, false, out, e);
}

int network_get(const char *root, const char *name_or_id, struct net_def *out,
                struct hull_error *e) {
  int r = network_lookup(root, name_or_id, out, e);
  if (r != -ENOENT || strcmp(canonical(name_or_id), NET_DEFAULT_NAME))
    return r;
  struct net_create_opts o = {.name = NET_DEFAULT_NAME};
  return create(root, &o, true, out, e);
}

/* ---------------------------------------------------------------- remove */

static bool bridge_has_ports(const char *bridge) {
  char path[64];
  snprintf(path, sizeof path, "/sys/class/net/%s/brif", bridge);
  DIR *d = opendir(path);
  if (!d)
    return false;
  bool any = false;
  struct dirent *de;
  while (!any && (de = readdir(d)))
    any = de->d_name[0] != '.';
  closedir(d);
  return any;
}

int network_remove_def(const char *root, const char *name_or_id, network_busy_fn *busy,
                       void *arg, struct hull_error *e) {
  struct netdir nd;
  int r = netdir_open(root, false, &nd, e);
  if (r > 0)
    return hull_err(e, ENOENT, "network %s: no such network", name_or_id);
  if (r < 0)
    return r;
  struct net_def d = {0};
  _cleanup_close_ int lk = netdir_lock(&nd, e);
  if (lk < 0) {
    r = lk;
    goto out;
  }
  if ((r = lookup_in(&nd, name_or_id, &d, e)) == -EBADMSG) {
    /* a definition that does not parse can still go (by its name): its
     * bridge is unknown, its users are those naming it */
    memset(&d, 0, sizeof d);
    snprintf(d.name, sizeof d.name, "%s", canonical(name_or_id));
    d.is_default = !strcmp(d.name, NET_DEFAULT_NAME);
  } else if (r < 0) {
    goto out;
  }
  char who[256];
  if (busy && busy(&d, arg, who, sizeof who)) {
    r = hull_err(e, EBUSY, "network %s: in use by container %s", d.name, who);
    goto out;
  }
  /* the bridge first: should that fail, the network is still whole. A
   * bridge with ports is another store's too (hull0 is every store's
   * default bridge): it stays */
  if (d.bridge[0] && !bridge_has_ports(d.bridge) && (r = nl_link_del_name(d.bridge, e)) < 0) {
    hull_err_prefix(e, "network %s", d.name);
    goto out;
  }
  char fname[NET_NAME_MAX + sizeof SUFFIX];
  snprintf(fname, sizeof fname, "%s%s", d.name, SUFFIX);
  if (unlinkat(nd.dfd, fname, 0) < 0) {
    r = hull_errno(e, errno, "network %s: remove %s/networks/%s", d.name, nd.root, fname);
    goto out;
  }
  fsync(nd.dfd);
  if ((r = remove_leases(&nd, d.name)) < 0)
    log_warn("network %s: leases %s/networks/ipam/%s: %s", d.name, nd.root, d.name,
             strerror(-r));
  r = 0;
out:
  net_def_free(&d);
  netdir_close(&nd);
  return r;
}

/* ---------------------------------------------------------------- records */

bool network_record_uses(const struct net_def *d, json_t *record, json_t **ep) {
  json_t *nets = json_object_get(json_object_get(record, "NetworkSettings"), "Networks");
  const char *k;
  json_t *v;
  json_object_foreach(nets, k, v) {
    const char *nid = json_string_value(json_object_get(v, "NetworkID"));
    if (!strcmp(k, d->name) || (d->is_default && !strcmp(k, NET_DEFAULT_ALIAS)) ||
        (nid && !strcmp(nid, d->id))) {
      if (ep)
        *ep = v;
      return true;
    }
  }
  return false;
}
