/* Names used by config.json: namespace types, capabilities, rlimits.
 * Static tables so hull does not depend on libcap or on the running
 * kernel to parse a config; the hardening code checks what the kernel
 * actually supports. */
#include "spec.h"

#include <sched.h>
#include <string.h>
#include <sys/resource.h>

static const struct {
  const char *spec, *proc;
  int clone_flag;
} ns_table[NS_COUNT] = {
    [NS_PID] = {"pid", "pid", CLONE_NEWPID},
    [NS_NET] = {"network", "net", CLONE_NEWNET},
    [NS_MNT] = {"mount", "mnt", CLONE_NEWNS},
    [NS_IPC] = {"ipc", "ipc", CLONE_NEWIPC},
    [NS_UTS] = {"uts", "uts", CLONE_NEWUTS},
    [NS_USER] = {"user", "user", CLONE_NEWUSER},
    [NS_CGROUP] = {"cgroup", "cgroup", CLONE_NEWCGROUP},
    [NS_TIME] = {"time", "time", CLONE_NEWTIME},
};

static int ns_valid(enum ns_type t) { return (unsigned)t < NS_COUNT; }

const char *ns_type_name(enum ns_type t) {
  return ns_valid(t) ? ns_table[t].spec : NULL;
}

const char *ns_proc_name(enum ns_type t) {
  return ns_valid(t) ? ns_table[t].proc : NULL;
}

int ns_clone_flag(enum ns_type t) {
  return ns_valid(t) ? ns_table[t].clone_flag : 0;
}

int ns_type_from_name(const char *name) {
  for (int t = 0; t < NS_COUNT; t++)
    if (strcmp(name, ns_table[t].spec) == 0)
      return t;
  return -1;
}

/* Indexed by capability number (linux/capability.h). */
static const char *const cap_names[] = {
    "CAP_CHOWN",           "CAP_DAC_OVERRIDE",  "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",          "CAP_FSETID",        "CAP_KILL",
    "CAP_SETGID",          "CAP_SETUID",        "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",       "CAP_NET_RAW",       "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",       "CAP_SYS_MODULE",    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",      "CAP_SYS_PTRACE",    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",       "CAP_SYS_BOOT",      "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",    "CAP_SYS_TIME",      "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",           "CAP_LEASE",         "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",   "CAP_SETFCAP",       "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",       "CAP_SYSLOG",        "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",   "CAP_AUDIT_READ",    "CAP_PERFMON",
    "CAP_BPF",             "CAP_CHECKPOINT_RESTORE",
};
#define N_CAPS ((int)(sizeof cap_names / sizeof cap_names[0]))

/* Capability numbers in strcmp order of their names: a config names the
 * same capabilities in up to five sets, so lookups are binary searches. */
static const unsigned char cap_by_name[N_CAPS] = {
    30, 37, 29, 36, 39, 40, 0,  1,  2,  3,  4,  14, 15, 5,
    28, 9,  33, 32, 27, 12, 10, 11, 13, 38, 31, 6,  8,  7,
    34, 21, 22, 18, 16, 23, 20, 19, 17, 24, 25, 26, 35,
};

int cap_number_from_name(const char *name) {
  int lo = 0, hi = N_CAPS;
  while (lo < hi) {
    int mid = (lo + hi) / 2, n = cap_by_name[mid];
    int c = strcmp(name, cap_names[n]);
    if (c == 0)
      return n;
    if (c < 0)
      hi = mid;
    else
      lo = mid + 1;
  }
  return -1;
}

const char *cap_name_from_number(int n) {
  return n >= 0 && n < N_CAPS ? cap_names[n] : NULL;
}

int cap_last_known(void) { return N_CAPS - 1; }

static const struct {
  const char *name;
  int resource;
} rlimits[] = {
    {"RLIMIT_AS", RLIMIT_AS},
    {"RLIMIT_CORE", RLIMIT_CORE},
    {"RLIMIT_CPU", RLIMIT_CPU},
    {"RLIMIT_DATA", RLIMIT_DATA},
    {"RLIMIT_FSIZE", RLIMIT_FSIZE},
    {"RLIMIT_LOCKS", RLIMIT_LOCKS},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
    {"RLIMIT_NICE", RLIMIT_NICE},
    {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_NPROC", RLIMIT_NPROC},
    {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
    {"RLIMIT_RTTIME", RLIMIT_RTTIME},
    {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_STACK", RLIMIT_STACK},
};

int rlimit_from_name(const char *name) {
  for (size_t i = 0; i < sizeof rlimits / sizeof rlimits[0]; i++)
    if (strcmp(name, rlimits[i].name) == 0)
      return rlimits[i].resource;
  return -1;
}
