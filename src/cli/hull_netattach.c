/* A container's place on networks, from the command line: `hull port`
 * (its published ports), `hull network connect` and `disconnect` (dispatched
 * here by `hull network`, hull_networks.c). The work is the engine's
 * (src/engine/networking.c). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/cleanup.h"
#include "../engine/engine.h"
#include "../net/network.h"
#include "../net/subnet.h"
#include "hull_cmds.h"

#define ERR(...) (fprintf(stderr, "hull: " __VA_ARGS__), fputc('\n', stderr), HULL_EXIT_ERROR)

/* The container named, its record locked. */
static int open_locked(struct hull_ctx *ctx, const char *ref, struct engine **en,
                       struct record **r) {
  struct hull_error e;
  if (engine_open(ctx->root, ctx->runroot, en, &e) < 0)
    return ERR("%s", e.msg);
  if (record_find(*en, ref, true, r, &e) < 0) {
    engine_close(*en);
    return ERR("%s", e.msg);
  }
  return 0;
}

static const char *name_of(struct record *r) {
  const char *n = json_string_value(json_object_get(r->cfg, "Name"));
  return n ? n : r->id;
}

int hull_cmd_port(struct hull_ctx *ctx, int argc, char **argv) {
  if (argc < 2 || argc > 3 || argv[1][0] == '-') {
    fprintf(stderr, "usage: hull port CONTAINER [PRIVATE_PORT[/PROTO]]\n");
    return argc == 2 && !strcmp(argv[1], "--help") ? 0 : HULL_EXIT_ERROR;
  }
  struct engine *en;
  struct record *r;
  struct hull_error e;
  if (engine_open(ctx->root, ctx->runroot, &en, &e) < 0)
    return ERR("%s", e.msg);
  if (record_find(en, argv[1], false, &r, &e) < 0) {
    engine_close(en);
    return ERR("%s", e.msg);
  }
  int rc = 0;
  char want[24] = "";
  if (argc == 3)
    snprintf(want, sizeof want, "%s%s", argv[2], strchr(argv[2], '/') ? "" : "/tcp");
  json_t *ports = json_object_get(json_object_get(r->cfg, "NetworkSettings"), "Ports");
  const char *state = record_status(r);
  const char *k;
  json_t *list;
  bool found = false;
  if (!strcmp(state, "running")) {
    json_object_foreach(ports, k, list) {
      if (*want && strcmp(want, k))
        continue;
      size_t i;
      json_t *b;
      json_array_foreach(list, i, b) {
        const char *ip = json_string_value(json_object_get(b, "HostIp"));
        const char *hp = json_string_value(json_object_get(b, "HostPort"));
        if (*want)
          printf("%s:%s\n", ip, hp);
        else
          printf("%s -> %s:%s\n", k, ip, hp);
        found = true;
      }
    }
  }
  if (*want && !found)
    rc = ERR("container %s: no public port %s published", name_of(r), want);
  record_free(r);
  engine_close(en);
  return rc;
}

/* connect/disconnect: NETWORK CONTAINER after the options. */
static int net_and_container(int argc, const char *usage) {
  if (argc - optind != 2) {
    fprintf(stderr, "usage: hull network %s\n", usage);
    return -HULL_EXIT_ERROR;
  }
  return optind;
}

int hull_network_connect(struct hull_ctx *ctx, int argc, char **argv) {
  static const struct option opts[] = {{"ip", required_argument, NULL, 1},
                                       {"alias", required_argument, NULL, 2},
                                       {NULL, 0, NULL, 0}};
  const char *ip = NULL;
  json_t *aliases = json_array();
  struct hull_error e;
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
    if (c == 1) {
      ip = optarg;
    } else if (c == 2) {
      if (network_validate_name(optarg, &e) < 0) {
        json_decref(aliases);
        return ERR("--alias %s: not a valid name", optarg);
      }
      json_array_append_new(aliases, json_string(optarg));
    } else {
      json_decref(aliases);
      return HULL_EXIT_ERROR;
    }
  }
  int first = net_and_container(argc, "connect [--ip IP] [--alias NAME] NETWORK CONTAINER");
  struct engine *en;
  struct record *r;
  int rc = first < 0 ? -first : open_locked(ctx, argv[first + 1], &en, &r);
  if (rc) {
    json_decref(aliases);
    return rc;
  }
  struct net_def def = {0};
  json_t *hc = json_object_get(r->cfg, "HostConfig");
  const char *mode = json_string_value(json_object_get(hc, "NetworkMode"));
  const char *st = record_status(r);
  bool running = engine_status_live(st);
  json_t *ns = json_object_get(r->cfg, "NetworkSettings");
  if (!json_is_object(ns))
    json_object_set_new(r->cfg, "NetworkSettings", ns = json_object());
  json_t *nets = json_object_get(ns, "Networks");
  if (!json_is_object(nets))
    json_object_set_new(ns, "Networks", nets = json_object());
  if (network_get(en->root, argv[first], &def, &e) < 0) {
    rc = ERR("%s", e.msg);
  } else if (!engine_net_is_cni(mode) && strcmp(mode ?: "", "none")) {
    rc = ERR("container %s: --network %s: it cannot join other networks", name_of(r), mode);
  } else if (!strcmp(st, "starting")) {
    /* its monitor is setting its networks up and will write them */
    rc = ERR("container %s: starting; connect it once it runs", name_of(r));
  } else if (!strcmp(mode ?: "", "none") && running) {
    rc = ERR("container %s: --network none: stop it to connect it", name_of(r));
  } else if (json_object_get(nets, def.name)) {
    rc = ERR("container %s: already on network %s", name_of(r), def.name);
  } else if (running && !strcmp(json_string_value(json_object_get(r->cfg, "Isolation")) ?: "", "vm")) {
    rc = ERR("container %s: a running VM container cannot get a new interface; stop it, "
             "connect it, start it",
             name_of(r));
  } else if (ip && subnet_check_address(def.subnet, def.gateway, ip, &e) < 0) {
    rc = ERR("--ip %s: network %s: %s", ip, def.name, e.msg);
  } else {
    /* the next free interface name */
    char ifname[16];
    for (int n = 0;; n++) {
      snprintf(ifname, sizeof ifname, "eth%d", n);
      bool used = false;
      const char *k;
      json_t *v;
      json_object_foreach(nets, k, v) {
        used |= !strcmp(json_string_value(json_object_get(v, "IfName")) ?: "", ifname);
      }
      if (!used)
        break;
    }
    json_t *ep = json_pack("{s:s, s:O}", "IfName", ifname, "Aliases", aliases);
    if (ip)
      json_object_set_new(ep, "IPAMConfig", json_pack("{s:s}", "IPv4Address", ip));
    json_object_set_new(nets, def.name, ep);
    if (!strcmp(mode ?: "", "none"))
      json_object_set_new(hc, "NetworkMode", json_string(def.name));
    if (running && engine_net_attach(en, r->id, r->cfg, def.name, &e) < 0) {
      rc = ERR("container %s: %s", name_of(r), e.msg);
    } else if (record_save(r, &e) < 0) {
      rc = ERR("%s", e.msg);
      if (running)
        engine_net_detach(en, r->id, r->cfg, def.name, &e);
    }
  }
  net_def_free(&def);
  record_free(r);
  engine_close(en);
  json_decref(aliases);
  return rc;
}

int hull_network_disconnect(struct hull_ctx *ctx, int argc, char **argv) {
  static const struct option opts[] = {{"force", no_argument, NULL, 'f'}, {NULL, 0, NULL, 0}};
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "+f", opts, NULL)) != -1)
    if (c != 'f')
      return HULL_EXIT_ERROR;
  int first = net_and_container(argc, "disconnect [-f] NETWORK CONTAINER");
  if (first < 0)
    return -first;
  struct engine *en;
  struct record *r;
  int rc = open_locked(ctx, argv[first + 1], &en, &r);
  if (rc)
    return rc;
  struct hull_error e;
  struct net_def def = {0};
  json_t *nets = json_object_get(json_object_get(r->cfg, "NetworkSettings"), "Networks");
  const char *st = record_status(r);
  bool running = engine_status_live(st);
  if (network_lookup(en->root, argv[first], &def, &e) < 0) {
    rc = ERR("%s", e.msg);
  } else if (!json_object_get(nets, def.name)) {
    rc = ERR("container %s: not on network %s", name_of(r), def.name);
  } else if (running && !strcmp(json_string_value(json_object_get(r->cfg, "Isolation")) ?: "", "vm")) {
    rc = ERR("container %s: a running VM container cannot lose an interface; stop it first",
             name_of(r));
  } else if (running && engine_net_detach(en, r->id, r->cfg, def.name, &e) < 0) {
    rc = ERR("container %s: %s", name_of(r), e.msg);
  } else {
    json_object_del(nets, def.name);
    json_t *hc = json_object_get(r->cfg, "HostConfig");
    if (!strcmp(json_string_value(json_object_get(hc, "NetworkMode")) ?: "", def.name)) {
      /* the primary network went: the next one is, or none */
      const char *next = NULL;
      json_t *v;
      json_object_foreach(nets, next, v) break;
      json_object_set_new(hc, "NetworkMode", json_string(next ? next : "none"));
    }
    if (record_save(r, &e) < 0)
      rc = ERR("%s", e.msg);
  }
  net_def_free(&def);
  record_free(r);
  engine_close(en);
  return rc;
}
