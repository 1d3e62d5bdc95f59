/* The container process, from clone to the user program: joins and makes
 * namespaces, builds the root file system, runs the hooks that belong in
 * the container, waits for start, takes the process's credentials and
 * executes the program. Errors go back to the runtime as one line. */
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/keyctl.h>
#include <linux/close_range.h>
#include <unistd.h>

#include "../common/cleanup.h"
#include "../common/fs.h"
#include "../common/json.h"
#include "../common/log.h"
#include "../runtime/hooks.h"
#include "cgroup_resources.h"
#include "creds.h"
#include "lsm.h"
#include "process.h"
#include "rootfs.h"
#include "seccomp.h"
#include "sync.h"
#include "terminal.h"

static int hooks_in_container(struct container *c, enum hook_kind kind,
                              const char *status, struct hull_error *e) {
  if (!c->spec.hooks.n[kind])
    return 0;
  json_t *st = container_oci_state(c, status);
  char *text = hjson_dumps(st);
  json_decref(st);
  int r = hooks_run(&c->spec.hooks, kind, text, e);
  free(text);
  return r;
}

static int join_namespaces(struct init_args *a, struct hull_error *e) {
  /* The user namespace first: the others are owned by it. */
  static const int order[] = {NS_USER, NS_IPC, NS_UTS, NS_NET, NS_PID,
                              NS_MNT,  NS_CGROUP, NS_TIME};
  for (size_t i = 0; i < sizeof order / sizeof *order; i++) {
    int t = order[i];
    if (t == NS_PID || t == NS_TIME || a->ns->join_fds[t] < 0)
      continue; /* pid and time were joined by the runtime before clone */
    if (setns(a->ns->join_fds[t], ns_clone_flag(t)) < 0)
      return hull_errno(e, errno, "join %s namespace %s", ns_type_name(t),
                        a->c->spec.linux.ns[t].path);
  }
  return 0;
}

/* Into the cgroups, as host root before any user namespace: make the v1
 * directories (unless the runtime did), move in through `tasks`, then make
 * the cgroup namespace rooted there (now, or after joining a user
 * namespace when that is made by unshare). */
static int enter_cgroups(struct init_args *a, struct hull_error *e) {
  int r = 0;
  if (a->make_cgroups && (r = cgroup_make(a->cgroups, CGROUP_V1, e)) == 0)
    r = cgroup_apply_spec(a->cgroups, &a->c->spec, e);
  if (r == 0 && a->join_cgroups_v1)
    r = cgroup_enter_self_v1(a->cgroups, e);
  if (r == 0 && a->unshare_cgroupns && a->ns->join_fds[NS_USER] < 0 &&
      unshare(CLONE_NEWCGROUP) < 0)
    r = hull_errno(e, errno, "create cgroup namespace");
  return r;
}

/* The network namespace the runtime made, attached to a message. */
static int enter_netns(void *arg, struct hull_error *e) {
  struct init_args *a = arg;
  struct sync_msg m;
  int fd = -1;
  int r = sync_expect(a->sync_fd, SYNC_NETNS, &m, &fd, e);
  if (r < 0)
    return r;
  if (fd < 0)
    return hull_err(e, EPROTO, "network namespace not received");
  r = setns(fd, CLONE_NEWNET) < 0 ? hull_errno(e, errno, "join network namespace") : 0;
  close(fd);
  return r;
}

static int write_sysctls(const struct spec *s, struct hull_error *e) {
  for (size_t i = 0; i < s->linux.n_sysctl; i++) {
    char path[512];
    int r = fs_sysctl_path(s->linux.sysctl[i].key, path, sizeof path);
    if (r < 0)
      return hull_err(e, -r, "linux.sysctl: %s: %s", s->linux.sysctl[i].key,
                      r == -ENAMETOOLONG ? "name too long" : "invalid name");
    r = fs_write_string(path, s->linux.sysctl[i].value);
    if (r < 0)
      return hull_errno(e, -r, "linux.sysctl: %s=%s", s->linux.sysctl[i].key,
                        s->linux.sysctl[i].value);
  }
  return 0;
}

static int set_names(const struct spec *s, struct hull_error *e) {
  if (s->hostname && *s->hostname &&
      sethostname(s->hostname, strlen(s->hostname)) < 0)
    return hull_errno(e, errno, "hostname %s", s->hostname);
  if (s->domainname && *s->domainname &&
      setdomainname(s->domainname, strlen(s->domainname)) < 0)
    return hull_errno(e, errno, "domainname %s", s->domainname);
  return 0;
}

/* Load linux.seccomp; a listener descriptor goes to the runtime at once,
 * which hands it to listenerPath (this process cannot reach that path
 * any more, and a NOTIFY'd call before the agent has it would hang). */
static int load_seccomp(struct init_args *a, struct hull_error *e) {
  int fd;
  int r = seccomp_apply(a->seccomp, &fd, e);
  if (r < 0 || fd < 0)
    return r;
  r = sync_send(a->sync_fd, SYNC_SECCOMP, 0, NULL, fd);
  close(fd);
  if (r < 0)
    return hull_errno(e, -r, "set-up channel");
  struct sync_msg m;
  return sync_expect(a->sync_fd, SYNC_SECCOMP_DONE, &m, NULL, e);
}

/* Runs until the user program is ready to be executed. *notify is the
 * descriptor to report a failure on (-1: nobody is listening). */
static int init_setup(struct init_args *a, int *notify, struct hull_error *e) {
  struct container *c = a->c;
  struct spec *s = &c->spec;
  struct sync_msg m;
  int r;

  if ((r = sync_expect(a->sync_fd, SYNC_GO, &m, NULL, e)) < 0)
    return r;
  if ((r = enter_cgroups(a, e)) < 0)
    return r;
  if ((r = join_namespaces(a, e)) < 0)
    return r;
  if ((a->ns->new_flags & CLONE_NEWUSER) || a->ns->join_fds[NS_USER] >= 0) {
    /* Become root of the user namespace the container lives in. */
    if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
      return hull_errno(e, errno, "user namespace: become root (is uid/gid 0 mapped?)");
  }
  unsigned later = a->unshare_flags;
  if (a->unshare_cgroupns && a->ns->join_fds[NS_USER] >= 0)
    later |= CLONE_NEWCGROUP; /* owned by the joined user namespace */
  if (later && unshare((int)later) < 0)
    return hull_errno(e, errno, "create namespaces");
  if (a->double_fork) {
    pid_t pid = fork();
    if (pid < 0)
      return hull_errno(e, errno, "fork into the pid namespace");
    if (pid > 0) {
      sync_send(a->sync_fd, SYNC_PID, pid, NULL, -1);
      _exit(0);
    }
  }

  struct rootfs_ctx rc = {
      .spec = s,
      .cgroups = a->cgroups,
      .enter_netns = a->wait_netns ? enter_netns : NULL,
      .arg = a,
      .in_userns = (a->ns->new_flags & CLONE_NEWUSER) || a->ns->join_fds[NS_USER] >= 0,
      .rootfd = -1,
  };
  if ((r = rootfs_prepare(&rc, e)) < 0 || (r = rootfs_enter_netns(&rc, e)) < 0)
    return r;
  log_debug("container %s: mounts done", c->id);
  if (s->process.cwd && strcmp(s->process.cwd, "/")) {
    int fd = fs_ensure_in_root(rc.rootfd, s->process.cwd, 1, e);
    if (fd < 0)
      return hull_err_prefix(e, "process.cwd");
    close(fd);
  }
  if (s->hooks.n[HOOK_PRESTART] || s->hooks.n[HOOK_CREATE_RUNTIME]) {
    if ((r = sync_send(a->sync_fd, SYNC_HOOKS, 0, NULL, -1)) < 0)
      return hull_errno(e, -r, "set-up channel");
    if ((r = sync_expect(a->sync_fd, SYNC_HOOKS_DONE, &m, NULL, e)) < 0)
      return r;
  }
  if ((r = hooks_in_container(c, HOOK_CREATE_CONTAINER, "creating", e)) < 0)
    return r;
  if ((r = rootfs_pivot(&rc, a->o->no_pivot, e)) < 0)
    return r;
  if ((r = write_sysctls(s, e)) < 0 || (r = set_names(s, e)) < 0)
    return r;
  if ((r = rootfs_finish(&rc, e)) < 0)
    return r;
  log_debug("container %s: root file system done", c->id);
  close(rc.rootfd);

  if (s->process.terminal) {
    int master = terminal_setup_in_container(s->process.console_width,
                                             s->process.console_height, e);
    if (master < 0)
      return master;
    r = a->console_fd >= 0 ? send_fd(a->console_fd, master, "/dev/ptmx")
                           : sync_send(a->sync_fd, SYNC_PTY, 0, NULL, master);
    close(master);
    if (r < 0)
      return hull_errno(e, -r, "terminal: send to console socket");
    if (a->console_fd >= 0)
      close(a->console_fd);
  }
  if (!a->o->no_new_keyring) {
    char name[1100];
    snprintf(name, sizeof name, "_ses.%s", c->id);
    if (syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, name) < 0 &&
        errno != ENOSYS && errno != EPERM && errno != EACCES)
      return hull_errno(e, errno, "session keyring");
  }
  if ((r = creds_set_oom_score_adj(&s->process, e)) < 0 ||
      (r = creds_set_rlimits(&s->process, e)) < 0)
    return r;
  if (s->process.cwd && chdir(s->process.cwd) < 0)
    return hull_errno(e, errno, "process.cwd %s", s->process.cwd);
  /* The process's credentials and its seccomp filter, while `create`
   * still listens (as runc does): the filter last, or before the
   * capabilities go when no_new_privs will not be set (see seccomp.h). */
  bool seccomp_first = seccomp_load_before_creds(&s->process);
  if ((seccomp_first && (r = load_seccomp(a, e)) < 0) ||
      (r = creds_apply(&s->process, e)) < 0 ||
      (!seccomp_first && (r = load_seccomp(a, e)) < 0))
    return r;

  /* Created: clear the parent-death signal so the container outlives the
   * `create` command, then wait for start. */
  prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
  if ((r = sync_send(a->sync_fd, SYNC_READY, 0, NULL, -1)) < 0)
    return hull_errno(e, -r, "set-up channel");
  if (a->start_fd >= 0) {
    close(a->sync_fd);
    a->sync_fd = -1;
    *notify = -1;
    for (;;) {
      int conn = accept4(a->start_fd, NULL, NULL, SOCK_CLOEXEC);
      if (conn < 0) {
        if (errno == EINTR)
          continue;
        _exit(127); /* nobody to report to */
      }
      char b;
      if (read(conn, &b, 1) == 1) {
        *notify = conn;
        break;
      }
      close(conn); /* a stray connection: keep waiting */
    }
    close(a->start_fd);
  } else if ((r = sync_expect(a->sync_fd, SYNC_START, &m, NULL, e)) < 0) {
    _exit(127); /* the runtime is gone */
  }
  return hooks_in_container(c, HOOK_START_CONTAINER, "created", e);
}

void process_init(struct init_args *a) {
  struct hull_error e = {0};
  /* The runtime's lock is not ours to hold. */
  close(a->c->dirfd);
  a->c->dirfd = -1;
  /* Die with the runtime during set-up. (getppid() cannot tell: it is 0
   * in a new pid namespace; a runtime that died before this line closed
   * the set-up channel, which ends the wait for SYNC_GO.) */
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  /* Devices and directories get exactly the modes asked for; the user
   * program gets process.user.umask, else 0022 as runc gives it. */
  umask(0);

  int notify = a->sync_fd;
  int r = init_setup(a, &notify, &e);
  struct spec_process *p = &a->c->spec.process;
  if (r == 0)
    r = lsm_apply(&a->c->spec, p, &e);
  if (r == 0) {
    /* No descriptor of the runtime survives the exec except the ones the
     * caller asked to pass. notify is close-on-exec already. */
    unsigned first = 3 + (unsigned)a->o->preserve_fds;
    syscall(SYS_close_range, first, ~0U, CLOSE_RANGE_CLOEXEC);
    for (unsigned fd = 3; fd < first; fd++)
      fcntl((int)fd, F_SETFD, 0);
    signal(SIGPIPE, SIG_DFL);
    creds_exec(p, &e);
  }
  /* The set-up channel carries messages; the start connection plain text. */
  if (notify >= 0 && notify == a->sync_fd)
    sync_send_error(notify, &e);
  else if (notify >= 0)
    fs_write_all(notify, e.msg, strlen(e.msg));
  _exit(127);
}
