/* A container as the runtime sees it: its id, its state directory under
 * --root, its parsed config and the driver that runs it. The lifecycle
 * functions here are shared by every isolation driver. */
#ifndef HULL_CONTAINER_H
#define HULL_CONTAINER_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "../spec/spec.h"
#include "driver.h"

#define HULL_DEFAULT_ROOT "/run/hull"
#define HULL_OCI_VERSION "1.2.0"

struct container {
  char id[1024];
  const char *root;          /* state root (--root) */
  int dirfd;                 /* root/id, holds the lock */
  char *bundle;              /* absolute */
  struct spec spec;          /* parsed config.json */
  const struct isolation_ops *ops;
  pid_t pid;                 /* container init on the host (0 = none) */
  unsigned long long start_time; /* of pid, guards against pid reuse */
  char status[16];           /* recorded: created, running, stopped */
  char created[48];          /* RFC 3339 */
  char *cgroup_path;         /* resolved cgroup path, "" = none */
  unsigned ns_flags;         /* CLONE_NEW* the container has of its own */
  unsigned long long ns_inodes[NS_COUNT]; /* the namespaces at create */
  json_t *driver_data;       /* driver-private state, saved with the rest */
  void *priv;                /* driver-private, in memory only (run) */
  int pty_master;            /* run without console socket: the terminal */
};

/* Runtime-wide options from the command line. */
struct runtime_opts {
  const char *root;
  const char *isolation;     /* --isolation or NULL */
  const char *progname;
  bool systemd_cgroup;
};

int container_validate_id(const char *id, struct hull_error *e);

/* Lifecycle. Each takes the container's lock for its duration. */
int container_create(const struct runtime_opts *ro, const char *id,
                     const char *bundle, const struct create_opts *o,
                     struct container **out, struct hull_error *e);
int container_start(const struct runtime_opts *ro, const char *id,
                    struct hull_error *e);
int container_start_loaded(struct container *c, struct hull_error *e);
int container_kill(const struct runtime_opts *ro, const char *id, int sig,
                   bool all, struct hull_error *e);
int container_delete(const struct runtime_opts *ro, const char *id, bool force,
                     struct hull_error *e);
int container_delete_loaded(struct container *c, bool force,
                            struct hull_error *e);
/* What `exec` asks for: a process.json, or the container's own process
 * with the given changes (as runc composes it). */
struct exec_request {
  const char *process_file;
  char **args;            /* NULL-terminated; required without process_file */
  char **env;             /* NULL-terminated additions (K=V) */
  const char *cwd;
  const char *user;       /* "uid[:gid]" */
  const char *apparmor;   /* profile, or NULL */
  const char *label;      /* SELinux process label, or NULL */
  char **caps;            /* NULL-terminated additions */
  char **additional_gids; /* NULL-terminated */
  bool tty, no_new_privs, detach;
  const char *console_socket, *pid_file;
  int preserve_fds;
};

/* Returns the exit status of the process (0 when detached) or <0. */
int container_exec(const struct runtime_opts *ro, const char *id,
                   const struct exec_request *req, struct hull_error *e);
int container_pause(const struct runtime_opts *ro, const char *id,
                    struct hull_error *e);
int container_resume(const struct runtime_opts *ro, const char *id,
                     struct hull_error *e);
/* Apply a linux.resources object to a live container. */
int container_update(const struct runtime_opts *ro, const char *id,
                     json_t *resources, struct hull_error *e);
int container_events(const struct runtime_opts *ro, const char *id,
                     bool stats_only, int interval_ms,
                     void (*emit)(const char *line, void *arg), void *arg,
                     struct hull_error *e);
/* Pids of the container's processes (caller frees). */
int container_pids(const struct runtime_opts *ro, const char *id, pid_t **pids,
                   size_t *n, struct hull_error *e);
/* `ps` as a table by the driver itself (a VM's processes are the
 * guest's); returns 1 when the driver has no table of its own. */
int container_ps_table(const struct runtime_opts *ro, const char *id, FILE *out,
                       struct hull_error *e);
/* The OCI state document (caller frees). */
int container_state_json(const struct runtime_opts *ro, const char *id,
                         json_t **out, struct hull_error *e);

/* create + start + wait + delete, forwarding signals and proxying the
 * terminal; returns the exit status (128+signal when killed), or 0 after
 * starting with detach. */
int container_run(const struct runtime_opts *ro, const char *id,
                  const char *bundle, const struct create_opts *o, bool detach,
                  struct hull_error *e);

/* Open and lock an existing container, loading its saved state. */
int container_load(const struct runtime_opts *ro, const char *id, bool exclusive,
                   struct container **out, struct hull_error *e);
void container_free(struct container *c);

/* Current status: "created", "running", "paused" or "stopped". */
const char *container_status(struct container *c);
/* The OCI state of c with the given status (for hooks and `state`). */
json_t *container_oci_state(struct container *c, const char *status);
/* Write a pid to --pid-file atomically (engines poll for it and must never
 * read half of it). */
int container_write_pid_file(const char *path, pid_t pid, struct hull_error *e);
/* Persist c's state (state.json, atomically). */
int container_save(struct container *c, struct hull_error *e);

/* Is pid alive and the same process (start time), not a zombie? */
bool process_alive(pid_t pid, unsigned long long start_time);
unsigned long long process_start_time(pid_t pid);

#endif
