/* What the host offers VM isolation: an accelerator and the guest's kernel
 * and initramfs. */
#include <fcntl.h>
#include <limits.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "../common/cleanup.h"
#include "vmm.h"

static bool cpu_has_virtualization(void) {
  FILE *f = fopen("/proc/cpuinfo", "re");
  if (!f)
    return false;
  char line[8192];
  bool found = false;
  while (!found && fgets(line, sizeof line, f)) {
    if (strncmp(line, "flags", 5))
      continue;
    for (char *t = strtok(line, " \t\n"); t; t = strtok(NULL, " \t\n"))
      if (!strcmp(t, "vmx") || !strcmp(t, "svm"))
        found = true;
    break;
  }
  fclose(f);
  return found;
}

static bool kvm_usable(void) {
  _cleanup_close_ int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
  return fd >= 0 && ioctl(fd, KVM_GET_API_VERSION, 0) == KVM_API_VERSION;
}

int vm_accel_detect(enum vm_accel *out, const char **why, struct hull_error *e) {
  *why = NULL;
  const char *force = getenv("HULL_VM_ACCEL");
  if (force && *force) {
    if (!strcmp(force, "kvm")) {
      if (!kvm_usable())
        return hull_err(e, ENODEV, "HULL_VM_ACCEL=kvm: /dev/kvm is not usable");
      *out = VM_ACCEL_KVM;
      return 0;
    }
    if (!strcmp(force, "tcg")) {
      *out = VM_ACCEL_TCG;
      return 0;
    }
    return hull_err(e, EINVAL, "HULL_VM_ACCEL=%s: must be kvm or tcg", force);
  }
  *out = VM_ACCEL_TCG;
  /* kvm_pvm is KVM in software: it runs user-mode code, but an unmodified
   * Linux kernel dies on it during boot. */
  if (access("/sys/module/kvm_pvm", F_OK) == 0)
    *why = "/dev/kvm is kvm_pvm, which cannot boot an unmodified kernel";
  else if (!cpu_has_virtualization())
    *why = "the CPU has no hardware virtualization (vmx/svm)";
  else if (!kvm_usable())
    *why = "/dev/kvm is not usable";
  else
    *out = VM_ACCEL_KVM;
  return 0;
}

static int find_asset(const char *env, const char *name, const char **out,
                      struct hull_error *e) {
  static char paths[2][PATH_MAX];
  char *buf = paths[!strcmp(name, "vmlinux") ? 0 : 1];
  const char *v = getenv(env);
  if (v && *v) {
    if (access(v, R_OK) < 0)
      return hull_errno(e, errno, "%s=%s", env, v);
    *out = v;
    return 0;
  }
  const char *dirs[] = {getenv("HULL_GUEST_DIR"), "/usr/local/lib/hull/guest"};
  for (size_t i = 0; i < 2; i++) {
    if (!dirs[i] || !*dirs[i])
      continue;
    snprintf(buf, PATH_MAX, "%s/%s", dirs[i], name);
    if (access(buf, R_OK) == 0) {
      *out = buf;
      return 0;
    }
  }
  return hull_err(e, ENOENT,
                  "VM isolation: guest %s not found (set %s, or build it: make "
                  "guest-kernel)", name, env);
}

int vm_guest_assets(const char **kernel, const char **initrd,
                    struct hull_error *e) {
  int r = find_asset("HULL_VM_KERNEL", "vmlinux", kernel, e);
  if (r == 0)
    r = find_asset("HULL_VM_INITRD", "initramfs.cpio", initrd, e);
  return r;
}
