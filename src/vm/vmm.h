/* The virtual machine monitor behind VM isolation, as an interface: the
 * vm driver describes the machine it wants (kernel, memory, vCPUs, the
 * channel to hull-init, the shared directories) and a backend starts it.
 * The first backend drives QEMU's microvm machine; a monitor of hull's own
 * on KVM plugs in here without touching the driver. */
#ifndef HULL_VMM_H
#define HULL_VMM_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "../common/error.h"

enum vm_accel { VM_ACCEL_KVM, VM_ACCEL_TCG };

#define VMM_MAX_SHARES 4
#define VMM_MAX_NICS 8

/* A host directory the guest mounts (virtio-9p in QEMU). */
struct vmm_share {
  const char *tag;  /* the guest mounts it by this name */
  const char *path; /* host directory */
  bool readonly;
};

/* A network device (virtio-net) whose host end is a tap. */
struct vmm_nic {
  int tap_fd;
  uint8_t mac[6]; /* the guest's */
};

struct vmm_config {
  const char *kernel;      /* uncompressed vmlinux (PVH entry) */
  const char *initrd;      /* hull-init's initramfs */
  const char *console_log; /* the guest's console goes to this file */
  const char *vmm_log;     /* the monitor's own messages */
  enum vm_accel accel;
  unsigned vcpus;
  uint64_t mem_mib;
  int port_fd;             /* socket carrying the "hull" port */
  int control_fd;          /* socket for the monitor's own control */
  struct vmm_share shares[VMM_MAX_SHARES];
  size_t n_shares;
  struct vmm_nic nics[VMM_MAX_NICS];
  size_t n_nics;
};

struct vmm_backend {
  const char *name;
  /* Start the monitor as a child of the caller, which already sits in the
   * container's namespaces and cgroup; it dies with the caller. Every
   * descriptor but cfg->port_fd, cfg->control_fd and the taps of
   * cfg->nics is closed in the child. */
  int (*launch)(const struct vmm_config *cfg, pid_t *pid, struct hull_error *e);
  /* Stop or resume the vCPUs (and the guest's clocks with them) through
   * the other end of cfg->control_fd. Bounded in time. */
  int (*pause)(int control_fd, bool pause, struct hull_error *e);
};

extern const struct vmm_backend vmm_qemu;

/* Which accelerator to use: HULL_VM_ACCEL=kvm|tcg, else KVM when the CPU
 * has hardware virtualization and /dev/kvm is a real KVM, else TCG. *why
 * gets a one-line reason when TCG is chosen without being asked for. */
int vm_accel_detect(enum vm_accel *out, const char **why, struct hull_error *e);

/* The guest kernel and initramfs: HULL_VM_KERNEL / HULL_VM_INITRD, else
 * vmlinux and initramfs.cpio in the `guest` directory beside the runtime
 * binary, else in /usr/local/lib/hull/guest. */
int vm_guest_assets(const char **kernel, const char **initrd,
                    struct hull_error *e);

#endif
