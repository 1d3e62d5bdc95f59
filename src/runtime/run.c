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
#include "../common/supervise.h"
#include "container.h"

static void forward(int sig, void *arg) {
  struct container *c = arg;
  struct hull_error ignored;
  c->ops->kill(c, sig, false, &ignored);
}

int container_run(const struct runtime_opts *ro, const char *id,
                  const char *bundle, const struct create_opts *o, bool detach,
                  struct hull_error *e) {
  struct create_opts co = *o;
  co.foreground = true;
  /* Signals that arrive from here on are for the container. */
  sigset_t fwd, old;
  supervise_signals(&fwd);
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
  int status = supervise_child(c->pid, c->pty_master, &fwd, forward, c);
  log_debug("container %s: exited with %d", id, status);
  flock(c->dirfd, LOCK_EX);
  struct hull_error de;
  if (container_delete_loaded(c, true, &de) < 0)
    log_warn("%s", de.msg);
  log_debug("container %s: deleted", id);
  container_free(c);
  sigprocmask(SIG_SETMASK, &old, NULL);
  return status;
}
