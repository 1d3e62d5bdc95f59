/* exec in a VM container: the process runs in the guest, in the
 * container's context (hull-init creates it with the process driver). On
 * the host a stand-in process represents it: it holds the request's
 * connection to the supervisor, forwards the signals it gets (and window
 * size changes of its terminal) and exits with the guest process's
 * status, so `exec --pid-file` and engines that wait for that pid see
 * what process isolation gives them. */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "../common/cleanup.h"
#include "../common/fs.h"
#include "../common/json.h"
#include "../common/supervise.h"
#include "../linux/terminal.h"
#include "vm_client.h"
#include "vm_driver.h"

static void send_resize(int conn, int tty) {
  struct winsize ws;
  if (ioctl(tty, TIOCGWINSZ, &ws) < 0)
    return;
  json_t *m = json_pack("{s:s,s:i,s:i}", "op", "resize", "rows", ws.ws_row, "cols",
                        ws.ws_col);
  vm_msg_send(conn, m, NULL, 0);
  json_decref(m);
}

__attribute__((noreturn)) static void stand_in(int conn, int tty,
                                                const sigset_t *fwd) {
  hjson_leave_arena(); /* it lives as long as the process */
  sigset_t set = *fwd;
  sigaddset(&set, SIGWINCH);
  sigprocmask(SIG_BLOCK, &set, NULL);
  int sigfd = signalfd(-1, &set, SFD_CLOEXEC);
  if (tty >= 0) {
    /* its controlling terminal: resizes arrive as SIGWINCH */
    if (setsid() >= 0)
      ioctl(tty, TIOCSCTTY, 0);
    send_resize(conn, tty);
  }
  for (;;) {
    struct pollfd p[2] = {{.fd = conn, .events = POLLIN}, {.fd = sigfd, .events = POLLIN}};
    if (poll(p, sigfd >= 0 ? 2 : 1, -1) < 0)
      continue;
    if (p[1].revents & POLLIN) {
      struct signalfd_siginfo si;
      if (read(sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (si.ssi_signo == SIGWINCH) {
          if (tty >= 0)
            send_resize(conn, tty);
        } else if (si.ssi_signo != SIGCHLD) {
          json_t *m = json_pack("{s:s,s:i}", "op", "signal", "signal", (int)si.ssi_signo);
          vm_msg_send(conn, m, NULL, 0);
          json_decref(m);
        }
      }
    }
    if (p[0].revents) {
      json_t *m = NULL;
      if (vm_msg_recv(conn, &m, NULL, NULL) < 0 || !m)
        _exit(255); /* the VM is gone */
      json_t *st = json_object_get(m, "exit");
      if (json_is_integer(st))
        _exit((int)(json_integer_value(st) & 0xff));
      json_decref(m);
    }
  }
}

static void forward_to(int sig, void *arg) { kill(*(pid_t *)arg, sig); }

static int open_pty(int *master, int *slave, const struct spec_process *p,
                    struct hull_error *e) {
  *master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  char name[64];
  if (*master < 0 || grantpt(*master) < 0 || unlockpt(*master) < 0 ||
      ptsname_r(*master, name, sizeof name) != 0)
    return hull_errno(e, errno, "exec: terminal");
  *slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (*slave < 0)
    return hull_errno(e, errno, "exec: terminal %s", name);
  struct termios t;
  if (tcgetattr(*slave, &t) == 0) {
    cfmakeraw(&t);
    tcsetattr(*slave, TCSANOW, &t);
  }
  if (p->console_height || p->console_width) {
    struct winsize ws = {.ws_row = (unsigned short)p->console_height,
                         .ws_col = (unsigned short)p->console_width};
    ioctl(*master, TIOCSWINSZ, &ws);
  } else if (isatty(STDIN_FILENO)) {
    struct winsize ws;
    if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
      ioctl(*master, TIOCSWINSZ, &ws);
  }
  return 0;
}

int vm_exec(struct container *c, const struct exec_opts *o, struct hull_error *e) {
  bool tty = o->process->terminal;
  if (tty && !o->console_socket && o->detach)
    return hull_err(e, EINVAL, "exec: a terminal with --detach needs --console-socket");
  if (o->preserve_fds)
    return hull_err(e, ENOTSUP, "exec --preserve-fds: not supported with VM isolation");
  if (!o->process_json)
    return hull_err(e, EINVAL, "exec: no process");
  if (!process_alive(c->pid, c->start_time))
    return hull_err(e, ESRCH, "container %s: not running", c->id);
  _cleanup_close_ int master = -1, slave = -1, conn = -1;
  int r;
  if (tty) {
    if ((r = open_pty(&master, &slave, o->process, e)) < 0)
      return r;
    if (o->console_socket) {
      _cleanup_close_ int cs = console_socket_connect(o->console_socket, e);
      if (cs < 0)
        return cs;
      if (send_fd(cs, master, "exec") < 0)
        return hull_errno(e, errno, "exec: --console-socket %s", o->console_socket);
      close(master);
      master = -1;
    }
  }
  if ((conn = vm_client_connect(c, e)) < 0)
    return conn;
  int stdio[3] = {STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO};
  json_t *req = json_pack("{s:s,s:o}", "op", "exec", "process",
                          json_deep_copy(o->process_json));
  struct winsize ws;
  if (tty && ioctl(slave, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col)
    /* the guest's terminal starts with the size of the host's */
    json_object_set_new(json_object_get(req, "process"), "consoleSize",
                        json_pack("{s:i,s:i}", "height", ws.ws_row, "width", ws.ws_col));
  r = vm_msg_send(conn, req, tty ? &slave : stdio, tty ? 1 : 3);
  json_decref(req);
  if (r < 0)
    return hull_errno(e, -r, "container %s: exec request", c->id);
  json_t *rep = NULL;
  r = vm_msg_recv(conn, &rep, NULL, NULL);
  if (r < 0 || !rep) {
    json_decref(rep);
    return hull_err(e, EPIPE, "container %s: exec: the VM supervisor did not answer",
                    c->id);
  }
  const char *err = json_string_value(json_object_get(rep, "error"));
  if (err) {
    r = hull_err(e, EIO, "%s", err);
    json_decref(rep);
    return r;
  }
  json_decref(rep);

  sigset_t fwd, old;
  supervise_signals(&fwd);
  sigprocmask(SIG_BLOCK, &fwd, &old);
  pid_t pid = fork();
  if (pid == 0) {
    if (master >= 0)
      close(master);
    if (c->dirfd >= 0)
      close(c->dirfd);
    if (o->detach) {
      /* outlives `exec`: it must not hold the caller's stdio open */
      int null = open("/dev/null", O_RDWR);
      if (null >= 0) {
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
        if (null > 2)
          close(null);
      }
    }
    stand_in(conn, slave, &fwd);
  }
  if (pid < 0) {
    sigprocmask(SIG_SETMASK, &old, NULL);
    return hull_errno(e, errno, "exec: fork");
  }
  close(conn);
  conn = -1;
  if (slave >= 0) {
    close(slave);
    slave = -1;
  }
  r = 0;
  if (o->pid_file)
    r = container_write_pid_file(o->pid_file, pid, e);
  if (o->detach) {
    sigprocmask(SIG_SETMASK, &old, NULL);
    return r;
  }
  int status = supervise_child(pid, master, &fwd, forward_to, &pid);
  sigprocmask(SIG_SETMASK, &old, NULL);
  return r < 0 ? r : status;
}
