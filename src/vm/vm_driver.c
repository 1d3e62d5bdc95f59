/* The vm isolation driver: the container runs in a micro-VM with its own
 * kernel. create clones the VM supervisor into the container's namespaces
 * and cgroup (see supervisor.h); every later command talks to it over
 * vm.sock. Pause and resume stop the guest's vCPUs in the monitor; update
 * and events act on the host cgroup that holds the supervisor and the
 * monitor, with the process driver's code. */
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "../common/cleanup.h"
#include "../common/fs.h"
#include "../common/json.h"
#include "../common/log.h"
#include "../common/supervise.h"
#include "../linux/cgroup_resources.h"
#include "../linux/control.h"
#include "../linux/process.h"
#include "../linux/sync.h"
#include "../linux/terminal.h"
#include "../runtime/hooks.h"
#include "guest_config.h"
#include "supervisor.h"
#include "vm_client.h"
#include "vm_driver.h"
#include "vm_net.h"

/* Guest RAM without a memory limit, and the least a guest boots with. */
#define VM_DEFAULT_MEM_MIB 512
#define VM_MIN_MEM_MIB 128
/* What the monitor itself uses on the host beyond the guest's RAM: the
 * container's host cgroup gets its memory limit raised by this much, so
 * the limit bounds the guest and not the monitor's code cache. */
#define VMM_ALLOWANCE_TCG_MIB 192
#define VMM_ALLOWANCE_KVM_MIB 64

static uint64_t vmm_allowance_bytes(json_t *driver_data) {
  const char *accel = json_string_value(
      json_object_get(json_object_get(driver_data, "vm"), "accel"));
  uint64_t mib = accel && !strcmp(accel, "kvm") ? VMM_ALLOWANCE_KVM_MIB
                                                : VMM_ALLOWANCE_TCG_MIB;
  return mib << 20;
}

/* linux.resources for the host cgroup: the memory limits grow by the
 * monitor's allowance. Returns a new reference. */
static json_t *host_resources(json_t *resources, uint64_t allowance) {
  json_t *r = resources ? json_deep_copy(resources) : NULL;
  json_t *mem = json_object_get(r, "memory");
  const char *keys[] = {"limit", "swap", "reservation"};
  for (size_t i = 0; mem && i < 3; i++) {
    json_t *v = json_object_get(mem, keys[i]);
    if (json_is_integer(v) && json_integer_value(v) > 0)
      json_object_set_new(mem, keys[i],
                          json_integer(json_integer_value(v) + (json_int_t)allowance));
  }
  return r;
}

static unsigned host_cpus(void) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? (unsigned)n : 1;
}

/* vCPUs from the cpu quota (rounded up) or the cpuset's size; one else. */
static unsigned guest_vcpus(json_t *resources) {
  json_t *cpu = json_object_get(resources, "cpu");
  json_int_t quota = json_integer_value(json_object_get(cpu, "quota"));
  json_int_t period = json_integer_value(json_object_get(cpu, "period"));
  const char *cpus = json_string_value(json_object_get(cpu, "cpus"));
  unsigned n = 1;
  if (quota > 0) {
    if (period <= 0)
      period = 100000;
    n = (unsigned)((quota + period - 1) / period);
  } else if (cpus && *cpus) {
    n = 0;
    for (const char *p = cpus; *p;) {
      char *end;
      unsigned long a = strtoul(p, &end, 10), b = a;
      if (end == p)
        break;
      if (*end == '-')
        b = strtoul(end + 1, &end, 10);
      n += b >= a ? (unsigned)(b - a + 1) : 0;
      p = *end == ',' ? end + 1 : end;
      if (*end != ',')
        break;
    }
  }
  unsigned max = host_cpus();
  return n < 1 ? 1 : n > max ? max : n;
}

static uint64_t guest_mem_mib(json_t *resources) {
  json_int_t limit =
      json_integer_value(json_object_get(json_object_get(resources, "memory"), "limit"));
  if (limit <= 0)
    return VM_DEFAULT_MEM_MIB;
  uint64_t mib = (uint64_t)limit >> 20;
  return mib < VM_MIN_MEM_MIB ? VM_MIN_MEM_MIB : mib;
}

static int vm_socket_listen(struct container *c, struct hull_error *e) {
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  snprintf(addr.sun_path, sizeof addr.sun_path, "/proc/self/fd/%d/%s", c->dirfd,
           VM_SOCKET);
  int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return hull_errno(e, errno, "container %s: VM socket", c->id);
  if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(fd, 16) < 0) {
    int err = errno;
    close(fd);
    return hull_errno(e, err, "container %s: VM socket", c->id);
  }
  return fd;
}

static int validate(struct container *c, const struct create_opts *o,
                    struct ns_plan *ns, struct hull_error *e) {
  struct spec *s = &c->spec;
  if (s->process.terminal && !o->console_socket && !o->foreground)
    return hull_err(e, EINVAL,
                    "process.terminal: needs --console-socket to hand the terminal over");
  if (!s->process.terminal && o->console_socket)
    return hull_err(e, EINVAL, "--console-socket: process.terminal is false");
  if (o->preserve_fds)
    return hull_err(e, ENOTSUP, "--preserve-fds: not supported with VM isolation");
  /* The VM has its own network stack: it gets a network namespace's
   * interfaces (vm_net.h), not the host's. */
  if (!(ns->listed_flags & CLONE_NEWNET))
    return hull_err(e, ENOTSUP,
                    "linux.namespaces: host network is not supported with VM isolation "
                    "(list a network namespace)");
  static const int host_only[] = {NS_PID, NS_MNT, NS_USER, NS_CGROUP, NS_TIME};
  for (size_t i = 0; i < sizeof host_only / sizeof *host_only; i++)
    if (ns->join_fds[host_only[i]] >= 0)
      return hull_err(e, ENOTSUP,
                      "linux.namespaces: joining the %s namespace %s is not "
                      "supported with VM isolation (the guest has its own kernel)",
                      ns_type_name(host_only[i]), s->linux.ns[host_only[i]].path);
  return cgroup_resources_validate(s->linux.resources, e);
}

/* Run the runtime's create-time hooks with the supervisor as the pid. */
static int run_create_hooks(struct container *c, struct hull_error *e) {
  const struct spec_hooks *h = &c->spec.hooks;
  if (!h->n[HOOK_PRESTART] && !h->n[HOOK_CREATE_RUNTIME] && !h->n[HOOK_CREATE_CONTAINER])
    return 0;
  json_t *st = container_oci_state(c, "creating");
  _cleanup_free_ char *text = hjson_dumps(st);
  json_decref(st);
  int r = hooks_run(h, HOOK_PRESTART, text, e);
  if (r == 0)
    r = hooks_run(h, HOOK_CREATE_RUNTIME, text, e);
  if (r == 0)
    r = hooks_run(h, HOOK_CREATE_CONTAINER, text, e);
  return r < 0 ? hull_err_prefix(e, "container %s", c->id) : 0;
}

/* Is the destination inside an earlier mount of the config (a file
 * system the guest mounts, where it creates its own mount points)? */
static bool under_other_mount(const struct spec *s, size_t i) {
  const char *d = s->mounts[i].destination;
  for (size_t k = 0; k < i; k++) {
    const char *p = s->mounts[k].destination;
    size_t n = strlen(p);
    if (n > 1 && !strncmp(d, p, n) && d[n] == '/')
      return true;
  }
  return false;
}

/* A read-only root is shared read-only by the host (the guest's kernel is
 * not trusted to keep it so), so the guest cannot make the mount points it
 * needs: they are made here, resolved inside the root, as the process
 * driver would make them. */
static int precreate_mount_points(struct container *c, struct hull_error *e) {
  const struct spec *s = &c->spec;
  if (!s->root_readonly)
    return 0;
  _cleanup_close_ int rootfd = open(s->root_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0)
    return hull_errno(e, errno, "root.path %s", s->root_path);
  for (size_t i = 0; i < s->n_mounts; i++) {
    const struct spec_mount *m = &s->mounts[i];
    if (under_other_mount(s, i))
      continue;
    struct stat st;
    bool is_dir = !m->bind || stat(m->source, &st) < 0 || S_ISDIR(st.st_mode);
    int fd = fs_ensure_in_root(rootfd, m->destination, is_dir, e);
    if (fd < 0)
      return hull_err_prefix(e, "mount %s", m->destination);
    close(fd);
  }
  return 0;
}

static void remove_vm_files(struct container *c) {
  if (c->dirfd < 0)
    return;
  unlinkat(c->dirfd, VM_SOCKET, 0);
  unlinkat(c->dirfd, VM_BINDS_DIR, AT_REMOVEDIR);
  unlinkat(c->dirfd, VM_NET_FILE, 0);
}

_Static_assert(VM_NET_MAX_IFACES <= VMM_MAX_NICS, "a device for every interface");

/* The network namespace's interfaces for the guest: taps made there, the
 * description in CREATE, the record of what to undo in the state
 * directory. Nothing to do for a new namespace (the supervisor makes it:
 * loopback only). */
static int setup_network(struct container *c, struct ns_plan *ns, struct vm_net *net,
                         struct vm_guest_plan *plan, struct vmm_config *vmm,
                         struct hull_error *e) {
  int fd = ns->join_fds[NS_NET];
  if (fd < 0)
    return 0;
  int r = vm_net_setup(fd, net, e);
  if (r < 0 || !net->n)
    return r;
  json_t *desc = vm_net_desc_to_json(&net->desc);
  json_t *rec = vm_net_record(net, c->spec.linux.ns[NS_NET].path, fd);
  _cleanup_free_ char *text = rec ? hjson_dumps(rec) : NULL;
  json_decref(rec);
  if (!text || json_object_set_new(plan->create_msg, "network", desc) < 0) {
    if (!text)
      json_decref(desc);
    r = hull_err(e, ENOMEM, "container %s: VM network", c->id);
    goto fail;
  }
  if ((r = fs_atomic_write(c->dirfd, VM_NET_FILE, text, strlen(text), false, e)) < 0)
    goto fail;
  for (size_t i = 0; i < net->n; i++) {
    vmm->nics[i].tap_fd = net->fds[i];
    memcpy(vmm->nics[i].mac, net->desc.ifs[i].mac, 6);
  }
  vmm->n_nics = net->n;
  return 0;
fail:
  vm_net_close(net);
  vm_net_teardown_in(fd, net);
  return r;
}

static int vm_create(struct container *c, const struct create_opts *o,
                     struct hull_error *e) {
  struct ns_plan ns;
  int r = ns_plan_make(&c->spec, &ns, e);
  if (r < 0)
    return r;
  struct cgroup_set cgs = {0};
  struct vm_guest_plan plan = {0};
  _cleanup_close_ int listen_fd = -1, console = -1, cgroup_fd = -1;
  int pair[2] = {-1, -1};
  pid_t child = -1;
  json_t *host_res = NULL, *saved_res = c->spec.linux.resources;
  struct vm_supervisor_args a = {.c = c, .backend = &vmm_qemu};
  struct vm_net net = {.n = 0};
  for (size_t i = 0; i < VM_NET_MAX_IFACES; i++)
    net.fds[i] = -1;
  const char *why = NULL;
  enum vm_accel accel;

  if ((r = validate(c, o, &ns, e)) < 0 ||
      (r = vm_accel_detect(&accel, &why, e)) < 0 ||
      (r = vm_guest_assets(&a.vmm.kernel, &a.vmm.initrd, e)) < 0 ||
      (r = precreate_mount_points(c, e)) < 0 ||
      (r = vm_guest_config(c, &plan, e)) < 0)
    goto out;
  if (why)
    log_warn("VM isolation: using QEMU emulation (TCG), slower to boot: %s", why);
  if (!realpath(c->root, a.state_dir) ||
      strlen(a.state_dir) + strlen(c->id) + 2 >= sizeof a.state_dir) {
    r = hull_errno(e, errno ? errno : ENAMETOOLONG, "state root %s", c->root);
    goto out;
  }
  strcat(a.state_dir, "/");
  strcat(a.state_dir, c->id);
  snprintf(a.binds_dir, sizeof a.binds_dir, "%s/%s", a.state_dir, VM_BINDS_DIR);
  if (plan.n_binds && mkdirat(c->dirfd, VM_BINDS_DIR, 0700) < 0) {
    r = hull_errno(e, errno, "container %s: %s", c->id, VM_BINDS_DIR);
    goto out;
  }

  /* The machine: RAM from the memory limit, vCPUs from the cpu limits. */
  static char console_log[PATH_MAX + 32], vmm_log[PATH_MAX + 32];
  snprintf(console_log, sizeof console_log, "%s/%s", a.state_dir, VM_CONSOLE_LOG);
  snprintf(vmm_log, sizeof vmm_log, "%s/%s", a.state_dir, VM_MONITOR_LOG);
  a.vmm.console_log = console_log;
  a.vmm.vmm_log = vmm_log;
  a.vmm.accel = accel;
  a.vmm.mem_mib = guest_mem_mib(c->spec.linux.resources);
  a.vmm.vcpus = guest_vcpus(c->spec.linux.resources);
  a.vmm.shares[a.vmm.n_shares++] = (struct vmm_share){
      .tag = "rootfs", .path = c->spec.root_path, .readonly = c->spec.root_readonly};
  if (plan.n_binds)
    a.vmm.shares[a.vmm.n_shares++] =
        (struct vmm_share){.tag = "binds", .path = a.binds_dir};
  a.binds = plan.binds;
  a.n_binds = plan.n_binds;
  a.ns = &ns;
  if ((r = setup_network(c, &ns, &net, &plan, &a.vmm, e)) < 0)
    goto out;
  a.create_msg = plan.create_msg;

  json_decref(c->driver_data);
  c->driver_data = json_pack("{s:o,s:{s:s,s:s,s:i,s:I}}", "cgroups", json_array(),
                             "vm", "vmm", a.backend->name, "accel",
                             accel == VM_ACCEL_KVM ? "kvm" : "tcg", "vcpus",
                             (int)a.vmm.vcpus, "memory_mib", (json_int_t)a.vmm.mem_mib);
  if ((r = cgroup_plan(c->spec.linux.cgroups_path, c->id, &cgs, e)) < 0)
    goto out;
  json_object_set_new(c->driver_data, "cgroups", cgroup_set_to_json(&cgs));
  host_res = host_resources(c->spec.linux.resources, vmm_allowance_bytes(c->driver_data));
  c->spec.linux.resources = host_res;
  r = cgroup_make(&cgs, CGROUP_ALL, e);
  if (r == 0)
    r = cgroup_apply_spec(&cgs, &c->spec, e);
  c->spec.linux.resources = saved_res;
  if (r < 0)
    goto out;
  if (o->console_socket &&
      (console = console_socket_connect(o->console_socket, e)) < 0) {
    r = console;
    goto out;
  }
  if ((listen_fd = vm_socket_listen(c, e)) < 0) {
    r = listen_fd;
    goto out;
  }
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0) {
    r = hull_errno(e, errno, "container %s: socketpair", c->id);
    goto out;
  }
  a.sync_fd = pair[1];
  a.listen_fd = listen_fd;
  a.console_fd = console;
  a.cgroups = &cgs;

  /* The supervisor gets its own mount namespace (the shares are staged
   * there and vanish with it) and pid namespace (when it dies, the kernel
   * kills the monitor too), and the container's network, ipc and uts
   * namespaces, so the monitor lives in them. */
  unsigned flags = CLONE_NEWNS | CLONE_NEWPID |
                   (ns.new_flags & (CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS));
  cgroup_fd = cgroup_v2_open(&cgs);
  child = process_clone(flags, &cgroup_fd);
  if (child == 0) {
    close(pair[0]);
    vm_supervise(&a);
  }
  if (child < 0) {
    r = hull_errno(e, errno, "container %s: create the VM supervisor", c->id);
    goto out;
  }
  close(pair[1]);
  pair[1] = -1;
  /* the supervisor and the monitor hold the taps now */
  vm_net_close(&net);
  if (cgroup_fd < 0 && (r = cgroup_enter(&cgs, child, CGROUP_V2, e)) < 0)
    goto out;
  c->pid = child;
  c->start_time = process_start_time(child);
  if ((r = run_create_hooks(c, e)) < 0) {
    sync_send_error(pair[0], e);
    goto out;
  }
  if ((r = sync_send(pair[0], SYNC_GO, 0, NULL, -1)) < 0) {
    r = hull_errno(e, -r, "container %s: VM supervisor", c->id);
    goto out;
  }
  for (;;) {
    struct sync_msg m;
    int fd = -1;
    int rr = sync_recv(pair[0], &m, &fd);
    if (rr < 0) {
      r = hull_err(e, EPIPE, "container %s: the VM supervisor died while booting",
                   c->id);
      goto out;
    }
    if (m.type == SYNC_PTY && fd >= 0) {
      if (c->pty_master >= 0)
        close(c->pty_master);
      c->pty_master = fd;
      continue;
    }
    if (fd >= 0)
      close(fd);
    if (m.type == SYNC_READY)
      break;
    r = hull_err(e, m.value > 0 ? m.value : EIO, "container %s: %s", c->id,
                 m.type == SYNC_ERROR ? m.text : "unexpected message from the VM supervisor");
    goto out;
  }
  log_debug("container %s: VM ready", c->id);
  c->ns_flags = ns.listed_flags;
  r = 0;

out:
  if (r < 0) {
    if (child > 0) {
      kill(child, SIGKILL);
      waitpid(child, NULL, 0);
    }
    c->pid = 0;
    if (cgs.n)
      cgroup_destroy(&cgs, NULL);
    vm_net_close(&net);
    if (net.n)
      vm_net_teardown_in(ns.join_fds[NS_NET], &net);
    remove_vm_files(c);
    if (c->pty_master >= 0) {
      close(c->pty_master);
      c->pty_master = -1;
    }
  }
  if (pair[0] >= 0)
    close(pair[0]);
  if (pair[1] >= 0)
    close(pair[1]);
  json_decref(host_res);
  vm_guest_plan_free(&plan);
  cgroup_set_free(&cgs);
  ns_plan_close(&ns);
  return r;
}

static int vm_start(struct container *c, struct hull_error *e) {
  json_t *req = json_pack("{s:s}", "op", "start"), *rep = NULL;
  int r = vm_client_call(c, req, &rep, e);
  json_decref(req);
  json_decref(rep);
  return r;
}

static int vm_kill(struct container *c, int sig, bool all, struct hull_error *e) {
  /* SIGKILL must work on a guest that no longer answers: it ends the
   * supervisor, PID 1 of its pid namespace, and the kernel ends the
   * monitor with it (with --all: everything in the container's cgroup). */
  if (sig == SIGKILL)
    return process_isolation_ops.kill(c, SIGKILL, all, e);
  if (!process_alive(c->pid, c->start_time))
    return hull_err(e, ESRCH, "container %s: not running", c->id);
  _cleanup_close_ int fd = vm_client_connect(c, e);
  if (fd < 0)
    return fd;
  json_t *req = json_pack("{s:s,s:i,s:b}", "op", "kill", "signal", sig, "all", all);
  int r = vm_msg_send(fd, req, NULL, 0);
  json_decref(req);
  return r < 0 ? hull_errno(e, -r, "container %s: signal %d", c->id, sig) : 0;
}

/* What the supervisor did not undo of the network (it was killed). */
static void teardown_network(struct container *c) {
  _cleanup_free_ char *text = NULL;
  struct hull_error e;
  if (c->dirfd < 0 || fs_read_file_at(c->dirfd, VM_NET_FILE, &text, NULL, &e) < 0)
    return;
  json_error_t je;
  json_t *rec = json_loads(text, 0, &je);
  if (rec && vm_net_teardown_record(rec, &e) < 0)
    log_warn("container %s: %s", c->id, e.msg);
  json_decref(rec);
}

static int vm_delete(struct container *c, struct hull_error *e) {
  teardown_network(c);
  remove_vm_files(c);
  return process_isolation_ops.delete(c, e);
}

int vm_guest_processes(struct container *c, json_t **list, struct hull_error *e) {
  json_t *req = json_pack("{s:s}", "op", "ps"), *rep = NULL;
  int r = vm_client_call(c, req, &rep, e);
  json_decref(req);
  if (r < 0)
    return r;
  *list = json_incref(json_object_get(rep, "processes"));
  json_decref(rep);
  return 0;
}

static int vm_pids(struct container *c, pid_t **pids, size_t *n,
                   struct hull_error *e) {
  json_t *list;
  int r = vm_guest_processes(c, &list, e);
  if (r < 0)
    return r;
  *n = 0;
  *pids = calloc(json_array_size(list) + 1, sizeof **pids);
  size_t i;
  json_t *p;
  json_array_foreach(list, i, p) {
    json_int_t pid = json_integer_value(json_object_get(p, "pid"));
    if (pid > 0 && *pids)
      (*pids)[(*n)++] = (pid_t)pid;
  }
  json_decref(list);
  return *pids ? 0 : hull_err(e, ENOMEM, "ps");
}

static int vm_ps_table(struct container *c, FILE *out, struct hull_error *e) {
  json_t *list;
  int r = vm_guest_processes(c, &list, e);
  if (r < 0)
    return r;
  fprintf(out, "%-8s %7s %7s %s\n", "UID", "PID", "PPID", "CMD");
  size_t i;
  json_t *p;
  json_array_foreach(list, i, p) {
    const char *cmd = json_string_value(json_object_get(p, "cmd"));
    char clean[512];
    size_t k = 0;
    for (const char *s = cmd ? cmd : ""; *s && k + 1 < sizeof clean; s++)
      clean[k++] = (unsigned char)*s >= 0x20 && *s != 0x7f ? *s : '?';
    clean[k] = 0;
    fprintf(out, "%-8lld %7lld %7lld %s\n",
            (long long)json_integer_value(json_object_get(p, "uid")),
            (long long)json_integer_value(json_object_get(p, "pid")),
            (long long)json_integer_value(json_object_get(p, "ppid")), clean);
  }
  json_decref(list);
  return 0;
}

static int vm_simple_call(struct container *c, const char *op, json_t **reply,
                          struct hull_error *e) {
  json_t *req = json_pack("{s:s}", "op", op), *rep = NULL;
  int r = vm_client_call(c, req, &rep, e);
  json_decref(req);
  if (reply && r == 0)
    *reply = rep;
  else
    json_decref(rep);
  return r;
}

static int vm_pause(struct container *c, struct hull_error *e) {
  return vm_simple_call(c, "pause", NULL, e);
}

static int vm_resume(struct container *c, struct hull_error *e) {
  return vm_simple_call(c, "resume", NULL, e);
}

static int vm_state(struct container *c, char *status, size_t len) {
  status[0] = 0;
  /* Only a started container can be paused. */
  if (strcmp(c->status, "running") && strcmp(c->status, "paused"))
    return 0;
  json_t *rep = NULL;
  struct hull_error e;
  if (vm_simple_call(c, "status", &rep, &e) < 0)
    return 0;
  snprintf(status, len, "%s",
           json_is_true(json_object_get(rep, "paused")) ? "paused" : "running");
  json_decref(rep);
  return 0;
}

static int vm_update(struct container *c, json_t *resources, struct hull_error *e) {
  json_t *host = host_resources(resources, vmm_allowance_bytes(c->driver_data));
  int r = process_update(c, host, e);
  json_decref(host);
  return r;
}

const struct isolation_ops vm_isolation_ops = {
    .name = "vm",
    .create = vm_create,
    .start = vm_start,
    .kill = vm_kill,
    .delete = vm_delete,
    .exec = vm_exec,
    .state = vm_state,
    .pause = vm_pause,
    .resume = vm_resume,
    .update = vm_update,
    .events = process_events,
    .pids = vm_pids,
    .ps_table = vm_ps_table,
};
