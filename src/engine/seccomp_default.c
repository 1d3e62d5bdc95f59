/* hull's default seccomp profile, in the spirit of Docker's: everything is
 * allowed but the system calls that reach beyond a container (kernel
 * modules, reboot, clocks, keyrings, kexec, the mount API and namespace
 * changes without CAP_SYS_ADMIN, ...), which fail with EPERM. A deny list
 * rather than Docker's allow list: the same calls are blocked, and a
 * program using a system call newer than this list is not broken by it.
 * Calls unknown to this kernel or architecture are skipped by the
 * runtime. */
#include <string.h>

#include "engine.h"

static const char *const always_denied[] = {
    "acct", "add_key", "bpf", "clock_adjtime", "clock_settime", "create_module",
    "delete_module", "finit_module", "get_kernel_syms", "get_mempolicy", "init_module",
    "ioperm", "iopl", "kcmp", "kexec_file_load", "kexec_load", "keyctl", "lookup_dcookie",
    "mbind", "move_pages", "nfsservctl", "open_by_handle_at", "perf_event_open",
    "process_vm_readv", "process_vm_writev", "query_module",
    "quotactl", "quotactl_fd", "reboot", "request_key", "set_mempolicy", "settimeofday",
    "stime", "swapoff", "swapon", "_sysctl", "syslog", "uselib", "userfaultfd", "ustat",
    "vm86", "vm86old", NULL};

/* Allowed with CAP_SYS_ADMIN (as Docker does). */
static const char *const admin_only[] = {
    "mount", "umount", "umount2", "pivot_root", "setns", "unshare", "clone3",
    "fsopen", "fsconfig", "fsmount", "fspick", "move_mount", "open_tree",
    "mount_setattr", "name_to_handle_at", "setdomainname", "sethostname",
    "vhangup", NULL};

static bool has_cap(json_t *caps, const char *name) {
  size_t i;
  json_t *v;
  json_array_foreach(caps, i, v) if (!strcmp(json_string_value(v), name)) return true;
  return false;
}

json_t *seccomp_default_profile(json_t *caps) {
  json_t *names = json_array();
  for (const char *const *p = always_denied; *p; p++) {
    /* (ptrace is allowed, as Docker does on kernels >= 4.8; personality
     * too: programs call it with harmless arguments) */
    if ((!strcmp(*p, "process_vm_readv") || !strcmp(*p, "process_vm_writev")) &&
        has_cap(caps, "CAP_SYS_PTRACE"))
      continue;
    if ((!strcmp(*p, "clock_settime") || !strcmp(*p, "settimeofday") ||
         !strcmp(*p, "clock_adjtime") || !strcmp(*p, "stime")) &&
        has_cap(caps, "CAP_SYS_TIME"))
      continue;
    if ((!strcmp(*p, "init_module") || !strcmp(*p, "finit_module") ||
         !strcmp(*p, "delete_module")) && has_cap(caps, "CAP_SYS_MODULE"))
      continue;
    json_array_append_new(names, json_string(*p));
  }
  if (!has_cap(caps, "CAP_SYS_ADMIN"))
    for (const char *const *p = admin_only; *p; p++) {
      /* clone3 gets ENOSYS in Docker so libc falls back to clone; here it
       * is allowed: namespace flags need CAP_SYS_ADMIN anyway */
      if (!strcmp(*p, "clone3") || !strcmp(*p, "sethostname") ||
          !strcmp(*p, "setdomainname"))
        continue;
      json_array_append_new(names, json_string(*p));
    }
  return json_pack("{s:s, s:[s,s,s], s:[{s:o, s:s, s:i}]}", "defaultAction",
                   "SCMP_ACT_ALLOW", "architectures", "SCMP_ARCH_X86_64", "SCMP_ARCH_X86",
                   "SCMP_ARCH_X32", "syscalls", "names", names, "action", "SCMP_ACT_ERRNO",
                   "errnoRet", 1);
}
