/* The VM supervisor: the host process that stands for a VM container.
 * Born by `create` inside the container's namespaces and cgroup, it
 * starts the monitor (QEMU) as its child, boots the guest up to hull-init,
 * creates the container there, and then relays: the container's stdio to
 * and from the guest, the runtime's requests (start, kill, exec, ps) from
 * its socket `vm.sock` in the state directory, signals it receives to the
 * guest's process. It exits with the container's exit status, so an
 * engine that waits for the container's pid (conmon, containerd's shim)
 * gets what process isolation gives it. Everything the guest sends is
 * checked; a guest that misbehaves or dies ends the container. */
#ifndef HULL_VM_SUPERVISOR_H
#define HULL_VM_SUPERVISOR_H

#include <jansson.h>
#include <limits.h>

#include "../linux/cgroup.h"
#include "../linux/namespaces.h"
#include "../runtime/container.h"
#include "vmm.h"

#define VM_SOCKET "vm.sock"
#define VM_CONSOLE_LOG "console.log"
#define VM_MONITOR_LOG "vmm.log"
#define VM_ERROR_FILE "vm.error"
#define VM_BINDS_DIR "vm-binds"

/* A bind mount of the config, staged for the guest's "binds" share. */
struct vm_bind {
  char *source; /* host path, absolute */
  char name[16];  /* m0, m1, ... inside the share */
  bool readonly;
};

struct vm_supervisor_args {
  struct container *c;
  const struct cgroup_set *cgroups;
  struct ns_plan *ns;
  int sync_fd;    /* to the creating runtime */
  int listen_fd;  /* vm.sock, listening */
  int console_fd; /* connected --console-socket, or -1 */
  json_t *create_msg; /* the CREATE payload for hull-init */
  struct vmm_config vmm; /* all but port_fd */
  const struct vmm_backend *backend;
  struct vm_bind *binds;
  size_t n_binds;
  char binds_dir[PATH_MAX]; /* staging directory of the binds share */
  char state_dir[PATH_MAX];
};

__attribute__((noreturn)) void vm_supervise(struct vm_supervisor_args *a);

/* How long the guest may take to boot and create the container
 * (HULL_VM_BOOT_TIMEOUT seconds, default 60). */
int vm_boot_timeout_ms(void);

#endif
