/* The config.json that `hull-runtime spec` writes: runc's example spec
 * (libcontainer/specconv/example.go), and its rootless variant, with the
 * same fields in the same order so tools that diff against runc agree. */
#include "spec.h"

#include <linux/magic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/vfs.h>
#include <unistd.h>

static json_t *strings(const char *const *v) {
  json_t *a = json_array();
  for (; a && *v; v++)
    if (json_array_append_new(a, json_string(*v)) < 0) {
      json_decref(a);
      return NULL;
    }
  return a;
}

static const char *const default_caps[] = {
    "CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE", NULL};

static const struct {
  const char *destination, *type, *source;
  const char *options[7];
} default_mounts[] = {
    {"/proc", "proc", "proc", {NULL}},
    {"/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755",
                                "size=65536k", NULL}},
    {"/dev/pts", "devpts", "devpts", {"nosuid", "noexec", "newinstance",
                                      "ptmxmode=0666", "mode=0620", "gid=5",
                                      NULL}},
    {"/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777",
                                  "size=65536k", NULL}},
    {"/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev", NULL}},
    {"/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro", NULL}},
    {"/sys/fs/cgroup", "cgroup", "cgroup", {"nosuid", "noexec", "nodev",
                                            "relatime", "ro", NULL}},
};

/* Without privileges sysfs cannot be mounted: bind the host's instead. */
static const char *const rootless_sys_options[] = {"rbind", "nosuid", "noexec",
                                                   "nodev", "ro", NULL};

static const char *const masked_paths[] = {
    "/proc/acpi",        "/proc/asound",     "/proc/kcore",
    "/proc/keys",        "/proc/latency_stats", "/proc/timer_list",
    "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
    "/proc/scsi",        "/sys/devices/virtual/tpm", NULL};

static const char *const readonly_paths[] = {
    "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
    NULL};

static json_t *mounts(bool rootless) {
  json_t *a = json_array();
  for (size_t i = 0; a && i < sizeof default_mounts / sizeof *default_mounts;
       i++) {
    const char *dst = default_mounts[i].destination, *type, *source;
    const char *opts[8];
    size_t n = 0;
    if (rootless && strcmp(dst, "/sys") == 0) {
      type = "none";
      source = "/sys";
      for (const char *const *o = rootless_sys_options; *o; o++)
        opts[n++] = *o;
    } else {
      type = default_mounts[i].type;
      source = default_mounts[i].source;
      /* Rootless: uid=/gid= options name ids that are not mapped. */
      for (const char *const *o = default_mounts[i].options; *o; o++)
        if (!rootless || (strncmp(*o, "uid=", 4) && strncmp(*o, "gid=", 4)))
          opts[n++] = *o;
    }
    opts[n] = NULL;
    json_t *m = json_pack("{s:s, s:s, s:s}", "destination", dst, "type", type,
                          "source", source);
    /* Go's omitempty: no "options" key when there are none. */
    if (m && n && json_object_set_new(m, "options", strings(opts)) < 0)
      json_decref(m), m = NULL;
    if (!m || json_array_append_new(a, m) < 0)
      json_decref(a), a = NULL;
  }
  return a;
}

/* runc adds a cgroup namespace only on a unified (v2) hierarchy. */
static bool cgroup2_unified(void) {
  struct statfs st;
  return statfs("/sys/fs/cgroup", &st) == 0 &&
         st.f_type == (typeof(st.f_type))CGROUP2_SUPER_MAGIC;
}

static json_t *namespaces(bool rootless) {
  const char *types[8];
  size_t n = 0;
  types[n++] = "pid";
  if (!rootless)
    types[n++] = "network";
  types[n++] = "ipc";
  types[n++] = "uts";
  types[n++] = "mount";
  if (cgroup2_unified())
    types[n++] = "cgroup";
  if (rootless)
    types[n++] = "user";
  json_t *a = json_array();
  for (size_t i = 0; a && i < n; i++)
    if (json_array_append_new(a, json_pack("{s:s}", "type", types[i])) < 0)
      json_decref(a), a = NULL;
  return a;
}

static json_t *linux_section(bool rootless) {
  json_t *l = json_object();
  if (!l)
    return NULL;
  int r = 0;
  if (rootless) {
    r |= json_object_set_new(
        l, "uidMappings",
        json_pack("[{s:i, s:I, s:i}]", "containerID", 0, "hostID",
                  (json_int_t)geteuid(), "size", 1));
    r |= json_object_set_new(
        l, "gidMappings",
        json_pack("[{s:i, s:I, s:i}]", "containerID", 0, "hostID",
                  (json_int_t)getegid(), "size", 1));
  } else {
    r |= json_object_set_new(
        l, "resources",
        json_pack("{s:[{s:b, s:s}]}", "devices", "allow", 0, "access", "rwm"));
  }
  r |= json_object_set_new(l, "namespaces", namespaces(rootless));
  r |= json_object_set_new(l, "maskedPaths", strings(masked_paths));
  r |= json_object_set_new(l, "readonlyPaths", strings(readonly_paths));
  if (r) {
    json_decref(l);
    return NULL;
  }
  return l;
}

char *spec_default_json(bool rootless) {
  json_t *process = json_pack(
      "{s:b, s:{s:i, s:i}, s:[s], s:[s, s], s:s, s:{s:o, s:o, s:o},"
      " s:[{s:s, s:i, s:i}], s:b}",
      "terminal", 1, "user", "uid", 0, "gid", 0, "args", "sh", "env",
      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      "TERM=xterm", "cwd", "/", "capabilities", "bounding",
      strings(default_caps), "effective", strings(default_caps), "permitted",
      strings(default_caps), "rlimits", "type", "RLIMIT_NOFILE", "hard", 1024,
      "soft", 1024, "noNewPrivileges", 1);
  json_t *doc = json_pack("{s:s, s:o, s:{s:s, s:b}, s:s, s:o, s:o}",
                          "ociVersion", "1.2.0", "process", process, "root",
                          "path", "rootfs", "readonly", 1, "hostname", "hull",
                          "mounts", mounts(rootless), "linux",
                          linux_section(rootless));
  if (!doc)
    return NULL;
  char *text = json_dumps(doc, JSON_INDENT(2));
  json_decref(doc);
  /* json_dumps memory belongs to jansson's allocator (an arena in
   * hull-runtime): hand the caller a malloc'd copy. */
  char *copy = text ? strdup(text) : NULL;
  json_malloc_t m;
  json_free_t f;
  json_get_alloc_funcs(&m, &f);
  if (text)
    f(text);
  return copy;
}
