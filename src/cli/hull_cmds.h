/* The commands of `hull`, the engine's command line. Each is a function
 * over the engine's context, given its own arguments (argv[0] is the
 * command's name) and returning the exit status. Options are parsed with
 * getopt_long ("+" first: options stop at the first operand, as in
 * `hull run IMAGE CMD -x`), so "-it", "--name=x" and repeated options work
 * as docker users type them. Output for scripts: `--format json`. Errors:
 * one line "hull: ..." on stderr, exit 125 for hull's own failures (as
 * docker and podman), the container's status for run/start/exec/wait. */
#ifndef HULL_CLI_CMDS_H
#define HULL_CLI_CMDS_H

#include <stdbool.h>

struct hull_ctx {
  const char *prog;     /* "hull" */
  const char *root;     /* the image and container store (--root) */
  const char *runroot;  /* runtime state (--runroot): hull-runtime's --root */
  bool debug;
};

typedef int hull_cmd_fn(struct hull_ctx *ctx, int argc, char **argv);

/* images (src/cli/hull_images.c) */
hull_cmd_fn hull_cmd_images, hull_cmd_load, hull_cmd_save, hull_cmd_import,
    hull_cmd_tag, hull_cmd_rmi, hull_cmd_image, hull_cmd_pull, hull_cmd_push;
/* containers (src/cli/hull_containers.c) */
hull_cmd_fn hull_cmd_run, hull_cmd_create, hull_cmd_start, hull_cmd_ps,
    hull_cmd_exec, hull_cmd_logs, hull_cmd_stop, hull_cmd_kill, hull_cmd_rm,
    hull_cmd_wait, hull_cmd_inspect, hull_cmd_attach, hull_cmd_container,
    hull_cmd_volume, hull_cmd_system, hull_cmd_port;
/* networks (src/cli/hull_networks.c): create, ls, inspect, rm, prune;
 * `network connect|disconnect` act on containers and live with them
 * (src/cli/hull_containers.c), argv[0] being "connect"/"disconnect". */
hull_cmd_fn hull_cmd_network, hull_network_connect, hull_network_disconnect;

/* The exit status of hull's own failures. */
#define HULL_EXIT_ERROR 125

#endif
