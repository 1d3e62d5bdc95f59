/* exec: a further process inside a running container. It joins every
 * namespace the container has (through a pidfd, all at once), its cgroup,
 * and takes the process's credentials like the container's init did. */
#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/cleanup.h"
#include "../common/fs.h"
#include "../common/supervise.h"
#include "creds.h"
#include "lsm.h"
#include "process.h"
#include "seccomp.h"
#include "sync.h"
#include "terminal.h"

/* Namespaces of pid that differ from ours: the ones to join. */
static unsigned namespaces_to_join(pid_t pid, unsigned listed) {
  unsigned flags = 0;
  for (int t = 0; t < NS_COUNT; t++) {
    unsigned f = (unsigned)ns_clone_flag(t);
    if (!(listed & f))
      continue;
    char theirs[64], ours[64];
    snprintf(theirs, sizeof theirs, "/proc/%d/ns/%s", pid, ns_proc_name(t));
    snprintf(ours, sizeof ours, "/proc/self/ns/%s", ns_proc_name(t));
    struct stat a, b;
    if (stat(theirs, &a) == 0 && stat(ours, &b) == 0 && a.st_ino == b.st_ino &&
        a.st_dev == b.st_dev)
      continue;
    flags |= f;
  }
  return flags;
}

struct exec_child {
  struct container *c;
  const struct exec_opts *o;
  int pidfd;
  unsigned join;
  int sync_fd;
  int console_fd;
  const struct cgroup_set *cgroups;
  const struct seccomp_plan *seccomp;
};

/* As load_seccomp in init.c: the listener goes to the runtime at once. */
static int exec_load_seccomp(struct exec_child *x, struct hull_error *e) {
  int fd;
  int r = seccomp_apply(x->seccomp, &fd, e);
  if (r < 0 || fd < 0)
    return r;
  r = sync_send(x->sync_fd, SYNC_SECCOMP, 0, NULL, fd);
  close(fd);
  if (r < 0)
    return hull_errno(e, -r, "exec: set-up channel");
  struct sync_msg m;
  return sync_expect(x->sync_fd, SYNC_SECCOMP_DONE, &m, NULL, e);
}

__attribute__((noreturn)) static void exec_child_main(struct exec_child *x) {
  struct hull_error e = {0};
  const struct spec_process *p = x->o->process;
  int r = 0;
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  /* Born in the cgroup2 directory (CLONE_INTO_CGROUP) or moved there by
   * the runtime; the v1 hierarchies it joins itself, cheaply. */
  if ((r = cgroup_enter_self_v1(x->cgroups, &e)) < 0)
    goto fail;
  /* pid was joined by the runtime for this child already. */
  if ((x->join & ~CLONE_NEWPID) &&
      setns(x->pidfd, (int)(x->join & ~CLONE_NEWPID)) < 0) {
    r = hull_errno(&e, errno, "exec: join the namespaces of container %s", x->c->id);
    goto fail;
  }
  if (x->join & CLONE_NEWUSER) {
    if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0) {
      r = hull_errno(&e, errno, "exec: become root in the user namespace");
      goto fail;
    }
  }
  if (p->terminal) {
    int master = terminal_setup_in_container(p->console_width, p->console_height, &e);
    if (master < 0) {
      r = master;
      goto fail;
    }
    r = x->console_fd >= 0 ? send_fd(x->console_fd, master, "/dev/ptmx")
                           : sync_send(x->sync_fd, SYNC_PTY, 0, NULL, master);
    close(master);
    if (r < 0) {
      r = hull_errno(&e, -r, "exec: send the terminal");
      goto fail;
    }
  }
  if ((r = creds_set_oom_score_adj(p, &e)) < 0 || (r = creds_set_rlimits(p, &e)) < 0)
    goto fail;
  if (p->cwd && chdir(p->cwd) < 0) {
    r = hull_errno(&e, errno, "exec: process.cwd %s", p->cwd);
    goto fail;
  }
  bool seccomp_first = seccomp_load_before_creds(p);
  if ((seccomp_first && (r = exec_load_seccomp(x, &e)) < 0) ||
      (r = creds_apply(p, &e)) < 0 ||
      (!seccomp_first && (r = exec_load_seccomp(x, &e)) < 0))
    goto fail;
  if ((r = lsm_validate(&x->c->spec, p, &e)) < 0 || (r = lsm_apply(&x->c->spec, p, &e)) < 0)
    goto fail;
  unsigned first = 3 + (unsigned)x->o->preserve_fds;
  syscall(SYS_close_range, first, ~0U, CLOSE_RANGE_CLOEXEC);
  for (unsigned fd = 3; fd < first; fd++)
    fcntl((int)fd, F_SETFD, 0);
  signal(SIGPIPE, SIG_DFL);
  creds_exec(p, &e);
fail:
  sync_send_error(x->sync_fd, &e);
  _exit(127);
}

static int wait_status(pid_t pid) {
  int st;
  while (waitpid(pid, &st, 0) < 0)
    if (errno != EINTR)
      return 255;
  return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
}

static void forward_signal(int sig, void *arg) {
  kill(*(pid_t *)arg, sig);
}

int process_exec(struct container *c, const struct exec_opts *o,
                 struct hull_error *e) {
  _cleanup_close_ int pidfd = (int)syscall(SYS_pidfd_open, c->pid, 0);
  if (pidfd < 0 || !process_alive(c->pid, c->start_time))
    return hull_err(e, ESRCH, "container %s: not running", c->id);
  unsigned join = namespaces_to_join(c->pid, c->ns_flags);
  if (o->process->terminal && !o->console_socket && o->detach)
    return hull_err(e, EINVAL, "exec: a terminal with --detach needs --console-socket");
  _cleanup_seccomp_plan_ struct seccomp_plan *seccomp = NULL;
  int sr = seccomp_prepare(c->spec.linux.seccomp, &seccomp, e);
  if (sr < 0)
    return sr;
  struct cgroup_set cgs;
  cgroup_set_load(c->driver_data, &cgs);
  _cleanup_close_ int console = -1;
  if (o->console_socket && (console = console_socket_connect(o->console_socket, e)) < 0) {
    cgroup_set_free(&cgs);
    return console;
  }
  int pair[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0) {
    cgroup_set_free(&cgs);
    return hull_errno(e, errno, "exec: socketpair");
  }
  /* Signals that arrive from now on are for the process: forward them. */
  sigset_t fwd, old;
  supervise_signals(&fwd);
  sigprocmask(SIG_BLOCK, &fwd, &old);

  int saved_pidns = -1;
  if (join & CLONE_NEWPID) {
    saved_pidns = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
    if (setns(pidfd, CLONE_NEWPID) < 0) {
      int err = errno;
      close(pair[0]);
      close(pair[1]);
      cgroup_set_free(&cgs);
      sigprocmask(SIG_SETMASK, &old, NULL);
      return hull_errno(e, err, "exec: join the pid namespace of container %s", c->id);
    }
  }
  struct exec_child x = {.c = c, .o = o, .pidfd = pidfd, .join = join,
                         .sync_fd = pair[1], .console_fd = console, .cgroups = &cgs,
                         .seccomp = seccomp};
  int cgroup_fd = cgroup_v2_open(&cgs);
  pid_t pid = process_clone(0, &cgroup_fd);
  if (pid == 0)
    exec_child_main(&x);
  if (pid > 0 && cgroup_fd < 0)
    cgroup_enter(&cgs, pid, CGROUP_V2, NULL);
  if (cgroup_fd >= 0)
    close(cgroup_fd);
  if (saved_pidns >= 0) {
    setns(saved_pidns, CLONE_NEWPID);
    close(saved_pidns);
  }
  int err = errno;
  close(pair[1]);
  cgroup_set_free(&cgs);
  if (pid < 0) {
    close(pair[0]);
    sigprocmask(SIG_SETMASK, &old, NULL);
    return hull_errno(e, err, "exec: fork");
  }
  int master = -1, r = 0;
  for (;;) {
    struct sync_msg m;
    int fd = -1;
    int rr = sync_recv(pair[0], &m, &fd);
    if (rr == -EPIPE)
      break; /* executed */
    if (rr < 0) {
      r = hull_errno(e, -rr, "exec: set-up channel");
      break;
    }
    if (m.type == SYNC_PTY) {
      master = fd;
      continue;
    }
    if (m.type == SYNC_SECCOMP && fd >= 0) {
      json_t *st = container_oci_state(c, "running");
      int sr2 = seccomp_send_notify_fd(seccomp, fd, st, pid, e);
      json_decref(st);
      close(fd);
      if (sr2 < 0) {
        sync_send_error(pair[0], e);
        r = hull_err_prefix(e, "container %s", c->id);
        break;
      }
      sync_send(pair[0], SYNC_SECCOMP_DONE, 0, NULL, -1);
      continue;
    }
    if (m.type == SYNC_ERROR)
      r = hull_err(e, m.value > 0 ? m.value : EINVAL, "container %s: %s", c->id, m.text);
    else
      r = hull_err(e, EPROTO, "exec: unexpected message %u", m.type);
    if (fd >= 0)
      close(fd);
    break;
  }
  close(pair[0]);
  if (r < 0) {
    wait_status(pid);
    if (master >= 0)
      close(master);
    sigprocmask(SIG_SETMASK, &old, NULL);
    return r;
  }
  if (o->pid_file)
    r = container_write_pid_file(o->pid_file, pid, e);
  if (o->detach) {
    if (master >= 0)
      close(master);
    sigprocmask(SIG_SETMASK, &old, NULL);
    return r;
  }
  int status = supervise_child(pid, master, &fwd, forward_signal, &pid);
  if (master >= 0)
    close(master);
  sigprocmask(SIG_SETMASK, &old, NULL);
  return r < 0 ? r : status;
}
