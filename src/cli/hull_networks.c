/* `hull network`: create, ls, inspect, rm, prune — the definitions of
 * src/net/network.h. `network connect` and `network disconnect` act on
 * containers and live with them (hull_network_connect/disconnect, weak
 * here: a build without them says so). A network's users are the
 * containers whose record has it in NetworkSettings.Networks. Options
 * may follow the names, as docker takes them (`network create web
 * --subnet 10.1.0.0/24`): these commands run no command of their own. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/cleanup.h"
#include "../engine/engine.h"
#include "../net/network.h"
#include "hull_cmds.h"

#define ERR(...) (fprintf(stderr, "hull: " __VA_ARGS__), fputc('\n', stderr), HULL_EXIT_ERROR)

#pragma weak hull_network_connect
#pragma weak hull_network_disconnect

#define SUBCOMMANDS "create, ls, inspect, rm, prune, connect, disconnect"

static void usage(FILE *f) {
  fprintf(f, "usage: hull network COMMAND\n\n"
             "  create [--subnet CIDR] [--gateway IP] [--internal] [--label K=V]... NAME\n"
             "  ls [-q] [--no-trunc] [--format json]\n"
             "  inspect NAME...\n"
             "  rm NAME...\n"
             "  prune                   remove the networks no container uses\n"
             "  connect NETWORK CONTAINER\n"
             "  disconnect NETWORK CONTAINER\n"
             "\nThe default network is \"%s\" (also \"%s\"), made on first use.\n",
          NET_DEFAULT_NAME, NET_DEFAULT_ALIAS);
}

static int print_json(json_t *v) {
  char *t = json_dumps(v, JSON_INDENT(4));
  if (!t)
    return ERR("network: out of memory");
  printf("%s\n", t);
  free(t);
  return 0;
}

/* Every container record (caller decrefs the array). */
static json_t *all_records(struct engine *en) {
  json_t *arr = json_array();
  char **ids;
  size_t n;
  struct hull_error e;
  if (record_list(en, &ids, &n, &e) < 0)
    return arr;
  for (size_t i = 0; i < n; i++) {
    struct record *r;
    if (record_open_id(en, ids[i], false, &r, &e) == 0) {
      json_array_append(arr, r->cfg);
      record_free(r);
    }
    free(ids[i]);
  }
  free(ids);
  return arr;
}

static const char *record_label(json_t *rec, char buf[ENGINE_SHORT_ID + 1]) {
  const char *name = json_string_value(json_object_get(rec, "Name"));
  if (name)
    return name;
  snprintf(buf, ENGINE_SHORT_ID + 1, "%s",
           json_string_value(json_object_get(rec, "Id")) ?: "?");
  return buf;
}

/* network_busy_fn over the engine's records: the first container that has
 * the network, running or not. */
static bool in_use(const struct net_def *d, void *arg, char *who, size_t len) {
  json_t *recs = all_records(arg);
  size_t i;
  json_t *rec;
  bool used = false;
  json_array_foreach(recs, i, rec) {
    if (network_record_uses(d, rec, NULL)) {
      char buf[ENGINE_SHORT_ID + 1];
      snprintf(who, len, "%s", record_label(rec, buf));
      used = true;
      break;
    }
  }
  json_decref(recs);
  return used;
}

static int open_engine(struct hull_ctx *ctx, struct engine **en) {
  struct hull_error e;
  if (engine_open(ctx->root, ctx->runroot, en, &e) < 0)
    return ERR("%s", e.msg);
  return 0;
}

/* ---------------------------------------------------------------- create */

static int net_create(struct hull_ctx *ctx, int argc, char **argv) {
  static const struct option opts[] = {{"subnet", required_argument, NULL, 's'},
                                       {"gateway", required_argument, NULL, 'g'},
                                       {"internal", no_argument, NULL, 'i'},
                                       {"label", required_argument, NULL, 'l'},
                                       {"driver", required_argument, NULL, 'd'},
                                       {NULL, 0, NULL, 0}};
  struct net_create_opts o = {0};
  json_t *labels = json_object();
  struct hull_error e;
  int c, rc = 0;
  while (!rc && (c = getopt_long(argc, argv, "d:", opts, NULL)) != -1) {
    switch (c) {
    case 's':
      if (o.subnet)
        rc = ERR("network create: one --subnet only");
      o.subnet = optarg;
      break;
    case 'g':
      if (o.gateway)
        rc = ERR("network create: one --gateway only");
      o.gateway = optarg;
      break;
    case 'i': o.internal = true; break;
    case 'l':
      if (network_label_parse(optarg, labels, &e) < 0)
        rc = ERR("network create: --%s", e.msg);
      break;
    case 'd': o.driver = optarg; break;
    default: rc = HULL_EXIT_ERROR;
    }
  }
  if (!rc && optind + 1 != argc)
    rc = ERR("network create: one network name is required (hull network create [OPTIONS] "
             "NAME)");
  if (!rc && o.gateway && !o.subnet)
    rc = ERR("network create: --gateway needs --subnet");
  if (!rc) {
    o.name = argv[optind];
    o.labels = labels;
    struct net_def d;
    if (network_create(ctx->root, &o, &d, &e) < 0) {
      rc = ERR("%s", e.msg);
    } else {
      printf("%s\n", d.id);
      net_def_free(&d);
    }
  }
  json_decref(labels);
  return rc;
}

/* ---------------------------------------------------------------- ls */

static int net_ls(struct hull_ctx *ctx, int argc, char **argv) {
  static const struct option opts[] = {{"quiet", no_argument, NULL, 'q'},
                                       {"no-trunc", no_argument, NULL, 'n'},
                                       {"format", required_argument, NULL, 'f'},
                                       {NULL, 0, NULL, 0}};
  bool quiet = false, notrunc = false, json = false;
  int c;
  while ((c = getopt_long(argc, argv, "q", opts, NULL)) != -1) {
    switch (c) {
    case 'q': quiet = true; break;
    case 'n': notrunc = true; break;
    case 'f':
      if (strcmp(optarg, "json") && strcmp(optarg, "table"))
        return ERR("network ls --format %s: json or table", optarg);
      json = !strcmp(optarg, "json");
      break;
    default: return HULL_EXIT_ERROR;
    }
  }
  if (optind < argc)
    return ERR("network ls: no operand expected (\"%s\")", argv[optind]);
  struct net_def *defs;
  size_t n;
  struct hull_error e;
  if (network_list(ctx->root, &defs, &n, &e) < 0)
    return ERR("%s", e.msg);
  int idlen = notrunc ? NET_ID_LEN : NET_SHORT_ID;
  json_t *arr = json_array();
  if (!quiet && !json)
    printf("%-*s  %-20s  %-8s  %s\n", idlen, "NETWORK ID", "NAME", "DRIVER", "SUBNET");
  for (size_t i = 0; i < n; i++) {
    struct net_def *d = &defs[i];
    if (json)
      json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:O, s:s}",
                                           "Name", d->name, "Id", d->id, "Created",
                                           d->created, "Driver", d->driver, "Subnet",
                                           d->subnet, "Gateway", d->gateway, "Internal",
                                           d->internal, "Labels", d->labels, "Bridge",
                                           d->bridge));
    else if (quiet)
      printf("%.*s\n", idlen, d->id);
    else
      printf("%-*.*s  %-20s  %-8s  %s\n", idlen, idlen, d->id, d->name, d->driver, d->subnet);
  }
  int rc = json ? print_json(arr) : 0;
  json_decref(arr);
  net_defs_free(defs, n);
  return rc;
}

/* ---------------------------------------------------------------- inspect */

static json_t *net_json(const struct net_def *d, json_t *recs) {
  json_t *ctrs = json_object();
  size_t i;
  json_t *rec, *ep;
  json_array_foreach(recs, i, rec) {
    const char *id = json_string_value(json_object_get(rec, "Id"));
    if (!id || !network_record_uses(d, rec, &ep))
      continue;
    char buf[ENGINE_SHORT_ID + 1], addr[64] = "";
    const char *ip = json_string_value(json_object_get(ep, "IPAddress"));
    if (ip && *ip)
      snprintf(addr, sizeof addr, "%s/%d", ip,
               (int)json_integer_value(json_object_get(ep, "IPPrefixLen")));
    const char *mac = json_string_value(json_object_get(ep, "MacAddress"));
    json_object_set_new(ctrs, id,
                        json_pack("{s:s, s:s, s:s, s:s}", "Name", record_label(rec, buf),
                                  "MacAddress", mac ? mac : "", "IPv4Address", addr,
                                  "IPv6Address", ""));
  }
  json_t *o = json_pack(
      "{s:s, s:s, s:s, s:s, s:s, s:b, s:{s:s, s:{}, s:[{s:s, s:s}]}, s:b, s:b, s:b, s:o, "
      "s:{s:s}, s:O}",
      "Name", d->name, "Id", d->id, "Created", d->created, "Scope", "local", "Driver",
      d->driver, "EnableIPv6", 0, "IPAM", "Driver", "default", "Options", "Config", "Subnet",
      d->subnet, "Gateway", d->gateway, "Internal", d->internal, "Attachable", 0, "Ingress",
      0, "Containers", ctrs, "Options", "com.docker.network.bridge.name", d->bridge,
      "Labels", d->labels);
  return o;
}

static int net_inspect(struct hull_ctx *ctx, int argc, char **argv) {
  static const struct option opts[] = {{"format", required_argument, NULL, 'f'},
                                       {NULL, 0, NULL, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "f:", opts, NULL)) != -1)
    if (c != 'f' || strcmp(optarg, "json"))
      return c == 'f' ? ERR("network inspect: only --format json is supported")
                      : HULL_EXIT_ERROR;
  if (optind >= argc)
    return ERR("network inspect: at least one network is required");
  struct engine *en;
  int rc = open_engine(ctx, &en);
  if (rc)
    return rc;
  json_t *recs = all_records(en);
  json_t *out = json_array();
  struct hull_error e;
  for (int i = optind; i < argc; i++) {
    struct net_def d;
    if (network_lookup(ctx->root, argv[i], &d, &e) < 0) {
      rc = ERR("%s", e.msg);
      continue;
    }
    json_array_append_new(out, net_json(&d, recs));
    net_def_free(&d);
  }
  if (print_json(out))
    rc = HULL_EXIT_ERROR;
  json_decref(out);
  json_decref(recs);
  engine_close(en);
  return rc;
}

/* ---------------------------------------------------------------- rm, prune */

static int net_rm(struct hull_ctx *ctx, int argc, char **argv) {
  static const struct option opts[] = {{"force", no_argument, NULL, 'f'},
                                       {NULL, 0, NULL, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "f", opts, NULL)) != -1)
    if (c != 'f')
      return HULL_EXIT_ERROR;
  if (optind >= argc)
    return ERR("network rm: at least one network is required");
  struct engine *en;
  int rc = open_engine(ctx, &en);
  if (rc)
    return rc;
  struct hull_error e;
  engine_net_sweep(en); /* what killed monitors of removed containers left */
  for (int i = optind; i < argc; i++) {
    if (network_remove_def(ctx->root, argv[i], in_use, en, &e) < 0)
      rc = ERR("%s", e.msg);
    else
      printf("%s\n", argv[i]);
  }
  engine_close(en);
  return rc;
}

static int net_prune(struct hull_ctx *ctx, int argc, char **argv) {
  static const struct option opts[] = {{"force", no_argument, NULL, 'f'},
                                       {NULL, 0, NULL, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "f", opts, NULL)) != -1)
    if (c != 'f')
      return HULL_EXIT_ERROR;
  if (optind < argc)
    return ERR("network prune: no operand expected (\"%s\")", argv[optind]);
  struct net_def *defs;
  size_t n;
  struct hull_error e;
  if (network_list(ctx->root, &defs, &n, &e) < 0)
    return ERR("%s", e.msg);
  struct engine *en = NULL;
  int rc = open_engine(ctx, &en);
  if (!rc)
    engine_net_sweep(en);
  for (size_t i = 0; !rc && i < n; i++) {
    if (defs[i].is_default)
      continue;
    /* by id: a network of that name made meanwhile is not this one */
    int r = network_remove_def(ctx->root, defs[i].id, in_use, en, &e);
    if (r == 0)
      printf("%s\n", defs[i].name);
    else if (r != -EBUSY && r != -ENOENT)
      rc = ERR("%s", e.msg);
  }
  engine_close(en);
  net_defs_free(defs, n);
  return rc;
}

/* ---------------------------------------------------------------- entry */

int hull_cmd_network(struct hull_ctx *ctx, int argc, char **argv) {
  if (argc < 2)
    return ERR("network: a subcommand is required (" SUBCOMMANDS ")");
  const char *sub = argv[1];
  if (!strcmp(sub, "--help") || !strcmp(sub, "-h") || !strcmp(sub, "help")) {
    usage(stdout);
    return 0;
  }
  argc--;
  argv++;
  /* 0, not 1: glibc then reads the ordering from our option strings (the
   * main one's "+" would keep options from following names) */
  optind = 0;
  if (!strcmp(sub, "create"))
    return net_create(ctx, argc, argv);
  if (!strcmp(sub, "ls") || !strcmp(sub, "list"))
    return net_ls(ctx, argc, argv);
  if (!strcmp(sub, "inspect"))
    return net_inspect(ctx, argc, argv);
  if (!strcmp(sub, "rm") || !strcmp(sub, "remove"))
    return net_rm(ctx, argc, argv);
  if (!strcmp(sub, "prune"))
    return net_prune(ctx, argc, argv);
  if (!strcmp(sub, "connect") || !strcmp(sub, "disconnect")) {
    hull_cmd_fn *fn = sub[0] == 'c' ? hull_network_connect : hull_network_disconnect;
    if (!fn)
      return ERR("network %s: not supported by this build of hull", sub);
    optind = 1;
    return fn(ctx, argc, argv);
  }
  return ERR("network %s: unknown subcommand (" SUBCOMMANDS ")", sub);
}
