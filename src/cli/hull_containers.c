/* The container commands of `hull`: run, create, start, ps, exec, logs,
 * stop, kill, rm, wait, inspect, attach, container, volume, system.
 * Argument parsing and output only; the work is in src/engine and the
 * runtime library. A started container belongs to its monitor
 * (hull-monitor, see there for how it is handed the container); these
 * commands talk to it over its attach socket or act on the runtime
 * container directly (kill, exec). */
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <libgen.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "../common/cleanup.h"
#include "../common/ids.h"
#include "../common/fs.h"
#include "../common/json.h"
#include "../engine/engine.h"
#include "../image/image.h"
#include "../net/network.h"
#include "../net/subnet.h"
#include "../runtime/container.h"
#include "hull_cmds.h"

#pragma weak hull_cmd_network

#define ERR(...) (fprintf(stderr, "hull: " __VA_ARGS__), fputc('\n', stderr), HULL_EXIT_ERROR)

static int open_engine(struct hull_ctx *ctx, struct engine **en) {
  struct hull_error e;
  if (engine_open(ctx->root, ctx->runroot, en, &e) < 0)
    return ERR("%s", e.msg);
  return 0;
}

/* The engine and the record of one container named on the command line;
 * on failure the error is printed and nothing is left open. */
static int open_record(struct hull_ctx *ctx, const char *name, struct engine **en,
                       struct record **r) {
  int rc = open_engine(ctx, en);
  if (rc)
    return rc;
  struct hull_error e;
  if (record_find(*en, name, false, r, &e) < 0) {
    engine_close(*en);
    return ERR("%s", e.msg);
  }
  return 0;
}

static struct runtime_opts rt_opts(struct engine *en, const char *iso) {
  return (struct runtime_opts){.root = en->runroot, .isolation = iso, .progname = "hull"};
}

static char *volumes_dir(struct engine *en) {
  char *p;
  if (asprintf(&p, "%s/volumes", en->root) < 0)
    return NULL;
  return p;
}

static const char *rec_name(struct record *r) {
  return json_string_value(json_object_get(r->cfg, "Name")) ?: r->id;
}

/* ---------------------------------------------------------------- create */

struct run_opts {
  bool detach, interactive, tty, rm, readonly;
  bool publish_all;
  const char *name, *hostname, *workdir, *user, *entrypoint, *isolation, *network, *ip;
  json_t *env, *binds, *tmpfs, *labels, *cap_add, *cap_drop, *secopt;
  json_t *ports, *expose, *dns, *dns_search, *dns_opt, *add_host, *aliases;
  int64_t memory, nanocpus, pids;
};

static void run_opts_free(struct run_opts *o) {
  json_decref(o->env);
  json_decref(o->binds);
  json_decref(o->tmpfs);
  json_decref(o->labels);
  json_decref(o->cap_add);
  json_decref(o->cap_drop);
  json_decref(o->secopt);
  json_decref(o->ports);
  json_decref(o->expose);
  json_decref(o->dns);
  json_decref(o->dns_search);
  json_decref(o->dns_opt);
  json_decref(o->add_host);
  json_decref(o->aliases);
}

static const char *canon_isolation(const char *s) {
  if (!s || !strcmp(s, "default") || !strcmp(s, "process"))
    return "process";
  if (!strcmp(s, "vm") || !strcmp(s, "hyperv"))
    return "vm";
  return NULL;
}

/* Parse run/create options; returns the index of the image operand or
 * a negative exit. */
static int parse_run_opts(int argc, char **argv, bool is_run, struct run_opts *o) {
  static const struct option opts[] = {
      {"detach", no_argument, NULL, 'd'},
      {"interactive", no_argument, NULL, 'i'},
      {"tty", no_argument, NULL, 't'},
      {"rm", no_argument, NULL, 1},
      {"name", required_argument, NULL, 2},
      {"hostname", required_argument, NULL, 'h'},
      {"env", required_argument, NULL, 'e'},
      {"env-file", required_argument, NULL, 3},
      {"workdir", required_argument, NULL, 'w'},
      {"user", required_argument, NULL, 'u'},
      {"entrypoint", required_argument, NULL, 4},
      {"volume", required_argument, NULL, 'v'},
      {"tmpfs", required_argument, NULL, 5},
      {"read-only", no_argument, NULL, 6},
      {"memory", required_argument, NULL, 'm'},
      {"cpus", required_argument, NULL, 7},
      {"pids-limit", required_argument, NULL, 8},
      {"cap-add", required_argument, NULL, 9},
      {"cap-drop", required_argument, NULL, 10},
      {"security-opt", required_argument, NULL, 11},
      {"label", required_argument, NULL, 'l'},
      {"isolation", required_argument, NULL, 12},
      {"network", required_argument, NULL, 13},
      {"net", required_argument, NULL, 13},
      {"help", no_argument, NULL, 14},
      {"publish", required_argument, NULL, 'p'},
      {"publish-all", no_argument, NULL, 'P'},
      {"expose", required_argument, NULL, 15},
      {"ip", required_argument, NULL, 16},
      {"dns", required_argument, NULL, 17},
      {"dns-search", required_argument, NULL, 18},
      {"dns-option", required_argument, NULL, 19},
      {"dns-opt", required_argument, NULL, 19},
      {"add-host", required_argument, NULL, 20},
      {"network-alias", required_argument, NULL, 21},
      {NULL, 0, NULL, 0},
  };
  memset(o, 0, sizeof *o);
  o->env = json_array();
  o->binds = json_array();
  o->tmpfs = json_object();
  o->labels = json_object();
  o->cap_add = json_array();
  o->cap_drop = json_array();
  o->secopt = json_array();
  o->ports = json_object();
  o->expose = json_object();
  o->dns = json_array();
  o->dns_search = json_array();
  o->dns_opt = json_array();
  o->add_host = json_array();
  o->aliases = json_array();
  struct hull_error e;
  int c;
  while ((c = getopt_long(argc, argv, "+ditPlh:e:w:u:v:m:l:p:", opts, NULL)) != -1) {
    switch (c) {
    case 'd':
      if (!is_run)
        return -ERR("create: -d is an option of run");
      o->detach = true;
      break;
    case 'i': o->interactive = true; break;
    case 't': o->tty = true; break;
    case 1: o->rm = true; break;
    case 2:
      if (engine_validate_name(optarg, &e) < 0)
        return -ERR("--name: %s", e.msg);
      o->name = optarg;
      break;
    case 'h': o->hostname = optarg; break;
    case 'e': {
      char *v;
      int r = parse_env_arg(optarg, &v, &e);
      if (r < 0)
        return -ERR("-e: %s", e.msg);
      if (r == 0)
        json_array_append_new(o->env, json_string(v));
      free(v);
      break;
    }
    case 3: {
      _cleanup_free_ char *text = NULL;
      size_t len;
      if (fs_read_file(optarg, &text, &len, &e) < 0)
        return -ERR("--env-file %s: %s", optarg, strerror(e.code));
      if (parse_env_file(text, len, optarg, o->env, &e) < 0)
        return -ERR("%s", e.msg);
      break;
    }
    case 'w':
      if (optarg[0] != '/')
        return -ERR("-w %s: the working directory must be absolute", optarg);
      o->workdir = optarg;
      break;
    case 'u': o->user = optarg; break;
    case 4: o->entrypoint = optarg; break;
    case 'v': {
      struct volume_spec vs;
      if (parse_volume_spec(optarg, &vs, &e) < 0)
        return -ERR("-v: %s", e.msg);
      volume_spec_free(&vs);
      json_array_append_new(o->binds, json_string(optarg));
      break;
    }
    case 5: {
      char *colon = strchr(optarg, ':');
      _cleanup_free_ char *dst = colon ? strndup(optarg, (size_t)(colon - optarg)) : strdup(optarg);
      if (!dst || dst[0] != '/')
        return -ERR("--tmpfs %s: the path must be absolute", optarg);
      json_object_set_new(o->tmpfs, dst, json_string(colon ? colon + 1 : ""));
      break;
    }
    case 6: o->readonly = true; break;
    case 'm':
      if (parse_mem_size(optarg, &o->memory, &e) < 0)
        return -ERR("--memory: %s", e.msg);
      if (o->memory < 6 * 1024 * 1024)
        return -ERR("--memory %s: the minimum is 6m", optarg);
      break;
    case 7: {
      int64_t m;
      if (parse_cpus(optarg, &m, &e) < 0)
        return -ERR("%s", e.msg);
      o->nanocpus = m * 1000000;
      break;
    }
    case 8: {
      char *end;
      long long v = strtoll(optarg, &end, 10);
      if (*end || end == optarg)
        return -ERR("--pids-limit %s: not a number", optarg);
      o->pids = v;
      break;
    }
    case 9: json_array_append_new(o->cap_add, json_string(optarg)); break;
    case 10: json_array_append_new(o->cap_drop, json_string(optarg)); break;
    case 11: json_array_append_new(o->secopt, json_string(optarg)); break;
    case 'l': {
      char *eq = strchr(optarg, '=');
      _cleanup_free_ char *k = eq ? strndup(optarg, (size_t)(eq - optarg)) : strdup(optarg);
      if (!k || !*k || !hjson_valid_utf8(optarg))
        return -ERR("--label %s: expected KEY=VALUE", optarg);
      json_object_set_new(o->labels, k, json_string(eq ? eq + 1 : ""));
      break;
    }
    case 12:
      if (!(o->isolation = canon_isolation(optarg)))
        return -ERR("--isolation %s: unknown (process, vm, hyperv, default)", optarg);
      break;
    case 13:
      if (!strncmp(optarg, "container:", 10) ? !optarg[10]
                                              : network_validate_name(optarg, &e) < 0 &&
                                                    strcmp(optarg, "none") && strcmp(optarg, "host"))
        return -ERR("--network %s: not a network name, none, host or container:NAME", optarg);
      o->network = optarg;
      break;
    case 'p': {
      struct port_spec ps;
      if (parse_port_spec(optarg, &ps, &e) < 0)
        return -ERR("%s", e.msg);
      for (unsigned k = 0; k <= (unsigned)(ps.ctr_port_end - ps.ctr_port); k++) {
        char key[16], hp[8] = "";
        snprintf(key, sizeof key, "%u/%s", ps.ctr_port + k, ps.proto);
        if (ps.host_port)
          snprintf(hp, sizeof hp, "%u", ps.host_port + k);
        json_t *l = json_object_get(o->ports, key);
        if (!l)
          json_object_set_new(o->ports, key, l = json_array());
        json_array_append_new(l, json_pack("{s:s, s:s}", "HostIp", ps.host_ip, "HostPort", hp));
        json_object_set_new(o->expose, key, json_object());
      }
      break;
    }
    case 'P': o->publish_all = true; break;
    case 15: {
      struct port_spec ps;
      char spec[80];
      snprintf(spec, sizeof spec, "%s", optarg);
      if (strchr(optarg, ':') || parse_port_spec(spec, &ps, &e) < 0)
        return -ERR("--expose %s: want PORT[-PORT][/tcp|udp]", optarg);
      for (unsigned k = 0; k <= (unsigned)(ps.ctr_port_end - ps.ctr_port); k++) {
        char key[16];
        snprintf(key, sizeof key, "%u/%s", ps.ctr_port + k, ps.proto);
        json_object_set_new(o->expose, key, json_object());
      }
      break;
    }
    case 16: {
      struct in_addr a;
      if (inet_pton(AF_INET, optarg, &a) != 1)
        return -ERR("--ip %s: not an IPv4 address", optarg);
      o->ip = optarg;
      break;
    }
    case 17: {
      unsigned char a[16];
      if (inet_pton(AF_INET, optarg, a) != 1 && inet_pton(AF_INET6, optarg, a) != 1)
        return -ERR("--dns %s: not an IP address", optarg);
      json_array_append_new(o->dns, json_string(optarg));
      break;
    }
    case 18:
    case 19:
      if (!*optarg || strpbrk(optarg, " \t\n"))
        return -ERR("--%s \"%s\": empty or with blanks", c == 18 ? "dns-search" : "dns-option",
                    optarg);
      json_array_append_new(c == 18 ? o->dns_search : o->dns_opt, json_string(optarg));
      break;
    case 20: {
      char hn[256], ha[64];
      if (parse_add_host(optarg, hn, sizeof hn, ha, sizeof ha, &e) < 0)
        return -ERR("%s", e.msg);
      json_array_append_new(o->add_host, json_string(optarg));
      break;
    }
    case 21:
      if (network_validate_name(optarg, &e) < 0)
        return -ERR("--network-alias %s: not a valid name", optarg);
      json_array_append_new(o->aliases, json_string(optarg));
      break;
    case 14:
      printf("usage: hull %s [OPTIONS] IMAGE [COMMAND [ARG...]]\n", argv[0]);
      return -0x1000;
    default:
      return -HULL_EXIT_ERROR;
    }
  }
  if (optind >= argc)
    return -ERR("%s: an image is required (hull %s [OPTIONS] IMAGE [COMMAND...])", argv[0],
                argv[0]);
  return optind;
}

static void env_merge(json_t *into, json_t *add) {
  size_t i;
  json_t *v;
  json_array_foreach(add, i, v) {
    const char *s = json_string_value(v);
    const char *eq = strchr(s, '=');
    size_t kl = eq ? (size_t)(eq - s) : strlen(s);
    bool replaced = false;
    for (size_t j = 0; j < json_array_size(into); j++) {
      const char *t = json_string_value(json_array_get(into, j));
      if (!strncmp(t, s, kl) && t[kl] == '=') {
        json_array_set(into, j, v);
        replaced = true;
        break;
      }
    }
    if (!replaced)
      json_array_append(into, v);
  }
}

static json_t *image_json(const struct image *img);
static const char *argv0;
static const char *argv0_name(void) { return argv0 ? argv0 : "run"; }

/* Make the record of a new container; prints nothing. */
/* The record's network part: the mode (canonical: the network's own
 * name, "container:<full id>"), NetworkSettings.Networks, the exposed
 * ports. The default network is made here on first use. */
static int network_settings(struct engine *en, struct run_opts *o, char *mode, size_t len,
                            json_t *netset, json_t *icfg, json_t *conf) {
  struct hull_error e;
  bool vm = o->isolation && !strcmp(o->isolation, "vm");
  bool ports = json_object_size(o->ports) || o->publish_all;
  json_t *exposed = json_object();
  if (json_is_object(json_object_get(icfg, "ExposedPorts")))
    json_object_update(exposed, json_object_get(icfg, "ExposedPorts"));
  json_object_update(exposed, o->expose);
  json_object_set_new(conf, "ExposedPorts", exposed);
  if (!strcmp(mode, "host")) {
    if (vm)
      return ERR("--network host: not supported with VM isolation (the guest has its own "
                 "kernel and network stack)");
    if (ports) {
      fprintf(stderr, "hull: published ports are discarded with --network host\n");
      json_object_clear(o->ports);
      o->publish_all = false;
    }
  } else if (!strcmp(mode, "none") || !strncmp(mode, "container:", 10)) {
    if (ports)
      return ERR("-p/-P: --network %s gives the container no network of its own to publish "
                 "ports on", mode);
    if (!strncmp(mode, "container:", 10)) {
      if (vm)
        return ERR("--network %s: not supported with VM isolation (a guest cannot share "
                   "another container's network stack)", mode);
      struct record *t;
      if (record_find(en, mode + 10, false, &t, &e) < 0)
        return ERR("--network %s: %s", mode, e.msg);
      if (!strcmp(json_string_value(json_object_get(t->cfg, "Isolation")) ?: "", "vm")) {
        record_free(t);
        return ERR("--network %s: its network stack is inside its VM", mode);
      }
      snprintf(mode, len, "container:%s", t->id);
      record_free(t);
    }
  }
  if (o->ip && !engine_net_is_cni(mode))
    return ERR("--ip: --network %s has no addresses to choose from", mode);
  if (json_array_size(o->aliases) && !engine_net_is_cni(mode))
    return ERR("--network-alias: --network %s has no names", mode);
  if (!engine_net_is_cni(mode))
    return 0;
  struct net_def def;
  if (network_get(en->root, mode, &def, &e) < 0)
    return ERR("--network %s: %s", mode, e.msg);
  if (o->ip && subnet_check_address(def.subnet, def.gateway, o->ip, &e) < 0) {
    net_def_free(&def);
    return ERR("--ip %s: network %s: %s", o->ip, def.name, e.msg);
  }
  json_t *ep = json_pack("{s:s, s:O}", "IfName", "eth0", "Aliases", o->aliases);
  if (o->ip)
    json_object_set_new(ep, "IPAMConfig", json_pack("{s:s}", "IPv4Address", o->ip));
  json_object_set_new(json_object_get(netset, "Networks"), def.name, ep);
  snprintf(mode, len, "%s", def.name);
  net_def_free(&def);
  return 0;
}

static int do_create(struct hull_ctx *ctx, struct engine *en, struct store *st,
                     struct run_opts *o, const char *ref, int nargs, char **args,
                     char id[ENGINE_ID_LEN + 1]) {
  (void)ctx;
  struct hull_error e;
  struct image *img;
  if (image_resolve(st, ref, &img, &e) < 0)
    return ERR("%s", e.msg);
  json_t *icfg = json_object_get(img->config, "config");
  json_t *conf = json_object();
  json_t *env = json_array();
  json_array_extend(env, json_object_get(icfg, "Env"));
  env_merge(env, o->env);
  json_object_set_new(conf, "Env", env);
  json_t *ep = json_object_get(icfg, "Entrypoint");
  json_t *cmd = json_object_get(icfg, "Cmd");
  if (o->entrypoint) {
    ep = *o->entrypoint ? json_pack("[s]", o->entrypoint) : json_array();
    cmd = NULL; /* docker: a new entrypoint drops the image's Cmd */
  } else {
    ep = json_is_array(ep) ? json_incref(ep) : json_array();
  }
  if (nargs > 0) {
    cmd = json_array();
    for (int i = 0; i < nargs; i++)
      json_array_append_new(cmd, json_string(args[i]));
  } else {
    cmd = json_is_array(cmd) ? json_incref(cmd) : json_array();
  }
  if (!json_array_size(ep) && !json_array_size(cmd)) {
    json_decref(ep);
    json_decref(cmd);
    json_decref(conf);
    image_free(img);
    return ERR("%s: no command given and image %s has no Cmd or Entrypoint", argv0_name(),
               ref);
  }
  json_object_set_new(conf, "Entrypoint", ep);
  json_object_set_new(conf, "Cmd", cmd);
  const char *wd = o->workdir ?: json_string_value(json_object_get(icfg, "WorkingDir"));
  json_object_set_new(conf, "WorkingDir", json_string(wd && *wd ? wd : "/"));
  const char *user = o->user ?: json_string_value(json_object_get(icfg, "User"));
  json_object_set_new(conf, "User", json_string(user ? user : ""));
  json_t *labels = json_object();
  if (json_is_object(json_object_get(icfg, "Labels")))
    json_object_update(labels, json_object_get(icfg, "Labels"));
  json_object_update(labels, o->labels);
  json_object_set_new(conf, "Labels", labels);
  if (o->hostname)
    json_object_set_new(conf, "Hostname", json_string(o->hostname));
  json_object_set_new(conf, "Tty", json_boolean(o->tty));
  json_object_set_new(conf, "OpenStdin", json_boolean(o->interactive));
  json_object_set_new(conf, "Image", json_string(ref));
  const char *ss = json_string_value(json_object_get(icfg, "StopSignal"));
  if (ss)
    json_object_set_new(conf, "StopSignal", json_string(ss));

  /* anonymous volumes get a name now */
  json_t *binds = json_array(), *anon = json_array();
  size_t i;
  json_t *v;
  json_array_foreach(o->binds, i, v) {
    const char *s = json_string_value(v);
    if (!strchr(s, ':')) {
      char vid[ENGINE_ID_LEN + 1];
      hull_random_id(vid);
      char b[ENGINE_ID_LEN + 4200];
      snprintf(b, sizeof b, "%s:%s", vid, s);
      json_array_append_new(binds, json_string(b));
      json_array_append_new(anon, json_string(vid));
    } else {
      json_array_append(binds, v);
    }
  }
  /* the image's Volumes not covered by -v get anonymous volumes */
  {
    const char *target;
    json_t *ignored;
    json_object_foreach(json_object_get(icfg, "Volumes"), target, ignored) {
      bool covered = false;
      json_t *b;
      size_t k;
      json_array_foreach(binds, k, b) {
        const char *c = strchr(json_string_value(b), ':');
        const char *t = c ? c + 1 : json_string_value(b);
        size_t tl = strlen(target);
        covered |= !strncmp(t, target, tl) && (t[tl] == '\0' || t[tl] == ':');
      }
      if (covered || target[0] != '/')
        continue;
      char vid[ENGINE_ID_LEN + 1];
      hull_random_id(vid);
      char b2[ENGINE_ID_LEN + 4200];
      snprintf(b2, sizeof b2, "%s:%s", vid, target);
      json_array_append_new(binds, json_string(b2));
      json_array_append_new(anon, json_string(vid));
    }
  }
  /* volumes exist from create on, as docker makes them */
  {
    _cleanup_free_ char *vdir = volumes_dir(en);
    json_array_foreach(binds, i, v) {
      struct volume_spec vs;
      if (parse_volume_spec(json_string_value(v), &vs, &e) == 0 && !vs.is_bind &&
          volume_create(vdir, vs.source, NULL, &e) < 0) {
        volume_spec_free(&vs);
        json_decref(binds);
        json_decref(anon);
        json_decref(conf);
        image_free(img);
        return ERR("%s", e.msg);
      }
      volume_spec_free(&vs);
    }
  }
  /* networks: the default one unless --network says otherwise */
  int rc;
  json_t *netset = json_pack("{s:{}}", "Networks");
  char mode[NET_NAME_MAX + 80];
  snprintf(mode, sizeof mode, "%s", o->network ?: NET_DEFAULT_NAME);
  if ((rc = network_settings(en, o, mode, sizeof mode, netset, icfg, conf))) {
    json_decref(netset);
    json_decref(binds);
    json_decref(anon);
    json_decref(conf);
    image_free(img);
    return rc;
  }
  json_t *host = json_pack(
      "{s:o, s:O, s:b, s:b, s:I, s:I, s:I, s:O, s:O, s:O, s:s, s:o}", "Binds", binds,
      "Tmpfs", o->tmpfs, "AutoRemove", o->rm, "ReadonlyRootfs", o->readonly, "Memory",
      (json_int_t)o->memory, "NanoCpus", (json_int_t)o->nanocpus, "PidsLimit",
      (json_int_t)o->pids, "CapAdd", o->cap_add, "CapDrop", o->cap_drop, "SecurityOpt",
      o->secopt, "NetworkMode", mode, "AnonVolumes", anon);
  json_object_set(host, "PortBindings", o->ports);
  json_object_set_new(host, "PublishAllPorts", json_boolean(o->publish_all));
  json_object_set(host, "Dns", o->dns);
  json_object_set(host, "DnsSearch", o->dns_search);
  json_object_set(host, "DnsOptions", o->dns_opt);
  json_object_set(host, "ExtraHosts", o->add_host);
  char now[48];
  hull_now_rfc3339(now, sizeof now);
  const char *iso = o->isolation ?: "process";
  json_object_set_new(host, "Isolation", json_string(iso));
  json_t *rec = json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:{s:s}}", "Created", now,
                          "Image", img->id, "ImageName", ref, "Isolation", iso, "Config",
                          conf, "HostConfig", host, "State", "Status", "created");
  if (o->name)
    json_object_set_new(rec, "Name", json_string(o->name));
  json_object_set_new(rec, "NetworkSettings", netset);
  image_free(img);
  if (record_create(en, rec, id, &e) < 0)
    return ERR("%s", e.msg);
  return 0;
}

/* ----------------------------------------------------------------- start */

static char *monitor_path(void) {
  const char *env = getenv("HULL_MONITOR");
  if (env)
    return strdup(env);
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 16);
  if (n < 0)
    return strdup("hull-monitor");
  self[n] = '\0';
  char *p;
  if (asprintf(&p, "%s/hull-monitor", dirname(self)) < 0)
    return NULL;
  return p;
}

/* Where the container's network namespace will be (its monitor makes it:
 * engine_net_up), or, for container:ID, that one's namespace and files. */
static int net_paths(struct engine *en, struct record *r, struct hull_error *e) {
  const char *mode = json_string_value(json_object_get(json_object_get(r->cfg, "HostConfig"), "NetworkMode"));
  json_t *ns = json_object_get(r->cfg, "NetworkSettings");
  if (!json_is_object(ns))
    json_object_set_new(r->cfg, "NetworkSettings", ns = json_object());
  if (engine_net_is_cni(mode)) {
    _cleanup_free_ char *p = engine_netns_path(en, r->id);
    json_object_set_new(ns, "SandboxKey", json_string(p));
    return 0;
  }
  if (!mode || strncmp(mode, "container:", 10))
    return 0;
  struct record *t;
  if (record_open_id(en, mode + 10, false, &t, e) < 0)
    return hull_err_prefix(e, "--network %.22s", mode);
  int rc = 0;
  if (strcmp(record_status(t), "running")) {
    rc = hull_err(e, EINVAL, "--network container:%.12s: that container is not running", t->id);
  } else {
    json_t *tns = json_object_get(t->cfg, "NetworkSettings");
    const char *key = json_string_value(json_object_get(tns, "SandboxKey"));
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/%lld/ns/net",
             (long long)json_integer_value(json_object_get(record_state(t), "Pid")));
    json_object_set_new(ns, "SandboxKey", json_string(key ? key : proc));
    static const char *const files[][2] = {{"HostsPath", "hosts"}, {"ResolvConfPath", "resolv.conf"}};
    for (int k = 0; k < 2; k++) {
      const char *theirs = json_string_value(json_object_get(t->cfg, files[k][0]));
      _cleanup_free_ char *p = theirs ? strdup(theirs) : record_path(en, t->id, files[k][1]);
      json_object_set_new(r->cfg, files[k][0], json_string(p));
    }
  }
  record_free(t);
  return rc;
}

/* Mount the root, write the OCI config, hand the container to a new
 * monitor and wait for its readiness line. */
static int start_claimed(struct engine *en, struct store *st, struct record *r,
                         bool wait_attach) {
  struct hull_error e;
  const char *imgid = json_string_value(json_object_get(r->cfg, "Image"));
  struct image *img;
  if (image_resolve(st, imgid, &img, &e) < 0)
    return ERR("container %s: %s", rec_name(r), e.msg);
  _cleanup_free_ char *cdir = record_path(en, r->id, NULL);
  _cleanup_free_ char *rootfs = record_path(en, r->id, "merged");
  _cleanup_free_ char *vdir = volumes_dir(en);
  rootfs_unmount(cdir, &e); /* a previous run's, if it was left */
  if (rootfs_mount(st, img, cdir, false, &e) < 0) {
    image_free(img);
    return ERR("container %s: %s", rec_name(r), e.msg);
  }
  image_free(img);
  if (net_paths(en, r, &e) < 0) {
    rootfs_unmount(cdir, &e);
    return ERR("container %s: %s", rec_name(r), e.msg);
  }
  json_t *spec;
  if (spec_generate(r->cfg, r->id, cdir, rootfs, vdir, &spec, &e) < 0) {
    rootfs_unmount(cdir, &e);
    return ERR("container %s: %s", rec_name(r), e.msg);
  }
  mkdirat(r->dirfd, "bundle", 0700);
  _cleanup_close_ int bfd = openat(r->dirfd, "bundle", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  _cleanup_free_ char *text = hjson_dumps_wrapped(spec);
  json_decref(spec);
  if (bfd < 0 || !text || fs_atomic_write(bfd, "config.json", text, strlen(text), false, &e) < 0) {
    int rc = ERR("container %s: bundle: %s", rec_name(r), bfd < 0 ? strerror(errno) : e.msg);
    rootfs_unmount(cdir, &e);
    return rc;
  }
  _cleanup_free_ char *mon = monitor_path();
  int p[2] = {-1, -1};
  pid_t child = pipe2(p, O_CLOEXEC) < 0 ? -1 : fork();
  if (child < 0) {
    int rc = ERR("container %s: %s: %s", rec_name(r), p[0] < 0 ? "pipe" : "fork", strerror(errno));
    if (p[0] >= 0) {
      close(p[0]);
      close(p[1]);
    }
    rootfs_unmount(cdir, &e);
    return rc;
  }
  if (child == 0) {
    /* double fork: the monitor is nobody's child but init's (or the
     * nearest subreaper's) and outlives us */
    setsid();
    if (fork() != 0)
      _exit(0);
    int n = open("/dev/null", O_RDWR);
    dup2(n, 0);
    dup2(n, 1);
    dup2(n, 2);
    dup2(p[1], 3); /* dup2 clears CLOEXEC */
    char *argv[] = {mon, wait_attach ? "--wait-attach" : NULL, en->root, en->runroot,
                    r->id, NULL};
    if (!wait_attach)
      memmove(&argv[1], &argv[2], 4 * sizeof *argv);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    execv(mon, argv);
    dprintf(3, "hull-monitor %s: %s\n", mon, strerror(errno));
    _exit(127);
  }
  close(p[1]);
  waitpid(child, NULL, 0);
  char line[1200];
  size_t got = 0;
  ssize_t n;
  /* up to the newline: the container's process (the monitor's child,
   * not yet executed) still holds the pipe */
  while (got < sizeof line - 1 && (n = read(p[0], line + got, sizeof line - 1 - got)) > 0) {
    got += (size_t)n;
    if (memchr(line, '\n', got))
      break;
  }
  close(p[0]);
  line[got] = '\0';
  char *nl = strchr(line, '\n');
  if (nl)
    *nl = '\0';
  if (strcmp(line, "ok")) {
    if (json_is_true(json_object_get(json_object_get(r->cfg, "HostConfig"), "AutoRemove"))) {
      rootfs_unmount(cdir, &e);
      record_remove(en, r, &e);
    }
    return ERR("%s", *line ? line : "the monitor ended without a word");
  }
  return 0;
}

/* A monitor that has recorded the end may still be giving the network
 * back (hull-monitor): a new start or a removal waits for it to be gone.
 * Call without the record's lock (the monitor takes it). */
static void wait_monitor_gone(struct engine *en, const char *id, int timeout_ms) {
  struct record *r;
  struct hull_error e;
  if (record_open_id(en, id, false, &r, &e) < 0)
    return;
  const char *status = record_status(r);
  bool ended = !engine_status_live(status);
  json_t *st = record_state(r);
  pid_t mpid = (pid_t)json_integer_value(json_object_get(st, "MonitorPid"));
  unsigned long long ms = (unsigned long long)json_integer_value(json_object_get(st, "MonitorStart"));
  record_free(r);
  if (!ended || mpid <= 0 || mpid == getpid())
    return; /* a live container's monitor is not ending */
  int pfd = (int)syscall(SYS_pidfd_open, mpid, 0);
  if (pfd < 0)
    return;
  if (process_alive(mpid, ms)) {
    struct pollfd p = {.fd = pfd, .events = POLLIN};
    poll(&p, 1, timeout_ms);
  }
  close(pfd);
}

static int do_start(struct engine *en, struct store *st, struct record *r,
                    bool wait_attach) {
  struct hull_error e;
  char prev[16];
  wait_monitor_gone(en, r->id, 30000);
  /* Claim the start under the lock: "starting", owned by this process
   * until the monitor takes over (if we die first, the record shows the
   * owner dead and the container exited); a second `start` refuses. */
  {
    struct record *l;
    if (record_open_id(en, r->id, true, &l, &e) < 0)
      return ERR("%s", e.msg);
    const char *status = record_status(l);
    snprintf(prev, sizeof prev, "%s", status);
    if (engine_status_live(status)) {
      record_free(l);
      return ERR("container %s: already running", rec_name(r));
    }
    if (engine_net_reap(en, l, &e) < 0) {
      record_free(l);
      return ERR("container %s: %s", rec_name(r), e.msg);
    }
    json_t *state = record_state(l);
    json_object_set_new(state, "Status", json_string("starting"));
    json_object_set_new(state, "MonitorPid", json_integer(getpid()));
    json_object_set_new(state, "MonitorStart",
                        json_integer((json_int_t)process_start_time(getpid())));
    int x = record_save(l, &e);
    record_free(l);
    if (x < 0)
      return ERR("%s", e.msg);
  }
  int rc = start_claimed(en, st, r, wait_attach);
  if (rc) {
    /* still ours (the monitor never took over): back to what it was */
    struct record *l;
    if (record_open_id(en, r->id, true, &l, &e) == 0) {
      json_t *s = record_state(l);
      if (json_integer_value(json_object_get(s, "MonitorPid")) == getpid()) {
        json_object_set_new(s, "Status", json_string(prev));
        json_object_set_new(s, "MonitorPid", json_integer(0));
        record_save(l, &e);
      }
      record_free(l);
    }
  }
  return rc;
}

/* The exit code in the record (when the attach stream ended without). */
static int recorded_exit(struct engine *en, const char *id) {
  struct record *r;
  struct hull_error e;
  if (record_open_id(en, id, false, &r, &e) < 0)
    return HULL_EXIT_ERROR;
  int code = (int)json_integer_value(json_object_get(record_state(r), "ExitCode"));
  record_free(r);
  return code;
}

/* ------------------------------------------------------------------- run */


static int create_or_run(struct hull_ctx *ctx, int argc, char **argv, bool is_run) {
  argv0 = argv[0];
  struct run_opts o;
  int first = parse_run_opts(argc, argv, is_run, &o);
  if (first < 0) {
    run_opts_free(&o);
    return first == -0x1000 ? 0 : -first;
  }
  struct engine *en = NULL;
  struct store *st = NULL;
  struct hull_error e;
  int rc = open_engine(ctx, &en);
  if (rc) {
    run_opts_free(&o);
    return rc;
  }
  if (store_open(ctx->root, &st, &e) < 0) {
    rc = ERR("%s", e.msg);
    goto out;
  }
  char id[ENGINE_ID_LEN + 1];
  if ((rc = do_create(ctx, en, st, &o, argv[first], argc - first - 1, argv + first + 1, id)))
    goto out;
  if (!is_run) {
    printf("%s\n", id);
    goto out;
  }
  struct record *r;
  if (record_open_id(en, id, false, &r, &e) < 0) {
    rc = ERR("%s", e.msg);
    goto out;
  }
  rc = do_start(en, st, r, !o.detach);
  record_free(r);
  if (rc)
    goto out;
  if (o.detach) {
    printf("%s\n", id);
    goto out;
  }
  int s = attach_connect(en, id);
  if (s < 0) {
    rc = ERR("container %.12s: attach: %s", id, strerror(-s));
    goto out;
  }
  fflush(stdout);
  int code = attach_relay(s, o.tty, o.interactive, true, !o.tty);
  close(s);
  rc = code == ATTACH_START_FAILED ? HULL_EXIT_ERROR : code >= 0 ? code : recorded_exit(en, id);
out:
  store_close(st);
  engine_close(en);
  run_opts_free(&o);
  return rc;
}

int hull_cmd_run(struct hull_ctx *ctx, int argc, char **argv) {
  return create_or_run(ctx, argc, argv, true);
}

int hull_cmd_create(struct hull_ctx *ctx, int argc, char **argv) {
  return create_or_run(ctx, argc, argv, false);
}

/* For commands over several containers: run fn on each, print the
 * reference on success (as docker does), exit 125 when any failed. */
static int each_container(struct hull_ctx *ctx, int argc, char **argv, int first,
                          bool print,
                          int (*fn)(struct engine *, struct record *, void *), void *arg) {
  if (first >= argc)
    return ERR("%s: at least one container is required", argv[0]);
  struct engine *en;
  int rc = open_engine(ctx, &en);
  if (rc)
    return rc;
  for (int i = first; i < argc; i++) {
    struct record *r;
    struct hull_error e;
    if (record_find(en, argv[i], false, &r, &e) < 0) {
      rc = ERR("%s", e.msg);
      continue;
    }
    int x = fn(en, r, arg);
    record_free(r);
    if (x)
      rc = x;
    else if (print)
      printf("%s\n", argv[i]);
  }
  engine_close(en);
  return rc;
}

struct start_arg {
  struct store *st;
  bool attach;
  int code;
};

static int start_one(struct engine *en, struct record *r, void *arg) {
  struct start_arg *a = arg;
  struct hull_error e;
  if (record_reload(r, &e) < 0)
    return ERR("%s", e.msg);
  int rc = do_start(en, a->st, r, a->attach);
  if (rc || !a->attach)
    return rc;
  int s = attach_connect(en, r->id);
  if (s < 0)
    return ERR("container %s: attach: %s", rec_name(r), strerror(-s));
  json_t *conf = json_object_get(r->cfg, "Config");
  bool tty = json_is_true(json_object_get(conf, "Tty"));
  int code = attach_relay(s, tty, json_is_true(json_object_get(conf, "OpenStdin")), true, !tty);
  close(s);
  a->code = code == ATTACH_START_FAILED ? HULL_EXIT_ERROR
            : code >= 0                  ? code
                                         : recorded_exit(en, r->id);
  return 0;
}

int hull_cmd_start(struct hull_ctx *ctx, int argc, char **argv) {
  static const struct option opts[] = {{"attach", no_argument, NULL, 'a'},
                                       {"interactive", no_argument, NULL, 'i'},
                                       {NULL, 0, NULL, 0}};
  struct start_arg a = {0};
  int c;
  while ((c = getopt_long(argc, argv, "+ai", opts, NULL)) != -1) {
    if (c == 'a')
      a.attach = true;
    else if (c != 'i')
      return HULL_EXIT_ERROR;
  }
  struct hull_error e;
  if (store_open(ctx->root, &a.st, &e) < 0)
    return ERR("%s", e.msg);
  if (a.attach && argc - optind != 1)
    return ERR("start -a: one container at a time");
  int rc = each_container(ctx, argc, argv, optind, !a.attach, start_one, &a);
  store_close(a.st);
  return rc ? rc : a.code;
}

/* -------------------------------------------------------------------- ps */

static void fmt_ago(const char *rfc, char *out, size_t len) {
  struct tm tm = {0};
  if (!rfc || !strptime(rfc, "%Y-%m-%dT%H:%M:%S", &tm)) {
    snprintf(out, len, "?");
    return;
  }
  long d = (long)(time(NULL) - timegm(&tm));
  if (d < 2)
    snprintf(out, len, "Less than a second");
  else if (d < 60)
    snprintf(out, len, "%ld seconds", d);
  else if (d < 3600)
    snprintf(out, len, "%ld minute%s", d / 60, d / 60 == 1 ? "" : "s");
  else if (d < 86400)
    snprintf(out, len, "%ld hour%s", d / 3600, d / 3600 == 1 ? "" : "s");
  else
    snprintf(out, len, "%ld day%s", d / 86400, d / 86400 == 1 ? "" : "s");
}

static void fmt_status(struct record *r, char *out, size_t len) {
  const char *s = record_status(r);
  json_t *st = record_state(r);
  char ago[64];
  if (!strcmp(s, "running")) {
    fmt_ago(json_string_value(json_object_get(st, "StartedAt")), ago, sizeof ago);
    snprintf(out, len, "Up %s", ago);
  } else if (!strcmp(s, "exited")) {
    fmt_ago(json_string_value(json_object_get(st, "FinishedAt")), ago, sizeof ago);
    snprintf(out, len, "Exited (%d) %s ago",
             (int)json_integer_value(json_object_get(st, "ExitCode")), ago);
  } else {
    snprintf(out, len, "%s%s", s[0] == 'c' ? "Created" : s, "");
  }
}

static char *command_of(struct record *r) {
  json_t *conf = json_object_get(r->cfg, "Config");
  char *out = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&out, &len);
  const char *sep = "";
  const char *keys[] = {"Entrypoint", "Cmd"};
  for (int k = 0; k < 2; k++) {
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(conf, keys[k]), i, v) {
      fprintf(f, "%s%s", sep, json_string_value(v));
      sep = " ";
    }
  }
  fclose(f);
  return out;
}

static int cmp_created(const void *a, const void *b) {
  json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
  const char *cx = json_string_value(json_object_get(x, "Created")) ?: "";
  const char *cy = json_string_value(json_object_get(y, "Created")) ?: "";
  return strcmp(cy, cx); /* newest first */
}

/* Every record (refreshed), newest first; caller decrefs the array. */
static json_t *all_records(struct engine *en) {
  char **ids;
  size_t n;
  struct hull_error e;
  json_t *arr = json_array();
  engine_net_sweep(en); /* what killed monitors of removed containers left */
  if (record_list(en, &ids, &n, &e) < 0)
    return arr;
  json_t **v = calloc(n + 1, sizeof *v);
  size_t cnt = 0;
  for (size_t i = 0; i < n; i++) {
    struct record *r;
    if (record_open_id(en, ids[i], false, &r, &e) == 0) {
      const char *st = record_status(r);
      if (!engine_status_live(st) &&
          json_object_get(json_object_get(r->cfg, "NetworkSettings"), "SandboxKey")) {
        /* its monitor was killed: what it held of the network goes back */
        struct record *l;
        if (record_open_id(en, ids[i], true, &l, &e) == 0) {
          engine_net_reap(en, l, &e);
          record_free(l);
        }
      }
      char status[128];
      fmt_status(r, status, sizeof status);
      char *cmd = command_of(r);
      json_object_set_new(r->cfg, "_status", json_string(status));
      json_object_set_new(r->cfg, "_command", json_string(cmd ? cmd : ""));
      free(cmd);
      v[cnt++] = json_incref(r->cfg);
      record_free(r);
    }
    free(ids[i]);
  }
  free(ids);
  qsort(v, cnt, sizeof *v, cmp_created);
  for (size_t i = 0; i < cnt; i++)
    json_array_append_new(arr, v[i]);
  free(v);
  return arr;
}

/* "127.0.0.1:8080->80/tcp, ..." as docker ps shows them (malloc'd). */
static char *ports_text(json_t *rec) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (!f)
    return NULL;
  const char *k;
  json_t *list;
  bool first = true;
  json_object_foreach(json_object_get(json_object_get(rec, "NetworkSettings"), "Ports"), k, list) {
    size_t i;
    json_t *b;
    json_array_foreach(list, i, b) {
      fprintf(f, "%s%s:%s->%s", first ? "" : ", ",
              json_string_value(json_object_get(b, "HostIp")) ?: "",
              json_string_value(json_object_get(b, "HostPort")) ?: "", k);
      first = false;
    }
  }
  fclose(f);
  return buf;
}

static int ps(struct hull_ctx *ctx, int argc, char **argv) {
  static const struct option opts[] = {{"all", no_argument, NULL, 'a'},
                                       {"quiet", no_argument, NULL, 'q'},
                                       {"format", required_argument, NULL, 'f'},
                                       {"no-trunc", no_argument, NULL, 'n'},
                                       {NULL, 0, NULL, 0}};
  bool all = false, quiet = false, json = false, notrunc = false;
  const char *tmpl = NULL;
  int c;
  while ((c = getopt_long(argc, argv, "+aq", opts, NULL)) != -1) {
    switch (c) {
    case 'a': all = true; break;
    case 'q': quiet = true; break;
    case 'n': notrunc = true; break;
    case 'f':
      if (strstr(optarg, "{{")) { /* docker's row fields: .ID .Names .Image ... */
        tmpl = optarg;
        break;
      }
      if (strcmp(optarg, "json") && strcmp(optarg, "table"))
        return ERR("ps --format %s: json, table or a template ({{.Names}})", optarg);
      json = !strcmp(optarg, "json");
      break;
    default: return HULL_EXIT_ERROR;
    }
  }
  struct engine *en;
  int rc = open_engine(ctx, &en);
  if (rc)
    return rc;
  json_t *recs = all_records(en);
  json_t *out = json_array();
  if (!quiet && !json && !tmpl)
    printf("%-12s  %-20s  %-24s  %-20s  %-26s  %-20s  %-8s  %s\n", "CONTAINER ID", "IMAGE",
           "COMMAND", "CREATED", "STATUS", "PORTS", "ISOLATION", "NAMES");
  size_t i;
  json_t *r;
  json_array_foreach(recs, i, r) {
    json_t *st = json_object_get(r, "State");
    const char *s = json_string_value(json_object_get(st, "Status"));
    bool running = engine_status_live(s);
    if (!all && !running)
      continue;
    const char *id = json_string_value(json_object_get(r, "Id"));
    if (quiet) {
      printf("%.*s\n", notrunc ? ENGINE_ID_LEN : ENGINE_SHORT_ID, id);
      continue;
    }
    const char *img = json_string_value(json_object_get(r, "ImageName"));
    const char *cmd = json_string_value(json_object_get(r, "_command"));
    const char *status = json_string_value(json_object_get(r, "_status"));
    const char *name = json_string_value(json_object_get(r, "Name"));
    const char *iso = json_string_value(json_object_get(r, "Isolation"));
    if (tmpl) {
      _cleanup_free_ char *ports = running ? ports_text(r) : strdup("");
      char sid[ENGINE_SHORT_ID + 1];
      snprintf(sid, sizeof sid, "%s", id);
      json_t *row = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "ID",
                              notrunc ? id : sid, "Names", name, "Image", img, "Command", cmd,
                              "CreatedAt", json_string_value(json_object_get(r, "Created")),
                              "Status", status, "State", s ? s : "", "Ports",
                              ports ? ports : "", "Isolation", iso ? iso : "process",
                              "Networks", "");
      if (!row)
        continue;
      char nets[512] = "";
      const char *k;
      json_t *ignored;
      json_object_foreach(json_object_get(json_object_get(r, "NetworkSettings"), "Networks"), k,
                          ignored) {
        size_t l = strlen(nets);
        snprintf(nets + l, sizeof nets - l, "%s%s", l ? "," : "", k);
      }
      json_object_set_new(row, "Networks", json_string(nets));
      char *line;
      struct hull_error e;
      int x = engine_template(tmpl, row, &line, &e);
      json_decref(row);
      if (x < 0) {
        json_decref(out);
        json_decref(recs);
        engine_close(en);
        return ERR("%s", e.msg);
      }
      printf("%s\n", line);
      free(line);
      continue;
    }
    if (json) {
      json_array_append_new(
          out, json_pack("{s:s, s:[s], s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:O}", "Id", id,
                         "Names", name, "Image", img, "ImageID",
                         json_string_value(json_object_get(r, "Image")), "Command", cmd,
                         "Created", json_string_value(json_object_get(r, "Created")),
                         "State", s ? s : "", "ExitCode",
                         (int)json_integer_value(json_object_get(st, "ExitCode")), "Status",
                         status, "Labels",
                         json_object_get(json_object_get(r, "Config"), "Labels")));
      json_object_set_new(json_array_get(out, json_array_size(out) - 1), "Isolation",
                          json_string(iso ? iso : "process"));
      json_object_set_new(json_array_get(out, json_array_size(out) - 1), "Ports",
                          json_string(running ? ports_text(r) : ""));
      json_object_set(json_array_get(out, json_array_size(out) - 1), "Networks",
                      json_object_get(json_object_get(r, "NetworkSettings"), "Networks")
                          ?: json_object());
      continue;
    }
    char created[64], cmdq[64];
    fmt_ago(json_string_value(json_object_get(r, "Created")), created, sizeof created);
    strcat(created, " ago");
    snprintf(cmdq, sizeof cmdq, "\"%.20s%s\"", cmd, strlen(cmd) > 20 ? "…" : "");
    _cleanup_free_ char *ports = running ? ports_text(r) : strdup("");
    printf("%-12.12s  %-20.20s  %-24s  %-20s  %-26s  %-20s  %-8s  %s\n", id, img, cmdq, created,
           status, ports ? ports : "", iso, name);
  }
  if (json) {
    char *t = json_dumps(out, JSON_INDENT(2));
    printf("%s\n", t);
    free(t);
  }
  json_decref(out);
  json_decref(recs);
  engine_close(en);
  return 0;
}

int hull_cmd_ps(struct hull_ctx *ctx, int argc, char **argv) { return ps(ctx, argc, argv); }

/* ------------------------------------------------------------------ exec */

int hull_cmd_exec(struct hull_ctx *ctx, int argc, char **argv) {
  static const struct option opts[] = {{"interactive", no_argument, NULL, 'i'},
                                       {"tty", no_argument, NULL, 't'},
                                       {"detach", no_argument, NULL, 'd'},
                                       {"env", required_argument, NULL, 'e'},
                                       {"user", required_argument, NULL, 'u'},
                                       {"workdir", required_argument, NULL, 'w'},
                                       {NULL, 0, NULL, 0}};
  bool tty = false, detach = false;
  const char *user = NULL, *cwd = NULL;
  char *envs[256];
  int n_env = 0;
  struct hull_error e;
  int c;
  while ((c = getopt_long(argc, argv, "+itde:u:w:", opts, NULL)) != -1) {
    switch (c) {
    case 'i': break; /* stdin is passed as it is */
    case 't': tty = true; break;
    case 'd': detach = true; break;
    case 'e': {
      char *v;
      int r = parse_env_arg(optarg, &v, &e);
      if (r < 0)
        return ERR("-e: %s", e.msg);
      if (r == 0 && n_env < 255)
        envs[n_env++] = v;
      break;
    }
    case 'u': user = optarg; break;
    case 'w': cwd = optarg; break;
    default: return HULL_EXIT_ERROR;
    }
  }
  envs[n_env] = NULL;
  if (argc - optind < 2)
    return ERR("exec: a container and a command are required");
  struct engine *en;
  struct record *r;
  int rc = open_record(ctx, argv[optind], &en, &r);
  if (rc)
    return rc;
  if (strcmp(record_status(r), "running")) {
    rc = ERR("container %s: is not running", argv[optind]);
    goto out;
  }
  char ids[48];
  if (user && !strchr("0123456789", user[0])) {
    /* names mean the container's /etc/passwd, as for run */
    _cleanup_free_ char *merged = record_path(en, r->id, "merged");
    long uid, gid;
    if (engine_lookup_user(user, merged, &uid, &gid, &e) < 0) {
      rc = ERR("exec: %s", e.msg);
      goto out;
    }
    snprintf(ids, sizeof ids, "%ld:%ld", uid, gid);
    user = ids;
  }
  if (tty && !isatty(STDIN_FILENO))
    tty = false; /* as podman: no terminal to give */
  struct exec_request req = {.args = argv + optind + 1, .env = envs, .cwd = cwd,
                             .user = user, .tty = tty, .detach = detach};
  struct runtime_opts ro = rt_opts(en, NULL);
  int x = container_exec(&ro, r->id, &req, &e);
  rc = x < 0 ? ERR("%s", e.msg) : x;
out:
  record_free(r);
  engine_close(en);
  for (int i = 0; i < n_env; i++)
    free(envs[i]);
  return rc;
}

/* ------------------------------------------------------------------ logs */

static bool still_running(struct engine *en, const char *id) {
  struct record *r;
  struct hull_error e;
  if (record_open_id(en, id, false, &r, &e) < 0)
    return false;
  const char *s = record_status(r);
  bool running = engine_status_live(s);
  record_free(r);
  return running;
}

int hull_cmd_logs(struct hull_ctx *ctx, int argc, char **argv) {
  static const struct option opts[] = {{"follow", no_argument, NULL, 'f'},
                                       {"tail", required_argument, NULL, 'n'},
                                       {"timestamps", no_argument, NULL, 't'},
                                       {NULL, 0, NULL, 0}};
  bool follow = false, ts = false;
  long tail = -1;
  int c;
  while ((c = getopt_long(argc, argv, "+fn:t", opts, NULL)) != -1) {
    switch (c) {
    case 'f': follow = true; break;
    case 't': ts = true; break;
    case 'n':
      if (!strcmp(optarg, "all"))
        tail = -1;
      else {
        char *end;
        tail = strtol(optarg, &end, 10);
        if (*end || tail < 0)
          return ERR("logs --tail %s: a number or \"all\"", optarg);
      }
      break;
    default: return HULL_EXIT_ERROR;
    }
  }
  if (argc - optind != 1)
    return ERR("logs: one container is required");
  struct engine *en;
  struct record *r;
  int rc = open_record(ctx, argv[optind], &en, &r);
  if (rc)
    return rc;
  char id[ENGINE_ID_LEN + 1];
  snprintf(id, sizeof id, "%s", r->id);
  int fd = openat(r->dirfd, "ctr.log", O_RDONLY | O_CLOEXEC);
  record_free(r);
  if (fd < 0) {
    engine_close(en);
    return 0; /* never started: no output */
  }
  /* --tail: find where the last N lines start */
  if (tail >= 0) {
    /* the last N lines start after the (N+1)-th newline from the end
     * (the file ends with one) */
    struct stat sb;
    fstat(fd, &sb);
    off_t pos = sb.st_size, start = 0;
    long lines = 0;
    char b[4096];
    while (pos > 0) {
      size_t chunk = pos > (off_t)sizeof b ? sizeof b : (size_t)pos;
      pos -= (off_t)chunk;
      if (pread(fd, b, chunk, pos) != (ssize_t)chunk)
        break;
      for (size_t i = chunk; i-- > 0;)
        if (b[i] == '\n' && ++lines == tail + 1) {
          start = pos + (off_t)i + 1;
          goto found;
        }
    }
  found:
    lseek(fd, start, SEEK_SET);
  }
  char *pending = NULL;
  size_t plen = 0;
  char b[65536];
  for (;;) {
    ssize_t n = read(fd, b, sizeof b);
    if (n > 0) {
      pending = realloc(pending, plen + (size_t)n);
      memcpy(pending + plen, b, (size_t)n);
      plen += (size_t)n;
      size_t start = 0;
      for (size_t i = 0; i < plen; i++) {
        if (pending[i] != '\n')
          continue;
        char *data, stream[8], t[48];
        size_t dl;
        if (log_line_parse(pending + start, i - start, &data, &dl, stream, t) == 0) {
          FILE *f = !strcmp(stream, "stderr") ? stderr : stdout;
          if (ts)
            fprintf(f, "%s ", t);
          fwrite(data, 1, dl, f);
          fflush(f);
          free(data);
        }
        start = i + 1;
      }
      memmove(pending, pending + start, plen - start);
      plen -= start;
      continue;
    }
    if (!follow || !still_running(en, id)) {
      /* one more read: output written just before the end */
      if (follow) {
        follow = false;
        continue;
      }
      break;
    }
    usleep(100 * 1000);
  }
  free(pending);
  close(fd);
  engine_close(en);
  return 0;
}

/* ------------------------------------------------------- stop, kill, wait */

/* Wait until the container's monitor is gone (timeout_ms < 0: forever).
 * Returns true when it is. */
static bool wait_monitor(struct engine *en, const char *id, int timeout_ms) {
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (;;) {
    struct record *r;
    struct hull_error e;
    if (record_open_id(en, id, false, &r, &e) < 0)
      return true; /* removed (--rm) */
    const char *s = record_status(r);
    bool live = engine_status_live(s);
    pid_t mpid = (pid_t)json_integer_value(json_object_get(record_state(r), "MonitorPid"));
    record_free(r);
    if (!live)
      return true;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long el = (now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000;
    if (timeout_ms >= 0 && el >= timeout_ms)
      return false;
    int left = timeout_ms < 0 ? 1000 : (int)(timeout_ms - el);
    if (left > 1000)
      left = 1000;
    int pfd = mpid > 0 ? (int)syscall(SYS_pidfd_open, mpid, 0) : -1;
    if (pfd >= 0) {
      struct pollfd p = {.fd = pfd, .events = POLLIN};
      poll(&p, 1, left);
      close(pfd);
      /* the monitor writes the record just before it ends */
      usleep(2000);
    } else {
      usleep(20000);
    }
  }
}

static int signal_container(struct engine *en, struct record *r, int sig) {
  struct hull_error e;
  struct runtime_opts ro = rt_opts(en, NULL);
  if (container_kill(&ro, r->id, sig, false, &e) < 0 && e.code != ESRCH)
    return ERR("container %s: %s", rec_name(r), e.msg);
  return 0;
}

static int stop_one(struct engine *en, struct record *r, void *arg) {
  int timeout = *(int *)arg;
  const char *s = record_status(r);
  if (!engine_status_live(s))
    return 0; /* docker: stopping a stopped container is fine */
  int sig = SIGTERM;
  struct hull_error e;
  const char *ss = json_string_value(json_object_get(json_object_get(r->cfg, "Config"), "StopSignal"));
  if (ss && engine_parse_signal(ss, &sig, &e) < 0)
    sig = SIGTERM;
  int rc = signal_container(en, r, sig);
  if (rc)
    return rc;
  if (wait_monitor(en, r->id, timeout * 1000))
    return 0;
  if ((rc = signal_container(en, r, SIGKILL)))
    return rc;
  if (!wait_monitor(en, r->id, 30000))
    return ERR("container %s: still running 30 s after SIGKILL", rec_name(r));
  return 0;
}

int hull_cmd_stop(struct hull_ctx *ctx, int argc, char **argv) {
  static const struct option opts[] = {{"time", required_argument, NULL, 't'},
                                       {"timeout", required_argument, NULL, 't'},
                                       {NULL, 0, NULL, 0}};
  int timeout = 10, c;
  while ((c = getopt_long(argc, argv, "+t:", opts, NULL)) != -1) {
    if (c != 't')
      return HULL_EXIT_ERROR;
    char *end;
    timeout = (int)strtol(optarg, &end, 10);
    if (*end || timeout < 0)
      return ERR("stop -t %s: a number of seconds", optarg);
  }
  return each_container(ctx, argc, argv, optind, true, stop_one, &timeout);
}

static int kill_one(struct engine *en, struct record *r, void *arg) {
  const char *s = record_status(r);
  if (!engine_status_live(s))
    return ERR("container %s: is not running", rec_name(r));
  return signal_container(en, r, *(int *)arg);
}

int hull_cmd_kill(struct hull_ctx *ctx, int argc, char **argv) {
  static const struct option opts[] = {{"signal", required_argument, NULL, 's'},
                                       {NULL, 0, NULL, 0}};
  int sig = SIGKILL, c;
  struct hull_error e;
  while ((c = getopt_long(argc, argv, "+s:", opts, NULL)) != -1) {
    if (c != 's')
      return HULL_EXIT_ERROR;
    if (engine_parse_signal(optarg, &sig, &e) < 0)
      return ERR("kill: %s", e.msg);
  }
  return each_container(ctx, argc, argv, optind, true, kill_one, &sig);
}

static int wait_one(struct engine *en, struct record *r, void *arg) {
  int *last = arg;
  char id[ENGINE_ID_LEN + 1];
  snprintf(id, sizeof id, "%s", r->id);
  /* running: the monitor tells its clients the exit status, even when
   * --rm removes the record right after */
  if (!strcmp(record_status(r), "running")) {
    int s = attach_connect(en, id);
    if (s >= 0) {
      static char buf[16384];
      int type;
      size_t len;
      while (frame_recv(s, &type, buf, sizeof buf - 1, &len) == 0) {
        if (type == FRAME_EXIT) {
          buf[len] = '\0';
          *last = atoi(buf);
          close(s);
          printf("%d\n", *last);
          fflush(stdout);
          return 0;
        }
      }
      close(s);
    }
  }
  for (;;) {
    wait_monitor(en, id, -1);
    struct record *x;
    struct hull_error e;
    if (record_open_id(en, id, false, &x, &e) < 0)
      return ERR("container %.12s: removed before its exit code was read", id);
    const char *s = record_status(x);
    if (!strcmp(s, "exited")) {
      *last = (int)json_integer_value(json_object_get(record_state(x), "ExitCode"));
      record_free(x);
      printf("%d\n", *last);
      fflush(stdout);
      return 0;
    }
    record_free(x);
    usleep(100000); /* created: wait for a start */
  }
}

int hull_cmd_wait(struct hull_ctx *ctx, int argc, char **argv) {
  int last = 0;
  int rc = each_container(ctx, argc, argv, 1, false, wait_one, &last);
  return rc ? rc : last;
}

/* -------------------------------------------------------------------- rm */

struct rm_arg {
  bool force, volumes;
};

static int remove_container(struct engine *en, struct record *r, bool force, bool volumes) {
  struct hull_error e;
  const char *s = record_status(r);
  if (engine_status_live(s)) {
    if (!force)
      return ERR("container %s: cannot remove a running container (stop it first or use -f)",
                 rec_name(r));
    int rc = signal_container(en, r, SIGKILL);
    if (rc)
      return rc;
    if (!wait_monitor(en, r->id, 30000))
      return ERR("container %s: still running 30 s after SIGKILL", rec_name(r));
  }
  wait_monitor_gone(en, r->id, 30000);
  struct record *l;
  if (record_open_id(en, r->id, true, &l, &e) < 0)
    return e.code == ENOENT ? 0 : ERR("%s", e.msg); /* --rm beat us to it */
  if (engine_status_live(record_status(l))) { /* a start got in between */
    record_free(l);
    return ERR("container %s: started meanwhile; stop it first or use -f", rec_name(r));
  }
  _cleanup_free_ char *cdir = record_path(en, l->id, NULL);
  struct runtime_opts ro = rt_opts(en, NULL);
  container_delete(&ro, l->id, true, &e); /* a crashed monitor's leftovers */
  if (engine_net_reap(en, l, &e) < 0)
    fprintf(stderr, "hull: container %s: %s\n", rec_name(r), e.msg);
  if (rootfs_unmount(cdir, &e) < 0) {
    record_free(l);
    return ERR("container %s: %s", rec_name(r), e.msg);
  }
  json_t *anon = json_object_get(json_object_get(l->cfg, "HostConfig"), "AnonVolumes");
  int rc = record_remove(en, l, &e) < 0 ? ERR("%s", e.msg) : 0;
  if (!rc && volumes) {
    _cleanup_free_ char *vdir = volumes_dir(en);
    size_t i;
    json_t *v;
    json_array_foreach(anon, i, v) volume_remove(vdir, json_string_value(v), &e);
  }
  record_free(l);
  return rc;
}

static int rm_one(struct engine *en, struct record *r, void *arg) {
  struct rm_arg *a = arg;
  return remove_container(en, r, a->force, a->volumes);
}

int hull_cmd_rm(struct hull_ctx *ctx, int argc, char **argv) {
  static const struct option opts[] = {{"force", no_argument, NULL, 'f'},
                                       {"volumes", no_argument, NULL, 'v'},
                                       {"all", no_argument, NULL, 'a'},
                                       {NULL, 0, NULL, 0}};
  struct rm_arg a = {0};
  bool all = false;
  int c;
  while ((c = getopt_long(argc, argv, "+fva", opts, NULL)) != -1) {
    if (c == 'f')
      a.force = true;
    else if (c == 'v')
      a.volumes = true;
    else if (c == 'a')
      all = true;
    else
      return HULL_EXIT_ERROR;
  }
  if (!all)
    return each_container(ctx, argc, argv, optind, true, rm_one, &a);
  /* podman's --all: every container (running ones need -f) */
  if (optind < argc)
    return ERR("rm --all: no container names with --all");
  struct engine *en;
  int rc = open_engine(ctx, &en);
  if (rc)
    return rc;
  char **ids = NULL;
  size_t n = 0;
  struct hull_error e;
  if (record_list(en, &ids, &n, &e) < 0)
    rc = ERR("%s", e.msg);
  for (size_t i = 0; i < n; i++) {
    struct record *r;
    if (record_open_id(en, ids[i], false, &r, &e) == 0) {
      int x = rm_one(en, r, &a);
      if (x)
        rc = x;
      else
        printf("%s\n", r->id);
      record_free(r);
    }
    free(ids[i]);
  }
  free(ids);
  engine_close(en);
  return rc;
}

/* --------------------------------------------------------------- inspect */

static json_t *image_json(const struct image *img) {
  json_t *tags = json_array();
  for (size_t i = 0; i < img->n_names; i++)
    json_array_append_new(tags, json_string(img->names[i]));
  json_t *o = json_pack("{s:s, s:o, s:s, s:I, s:O}", "Id", img->id, "RepoTags", tags,
                        "Digest", img->manifest, "Size", (json_int_t)img->size, "Config",
                        json_object_get(img->config, "config") ?: json_null());
  const char *keys[] = {"created", "architecture", "os", "rootfs"};
  const char *out[] = {"Created", "Architecture", "Os", "RootFS"};
  for (int i = 0; i < 4; i++) {
    json_t *v = json_object_get(img->config, keys[i]);
    if (v)
      json_object_set(o, out[i], v);
  }
  return o;
}

static json_t *container_json(struct engine *en, struct record *r) {
  record_status(r);
  json_t *o = json_deep_copy(r->cfg);
  json_object_del(o, "_status");
  json_object_del(o, "_command");
  json_t *st = json_object_get(o, "State");
  const char *s = json_string_value(json_object_get(st, "Status"));
  json_object_set_new(st, "Running", json_boolean(s && !strcmp(s, "running")));
  json_t *conf = json_object_get(o, "Config");
  json_t *args = json_array();
  json_array_extend(args, json_object_get(conf, "Entrypoint"));
  json_array_extend(args, json_object_get(conf, "Cmd"));
  json_object_set_new(o, "Path", json_array_size(args) ? json_copy(json_array_get(args, 0)) : json_string(""));
  json_array_remove(args, 0);
  json_object_set_new(o, "Args", args);
  _cleanup_free_ char *cdir = record_path(en, r->id, NULL);
  _cleanup_free_ char *logp = record_path(en, r->id, "ctr.log");
  _cleanup_free_ char *merged = record_path(en, r->id, "merged");
  json_object_set_new(o, "LogPath", json_string(logp));
  json_object_set_new(o, "GraphDriver",
                      json_pack("{s:s, s:{s:s}}", "Name", "overlay", "Data", "MergedDir", merged));
  json_object_set_new(o, "ContainerDir", json_string(cdir));
  return o;
}

static int inspect(struct hull_ctx *ctx, int argc, char **argv, int first, int kind,
                   const char *tmpl) {
  /* kind: 0 any, 1 containers only; tmpl: a --format template or NULL */
  if (first >= argc)
    return ERR("inspect: at least one container or image is required");
  struct engine *en;
  int rc = open_engine(ctx, &en);
  if (rc)
    return rc;
  struct store *st = NULL;
  struct hull_error e;
  /* only images: exactly what `hull image inspect` prints */
  if (kind == 0 && !tmpl) {
    bool any = false;
    for (int i = first; i < argc && !any; i++) {
      struct record *r;
      if (record_find(en, argv[i], false, &r, &e) == 0) {
        any = true;
        record_free(r);
      }
    }
    if (!any) {
      engine_close(en);
      int n = argc - first;
      char **args = calloc((size_t)n + 3, sizeof *args);
      if (!args)
        return ERR("inspect: out of memory");
      args[0] = "image";
      args[1] = "inspect";
      memcpy(args + 2, argv + first, (size_t)n * sizeof *args);
      optind = 1;
      rc = hull_cmd_image(ctx, n + 2, args);
      free(args);
      return rc;
    }
  }
  json_t *out = json_array();
  for (int i = first; i < argc; i++) {
    struct record *r;
    if (record_find(en, argv[i], false, &r, &e) == 0) {
      json_array_append_new(out, container_json(en, r));
      record_free(r);
      continue;
    }
    struct image *img;
    if (kind == 0 && (st || store_open(ctx->root, &st, &e) == 0) &&
        image_resolve(st, argv[i], &img, &e) == 0) {
      json_array_append_new(out, image_json(img));
      image_free(img);
      continue;
    }
    rc = ERR("%s: no such container%s", argv[i], kind ? "" : " or image");
  }
  if (tmpl) { /* one line per object, as docker's -f */
    size_t i;
    json_t *v;
    json_array_foreach(out, i, v) {
      char *line;
      if (engine_template(tmpl, v, &line, &e) < 0) {
        rc = ERR("%s", e.msg);
        break;
      }
      printf("%s\n", line);
      free(line);
    }
  } else {
    char *t = json_dumps(out, JSON_INDENT(4));
    printf("%s\n", t);
    free(t);
  }
  json_decref(out);
  store_close(st);
  engine_close(en);
  return rc;
}

int hull_cmd_inspect(struct hull_ctx *ctx, int argc, char **argv) {
  int c;
  static const struct option opts[] = {{"format", required_argument, NULL, 'f'},
                                       {NULL, 0, NULL, 0}};
  const char *tmpl = NULL;
  while ((c = getopt_long(argc, argv, "+f:", opts, NULL)) != -1) {
    if (c != 'f')
      return HULL_EXIT_ERROR;
    tmpl = strcmp(optarg, "json") ? optarg : NULL; /* a Go-template subset, or JSON */
  }
  return inspect(ctx, argc, argv, optind, 0, tmpl);
}

/* ---------------------------------------------------------------- attach */

int hull_cmd_attach(struct hull_ctx *ctx, int argc, char **argv) {
  static const struct option opts[] = {{"no-stdin", no_argument, NULL, 'n'},
                                       {NULL, 0, NULL, 0}};
  bool no_stdin = false;
  int c;
  while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
    if (c != 'n')
      return HULL_EXIT_ERROR;
    no_stdin = true;
  }
  if (argc - optind != 1)
    return ERR("attach: one container is required");
  struct engine *en;
  struct record *r;
  int rc = open_record(ctx, argv[optind], &en, &r);
  if (rc)
    return rc;
  if (strcmp(record_status(r), "running")) {
    rc = ERR("container %s: is not running", argv[optind]);
  } else {
    json_t *conf = json_object_get(r->cfg, "Config");
    bool tty = json_is_true(json_object_get(conf, "Tty"));
    int s = attach_connect(en, r->id);
    if (s < 0) {
      rc = ERR("container %s: attach: %s", argv[optind], strerror(-s));
    } else {
      int code = attach_relay(s, tty, !no_stdin && json_is_true(json_object_get(conf, "OpenStdin")),
                       false, !tty);
      close(s);
      rc = code >= 0 ? code : recorded_exit(en, r->id);
    }
  }
  record_free(r);
  engine_close(en);
  return rc;
}

/* ------------------------------------------------------------- container */

static int prune(struct hull_ctx *ctx, bool print) {
  struct engine *en;
  int rc = open_engine(ctx, &en);
  if (rc)
    return rc;
  json_t *recs = all_records(en);
  size_t i;
  json_t *v;
  json_array_foreach(recs, i, v) {
    const char *s = json_string_value(json_object_get(json_object_get(v, "State"), "Status"));
    if (!s || strcmp(s, "exited"))
      continue; /* created ones stay, as docker does not... but podman does */
    struct record *r;
    struct hull_error e;
    if (record_open_id(en, json_string_value(json_object_get(v, "Id")), false, &r, &e) < 0)
      continue;
    if (remove_container(en, r, false, false) == 0) {
      if (print)
        printf("%s\n", r->id);
    }
    record_free(r);
  }
  json_decref(recs);
  engine_close(en);
  return rc;
}

int hull_cmd_container(struct hull_ctx *ctx, int argc, char **argv) {
  if (argc < 2)
    return ERR("container: a subcommand is required (ls, ps, prune, inspect, rm, ...)");
  const char *sub = argv[1];
  argv++;
  argc--;
  optind = 1;
  if (!strcmp(sub, "ls") || !strcmp(sub, "ps") || !strcmp(sub, "list"))
    return ps(ctx, argc, argv);
  if (!strcmp(sub, "prune")) {
    int c;
    static const struct option opts[] = {{"force", no_argument, NULL, 'f'},
                                         {NULL, 0, NULL, 0}};
    while ((c = getopt_long(argc, argv, "+f", opts, NULL)) != -1)
      if (c != 'f')
        return HULL_EXIT_ERROR;
    return prune(ctx, true);
  }
  if (!strcmp(sub, "inspect")) {
    int c;
    while ((c = getopt_long(argc, argv, "+", NULL, NULL)) != -1)
      return HULL_EXIT_ERROR;
    return inspect(ctx, argc, argv, optind, 1, NULL);
  }
  static const struct {
    const char *name;
    hull_cmd_fn *fn;
  } subs[] = {{"rm", hull_cmd_rm},     {"run", hull_cmd_run},       {"create", hull_cmd_create},
              {"start", hull_cmd_start}, {"stop", hull_cmd_stop},   {"kill", hull_cmd_kill},
              {"logs", hull_cmd_logs}, {"exec", hull_cmd_exec},     {"wait", hull_cmd_wait},
              {"attach", hull_cmd_attach}};
  for (size_t i = 0; i < sizeof subs / sizeof *subs; i++)
    if (!strcmp(subs[i].name, sub))
      return subs[i].fn(ctx, argc, argv);
  return ERR("container %s: unknown subcommand", sub);
}

/* ---------------------------------------------------------------- volume */

static bool volume_in_use(struct engine *en, const char *name, char *who, size_t len) {
  json_t *recs = all_records(en);
  size_t i, j;
  json_t *v, *b;
  bool used = false;
  json_array_foreach(recs, i, v) {
    json_array_foreach(json_object_get(json_object_get(v, "HostConfig"), "Binds"), j, b) {
      const char *s = json_string_value(b);
      size_t nl = strlen(name);
      if (!strncmp(s, name, nl) && s[nl] == ':') {
        used = true;
        snprintf(who, len, "%s", json_string_value(json_object_get(v, "Name")));
      }
    }
  }
  json_decref(recs);
  return used;
}

int hull_cmd_volume(struct hull_ctx *ctx, int argc, char **argv) {
  if (argc < 2)
    return ERR("volume: a subcommand is required (create, ls, rm, inspect, prune)");
  const char *sub = argv[1];
  struct engine *en;
  int rc = open_engine(ctx, &en);
  if (rc)
    return rc;
  _cleanup_free_ char *vdir = volumes_dir(en);
  struct hull_error e;
  argc--;
  argv++;
  optind = 1;
  bool quiet = false, force = false, json = false;
  int c;
  static const struct option opts[] = {{"quiet", no_argument, NULL, 'q'},
                                       {"force", no_argument, NULL, 'f'},
                                       {"format", required_argument, NULL, 'F'},
                                       {NULL, 0, NULL, 0}};
  while ((c = getopt_long(argc, argv, "+qf", opts, NULL)) != -1) {
    if (c == 'q')
      quiet = true;
    else if (c == 'f')
      force = true;
    else if (c == 'F')
      json = !strcmp(optarg, "json");
    else {
      engine_close(en);
      return HULL_EXIT_ERROR;
    }
  }
  if (!strcmp(sub, "create")) {
    char name[ENGINE_ID_LEN + 1];
    if (optind < argc)
      snprintf(name, sizeof name, "%s", argv[optind]);
    else
      hull_random_id(name);
    if (volume_create(vdir, name, NULL, &e) < 0)
      rc = ERR("%s", e.msg);
    else
      printf("%s\n", name);
  } else if (!strcmp(sub, "ls") || !strcmp(sub, "list")) {
    char **names;
    size_t n;
    if (volume_list(vdir, &names, &n, &e) < 0)
      rc = ERR("%s", e.msg);
    else {
      json_t *arr = json ? json_array() : NULL;
      if (!quiet && !json)
        printf("%-10s  %s\n", "DRIVER", "VOLUME NAME");
      for (size_t i = 0; i < n; i++) {
        char *mp = NULL;
        if (json && volume_path(vdir, names[i], &mp, &e) == 0)
          json_array_append_new(arr, json_pack("{s:s, s:s, s:s}", "Name", names[i], "Driver",
                                               "local", "Mountpoint", mp));
        free(mp);
        if (json)
          ;
        else if (quiet)
          printf("%s\n", names[i]);
        else
          printf("%-10s  %s\n", "local", names[i]);
        free(names[i]);
      }
      free(names);
      if (json) {
        char *t = json_dumps(arr, JSON_INDENT(2));
        printf("%s\n", t);
        free(t);
        json_decref(arr);
      }
    }
  } else if (!strcmp(sub, "rm") || !strcmp(sub, "remove")) {
    if (optind >= argc)
      rc = ERR("volume rm: at least one volume is required");
    for (int i = optind; i < argc; i++) {
      char who[200];
      if (!force && volume_in_use(en, argv[i], who, sizeof who)) {
        rc = ERR("volume %s: in use by container %s", argv[i], who);
        continue;
      }
      if (volume_remove(vdir, argv[i], &e) < 0)
        rc = ERR("%s", e.msg);
      else
        printf("%s\n", argv[i]);
    }
  } else if (!strcmp(sub, "inspect")) {
    json_t *out = json_array();
    for (int i = optind; i < argc; i++) {
      char *p;
      struct stat sb;
      if (volume_path(vdir, argv[i], &p, &e) < 0 || stat(p, &sb) < 0) {
        rc = ERR("volume %s: no such volume", argv[i]);
        if (e.code == 0)
          free(p);
        continue;
      }
      char created[48];
      struct tm tm;
      gmtime_r(&sb.st_ctime, &tm);
      strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", &tm);
      json_array_append_new(out, json_pack("{s:s, s:s, s:s, s:s, s:{}, s:{}}", "Name", argv[i],
                                           "Driver", "local", "Mountpoint", p, "CreatedAt",
                                           created, "Labels", "Options"));
      free(p);
    }
    char *t = json_dumps(out, JSON_INDENT(4));
    printf("%s\n", t);
    free(t);
    json_decref(out);
  } else if (!strcmp(sub, "prune")) {
    char **names;
    size_t n;
    if (volume_list(vdir, &names, &n, &e) == 0) {
      for (size_t i = 0; i < n; i++) {
        char who[200];
        if (!volume_in_use(en, names[i], who, sizeof who) &&
            volume_remove(vdir, names[i], &e) == 0)
          printf("%s\n", names[i]);
        free(names[i]);
      }
      free(names);
    }
  } else {
    rc = ERR("volume %s: unknown subcommand (create, ls, rm, inspect, prune)", sub);
  }
  engine_close(en);
  return rc;
}

/* ---------------------------------------------------------------- system */

static uint64_t du(int dirfd, const char *name) {
  struct stat sb;
  if (fstatat(dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) < 0)
    return 0;
  uint64_t total = (uint64_t)sb.st_blocks * 512;
  if (!S_ISDIR(sb.st_mode))
    return total;
  int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return total;
  struct stat sub;
  if (fstat(fd, &sub) == 0 && sub.st_dev != sb.st_dev) {
    close(fd);
    return 0; /* a mount (the merged root): counted in its layers */
  }
  DIR *d = fdopendir(fd);
  if (!d) {
    close(fd);
    return total;
  }
  struct dirent *de;
  while ((de = readdir(d)))
    if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
      total += du(fd, de->d_name);
  closedir(d);
  return total;
}

static void human(uint64_t b, char *out, size_t len) {
  const char *u[] = {"B", "kB", "MB", "GB", "TB"};
  double v = (double)b;
  int i = 0;
  while (v >= 1000 && i < 4) {
    v /= 1000;
    i++;
  }
  snprintf(out, len, i ? "%.3g%s" : "%.0f%s", v, u[i]);
}

int hull_cmd_system(struct hull_ctx *ctx, int argc, char **argv) {
  if (argc < 2)
    return ERR("system: a subcommand is required (df, prune)");
  const char *sub = argv[1];
  argc--;
  argv++;
  optind = 1;
  bool json = false;
  int c;
  static const struct option opts[] = {{"format", required_argument, NULL, 'F'},
                                       {"force", no_argument, NULL, 'f'},
                                       {"all", no_argument, NULL, 'a'},
                                       {"volumes", no_argument, NULL, 'v'},
                                       {NULL, 0, NULL, 0}};
  bool prune_volumes = false;
  while ((c = getopt_long(argc, argv, "+fa", opts, NULL)) != -1) {
    if (c == 'F')
      json = !strcmp(optarg, "json");
    else if (c == 'v')
      prune_volumes = true;
    else if (c != 'f' && c != 'a')
      return HULL_EXIT_ERROR;
  }
  if (!strcmp(sub, "prune")) {
    int rc = prune(ctx, false);
    if (!rc && hull_cmd_network) { /* docker's: networks no container uses */
      char *args[] = {"network", "prune", NULL};
      optind = 1;
      rc = hull_cmd_network(ctx, 2, args);
    }
    if (!rc && prune_volumes) {
      char *args[] = {"volume", "prune", NULL};
      optind = 1;
      rc = hull_cmd_volume(ctx, 2, args);
    }
    return rc;
  }
  if (strcmp(sub, "df"))
    return ERR("system %s: unknown subcommand (df, prune)", sub);
  struct engine *en;
  int rc = open_engine(ctx, &en);
  if (rc)
    return rc;
  struct store *st;
  struct hull_error e;
  struct store_usage u = {0};
  if (store_open(ctx->root, &st, &e) < 0 || store_usage(st, &u, &e) < 0) {
    engine_close(en);
    return ERR("%s", e.msg);
  }
  store_close(st);
  json_t *recs = all_records(en);
  size_t i;
  json_t *v;
  uint64_t csize = 0, active = 0;
  json_array_foreach(recs, i, v) {
    const char *s = json_string_value(json_object_get(json_object_get(v, "State"), "Status"));
    if (s && !strcmp(s, "running"))
      active++;
    csize += du(en->cdirfd, json_string_value(json_object_get(v, "Id")));
  }
  size_t ncont = json_array_size(recs);
  json_decref(recs);
  _cleanup_free_ char *vdir = volumes_dir(en);
  char **names;
  size_t nv = 0;
  uint64_t vsize = 0;
  if (volume_list(vdir, &names, &nv, &e) == 0) {
    int vfd = open(vdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    for (size_t k = 0; k < nv; k++) {
      if (vfd >= 0)
        vsize += du(vfd, names[k]);
      free(names[k]);
    }
    free(names);
    if (vfd >= 0)
      close(vfd);
  }
  if (json) {
    json_t *o = json_pack("[{s:s, s:I, s:I}, {s:s, s:I, s:I, s:I}, {s:s, s:I, s:I}]", "Type",
                          "Images", "TotalCount", (json_int_t)u.images, "Size",
                          (json_int_t)u.images_size, "Type", "Containers", "TotalCount",
                          (json_int_t)ncont, "Active", (json_int_t)active, "Size",
                          (json_int_t)csize, "Type", "Local Volumes", "TotalCount",
                          (json_int_t)nv, "Size", (json_int_t)vsize);
    char *t = json_dumps(o, JSON_INDENT(2));
    printf("%s\n", t);
    free(t);
    json_decref(o);
  } else {
    char a[32], b[32], d[32];
    human(u.images_size, a, sizeof a);
    human(csize, b, sizeof b);
    human(vsize, d, sizeof d);
    printf("%-14s  %-6s  %-6s  %s\n", "TYPE", "TOTAL", "ACTIVE", "SIZE");
    printf("%-14s  %-6" PRIu64 "  %-6s  %s\n", "Images", u.images, "-", a);
    printf("%-14s  %-6zu  %-6" PRIu64 "  %s\n", "Containers", ncont, active, b);
    printf("%-14s  %-6zu  %-6s  %s\n", "Local Volumes", nv, "-", d);
  }
  engine_close(en);
  return 0;
}
