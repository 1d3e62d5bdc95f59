/* The central seam of hull: every container operation goes through one
 * table of functions chosen per container when it is created. Everything
 * above this table (state files, locking, hooks, CLI) is written once and
 * never asks which driver it has. */
#ifndef HULL_DRIVER_H
#define HULL_DRIVER_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#include "../common/error.h"

struct container;
struct spec_process;

struct create_opts {
  const char *console_socket; /* path, or NULL */
  const char *pid_file;       /* written by the caller after create */
  int preserve_fds;           /* fds 3..3+N-1 passed to the container */
  bool no_pivot;
  bool no_new_keyring;
  /* run: the caller keeps the container as its child, proxies the terminal
   * when there is no console socket, and starts it over the sync channel. */
  bool foreground;
};

struct exec_opts {
  struct spec_process *process;
  json_t *process_json;       /* the same process as JSON */
  const char *console_socket;
  const char *pid_file;
  int preserve_fds;
  bool detach;
};

struct isolation_ops {
  const char *name;
  /* Build the container up to the point where the user program waits for
   * start; fill c->pid and c->start_time. */
  int (*create)(struct container *c, const struct create_opts *o,
                struct hull_error *e);
  /* Let the user program run; returns after it was executed (or failed). */
  int (*start)(struct container *c, struct hull_error *e);
  int (*kill)(struct container *c, int sig, bool all, struct hull_error *e);
  /* Release everything the driver holds (cgroups, VM, ...). The processes
   * are already gone. */
  int (*delete)(struct container *c, struct hull_error *e);
  /* Run a further process inside the container. Returns its exit status
   * (0..255, 128+signal) when waited for, or 0 when detached. */
  int (*exec)(struct container *c, const struct exec_opts *o,
              struct hull_error *e);
  /* Refine the recorded status ("paused" ...); may be NULL. */
  int (*state)(struct container *c, char *status, size_t len);
  int (*pause)(struct container *c, struct hull_error *e);
  int (*resume)(struct container *c, struct hull_error *e);
  /* Change linux.resources of a live container; a failed update leaves
   * the old limits in force. */
  int (*update)(struct container *c, json_t *resources, struct hull_error *e);
  /* `events`: with stats_only one statistics event, else events every
   * interval_ms until the container is gone (OOM kills as they happen).
   * Each event is one line of JSON passed to emit. */
  int (*events)(struct container *c, bool stats_only, int interval_ms,
                void (*emit)(const char *line, void *arg), void *arg,
                struct hull_error *e);
  /* The container's processes, as host pids. */
  int (*pids)(struct container *c, pid_t **pids, size_t *n,
              struct hull_error *e);
  /* `ps` as a table; NULL: the host's ps over pids(). A VM's processes
   * are the guest's, which only hull-init can list. */
  int (*ps_table)(struct container *c, FILE *out, struct hull_error *e);
};

extern const struct isolation_ops process_isolation_ops;
extern const struct isolation_ops vm_isolation_ops;

/* Pick the driver: explicit choice (--isolation), else the annotation
 * org.hull.isolation, else the program name (hull-runtime-vm), else process.
 * Unknown names and drivers missing from this build are errors. */
int driver_select(const char *explicit_choice, const char *annotation,
                  const char *progname, const struct isolation_ops **out,
                  struct hull_error *e);
int driver_by_name(const char *name, const struct isolation_ops **out,
                   struct hull_error *e);

#endif
