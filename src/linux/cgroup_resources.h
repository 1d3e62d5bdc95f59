/* OCI linux.resources applied to a container's cgroups, on every layout a
 * host has: v1 (a hierarchy per controller), v2 (unified) and hybrid (v1
 * controllers plus a cgroup2 mount; a controller only v2 has, such as
 * hugetlb on some hosts, is then used on the cgroup2 side).
 *
 * Three steps, so the middle one can be tested without a kernel:
 *   validate   every field type-checked before anything is created;
 *   plan       resources JSON -> an ordered list of (directory, file,
 *              value) writes plus, on v2 without a v1 devices controller,
 *              the device rules for an eBPF program;
 *   execute    the writes, in order; for `update` the old content of each
 *              file is read first and written back, in reverse order, when
 *              a later write fails, so a rejected update leaves the old
 *              limits in force.
 *
 * Messages name the field and the value:
 *   config.json: linux.resources.devices[2].type: unknown device type "x"
 *   linux.resources.memory.limit 1048576: Device or resource busy (below
 *   current usage?)
 */
#ifndef HULL_CGROUP_RESOURCES_H
#define HULL_CGROUP_RESOURCES_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/error.h"
#include "../spec/spec.h"
#include "cgroup.h"

/* ---- the API ------------------------------------------------------------ */

/* Type- and range-check linux.resources (NULL is fine). Messages start
 * with "config.json: linux.resources". */
int cgroup_resources_validate(json_t *resources, struct hull_error *e);
/* The same with another prefix for the field names, e.g. "resources.json"
 * for `update -r` ("resources.json: memory.limit: ..."). */
int cgroup_resources_validate_as(json_t *resources, const char *prefix,
                                 struct hull_error *e);

/* Create: validate and apply spec->linux.resources, with the device rules
 * runc applies: deny all, the spec's rules, then runc's default allow list
 * (/dev/null, zero, full, random, urandom, tty, ptmx, pts, net/tun and
 * mknod of any device) less the entries whose path linux.devices lists.
 * As in runc, a linux.devices entry makes a node but does not allow it:
 * linux.resources.devices must. On pure v2 it first enables the available
 * controllers in the ancestors' cgroup.subtree_control. */
int cgroup_apply_spec(const struct cgroup_set *s, const struct spec *spec,
                      struct hull_error *e);

/* Apply RESOURCES. is_update: for `hull-runtime update` -- devices are not
 * changed (as runc), absent fields keep their current values, and on
 * failure every file written is restored. Without is_update (create) the
 * default device rules are applied as by cgroup_apply_spec without
 * linux.devices.
 *
 * Values as runc/crun read them: 0 leaves a field unset (memory, cpu,
 * blkio); -1 is unlimited; pids.limit <= 0 is "max" (runtime-spec 1.2); on
 * v2 cpu.shares becomes cpu.weight = 1 + ((shares - 2) * 9999) / 262142,
 * memory.swap (memory+swap) becomes memory.swap.max = swap - limit, and
 * blkio weights 10..1000 become io.weight 1..10000 (io.bfq.weight takes
 * them as they are); kernel/kernelTCP memory, and on v2 swappiness,
 * disableOOMKiller, leafWeight and network, are ignored with a warning.
 * Writes are ordered for the kernel's checks (v1 memory and memsw: what
 * grows first; cpu quota/period/burst retried once after an EINVAL). */
int cgroup_apply_resources(const struct cgroup_set *s, json_t *resources,
                           bool is_update, struct hull_error *e);

/* ---- conversions (runc's) ----------------------------------------------- */

/* cpu.shares -> cpu.weight: 1 + ((shares - 2) * 9999) / 262142, with
 * shares clamped to the v1 range 2..262144 first; 0 stays 0 (unset). */
uint64_t cgroup_shares_to_weight(uint64_t shares);
/* blkio.weight (10..1000) -> io.weight (1..10000). */
uint64_t cgroup_blkio_to_io_weight(uint64_t weight);
/* memory.swap (memory+swap, v1 style) -> memory.swap.max. 0 = unset, -1 =
 * max; returns <0 with a message when swap is set without a memory limit
 * or below it. */
int cgroup_swap_to_v2(int64_t swap, int64_t limit, int64_t *out,
                      struct hull_error *e);

/* ---- internals, exposed for the unit tests and the fuzzer ---------------- */

enum cg_ctrl {
  CG_CPU, CG_CPUACCT, CG_CPUSET, CG_MEMORY, CG_PIDS, CG_BLKIO, CG_HUGETLB,
  CG_DEVICES, CG_FREEZER, CG_NET_CLS, CG_NET_PRIO, CG_RDMA, CG_COUNT
};

/* Where each controller lives for one container. */
struct cgroup_layout {
  const char *dir[CG_COUNT]; /* directory, NULL: controller not available */
  bool v2[CG_COUNT];         /* dir is the cgroup2 one */
  const char *unified;       /* the cgroup2 directory, or NULL */
  bool any_v1;               /* the set has v1 hierarchies (v1 or hybrid) */
};

/* The v1 name ("cpu", "blkio") and the v2 name ("cpu", "io"; NULL when v2
 * has no such controller) of a controller. */
const char *cgroup_ctrl_name(enum cg_ctrl c, bool v2);
/* Fill the layout from a set. In hybrid mode a controller no v1 hierarchy
 * has is taken from the cgroup2 side when the cgroup2 root lists it in
 * cgroup.controllers; devices and freezer fall back to cgroup2 (eBPF,
 * cgroup.freeze) when v1 lacks them. */
void cgroup_layout_from_set(const struct cgroup_set *s, struct cgroup_layout *l);

enum {
  CGW_ENOENT_OK = 1,    /* a missing file is not an error */
  CGW_DEFER_EINVAL = 2, /* on EINVAL retry once after the other writes */
  CGW_VERIFY = 4,       /* read back: the kernel must keep the value */
  CGW_NO_RESTORE = 8,   /* not restorable (devices): create only */
  CGW_OOM_CONTROL = 16, /* restore "oom_kill_disable N" from the old text */
};

struct cg_write {
  const char *dir;   /* from the layout, not owned */
  char file[80];     /* name inside dir */
  char *value;       /* text to write (owned) */
  char field[112];   /* "linux.resources.memory.limit" */
  char shown[72];    /* the configured value, for messages */
  char key[72];      /* keyed files (per device/interface): the line key */
  char reset[112];   /* keyed files: the text that clears KEY's setting */
  unsigned flags;
};

/* One cgroup device rule; major/minor -1 = any ('*'). access: bits of
 * CG_DEV_MKNOD/READ/WRITE. type 'a' resets (as the v1 kernel reads "a"). */
enum { CG_DEV_MKNOD = 1, CG_DEV_READ = 2, CG_DEV_WRITE = 4 };
struct cg_dev_rule {
  bool allow;
  char type; /* 'a', 'b', 'c' */
  int64_t major, minor;
  unsigned access;
};

struct cg_plan {
  struct cg_write *w;
  size_t n, cap;
  /* v2 devices: the rules for an eBPF program attached to bpf_dir */
  const char *bpf_dir;
  struct cg_dev_rule *rules;
  size_t n_rules;
  /* controllers to enable on the cgroup2 side before writing (CG_* bits) */
  unsigned enable_v2;
  const char *enable_dir;
  char warnings[512]; /* ignored fields, "; "-separated */
  bool nomem;
};

struct cg_plan_opts {
  bool is_update;
  bool default_devices;                /* create: runc's allow list */
  const struct spec_device *devices;   /* create: linux.devices (they */
  size_t n_devices;                    /* replace defaults of their path) */
};

/* Map validated RESOURCES onto the layout. Reads the current content of a
 * few files when a value depends on it (the v1 memory/swap write order;
 * v2 swap and cpu.max when `update` gives only one half). */
int cgroup_plan_make(json_t *resources, const struct cgroup_layout *l,
                     const struct cg_plan_opts *o, struct cg_plan *p,
                     struct hull_error *e);
/* Do the writes (and the eBPF device program); with rollback, restore the
 * old contents on failure. */
int cgroup_plan_execute(const struct cg_plan *p, bool rollback,
                        struct hull_error *e);
void cgroup_plan_free(struct cg_plan *p);

/* The device rule as the v1 devices.allow/deny files read it: "c 1:3 rwm",
 * "b *:* m", "a". */
void cgroup_dev_rule_text(const struct cg_dev_rule *r, char *buf, size_t len);
/* Emulate the v1 kernel on RULES, starting from "deny all": the resulting
 * default and exception list (caller frees *exc). */
int cgroup_dev_emulate(const struct cg_dev_rule *rules, size_t n,
                       bool *default_allow, struct cg_dev_rule **exc,
                       size_t *n_exc);
/* Would the emulated rules allow ACCESS to a device? (for tests) */
bool cgroup_dev_allowed(bool default_allow, const struct cg_dev_rule *exc,
                        size_t n_exc, char type, uint32_t major,
                        uint32_t minor, unsigned access);
/* Build the BPF_PROG_TYPE_CGROUP_DEVICE program (struct bpf_insn array,
 * caller frees) for the rules. */
int cgroup_dev_bpf_build(const struct cg_dev_rule *rules, size_t n,
                         void **insns, size_t *n_insns);
/* Load it and attach it to the cgroup2 directory DIR (BPF_F_ALLOW_MULTI;
 * programs hull attached before are replaced). */
int cgroup_dev_bpf_apply(const char *dir, const struct cg_dev_rule *rules,
                         size_t n, struct hull_error *e);

/* Enable controllers (CG_* bits; 0 = every one the root offers) in the
 * cgroup.subtree_control of DIR's ancestors below the cgroup2 mount.
 * Best effort: what cannot be enabled shows later as a missing file. */
void cgroup_v2_enable(const char *dir, unsigned ctrls);

#endif
