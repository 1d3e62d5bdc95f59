/* The OCI runtime-spec config.json (1.0 - 1.2) as C structs.
 * spec_parse() validates and fills these; unknown fields are ignored as
 * the spec requires. Sections that later modules interpret themselves
 * (linux.resources, linux.seccomp, ...) are kept as JSON and checked there.
 *
 * Ownership: every string and array below is malloc'd and owned by the
 * struct; free it all with spec_free()/spec_process_free(). Arrays of
 * strings (char **, NULL-terminated) are ONE allocation holding the
 * pointers and the bytes: replace such a field with free() on the array
 * itself, never on its elements. The json_t fields are references into
 * spec.json (or the object given to spec_parse_process), counted.
 *
 * jansson stores integers as long long; uint64 fields such as
 * RLIM_INFINITY (18446744073709551615) do not fit, so integer literals in
 * 2^63..2^64-1 are stored wrapped to negative numbers: modules reading
 * uint64 fields of the kept JSON use (uint64_t)json_integer_value(). */
#ifndef HULL_SPEC_H
#define HULL_SPEC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../common/error.h"

/* gnu11 predefines `linux` as 1; struct spec has a member of that name
 * (the config.json section), so the macro must not be in effect. */
#undef linux

enum ns_type {
  NS_PID, NS_NET, NS_MNT, NS_IPC, NS_UTS, NS_USER, NS_CGROUP, NS_TIME,
  NS_COUNT
};

struct spec_namespace {
  bool present;   /* listed in linux.namespaces */
  char *path;     /* join this namespace instead of creating one */
};

struct spec_id_map {
  uint32_t container_id, host_id, size;
};

struct spec_rlimit {
  int resource;   /* RLIMIT_* */
  char *name;     /* as written, for messages */
  uint64_t soft, hard;
};

struct spec_user {
  uid_t uid;
  gid_t gid;
  bool has_umask;
  mode_t umask;
  gid_t *additional_gids;
  size_t n_additional_gids;
  char *username; /* Windows only; ignored */
};

/* Capability sets as bit masks over CAP_* numbers (0..63). */
struct spec_caps {
  bool present;
  uint64_t bounding, effective, inheritable, permitted, ambient;
};

struct spec_process {
  bool terminal;
  unsigned console_height, console_width;
  char *cwd;
  char **args;     /* NULL-terminated */
  size_t n_args;
  char **env;      /* NULL-terminated */
  size_t n_env;
  struct spec_user user;
  struct spec_caps caps;
  struct spec_rlimit *rlimits;
  size_t n_rlimits;
  bool no_new_privileges;
  bool has_oom_score_adj;
  int oom_score_adj;
  char *apparmor_profile;
  char *selinux_label;
  json_t *scheduler;       /* kept for the hardening module */
  json_t *io_priority;
  json_t *exec_cpu_affinity;
};

struct spec_mount {
  char *destination;
  char *type;        /* may be NULL: bind mounts */
  char *source;
  unsigned long flags;        /* MS_* to set */
  unsigned long clear_flags;  /* MS_* explicitly cleared (rw, suid, ...) */
  unsigned long propagation;  /* MS_SHARED etc, applied after mounting;
                                 the last propagation option wins */
  bool bind;                  /* "bind"/"rbind" in options or type "bind" */
  bool recursive;
  bool tmpcopyup;
  bool idmap;                 /* "idmap"/"ridmap" or mappings given */
  bool idmap_recursive;       /* "ridmap" */
  uint64_t rec_attr_set;      /* "rro", "rnosuid", ...: MOUNT_ATTR_* for */
  uint64_t rec_attr_clr;      /* mount_setattr(AT_RECURSIVE), as runc */
  char *data;                 /* the remaining options, comma-joined;
                                 NULL when none */
  struct spec_id_map *uid_mappings, *gid_mappings; /* idmapped mounts */
  size_t n_uid_mappings, n_gid_mappings;
};

struct spec_hook {
  char *path;
  char **args;   /* NULL-terminated, may be NULL */
  char **env;    /* NULL-terminated, may be NULL */
  int timeout;   /* seconds, 0 = none */
};

enum hook_kind {
  HOOK_PRESTART, HOOK_CREATE_RUNTIME, HOOK_CREATE_CONTAINER,
  HOOK_START_CONTAINER, HOOK_POSTSTART, HOOK_POSTSTOP, HOOK_KIND_COUNT
};

struct spec_hooks {
  struct spec_hook *list[HOOK_KIND_COUNT];
  size_t n[HOOK_KIND_COUNT];
};

struct spec_device {
  char *path;
  char type;          /* 'c', 'b', 'u', 'p' */
  int64_t major, minor;
  bool has_mode;
  mode_t file_mode;
  bool has_uid, has_gid;
  uid_t uid;
  gid_t gid;
};

struct spec_sysctl {
  char *key, *value;
};

struct spec_time_offset {
  bool present;
  int64_t secs;
  uint32_t nanosecs;
};

struct spec_linux {
  struct spec_namespace ns[NS_COUNT];
  struct spec_id_map *uid_mappings, *gid_mappings;
  size_t n_uid_mappings, n_gid_mappings;
  struct spec_time_offset time_monotonic, time_boottime;
  struct spec_device *devices;
  size_t n_devices;
  char *cgroups_path;
  struct spec_sysctl *sysctl;
  size_t n_sysctl;
  char **masked_paths;
  size_t n_masked_paths;
  char **readonly_paths;
  size_t n_readonly_paths;
  unsigned long rootfs_propagation; /* 0 = default */
  char *mount_label;
  json_t *resources;     /* linux.resources, interpreted by cgroups */
  json_t *seccomp;       /* linux.seccomp */
  json_t *personality;
  json_t *intel_rdt;
  json_t *net_devices;   /* linux.netDevices (1.2) */
};

struct spec {
  char *oci_version;
  char *root_path;       /* absolute: resolved against the bundle */
  bool root_readonly;
  char *hostname;
  char *domainname;
  bool has_process;
  struct spec_process process;
  struct spec_mount *mounts;
  size_t n_mounts;
  struct spec_hooks hooks;
  json_t *annotations;   /* object of strings, never NULL after parse */
  struct spec_linux linux;
  json_t *vm;            /* the "vm" section, for the vm driver */
  json_t *json;          /* the whole document */
  bool uint64_wrapped;   /* json holds wrapped uint64 literals (above) */
};

/* Parse config.json text. bundle is used to resolve a relative root.path
 * and relative bind-mount sources (NULL: the current directory).
 * On error returns <0 with e->msg like
 * "config.json: process.args: must be a non-empty array of strings",
 * and *out is left zeroed (nothing to free). spec_free() of a zeroed or
 * already freed struct is a no-op. */
int spec_parse(const char *text, size_t len, const char *bundle,
               struct spec *out, struct hull_error *e);

/* Read and parse BUNDLE/config.json. */
int spec_load(const char *bundle, struct spec *out, struct hull_error *e);

/* Parse a process object alone (hull-runtime exec --process FILE).
 * Messages name fields relative to the object ("args: must be ..."), for
 * the caller to prefix with the file name; on error *out is zeroed.
 * wrapped: the object came from a document with wrapped uint64 literals,
 * whose negative values in uint64 fields are those literals. */
int spec_parse_process(json_t *obj, bool wrapped, struct spec_process *out,
                       struct hull_error *e);

void spec_free(struct spec *s);
void spec_process_free(struct spec_process *p);

const char *ns_type_name(enum ns_type t);       /* "pid", "network", ... */
int ns_type_from_name(const char *name);         /* -1 if unknown */
int ns_clone_flag(enum ns_type t);               /* CLONE_NEWPID ... */
const char *ns_proc_name(enum ns_type t);        /* "pid", "net", ... */

/* Capability names "CAP_SYS_ADMIN" <-> numbers. */
int cap_number_from_name(const char *name);      /* -1 if unknown */
const char *cap_name_from_number(int n);         /* NULL if unknown */
int cap_last_known(void);

/* Rlimit names "RLIMIT_NOFILE" <-> RLIMIT_*. */
int rlimit_from_name(const char *name);          /* -1 if unknown */

/* The default config.json written by `spec` (rootless variant too):
 * malloc'd pretty JSON text without a trailing newline; NULL on ENOMEM. */
char *spec_default_json(bool rootless);

#endif
