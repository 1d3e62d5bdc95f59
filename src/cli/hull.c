/* hull — the daemonless engine: images, containers, volumes, over libhull
 * (it never shells out to hull-runtime). This file parses the global
 * options and dispatches to the commands (hull_cmds.h). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/json.h"
#include "../common/log.h"
#include "../image/image.h"
#include "hull_cmds.h"

#define HULL_VERSION "0.1.0"
#define HULL_DEFAULT_RUNROOT "/run/hull"

/* A command this build does not have is a clear error, not a silent no-op:
 * the commands are weak symbols, present once their file is built. */
#pragma weak hull_cmd_images
#pragma weak hull_cmd_load
#pragma weak hull_cmd_save
#pragma weak hull_cmd_import
#pragma weak hull_cmd_tag
#pragma weak hull_cmd_rmi
#pragma weak hull_cmd_image
#pragma weak hull_cmd_pull
#pragma weak hull_cmd_push
#pragma weak hull_cmd_run
#pragma weak hull_cmd_create
#pragma weak hull_cmd_start
#pragma weak hull_cmd_ps
#pragma weak hull_cmd_exec
#pragma weak hull_cmd_logs
#pragma weak hull_cmd_stop
#pragma weak hull_cmd_kill
#pragma weak hull_cmd_rm
#pragma weak hull_cmd_wait
#pragma weak hull_cmd_inspect
#pragma weak hull_cmd_attach
#pragma weak hull_cmd_container
#pragma weak hull_cmd_volume
#pragma weak hull_cmd_system
#pragma weak hull_cmd_port
#pragma weak hull_cmd_network

static const struct {
  const char *name;
  hull_cmd_fn *fn;
  const char *help;
} commands[] = {
    {"run", hull_cmd_run, "run a command in a new container"},
    {"create", hull_cmd_create, "create a container"},
    {"start", hull_cmd_start, "start containers"},
    {"ps", hull_cmd_ps, "list containers"},
    {"exec", hull_cmd_exec, "run a command in a running container"},
    {"logs", hull_cmd_logs, "show a container's output"},
    {"stop", hull_cmd_stop, "stop containers (signal, then SIGKILL)"},
    {"kill", hull_cmd_kill, "signal containers"},
    {"rm", hull_cmd_rm, "remove containers"},
    {"wait", hull_cmd_wait, "wait for containers to stop, print their exit codes"},
    {"inspect", hull_cmd_inspect, "details of containers or images (JSON)"},
    {"attach", hull_cmd_attach, "attach to a running container's stdio"},
    {"container", hull_cmd_container, "container commands (ls, prune, ...)"},
    {"volume", hull_cmd_volume, "named volumes (create, ls, rm, inspect)"},
    {"system", hull_cmd_system, "disk usage (df), prune"},
    {"network", hull_cmd_network, "networks (create, ls, inspect, rm, connect, ...)"},
    {"port", hull_cmd_port, "a container's published ports"},
    {"images", hull_cmd_images, "list images"},
    {"image", hull_cmd_image, "image commands (ls, inspect, rm, tag, ...)"},
    {"load", hull_cmd_load, "load images from a docker-archive or OCI archive"},
    {"save", hull_cmd_save, "save images to a docker-archive or OCI archive"},
    {"import", hull_cmd_import, "make an image from a root file system tar"},
    {"tag", hull_cmd_tag, "name an image"},
    {"rmi", hull_cmd_rmi, "remove images"},
    {"pull", hull_cmd_pull, "pull an image from a registry"},
    {"push", hull_cmd_push, "push an image to a registry"},
};

static void usage(FILE *f) {
  fprintf(f,
          "usage: hull [--root DIR] [--runroot DIR] [--debug] COMMAND [ARGS...]\n\n"
          "  --root DIR      images, containers, volumes (default %s)\n"
          "  --runroot DIR   runtime state, shared with hull-runtime (default %s)\n"
          "  --debug         log what is done, with timestamps\n"
          "  --version\n\ncommands:\n",
          HULL_DEFAULT_STORE, HULL_DEFAULT_RUNROOT);
  for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
    fprintf(f, "  %-10s %s%s\n", commands[i].name, commands[i].help,
            commands[i].fn ? "" : " (not in this build)");
}

int main(int argc, char **argv) {
  struct hull_ctx ctx = {.prog = "hull", .root = HULL_DEFAULT_STORE,
                         .runroot = HULL_DEFAULT_RUNROOT};
  static const struct option opts[] = {
      {"root", required_argument, NULL, 'r'},
      {"runroot", required_argument, NULL, 'R'},
      {"debug", no_argument, NULL, 'D'},
      {"version", no_argument, NULL, 'v'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  int c;
  while ((c = getopt_long(argc, argv, "+hv", opts, NULL)) != -1) {
    switch (c) {
    case 'r': ctx.root = optarg; break;
    case 'R': ctx.runroot = optarg; break;
    case 'D': ctx.debug = true; break;
    case 'v': printf("hull version %s\n", HULL_VERSION); return 0;
    case 'h': usage(stdout); return 0;
    default: usage(stderr); return HULL_EXIT_ERROR;
    }
  }
  log_init("hull", NULL, false, ctx.debug);
  if (optind >= argc) {
    usage(stderr);
    return HULL_EXIT_ERROR;
  }
  const char *name = argv[optind];
  for (size_t i = 0; i < sizeof commands / sizeof *commands; i++) {
    if (strcmp(commands[i].name, name))
      continue;
    if (!commands[i].fn) {
      fprintf(stderr, "hull: %s: not supported by this build of hull\n", name);
      return HULL_EXIT_ERROR;
    }
    /* each command parses its own options from its own argv */
    int first = optind;
    optind = 1;
    return commands[i].fn(&ctx, argc - first, argv + first);
  }
  fprintf(stderr, "hull: unknown command \"%s\" (hull --help lists them)\n", name);
  return HULL_EXIT_ERROR;
}
