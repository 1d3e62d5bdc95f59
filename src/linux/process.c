/* The process isolation driver's lifecycle: create (clone the container
 * process and follow it through set-up), start, kill, delete. */
#include "process.h"

#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/cleanup.h"
#include "../common/fs.h"
#include "../common/json.h"
#include "../common/log.h"
#include "../runtime/hooks.h"
#include "seccomp.h"
#include "cgroup_resources.h"
#include "cgroup_stats.h"
#include "control.h"
#include "lsm.h"
#include "sync.h"
#include "terminal.h"

#define START_SOCKET "start.sock"

/* "/proc/self/fd/N/start.sock": short whatever --root is. */
static int start_socket_addr(int dirfd, struct sockaddr_un *addr) {
  memset(addr, 0, sizeof *addr);
  addr->sun_family = AF_UNIX;
  snprintf(addr->sun_path, sizeof addr->sun_path, "/proc/self/fd/%d/%s", dirfd,
           START_SOCKET);
  return 0;
}

static int start_socket_listen(struct container *c, struct hull_error *e) {
  struct sockaddr_un addr;
  start_socket_addr(c->dirfd, &addr);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return hull_errno(e, errno, "container %s: start socket", c->id);
  if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(fd, 4) < 0) {
    int err = errno;
    close(fd);
    return hull_errno(e, err, "container %s: start socket", c->id);
  }
  return fd;
}

pid_t process_clone(unsigned flags, int *cgroup_fd) {
  struct clone_args args = {.flags = flags, .exit_signal = SIGCHLD};
  if (*cgroup_fd >= 0) {
    args.flags |= CLONE_INTO_CGROUP;
    args.cgroup = (uint64_t)*cgroup_fd;
  }
  pid_t pid = (pid_t)syscall(SYS_clone3, &args, sizeof args);
  if (pid < 0 && *cgroup_fd >= 0 && errno != ENOSYS &&
      (errno == EINVAL || errno == E2BIG || errno == EBADF || errno == EOPNOTSUPP)) {
    close(*cgroup_fd);
    *cgroup_fd = -1;
    args.flags &= ~(uint64_t)CLONE_INTO_CGROUP;
    args.cgroup = 0;
    pid = (pid_t)syscall(SYS_clone3, &args, sizeof args);
  }
  if (pid < 0 && errno == ENOSYS) {
    /* Kernels before 5.3 (and valgrind) have no clone3: plain clone with a
     * NULL stack behaves like fork. */
    if (*cgroup_fd >= 0) {
      close(*cgroup_fd);
      *cgroup_fd = -1;
    }
    pid = (pid_t)syscall(SYS_clone, (unsigned long)flags | SIGCHLD, NULL, NULL,
                         NULL, NULL);
  }
  return pid;
}

static void free_priv(struct container *c) {
  struct process_priv *p = c->priv;
  if (!p)
    return;
  if (p->sync_fd >= 0)
    close(p->sync_fd);
  free(p);
  c->priv = NULL;
}

/* Follow the container process through its set-up: run the runtime's
 * hooks when asked, collect a pty, until it is ready. */
static int follow_setup(struct container *c, int sock, pid_t *pid,
                        const struct seccomp_plan *seccomp, struct hull_error *e) {
  for (;;) {
    struct sync_msg m;
    int fd = -1;
    int r = sync_recv(sock, &m, &fd);
    if (r == -EPIPE)
      return hull_err(e, EPIPE, "container %s: process exited during set-up", c->id);
    if (r < 0)
      return hull_errno(e, -r, "container %s: set-up channel", c->id);
    switch (m.type) {
    case SYNC_READY:
      return 0;
    case SYNC_ERROR:
      if (fd >= 0)
        close(fd);
      return hull_err(e, m.value > 0 ? m.value : EINVAL, "container %s: %s", c->id,
                      m.text);
    case SYNC_PID:
      *pid = m.value;
      break;
    case SYNC_PTY:
      if (fd < 0)
        return hull_err(e, EPROTO, "container %s: terminal not received", c->id);
      if (c->pty_master >= 0)
        close(c->pty_master);
      c->pty_master = fd;
      break;
    case SYNC_HOOKS: {
      c->pid = *pid;
      json_t *st = container_oci_state(c, "creating");
      char *text = hjson_dumps(st);
      json_decref(st);
      r = hooks_run(&c->spec.hooks, HOOK_PRESTART, text, e);
      if (r == 0)
        r = hooks_run(&c->spec.hooks, HOOK_CREATE_RUNTIME, text, e);
      free(text);
      if (r < 0) {
        sync_send_error(sock, e);
        return hull_err_prefix(e, "container %s", c->id);
      }
      sync_send(sock, SYNC_HOOKS_DONE, 0, NULL, -1);
      break;
    }
    case SYNC_SECCOMP: {
      if (fd < 0)
        return hull_err(e, EPROTO, "container %s: seccomp listener not received", c->id);
      c->pid = *pid;
      json_t *st = container_oci_state(c, "creating");
      r = seccomp_send_notify_fd(seccomp, fd, st, *pid, e);
      json_decref(st);
      close(fd);
      if (r < 0) {
        sync_send_error(sock, e);
        return hull_err_prefix(e, "container %s", c->id);
      }
      sync_send(sock, SYNC_SECCOMP_DONE, 0, NULL, -1);
      break;
    }
    default:
      if (fd >= 0)
        close(fd);
      return hull_err(e, EPROTO, "container %s: unexpected set-up message %u",
                      c->id, m.type);
    }
  }
}

/* Join (or create) the pid and time namespaces for the next child only;
 * restore the runtime's own afterwards. */
static int enter_child_namespaces(struct container *c, struct ns_plan *ns,
                                  int saved[2], struct hull_error *e) {
  saved[0] = saved[1] = -1;
  if (ns->join_fds[NS_PID] >= 0) {
    saved[0] = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
    if (setns(ns->join_fds[NS_PID], CLONE_NEWPID) < 0)
      return hull_errno(e, errno, "join pid namespace %s", c->spec.linux.ns[NS_PID].path);
  }
  if (ns->join_fds[NS_TIME] >= 0 || (ns->new_flags & CLONE_NEWTIME)) {
    saved[1] = open("/proc/self/ns/time_for_children", O_RDONLY | O_CLOEXEC);
    if (ns->join_fds[NS_TIME] >= 0) {
      if (setns(ns->join_fds[NS_TIME], CLONE_NEWTIME) < 0)
        return hull_errno(e, errno, "join time namespace %s",
                          c->spec.linux.ns[NS_TIME].path);
    } else {
      if (unshare(CLONE_NEWTIME) < 0)
        return hull_errno(e, errno, "create time namespace");
      int r = ns_write_time_offsets(&c->spec, e);
      if (r < 0)
        return r;
    }
  }
  return 0;
}

static void leave_child_namespaces(int saved[2]) {
  if (saved[0] >= 0) {
    setns(saved[0], CLONE_NEWPID);
    close(saved[0]);
  }
  if (saved[1] >= 0) {
    setns(saved[1], CLONE_NEWTIME);
    close(saved[1]);
  }
}

/* Is the namespace the config joins by path our own (the host's)? */
static bool joins_own_namespace(struct ns_plan *ns, int t) {
  if (ns->join_fds[t] < 0)
    return false;
  char own[64];
  snprintf(own, sizeof own, "/proc/self/ns/%s", ns_proc_name(t));
  struct stat a, b;
  return fstat(ns->join_fds[t], &a) == 0 && stat(own, &b) == 0 &&
         a.st_ino == b.st_ino && a.st_dev == b.st_dev;
}

/* A sysctl is only the container's own if it belongs to a namespace the
 * container has; anything else would change the host (as runc checks). */
static int validate_sysctls(const struct spec *s, struct ns_plan *ns,
                            struct hull_error *e) {
  static const char *const ipc_keys[] = {"kernel.msgmax", "kernel.msgmnb",
                                         "kernel.msgmni", "kernel.sem",
                                         "kernel.shmall", "kernel.shmmax",
                                         "kernel.shmmni", "kernel.shm_rmid_forced",
                                         NULL};
  for (size_t i = 0; i < s->linux.n_sysctl; i++) {
    const char *k = s->linux.sysctl[i].key;
    int need = -1;
    for (int j = 0; ipc_keys[j]; j++)
      if (!strcmp(k, ipc_keys[j]))
        need = NS_IPC;
    if (!strncmp(k, "fs.mqueue.", 10))
      need = NS_IPC;
    else if (!strncmp(k, "net.", 4))
      need = NS_NET;
    else if (!strcmp(k, "kernel.hostname") || !strcmp(k, "kernel.domainname"))
      need = NS_UTS;
    if (need < 0)
      return hull_err(e, EINVAL,
                      "linux.sysctl: %s: not in a namespace of the container "
                      "(setting it would change the host)", k);
    if (!(ns->listed_flags & (unsigned)ns_clone_flag(need)) ||
        joins_own_namespace(ns, need))
      return hull_err(e, EINVAL,
                      "linux.sysctl: %s: needs the container's own %s namespace", k,
                      ns_type_name(need));
  }
  return 0;
}

/* Make a network namespace for the container and hand it over; the
 * runtime itself goes back to its own. */
static int send_new_netns(int sock, struct hull_error *e) {
  _cleanup_close_ int own = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  if (own < 0)
    return hull_errno(e, errno, "network namespace");
  if (unshare(CLONE_NEWNET) < 0)
    return hull_errno(e, errno, "create network namespace");
  _cleanup_close_ int made = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  int err = made < 0 ? errno : 0;
  if (setns(own, CLONE_NEWNET) < 0)
    return hull_errno(e, errno, "return to the runtime's network namespace");
  if (made < 0)
    return hull_errno(e, err, "network namespace");
  int r = sync_send(sock, SYNC_NETNS, 0, NULL, made);
  return r < 0 ? hull_errno(e, -r, "set-up channel") : 0;
}

static int validate(struct container *c, const struct create_opts *o,
                    struct ns_plan *ns, struct hull_error *e) {
  struct spec *s = &c->spec;
  int r = validate_sysctls(s, ns, e);
  if (r < 0 || (r = cgroup_resources_validate(s->linux.resources, e)) < 0 ||
      (r = lsm_validate(s, &s->process, e)) < 0)
    return r;
  if (s->hostname && *s->hostname && !(ns->listed_flags & CLONE_NEWUTS))
    return hull_err(e, EINVAL, "hostname: needs a uts namespace in linux.namespaces");
  if (s->domainname && *s->domainname && !(ns->listed_flags & CLONE_NEWUTS))
    return hull_err(e, EINVAL, "domainname: needs a uts namespace in linux.namespaces");
  if ((s->linux.n_uid_mappings || s->linux.n_gid_mappings) &&
      !(ns->new_flags & CLONE_NEWUSER))
    return hull_err(e, EINVAL,
                    "linux.uidMappings: need a new user namespace in linux.namespaces");
  if ((ns->new_flags & CLONE_NEWUSER) &&
      (!s->linux.n_uid_mappings || !s->linux.n_gid_mappings))
    return hull_err(e, EINVAL,
                    "linux.uidMappings/gidMappings: required with a new user namespace");
  if ((s->linux.time_monotonic.present || s->linux.time_boottime.present) &&
      !(ns->new_flags & CLONE_NEWTIME))
    return hull_err(e, EINVAL, "linux.timeOffsets: need a new time namespace");
  if (s->process.terminal && !o->console_socket && !o->foreground)
    return hull_err(e, EINVAL,
                    "process.terminal: needs --console-socket to hand the terminal over");
  if (!s->process.terminal && o->console_socket)
    return hull_err(e, EINVAL, "--console-socket: process.terminal is false");
  return 0;
}

static int process_create(struct container *c, const struct create_opts *o,
                          struct hull_error *e) {
  struct ns_plan ns;
  int r = ns_plan_make(&c->spec, &ns, e);
  if (r < 0)
    return r;
  struct cgroup_set cgs = {0};
  _cleanup_close_ int console = -1, start_sock = -1, cgroup_fd = -1;
  int pair[2] = {-1, -1};
  int saved_ns[2] = {-1, -1};
  pid_t child = -1, pid = -1;
  struct process_priv *priv = NULL;
  struct seccomp_plan *seccomp = NULL;

  if ((r = validate(c, o, &ns, e)) < 0 ||
      (r = seccomp_prepare(c->spec.linux.seccomp, &seccomp, e)) < 0)
    goto out;
  if ((r = cgroup_plan(c->spec.linux.cgroups_path, c->id, &cgs, e)) < 0)
    goto out;
  json_decref(c->driver_data);
  c->driver_data = json_pack("{s:o}", "cgroups", cgroup_set_to_json(&cgs));
  /* Work is split so the slow kernel parts run side by side: the runtime
   * makes the network namespace while the container process makes its v1
   * cgroups (mkdir in a cgroup file system is slow) and moves itself into
   * them through `tasks` (cheap; the runtime moving it would wait for an
   * RCU grace period). It is born in its cgroup2 directory
   * (CLONE_INTO_CGROUP), which therefore comes first. In a user namespace
   * the process cannot write to the host's cgroups nor own a network
   * namespace made outside: then everything is made first, the runtime
   * moves it, and it makes its network namespace itself. */
  bool userns = ns.new_flags & CLONE_NEWUSER;
  bool user_joined = ns.join_fds[NS_USER] >= 0;
  bool plain = !userns && !user_joined;
  if ((r = cgroup_make(&cgs, plain ? CGROUP_V2 : CGROUP_ALL, e)) < 0 ||
      (!plain && (r = cgroup_apply_spec(&cgs, &c->spec, e)) < 0))
    goto out;
  if (o->console_socket &&
      (console = console_socket_connect(o->console_socket, e)) < 0) {
    r = console;
    goto out;
  }
  if (!o->foreground && (start_sock = start_socket_listen(c, e)) < 0) {
    r = start_sock;
    goto out;
  }
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0) {
    r = hull_errno(e, errno, "container %s: socketpair", c->id);
    goto out;
  }

  /* Which namespaces clone makes and which are made separately: the
   * network namespace by the runtime (see above), the cgroup namespace by
   * the process once in its cgroups. With a user namespace joined by path,
   * every new namespace must be made after joining it, and a pid
   * namespace then needs a further fork. */
  unsigned clone_flags = ns.new_flags & ~(CLONE_NEWCGROUP | CLONE_NEWTIME);
  unsigned unshare_flags = 0;
  bool runtime_makes_netns = plain && (ns.new_flags & CLONE_NEWNET);
  if (runtime_makes_netns)
    clone_flags &= ~CLONE_NEWNET;
  bool double_fork = false;
  if (user_joined) {
    unshare_flags = ns.new_flags & ~(CLONE_NEWTIME | CLONE_NEWCGROUP);
    clone_flags = 0;
    double_fork = (ns.new_flags & CLONE_NEWPID) != 0;
  }
  if ((r = enter_child_namespaces(c, &ns, saved_ns, e)) < 0)
    goto out;

  struct init_args a = {
      .c = c, .o = o, .cgroups = &cgs, .ns = &ns,
      .unshare_flags = unshare_flags, .double_fork = double_fork,
      .unshare_cgroupns = (ns.new_flags & CLONE_NEWCGROUP) != 0,
      .make_cgroups = plain,
      .join_cgroups_v1 = !userns,
      .wait_netns = runtime_makes_netns,
      .sync_fd = pair[1], .start_fd = start_sock, .console_fd = console,
      .seccomp = seccomp,
  };
  cgroup_fd = cgroup_v2_open(&cgs);
  child = process_clone(clone_flags, &cgroup_fd);
  if (child == 0)
    process_init(&a);
  leave_child_namespaces(saved_ns);
  if (child < 0) {
    r = hull_errno(e, errno, "container %s: create the container process", c->id);
    goto out;
  }
  pid = child;
  log_debug("container %s: process %d cloned", c->id, child);
  close(pair[1]);
  pair[1] = -1;

  if ((ns.new_flags & CLONE_NEWUSER) && (r = ns_write_id_maps(child, &c->spec, e)) < 0)
    goto out;
  if (!plain && (r = cgroup_enter(&cgs, child,
                                  (userns ? CGROUP_V1 : 0) |
                                      (cgroup_fd < 0 ? CGROUP_V2 : 0),
                                  e)) < 0)
    goto out;
  if ((r = sync_send(pair[0], SYNC_GO, 0, NULL, -1)) < 0) {
    r = hull_errno(e, -r, "container %s: set-up channel", c->id);
    goto out;
  }
  if (plain && cgroup_fd < 0 && (r = cgroup_enter(&cgs, child, CGROUP_V2, e)) < 0)
    goto out;
  /* If the process died meanwhile, its own message says why: read it. */
  if (runtime_makes_netns && (r = send_new_netns(pair[0], e)) < 0 && r != -EPIPE)
    goto out;
  if (o->foreground && !(priv = calloc(1, sizeof *priv))) {
    r = hull_errno(e, ENOMEM, "container %s", c->id);
    goto out;
  }
  if ((r = follow_setup(c, pair[0], &pid, seccomp, e)) < 0)
    goto out;
  log_debug("container %s: process ready", c->id);
  if (double_fork)
    waitpid(child, NULL, 0); /* the intermediate process */
  c->pid = pid;
  c->start_time = process_start_time(pid);
  c->ns_flags = ns.listed_flags;
  if (priv) {
    priv->sync_fd = pair[0];
    pair[0] = -1;
    c->priv = priv;
    priv = NULL;
  }
  r = 0;

out:
  if (r < 0) {
    if (pid > 0)
      kill(pid, SIGKILL);
    if (child > 0)
      waitpid(child, NULL, 0);
    if (cgs.n)
      cgroup_destroy(&cgs, NULL);
    if (start_sock >= 0)
      unlinkat(c->dirfd, START_SOCKET, 0);
    free(priv);
    if (c->pty_master >= 0) {
      close(c->pty_master);
      c->pty_master = -1;
    }
  }
  if (pair[0] >= 0)
    close(pair[0]);
  if (pair[1] >= 0)
    close(pair[1]);
  cgroup_set_free(&cgs);
  ns_plan_close(&ns);
  seccomp_plan_free(seccomp);
  return r;
}

/* Start over the set-up channel (run) or the start socket (create). */
static int process_start(struct container *c, struct hull_error *e) {
  struct process_priv *priv = c->priv;
  if (priv && priv->sync_fd >= 0) {
    int r = sync_send(priv->sync_fd, SYNC_START, 0, NULL, -1);
    if (r < 0)
      return hull_errno(e, -r, "container %s: start", c->id);
    struct sync_msg m;
    r = sync_recv(priv->sync_fd, &m, NULL);
    close(priv->sync_fd);
    priv->sync_fd = -1;
    if (r == -EPIPE)
      return 0; /* closed on exec: the program runs */
    if (r == 0 && m.type == SYNC_ERROR)
      return hull_err(e, m.value > 0 ? m.value : EINVAL, "container %s: %s", c->id,
                      m.text);
    return hull_err(e, EPROTO, "container %s: start: no answer", c->id);
  }
  struct sockaddr_un addr;
  start_socket_addr(c->dirfd, &addr);
  _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0)
    return hull_errno(e, errno, "container %s: start", c->id);
  unlinkat(c->dirfd, START_SOCKET, 0);
  char b = 's';
  if (write(fd, &b, 1) != 1)
    return hull_errno(e, errno, "container %s: start", c->id);
  char msg[1024];
  size_t n = 0;
  ssize_t got;
  while (n < sizeof msg - 1 && (got = read(fd, msg + n, sizeof msg - 1 - n)) > 0)
    n += (size_t)got;
  if (n == 0)
    return 0;
  msg[n] = 0;
  return hull_err(e, ECANCELED, "container %s: %s", c->id, msg);
}

/* A frozen v1 cgroup holds even SIGKILL until it is thawed: after killing
 * a paused container, thaw it so the processes can die (as runc does). */
static void thaw_if_killed(const struct cgroup_set *s, int sig) {
  if (sig == SIGKILL && cgroup_frozen(s) == 1)
    cgroup_freeze(s, false, NULL);
}

static int process_kill(struct container *c, int sig, bool all,
                        struct hull_error *e) {
  struct cgroup_set s;
  if (cgroup_set_load(c->driver_data, &s) < 0)
    memset(&s, 0, sizeof s);
  int r = 0;
  size_t n = 0;
  if (all) {
    pid_t *pids = NULL;
    if (cgroup_pids(&s, &pids, &n) == 0)
      for (size_t i = 0; i < n; i++)
        kill(pids[i], sig);
    free(pids);
  }
  if (n == 0) {
    /* A pidfd pins the process: the signal cannot reach a reused pid. */
    _cleanup_close_ int pidfd = (int)syscall(SYS_pidfd_open, c->pid, 0);
    if (pidfd < 0 || !process_alive(c->pid, c->start_time))
      r = hull_err(e, ESRCH, "container %s: not running", c->id);
    else if (syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0)
      r = hull_errno(e, errno, "container %s: signal %d", c->id, sig);
  }
  if (r == 0)
    thaw_if_killed(&s, sig);
  cgroup_set_free(&s);
  return r;
}

static int process_delete(struct container *c, struct hull_error *e) {
  struct cgroup_set s;
  int r = 0;
  if (cgroup_set_load(c->driver_data, &s) == 0) {
    r = cgroup_destroy(&s, e);
    cgroup_set_free(&s);
  }
  if (c->dirfd >= 0)
    unlinkat(c->dirfd, START_SOCKET, 0);
  free_priv(c);
  return r < 0 ? hull_err_prefix(e, "container %s", c->id) : 0;
}

static int process_pids(struct container *c, pid_t **pids, size_t *n,
                        struct hull_error *e) {
  struct cgroup_set s;
  int r = cgroup_set_load(c->driver_data, &s);
  if (r == 0)
    r = cgroup_pids(&s, pids, n);
  cgroup_set_free(&s);
  return r < 0 ? hull_errno(e, -r, "container %s: list processes", c->id) : 0;
}

const struct isolation_ops process_isolation_ops = {
    .name = "process",
    .create = process_create,
    .start = process_start,
    .kill = process_kill,
    .delete = process_delete,
    .exec = process_exec,
    .state = process_state,
    .pause = process_pause,
    .resume = process_resume,
    .update = process_update,
    .events = process_events,
    .pids = process_pids,
};
