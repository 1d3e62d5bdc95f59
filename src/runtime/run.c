/* `run`: create, start, wait for the container's process and delete it,
 * forwarding the signals the caller receives and proxying the terminal. */
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/log.h"
#include "../linux/terminal.h"
#include "container.h"

static void forward(int sigfd, void *arg) {
  struct container *c = arg;
  struct signalfd_siginfo si;
  while (read(sigfd, &si, sizeof si) == sizeof si) {
    if (si.ssi_signo == SIGCHLD || si.ssi_signo == SIGWINCH)
      continue;
    struct hull_error ignored;
    c->ops->kill(c, (int)si.ssi_signo, false, &ignored);
  }
}

static int wait_exit(pid_t pid) {
  int st;
  for (;;) {
    pid_t r = waitpid(pid, &st, 0);
    if (r == pid)
      break;
    if (r < 0 && errno != EINTR)
      return 255;
  }
  return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
}

int container_run(const struct runtime_opts *ro, const char *id,
                  const char *bundle, const struct create_opts *o, bool detach,
                  struct hull_error *e) {
  struct create_opts co = *o;
  co.foreground = true;
  /* Signals that arrive from here on are for the container. */
  sigset_t fwd, old;
  sigfillset(&fwd);
  sigdelset(&fwd, SIGSEGV);
  sigdelset(&fwd, SIGBUS);
  sigdelset(&fwd, SIGILL);
  sigdelset(&fwd, SIGFPE);
  sigprocmask(SIG_BLOCK, &fwd, &old);
  /* A container process made by a double fork is reparented to us. */
  prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);

  struct container *c;
  int r = container_create(ro, id, bundle, &co, &c, e);
  if (r < 0) {
    sigprocmask(SIG_SETMASK, &old, NULL);
    return r;
  }
  if (detach && c->spec.process.terminal && !o->console_socket) {
    struct hull_error ignored;
    container_delete_loaded(c, true, &ignored);
    container_free(c);
    sigprocmask(SIG_SETMASK, &old, NULL);
    return hull_err(e, EINVAL, "run --detach: a terminal needs --console-socket");
  }
  r = container_start_loaded(c, e);
  if (r < 0) {
    struct hull_error ignored;
    container_delete_loaded(c, true, &ignored);
    container_free(c);
    sigprocmask(SIG_SETMASK, &old, NULL);
    return r;
  }
  if (detach) {
    container_free(c);
    sigprocmask(SIG_SETMASK, &old, NULL);
    return 0;
  }
  /* Other commands (state, kill, exec) may use the container meanwhile. */
  flock(c->dirfd, LOCK_UN);
  int sigfd = signalfd(-1, &fwd, SFD_CLOEXEC | SFD_NONBLOCK);
  int exitfd = (int)syscall(SYS_pidfd_open, c->pid, 0);
  if (c->pty_master >= 0) {
    terminal_proxy(c->pty_master, sigfd, forward, c, exitfd);
  } else {
    for (;;) {
      struct pollfd p[2] = {{sigfd, POLLIN, 0}, {exitfd, POLLIN, 0}};
      if (poll(p, 2, -1) < 0 && errno != EINTR)
        break;
      if (p[0].revents)
        forward(sigfd, c);
      if (p[1].revents)
        break;
    }
  }
  int status = wait_exit(c->pid);
  close(exitfd);
  close(sigfd);
  flock(c->dirfd, LOCK_EX);
  struct hull_error de;
  if (container_delete_loaded(c, true, &de) < 0)
    log_warn("%s", de.msg);
  container_free(c);
  sigprocmask(SIG_SETMASK, &old, NULL);
  return status;
}
