/* A container's networks, as the engine runs them (engine.h, "networking").
 *
 * The record says what the container wants: HostConfig.NetworkMode (a
 * network's name, "none", "host" or "container:ID"), the networks it is
 * attached to (the keys of NetworkSettings.Networks, each with its IfName
 * and an optional IPAMConfig.IPv4Address), HostConfig.PortBindings and
 * PublishAllPorts, Dns, DnsSearch, DnsOptions, ExtraHosts.
 *
 * While it runs, hull keeps its network namespace on a file
 * (<runroot>/netns/<id>, NetworkSettings.SandboxKey) so that CNI ADD
 * runs before the container's process exists and DEL after it ended, or
 * after a crash: engine_net_down needs nothing but the record (DEL with
 * the cached ADD result, or without one: every plugin's DEL tolerates
 * what is already gone), so the next command can always clean up. */
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/cleanup.h"
#include "../common/fs.h"
#include "../common/json.h"
#include "../common/log.h"
#include "../net/cni.h"
#include "../net/hostport.h"
#include "../net/netns.h"
#include "../net/network.h"
#include "../runtime/container.h"
#include "engine.h"

bool engine_net_is_cni(const char *mode) {
  return mode && *mode && strcmp(mode, "none") && strcmp(mode, "host") &&
         strncmp(mode, "container:", 10);
}

char *engine_netns_path(struct engine *en, const char *id) {
  char *p;
  return asprintf(&p, "%s/netns/%s", en->runroot, id) < 0 ? NULL : p;
}

static void cni_env_of(struct engine *en, struct cni_env *env, char *cache, size_t len) {
  _cleanup_free_ char *dir = network_cache_dir(en->root);
  snprintf(cache, len, "%s", dir ? dir : "");
  env->plugin_path = getenv("CNI_PATH") ?: "/usr/lib/cni:/opt/cni/bin";
  env->cache_dir = cache;
}

static json_t *settings(json_t *cfg) {
  json_t *ns = json_object_get(cfg, "NetworkSettings");
  if (!json_is_object(ns)) {
    ns = json_object();
    json_object_set_new(cfg, "NetworkSettings", ns);
  }
  if (!json_is_object(json_object_get(ns, "Networks")))
    json_object_set_new(ns, "Networks", json_object());
  return ns;
}

/* ------------------------------------------------------------ /etc files */

static void add_name(char *out, size_t len, const char *n) {
  if (!n || !*n)
    return;
  size_t nl = strlen(n);
  for (const char *p = out; (p = strstr(p, n)); p += nl)
    if ((p == out || p[-1] == ' ') && (p[nl] == ' ' || p[nl] == '\0'))
      return; /* already there */
  size_t off = strlen(out);
  snprintf(out + off, len - off, "%s%s", off ? " " : "", n);
}

/* The names a container answers to: its hostname (the short id unless
 * set), its name, its short id, its aliases on that network. */
static void names_of(json_t *cfg, const char *id, json_t *netent, char *out, size_t len) {
  char sid[ENGINE_SHORT_ID + 1];
  snprintf(sid, sizeof sid, "%s", id);
  const char *host = json_string_value(json_object_get(json_object_get(cfg, "Config"), "Hostname"));
  out[0] = '\0';
  add_name(out, len, host && *host ? host : sid);
  add_name(out, len, json_string_value(json_object_get(cfg, "Name")));
  add_name(out, len, sid);
  size_t i;
  json_t *a;
  json_array_foreach(json_object_get(netent, "Aliases"), i, a) add_name(out, len, json_string_value(a));
}

char *engine_hosts_text(json_t *cfg, const char *hostname, const char *ip) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (!f)
    return NULL;
  fprintf(f, "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n");
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(json_object_get(cfg, "HostConfig"), "ExtraHosts"), i, v) {
    char name[256], addr[64];
    struct hull_error ig;
    if (parse_add_host(json_string_value(v), name, sizeof name, addr, sizeof addr, &ig) == 0)
      fprintf(f, "%s\t%s\n", addr, name);
  }
  fprintf(f, "%s\t%s\n", ip && *ip ? ip : "127.0.1.1", hostname);
  fclose(f);
  return buf;
}

static bool loopback_ns(const char *s) {
  return !strncmp(s, "127.", 4) || !strcmp(s, "::1");
}

char *engine_resolv_text(json_t *cfg, const char *host_text, bool host_net) {
  json_t *hc = json_object_get(cfg, "HostConfig");
  json_t *dns = json_object_get(hc, "Dns"), *search = json_object_get(hc, "DnsSearch"),
         *opts = json_object_get(hc, "DnsOptions");
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (!f)
    return NULL;
  size_t i;
  json_t *v;
  int servers = 0;
  /* the host's lines, but what --dns* replace; loopback resolvers of the
   * host do not answer in the container's own network namespace */
  _cleanup_free_ char *copy = strdup(host_text ? host_text : "");
  char *save = NULL;
  for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
    char word[16], val[256];
    if (sscanf(l, " %15s %255s", word, val) < 1)
      continue;
    if (!strcmp(word, "nameserver")) {
      if (json_array_size(dns) || (!host_net && loopback_ns(val)))
        continue;
      servers++;
    } else if ((!strcmp(word, "search") || !strcmp(word, "domain")) && json_array_size(search)) {
      continue;
    } else if (!strcmp(word, "options") && json_array_size(opts)) {
      continue;
    }
    fprintf(f, "%s\n", l);
  }
  json_array_foreach(dns, i, v) {
    fprintf(f, "nameserver %s\n", json_string_value(v));
    servers++;
  }
  if (!servers && !host_net) /* docker's fallback: the host had only loopback ones */
    fprintf(f, "nameserver 8.8.8.8\nnameserver 8.8.4.4\n");
  if (json_array_size(search)) {
    fprintf(f, "search");
    json_array_foreach(search, i, v) fprintf(f, " %s", json_string_value(v));
    fprintf(f, "\n");
  }
  if (json_array_size(opts)) {
    fprintf(f, "options");
    json_array_foreach(opts, i, v) fprintf(f, " %s", json_string_value(v));
    fprintf(f, "\n");
  }
  fclose(f);
  return buf;
}

/* Rewrite a hosts file in place (it is bind-mounted into a running
 * container: a rename would not reach it): add `line`, or remove every
 * line equal to it. */
static void hosts_edit(const char *path, const char *line, bool add) {
  _cleanup_close_ int fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    return;
  flock(fd, LOCK_EX);
  _cleanup_free_ char *text = NULL;
  size_t len;
  struct hull_error ig;
  char fdpath[32];
  fs_fd_path(fd, fdpath); /* the file we hold the lock on */
  if (fs_read_file(fdpath, &text, &len, &ig) < 0)
    return;
  size_t ll = strlen(line);
  char *out = malloc(len + ll + 2);
  if (!out)
    return;
  size_t o = 0;
  bool present = false;
  for (char *p = text; p < text + len;) {
    char *nl = memchr(p, '\n', (size_t)(text + len - p));
    size_t n = nl ? (size_t)(nl - p) : (size_t)(text + len - p);
    bool same = n == ll && !memcmp(p, line, ll);
    present |= same;
    if (!same || add) {
      memcpy(out + o, p, n);
      o += n;
      out[o++] = '\n';
    }
    p += n + 1;
  }
  if (add && !present) {
    memcpy(out + o, line, ll);
    o += ll;
    out[o++] = '\n';
  }
  if (o != len || memcmp(out, text, len)) {
    if (ftruncate(fd, 0) == 0)
      (void)!pwrite(fd, out, o, 0);
  }
  free(out);
}

/* Every other running container on one of cfg's user networks: its
 * line goes into our hosts, ours into its hosts (add), or ours out of
 * them (remove). The default network has no names, as docker's. */
static void peers_update(struct engine *en, const char *id, json_t *cfg, bool add) {
  json_t *nets = json_object_get(json_object_get(cfg, "NetworkSettings"), "Networks");
  bool named = false;
  const char *k;
  json_t *ignored;
  json_object_foreach(nets, k, ignored) {
    named |= strcmp(k, NET_DEFAULT_NAME) != 0;
  }
  if (!named)
    return; /* the default network only: no records to read */
  char **ids = NULL;
  size_t n = 0;
  struct hull_error ig;
  if (record_list(en, &ids, &n, &ig) < 0)
    return;
  _cleanup_free_ char *ownhosts = record_path(en, id, "hosts");
  for (size_t i = 0; i < n; i++) {
    struct record *r = NULL;
    if (strcmp(ids[i], id) && record_open_id(en, ids[i], false, &r, &ig) == 0) {
      const char *st = record_status(r);
      json_t *pnets = json_object_get(json_object_get(r->cfg, "NetworkSettings"), "Networks");
      const char *net;
      json_t *mine;
      json_object_foreach(nets, net, mine) {
        json_t *theirs = json_object_get(pnets, net);
        const char *pip = json_string_value(json_object_get(theirs, "IPAddress"));
        const char *ip = json_string_value(json_object_get(mine, "IPAddress"));
        if (!strcmp(net, NET_DEFAULT_NAME) || !theirs || !pip || !*pip || !ip || !*ip ||
            (!engine_status_live(st)))
          continue;
        char names[1024], line[1200];
        _cleanup_free_ char *phosts = record_path(en, ids[i], "hosts");
        names_of(cfg, id, mine, names, sizeof names);
        snprintf(line, sizeof line, "%s\t%s", ip, names);
        hosts_edit(phosts, line, add);
        if (add) {
          names_of(r->cfg, ids[i], theirs, names, sizeof names);
          snprintf(line, sizeof line, "%s\t%s", pip, names);
          hosts_edit(ownhosts, line, true);
        }
      }
      record_free(r);
    }
    free(ids[i]);
  }
  free(ids);
}

/* ---------------------------------------------------------------- ports */

/* "80/tcp" → port and protocol. */
static bool port_key(const char *k, unsigned *port, char proto[4]) {
  char pr[8] = "tcp";
  if (sscanf(k, "%u/%7s", port, pr) < 1 || *port < 1 || *port > 65535 ||
      (strcmp(pr, "tcp") && strcmp(pr, "udp")))
    return false;
  snprintf(proto, 4, "%s", pr);
  return true;
}

/* Reserve every published port; fill NetworkSettings.Ports and the
 * portMappings for the portmap plugin. */
static int ports_reserve(json_t *cfg, json_t *ns, json_t **mappings, int **fds, size_t *nfds,
                         struct hull_error *e) {
  json_t *hc = json_object_get(cfg, "HostConfig");
  json_t *want = json_deep_copy(json_object_get(hc, "PortBindings"));
  if (!json_is_object(want)) {
    json_decref(want);
    want = json_object();
  }
  if (json_is_true(json_object_get(hc, "PublishAllPorts"))) {
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(json_object_get(cfg, "Config"), "ExposedPorts"), k, v) {
      if (!json_object_get(want, k))
        json_object_set_new(want, k, json_pack("[{s:s, s:s}]", "HostIp", "", "HostPort", ""));
    }
  }
  json_t *ports = json_object();
  *mappings = json_array();
  const char *k;
  json_t *list;
  int r = 0;
  json_object_foreach(want, k, list) {
    unsigned cport;
    char proto[4];
    if (!port_key(k, &cport, proto)) {
      r = hull_err(e, EINVAL, "published port \"%s\": malformed", k);
      break;
    }
    json_t *got = json_array();
    json_object_set_new(ports, k, got);
    size_t i;
    json_t *b;
    json_array_foreach(list, i, b) {
      const char *hip = json_string_value(json_object_get(b, "HostIp")) ?: "";
      const char *hp = json_string_value(json_object_get(b, "HostPort")) ?: "";
      unsigned want_port = (unsigned)strtoul(hp, NULL, 10), actual;
      int fd;
      if ((r = hostport_reserve(hip, want_port, proto, &fd, &actual, e)) < 0)
        break;
      int *nf = realloc(*fds, (*nfds + 1) * sizeof *nf);
      if (!nf) {
        close(fd);
        r = hull_err(e, ENOMEM, "ports");
        break;
      }
      *fds = nf;
      (*fds)[(*nfds)++] = fd;
      char ps[8];
      snprintf(ps, sizeof ps, "%u", actual);
      json_array_append_new(got, json_pack("{s:s, s:s}", "HostIp", *hip ? hip : "0.0.0.0",
                                           "HostPort", ps));
      json_t *m = json_pack("{s:i, s:i, s:s}", "hostPort", (int)actual, "containerPort",
                            (int)cport, "protocol", proto);
      if (*hip && strcmp(hip, "0.0.0.0"))
        json_object_set_new(m, "hostIP", json_string(hip));
      json_array_append_new(*mappings, m);
    }
    if (r < 0)
      break;
  }
  json_decref(want);
  json_object_set_new(ns, "Ports", ports);
  return r;
}

/* ------------------------------------------------------------ up, down */

static bool list_has_capability(json_t *conflist, const char *cap) {
  size_t i;
  json_t *p;
  json_array_foreach(json_object_get(conflist, "plugins"), i, p) {
    if (json_is_true(json_object_get(json_object_get(p, "capabilities"), cap)))
      return true;
  }
  return false;
}

/* A copy of the list without the plugins that serve capability cap. */
static json_t *without_capability(json_t *conflist, const char *cap) {
  json_t *c = json_deep_copy(conflist);
  json_t *plugins = json_object_get(c, "plugins");
  for (size_t i = 0; i < json_array_size(plugins); i++) {
    json_t *caps = json_object_get(json_array_get(plugins, i), "capabilities");
    if (json_is_true(json_object_get(caps, cap)))
      json_array_remove(plugins, i--);
  }
  return c;
}

/* The prefix length of a network's subnet ("10.90.0.0/16" → 16). */
static int subnet_prefix(const char *subnet) {
  const char *s = subnet ? strchr(subnet, '/') : NULL;
  return s ? atoi(s + 1) : 32;
}

/* DEL one network of the container (its cached result, or none). */
static int net_del(struct engine *en, const char *id, const char *netns, const char *net,
                   json_t *ent, struct hull_error *e) {
  struct net_def def;
  int r = network_lookup(en->root, net, &def, e);
  if (r < 0)
    return r; /* removed under us: nothing hull can DEL with */
  char cache[4200];
  struct cni_env env;
  cni_env_of(en, &env, cache, sizeof cache);
  struct cni_args a = {.container_id = id,
                       .netns = netns,
                       .ifname = json_string_value(json_object_get(ent, "IfName")) ?: "eth0"};
  r = cni_del(&env, def.conflist, &a, e);
  net_def_free(&def);
  return r;
}

static void clear_runtime(json_t *ns, bool all) {
  const char *net;
  json_t *ent;
  json_object_foreach(json_object_get(ns, "Networks"), net, ent) {
    static const char *const keys[] = {"IPAddress", "IPPrefixLen", "Gateway", "MacAddress"};
    for (size_t k = 0; k < sizeof keys / sizeof *keys; k++)
      json_object_del(ent, keys[k]);
  }
  static const char *const top[] = {"IPAddress", "IPPrefixLen", "Gateway", "MacAddress",
                                    "Ports", "SandboxKey"};
  for (size_t k = 0; k < sizeof top / sizeof *top - !all; k++)
    json_object_del(ns, top[k]);
}

/* ADD one network; fill its entry of NetworkSettings.Networks. */
static int net_add(struct engine *en, const char *id, const char *netns, const char *net,
                   json_t *ent, json_t *mappings, struct hull_error *e) {
  struct net_def def;
  int r = network_get(en->root, net, &def, e);
  if (r < 0)
    return r;
  char cache[4200];
  struct cni_env env;
  cni_env_of(en, &env, cache, sizeof cache);
  const char *ifname = json_string_value(json_object_get(ent, "IfName")) ?: "eth0";
  json_t *rc = json_object();
  json_t *list = json_incref(def.conflist);
  if (json_array_size(mappings)) {
    if (!list_has_capability(def.conflist, "portMappings")) {
      r = hull_err(e, EINVAL, "network %s: ports cannot be published on it (%s)", net,
                   def.internal ? "internal" : "no portmap plugin");
      goto out;
    }
    json_object_set(rc, "portMappings", mappings);
  } else {
    /* nothing to map: the port mapping plugin is not run at all (ADD and
     * DEL take the list from the cache, so DEL runs what ADD ran) */
    json_decref(list);
    list = without_capability(def.conflist, "portMappings");
  }
  const char *want_ip =
      json_string_value(json_object_get(json_object_get(ent, "IPAMConfig"), "IPv4Address"));
  if (want_ip && *want_ip) {
    char cidr[80];
    snprintf(cidr, sizeof cidr, "%s/%d", want_ip, subnet_prefix(def.subnet));
    json_object_set_new(rc, "ips", json_pack("[s]", cidr));
  }
  struct cni_args a = {
      .container_id = id, .netns = netns, .ifname = ifname, .runtime_config = rc};
  json_t *res = NULL;
  if ((r = cni_add(&env, list, &a, &res, e)) < 0) {
    hull_err_prefix(e, "network %s", net);
    goto out;
  }
  struct cni_result cr;
  if ((r = cni_result_parse(res, &cr, e)) < 0) {
    hull_err_prefix(e, "network %s", net);
    json_decref(res);
    cni_del(&env, list, &a, &(struct hull_error){0});
    goto out;
  }
  json_object_set_new(ent, "NetworkID", json_string(def.id));
  for (size_t i = 0; i < cr.n_ips; i++) {
    char addr[64];
    snprintf(addr, sizeof addr, "%s", cr.ips[i].address);
    char *slash = strchr(addr, '/');
    int plen = slash ? atoi(slash + 1) : 32;
    if (slash)
      *slash = '\0';
    if (!strchr(addr, '.') || json_object_get(ent, "IPAddress"))
      continue; /* the first IPv4 address is the one people see */
    json_object_set_new(ent, "IPAddress", json_string(addr));
    json_object_set_new(ent, "IPPrefixLen", json_integer(plen));
    json_object_set_new(ent, "Gateway", json_string(cr.ips[i].gateway));
    json_t *ifs = json_object_get(res, "interfaces");
    json_t *iface = json_array_get(ifs, (size_t)(cr.ips[i].interface >= 0 ? cr.ips[i].interface : 0));
    const char *mac = json_string_value(json_object_get(iface, "mac"));
    if (mac)
      json_object_set_new(ent, "MacAddress", json_string(mac));
  }
  cni_result_free(&cr);
  json_decref(res);
out:
  json_decref(rc);
  json_decref(list);
  net_def_free(&def);
  return r;
}

int engine_net_up(struct engine *en, const char *id, json_t *cfg, int **fds, size_t *nfds,
                  struct hull_error *e) {
  *fds = NULL;
  *nfds = 0;
  json_t *hc = json_object_get(cfg, "HostConfig");
  const char *mode = json_string_value(json_object_get(hc, "NetworkMode"));
  json_t *ns = settings(cfg);
  clear_runtime(ns, !engine_net_is_cni(mode));
  if (!engine_net_is_cni(mode))
    return 0;
  _cleanup_free_ char *netns = engine_netns_path(en, id);
  _cleanup_free_ char *dir = NULL;
  if (!netns || asprintf(&dir, "%s/netns", en->runroot) < 0)
    return hull_err(e, ENOMEM, "network namespace");
  /* a crashed run's namespace: its networks were already given back */
  netns_remove(netns, &(struct hull_error){0});
  int r;
  json_t *mappings = NULL;
  if ((r = ports_reserve(cfg, ns, &mappings, fds, nfds, e)) < 0)
    goto fail;
  if ((r = netns_create(dir, id, e)) < 0)
    goto fail;
  json_object_set_new(ns, "SandboxKey", json_string(netns));
  {
    /* held (shared) by the monitor while the networks are its: a sweep
     * (engine_net_sweep) leaves a locked namespace alone */
    int lfd = open(netns, O_RDONLY | O_CLOEXEC);
    int *nf = lfd >= 0 ? realloc(*fds, (*nfds + 1) * sizeof *nf) : NULL;
    if (!nf) {
      if (lfd >= 0)
        close(lfd);
      r = hull_errno(e, lfd < 0 ? errno : ENOMEM, "network namespace %s", netns);
      goto fail;
    }
    flock(lfd, LOCK_SH);
    *fds = nf;
    (*fds)[(*nfds)++] = lfd;
  }
  const char *net;
  json_t *ent;
  bool first = true;
  json_object_foreach(json_object_get(ns, "Networks"), net, ent) {
    if ((r = net_add(en, id, netns, net, ent, first ? mappings : NULL, e)) < 0)
      goto fail;
    if (first) { /* docker's top-level fields: the primary network's */
      static const char *const keys[] = {"IPAddress", "IPPrefixLen", "Gateway", "MacAddress"};
      for (size_t k = 0; k < sizeof keys / sizeof *keys; k++)
        if (json_object_get(ent, keys[k]))
          json_object_set(ns, keys[k], json_object_get(ent, keys[k]));
    }
    first = false;
  }
  json_decref(mappings);
  mappings = NULL;
  /* our hosts: our address and names; our user networks' peers, both ways */
  {
    char names[1100];
    json_t *primary = NULL;
    json_object_foreach(json_object_get(ns, "Networks"), net, ent) {
      if (!primary)
        primary = ent;
    }
    names_of(cfg, id, primary, names, sizeof names);
    _cleanup_free_ char *text =
        engine_hosts_text(cfg, names, json_string_value(json_object_get(ns, "IPAddress")));
    _cleanup_free_ char *cdir = record_path(en, id, NULL);
    _cleanup_close_ int d = cdir ? open(cdir, O_PATH | O_DIRECTORY | O_CLOEXEC) : -1;
    if (!text || d < 0) {
      r = hull_errno(e, d < 0 ? errno : ENOMEM, "container %.12s: hosts", id);
      goto fail;
    }
    if ((r = fs_atomic_write(d, "hosts", text, strlen(text), false, e)) < 0)
      goto fail;
  }
  return 0;
fail:
  json_decref(mappings);
  {
    struct hull_error ig;
    engine_net_down(en, id, cfg, &ig);
  }
  for (size_t i = 0; i < *nfds; i++)
    close((*fds)[i]);
  free(*fds);
  *fds = NULL;
  *nfds = 0;
  return r < 0 ? r : -EIO;
}

int engine_net_down(struct engine *en, const char *id, json_t *cfg, struct hull_error *e) {
  json_t *ns = json_object_get(cfg, "NetworkSettings");
  const char *netns = json_string_value(json_object_get(ns, "SandboxKey"));
  if (!netns)
    return 0; /* nothing was set up (or it was taken down already) */
  peers_update(en, id, cfg, false);
  int r = 0;
  /* DEL in the reverse order of the ADDs */
  json_t *nets = json_object_get(ns, "Networks");
  size_t n = json_object_size(nets);
  const char **names = calloc(n + 1, sizeof *names);
  const char *net;
  json_t *ent;
  size_t k = 0;
  json_object_foreach(nets, net, ent) {
    if (names)
      names[k++] = net;
  }
  while (names && k-- > 0) {
    struct hull_error de;
    if (net_del(en, id, netns, names[k], json_object_get(nets, names[k]), &de) < 0 &&
        de.code != ENOENT && r == 0) {
      r = -de.code;
      *e = de;
    }
  }
  free(names);
  struct hull_error ne;
  if (netns_remove(netns, &ne) < 0 && r == 0) {
    r = -ne.code;
    *e = ne;
  }
  if (r == 0)
    clear_runtime(ns, true);
  return r;
}

int engine_net_reap(struct engine *en, struct record *r, struct hull_error *e) {
  const char *st = record_status(r);
  json_t *state = record_state(r);
  if (!json_object_get(json_object_get(r->cfg, "NetworkSettings"), "SandboxKey") ||
      engine_status_live(st) ||
      process_alive((pid_t)json_integer_value(json_object_get(state, "MonitorPid")),
                    (unsigned long long)json_integer_value(json_object_get(state, "MonitorStart"))))
    return 0; /* not started, or still its monitor's (ending) */
  /* what its dead monitor ran goes first: it may still use the network
   * (a VM supervisor outlives its creator, as engines need) */
  struct runtime_opts ro = {.root = en->runroot, .progname = "hull"};
  struct hull_error ig;
  container_delete(&ro, r->id, true, &ig);
  int rc = engine_net_down(en, r->id, r->cfg, e);
  struct hull_error se;
  if (record_save(r, &se) < 0 && rc == 0) {
    *e = se;
    rc = -se.code;
  }
  return rc;
}

/* A copy of cfg whose NetworkSettings.Networks holds only net. */
static json_t *only_network(json_t *cfg, const char *net) {
  json_t *c = json_deep_copy(cfg);
  json_t *nets = json_object_get(json_object_get(c, "NetworkSettings"), "Networks");
  json_t *keep = json_incref(json_object_get(nets, net));
  json_object_clear(nets);
  if (keep)
    json_object_set_new(nets, net, keep);
  return c;
}

int engine_net_attach(struct engine *en, const char *id, json_t *cfg, const char *net,
                      struct hull_error *e) {
  json_t *ns = settings(cfg);
  const char *netns = json_string_value(json_object_get(ns, "SandboxKey"));
  json_t *ent = json_object_get(json_object_get(ns, "Networks"), net);
  if (!netns || !ent)
    return hull_err(e, EINVAL, "container %.12s: no network namespace of its own", id);
  int r = net_add(en, id, netns, net, ent, NULL, e);
  if (r < 0)
    return r;
  json_t *one = only_network(cfg, net);
  peers_update(en, id, one, true);
  json_decref(one);
  return 0;
}

int engine_net_detach(struct engine *en, const char *id, json_t *cfg, const char *net,
                      struct hull_error *e) {
  json_t *ns = settings(cfg);
  const char *netns = json_string_value(json_object_get(ns, "SandboxKey"));
  json_t *ent = json_object_get(json_object_get(ns, "Networks"), net);
  if (!netns || !ent)
    return 0;
  json_t *one = only_network(cfg, net);
  peers_update(en, id, one, false);
  json_decref(one);
  int r = net_del(en, id, netns, net, ent, e);
  return r == -ENOENT ? 0 : r;
}

/* ---------------------------------------------------------------- sweep */

struct sweep {
  struct engine *en;
  struct cni_env *env;
  int done;
};

/* Whether a monitor still holds the namespace of id (engine_net_up). */
static bool netns_held(struct engine *en, const char *id) {
  _cleanup_free_ char *p = engine_netns_path(en, id);
  _cleanup_close_ int fd = p ? open(p, O_RDONLY | O_CLOEXEC | O_NONBLOCK) : -1;
  return fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) < 0;
}

static bool record_exists(struct engine *en, const char *id) {
  struct record *r;
  struct hull_error ig;
  if (record_open_id(en, id, false, &r, &ig) < 0)
    return false;
  record_free(r);
  return true;
}

static int sweep_one(const char *network, const char *id, const char *ifname,
                     json_t *conflist, void *arg) {
  struct sweep *s = arg;
  (void)network;
  if (record_exists(s->en, id) || netns_held(s->en, id))
    return 0;
  _cleanup_free_ char *p = engine_netns_path(s->en, id);
  struct cni_args a = {.container_id = id, .netns = p, .ifname = ifname};
  struct hull_error e;
  if (cni_del(s->env, conflist, &a, &e) < 0)
    log_msg(LOG_WARN, "container %.12s: network: %s", id, e.msg);
  else
    s->done++;
  return 0;
}

int engine_net_sweep(struct engine *en) {
  char cache[4200];
  struct cni_env env;
  cni_env_of(en, &env, cache, sizeof cache);
  struct sweep s = {.en = en, .env = &env};
  cni_cache_walk(&env, sweep_one, &s);
  /* namespaces nobody holds and no record names */
  _cleanup_free_ char *dir = NULL;
  if (asprintf(&dir, "%s/netns", en->runroot) < 0)
    return s.done;
  DIR *d = opendir(dir);
  struct dirent *de;
  while (d && (de = readdir(d))) {
    if (de->d_name[0] == '.' || record_exists(en, de->d_name) || netns_held(en, de->d_name))
      continue;
    _cleanup_free_ char *p = engine_netns_path(en, de->d_name);
    struct hull_error e;
    if (p && netns_remove(p, &e) == 0)
      s.done++;
  }
  if (d)
    closedir(d);
  return s.done;
}

void engine_net_peers(struct engine *en, const char *id, json_t *cfg) {
  peers_update(en, id, cfg, true);
}
