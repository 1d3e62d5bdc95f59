/* The engine: containers as people see them. A container is a record
 * under <root>/containers/<id>/ (config.json: name, image, options, state)
 * plus, while it runs, a runtime container of the same id under the
 * runroot, owned by its monitor (hull-monitor).
 *
 * Layout of <root>/containers/<id>/:
 *   config.json    the record (atomic, durable writes, under the lock)
 *   lock           flock'ed by every command that changes the record
 *   bundle/        the OCI bundle (config.json generated at each start)
 *   merged/ ...    the root file system (rootfs_mount)
 *   hostname hosts resolv.conf   bind-mounted into the container
 *   ctr.log        the json-file log
 *   attach.sock    the monitor's attach socket while it runs
 *
 * A create writes everything under <root>/containers/.tmp-<id> and
 * renames it in last: a create killed at any point leaves no half
 * container visible; the next listing removes stale .tmp- entries. */
#ifndef HULL_ENGINE_H
#define HULL_ENGINE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include "../common/error.h"

#define ENGINE_ID_LEN 64
#define ENGINE_SHORT_ID 12

/* ---- options (options.c): parsers of what people type ---- */

/* "512m", "1g", "1024", "1.5g" (binary units, b/k/m/g/t). */
int parse_mem_size(const char *s, int64_t *out, struct hull_error *e);
/* "1.5" cpus → millicpus. */
int parse_cpus(const char *s, int64_t *millicpus, struct hull_error *e);
/* -v: "HOST:CTR[:ro|rw]" (HOST absolute) or "NAME:CTR[:opts]" or "CTR"
 * (an anonymous volume). */
struct volume_spec {
  char *source;      /* host path, volume name, or NULL (anonymous) */
  char *target;      /* absolute path in the container */
  bool is_bind;      /* source is a host path */
  bool readonly;
};
int parse_volume_spec(const char *s, struct volume_spec *v, struct hull_error *e);
void volume_spec_free(struct volume_spec *v);
/* -e: "K=V" as is, "K" takes the value from our environment (dropped when
 * unset). Returns 1 when the variable is to be dropped. */
int parse_env_arg(const char *s, char **out, struct hull_error *e);
/* --env-file: one K=V (or K) per line, # comments and blank lines
 * skipped. Appends to arr (a json array of strings). */
int parse_env_file(const char *text, size_t len, const char *name, json_t *arr,
                   struct hull_error *e);
/* Container names: [a-zA-Z0-9][a-zA-Z0-9_.-]*, at most 128 chars. */
int engine_validate_name(const char *name, struct hull_error *e);
/* Signal by name (KILL, SIGKILL) or number. */
int engine_parse_signal(const char *s, int *sig, struct hull_error *e);

/* -p: "[HOSTIP:][HOSTPORT:]CTRPORT[/tcp|udp]", ports or equal-sized
 * ranges ("8080-8081:80-81"); host_port 0: any free port. */
struct port_spec {
  char host_ip[48];  /* "" = every address */
  uint16_t host_port; /* first host port, 0 = any */
  uint16_t ctr_port, ctr_port_end;
  char proto[4];      /* "tcp" or "udp" */
};
int parse_port_spec(const char *s, struct port_spec *ps, struct hull_error *e);
/* --add-host "NAME:IP" (IP may be [v6]). */
int parse_add_host(const char *s, char *name, size_t nlen, char *ip, size_t iplen,
                   struct hull_error *e);

/* ---- records (records.c) ---- */

struct engine {
  char *root;      /* --root */
  char *runroot;   /* --runroot */
  char *cdir;      /* <root>/containers */
  int cdirfd;
};

int engine_open(const char *root, const char *runroot, struct engine **out,
                struct hull_error *e);
void engine_close(struct engine *en);

/* A record loaded; `dirfd` is <cdir>/<id>; `lockfd` holds the lock when
 * locked. */
struct record {
  char id[ENGINE_ID_LEN + 1];
  int dirfd;
  int lockfd;
  json_t *cfg;     /* the record (config.json) */
};

/* Make a new container record from cfg (takes a reference): picks the id,
 * checks the name is free (under the store-wide lock), writes and renames
 * it in. */
int record_create(struct engine *en, json_t *cfg, char id_out[ENGINE_ID_LEN + 1],
                  struct hull_error *e);
/* Find by full id, unique id prefix, or name; lock it exclusively when
 * lock is true. */
int record_find(struct engine *en, const char *ref, bool lock, struct record **out,
                struct hull_error *e);
int record_open_id(struct engine *en, const char *id, bool lock, struct record **out,
                   struct hull_error *e);
/* Write r->cfg back (atomic, durable). */
int record_save(struct record *r, struct hull_error *e);
/* Re-read the record from disk (another process may have changed it). */
int record_reload(struct record *r, struct hull_error *e);
void record_free(struct record *r);
/* Every container id (caller frees the array and the strings). */
int record_list(struct engine *en, char ***ids, size_t *n, struct hull_error *e);
/* Remove the record's directory (after rootfs_unmount). */
int record_remove(struct engine *en, struct record *r, struct hull_error *e);
/* Path helpers. */
char *record_path(struct engine *en, const char *id, const char *name);

/* State in the record: {"Status": "created|running|exited", "Pid",
 * "MonitorPid", "MonitorStart", "ExitCode", "StartedAt", "FinishedAt"}.
 * record_status refreshes it against reality: a monitor that died without
 * recording the end makes the container "exited" (code 255). */
const char *record_status(struct record *r);
/* A status whose container has (or is getting) a monitor: running or
 * starting. */
static inline bool engine_status_live(const char *status) {
  return status && (!strcmp(status, "running") || !strcmp(status, "starting"));
}
json_t *record_state(struct record *r);


/* ---- spec generation (spec_gen.c) ---- */

/* The OCI config for the record cfg (its "Config" from the image and
 * "HostConfig" of the run options), the container's root at rootfs, its
 * directory cdir. */
int spec_generate(json_t *cfg, const char *id, const char *cdir, const char *rootfs,
                  const char *volumes_dir, json_t **out, struct hull_error *e);
/* "user[:group]" by name or number, names looked up in the root's
 * /etc/passwd and /etc/group. */
int engine_lookup_user(const char *user, const char *rootfs, long *uid, long *gid,
                       struct hull_error *e);
/* The default capability set (docker's). */
extern const char *const engine_default_caps[];
/* Hull's default seccomp profile. */
json_t *seccomp_default_profile(json_t *cap_list);

/* ---- networking (networking.c) ---- */

/* Whether a NetworkMode names a CNI network (not none, host, container:). */
bool engine_net_is_cni(const char *mode);
/* <runroot>/netns/<id>: where a running container's namespace is kept. */
char *engine_netns_path(struct engine *en, const char *id);
/* The container's /etc/hosts: localhost, --add-host lines, and `names`
 * at ip (NULL: 127.0.1.1). */
char *engine_hosts_text(json_t *cfg, const char *names, const char *ip);
/* The container's /etc/resolv.conf from the host's text: --dns,
 * --dns-search, --dns-option replace the host's lines; the host's
 * loopback resolvers are dropped unless host_net. */
char *engine_resolv_text(json_t *cfg, const char *host_text, bool host_net);
/* Set the container's networks up (cfg is its record, changed in
 * memory: NetworkSettings): the namespace file, its published host
 * ports held (*fds, close-on-exec, to keep while it runs), CNI ADD for
 * each network, its hosts file. On failure nothing is left. */
int engine_net_up(struct engine *en, const char *id, json_t *cfg, int **fds, size_t *nfds,
                  struct hull_error *e);
/* Then, once cfg's addresses are in its record: its peers on user
 * networks get its line and it theirs. In that order two containers
 * started at once find each other: the one that looks last sees both. */
void engine_net_peers(struct engine *en, const char *id, json_t *cfg);
/* Take them down: peers' hosts, CNI DEL for each network (reverse), the
 * namespace. Needs only the record; safe to repeat (after a crash). */
int engine_net_down(struct engine *en, const char *id, json_t *cfg, struct hull_error *e);
/* `network connect` / `disconnect` of a running container: ADD (DEL) the
 * one network of cfg's NetworkSettings.Networks (its entry already
 * there / still there) and the peers' hosts. */
int engine_net_attach(struct engine *en, const char *id, json_t *cfg, const char *net,
                      struct hull_error *e);
int engine_net_detach(struct engine *en, const char *id, json_t *cfg, const char *net,
                      struct hull_error *e);
/* For a container that is not running but whose record still names a
 * namespace (its monitor was killed): take its networks down and save
 * the record (r locked). */
int engine_net_reap(struct engine *en, struct record *r, struct hull_error *e);
/* What containers whose records are gone left (their monitor killed
 * while it gave their networks back): CNI DEL from the cache, their
 * namespace files. A monitor at work holds its namespace locked and is
 * left alone. Returns how many things were cleaned. */
int engine_net_sweep(struct engine *en);

/* ---- templates (template.c) ---- */

/* Fill a --format template (the Go-template subset docker and podman
 * scripts use: {{.A.B}}, {{json .A}}, {{range .A}}...{{end}}) with value;
 * *out is malloc'd. Anything else is an error naming it. */
int engine_template(const char *tmpl, json_t *value, char **out, struct hull_error *e);

/* ---- logs (logs.c) ---- */

/* One json-file line for data (len bytes) of stream ("stdout"/"stderr")
 * at time ts (RFC 3339 nano): {"log":"...","stream":"...","time":"..."}\n.
 * Returns a malloc'd NUL-terminated line. */
char *log_line(const char *stream, const char *data, size_t len, const char *ts);
/* Parse a line back. */
int log_line_parse(const char *line, size_t len, char **data, size_t *dlen,
                   char stream[8], char ts[48]);

/* ---- volumes (volumes.c) ---- */

int volume_create(const char *root, const char *name, char **path_out,
                  struct hull_error *e);
int volume_path(const char *root, const char *name, char **out, struct hull_error *e);
int volume_remove(const char *root, const char *name, struct hull_error *e);
int volume_list(const char *root, char ***names, size_t *n, struct hull_error *e);

/* ---- attach protocol (monitor ⇄ clients over attach.sock) ----
 * Frames: 1 byte type, 4 bytes big-endian length, data. */
enum {
  FRAME_STDIN = 0,   /* client → monitor; empty = end of input */
  FRAME_STDOUT = 1,  /* monitor → client */
  FRAME_STDERR = 2,
  FRAME_EXIT = 3,    /* monitor → client: "CODE" as text, then it closes */
  FRAME_RESIZE = 4,  /* client → monitor: "ROWS COLS" */
  FRAME_SIGNAL = 5,  /* client → monitor: "SIG" */
  FRAME_ERROR = 6,   /* monitor → client: a start failure, one line */
  FRAME_START = 7,   /* client → monitor: start now (run in the foreground) */
};
int frame_send(int fd, int type, const void *data, size_t len);
/* Connect to a container's attach socket; returns the fd or -errno. */
int attach_connect(struct engine *en, const char *id);
/* Relay our stdio (our terminal, raw, with tty) to the monitor on s
 * until the container exits, forwarding signals (proxy_signals) and
 * window sizes; send_start: we are `run`/`start -a`, the monitor waits
 * for FRAME_START. Returns the exit status, ATTACH_START_FAILED (the
 * error was printed), or -1 when the stream ended without a status. */
#define ATTACH_START_FAILED (-2)
int attach_relay(int s, bool tty, bool stdin_open, bool send_start, bool proxy_signals);
/* Reads one whole frame into buf (max cap bytes); returns 0, -EPIPE at EOF. */
int frame_recv(int fd, int *type, char *buf, size_t cap, size_t *len);

#endif
