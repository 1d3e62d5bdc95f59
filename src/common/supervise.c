/* Supervising a child that runs a container's process: wait for it while
 * forwarding the signals the caller receives, and proxy its terminal to
 * the caller's. Shared by `run` and `exec`. */
#include "supervise.h"

#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "fs.h"

void supervise_signals(sigset_t *fwd) {
  /* Everything but the signals that report our own faults. */
  sigfillset(fwd);
  sigdelset(fwd, SIGSEGV);
  sigdelset(fwd, SIGBUS);
  sigdelset(fwd, SIGILL);
  sigdelset(fwd, SIGFPE);
}

struct supervisor {
  pid_t pid;
  int status;
  bool done;
  void (*deliver)(int sig, void *arg);
  void *arg;
};

static int exit_code(int st) {
  return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
}

/* Read the signalfd: forward what is not ours, reap the child on SIGCHLD
 * (not on a pidfd: that also works where pidfd_open is missing). */
static bool handle_signals(int sigfd, struct supervisor *s) {
  struct signalfd_siginfo si;
  while (read(sigfd, &si, sizeof si) == sizeof si) {
    if (si.ssi_signo == SIGCHLD) {
      int st;
      pid_t r;
      while ((r = waitpid(-1, &st, WNOHANG)) > 0)
        if (r == s->pid) {
          s->status = exit_code(st);
          s->done = true;
        }
    } else if (si.ssi_signo != SIGWINCH) {
      s->deliver((int)si.ssi_signo, s->arg);
    }
  }
  return s->done;
}

static void copy_winsize(int from, int to) {
  struct winsize ws;
  if (ioctl(from, TIOCGWINSZ, &ws) == 0)
    ioctl(to, TIOCSWINSZ, &ws);
}

static void drain(int master, char *buf, size_t len) {
  int fl = fcntl(master, F_GETFL);
  fcntl(master, F_SETFL, fl | O_NONBLOCK);
  ssize_t n;
  while ((n = read(master, buf, len)) > 0)
    fs_write_all(STDOUT_FILENO, buf, (size_t)n);
}

static void terminal_proxy(int master, int sigfd, struct supervisor *sup) {
  struct termios saved, raw;
  bool tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0;
  if (tty) {
    raw = saved;
    cfmakeraw(&raw);
    tcsetattr(STDIN_FILENO, TCSANOW, &raw);
    copy_winsize(STDIN_FILENO, master);
  }
  char buf[16384];
  bool in_open = true;
  for (;;) {
    struct pollfd p[3] = {
        {.fd = master, .events = POLLIN},
        {.fd = in_open ? STDIN_FILENO : -1, .events = POLLIN},
        {.fd = sigfd, .events = POLLIN},
    };
    if (poll(p, 3, -1) < 0) {
      if (errno == EINTR)
        continue;
      break;
    }
    if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = read(master, buf, sizeof buf);
      if (n <= 0)
        break; /* EIO: every slave descriptor is closed */
      fs_write_all(STDOUT_FILENO, buf, (size_t)n);
    }
    if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
      if (n <= 0) {
        in_open = false;
        /* End of input: send EOF to the pty's line discipline. */
        char eof = 4;
        fs_write_all(master, &eof, 1);
      } else {
        fs_write_all(master, buf, (size_t)n);
      }
    }
    if (p[2].revents & POLLIN) {
      if (tty)
        copy_winsize(STDIN_FILENO, master);
      if (handle_signals(sigfd, sup)) {
        /* The process is gone: pass on what is left on the pty. */
        drain(master, buf, sizeof buf);
        break;
      }
    }
  }
  if (tty)
    tcsetattr(STDIN_FILENO, TCSANOW, &saved);
}

int supervise_child(pid_t pid, int pty_master, const sigset_t *fwd,
                    void (*deliver)(int sig, void *arg), void *arg) {
  struct supervisor s = {.pid = pid, .deliver = deliver, .arg = arg};
  int sigfd = signalfd(-1, fwd, SFD_CLOEXEC | SFD_NONBLOCK);
  /* The child may have exited before the signalfd existed. */
  int st;
  if (waitpid(pid, &st, WNOHANG) == pid) {
    s.status = exit_code(st);
    s.done = true;
  }
  if (!s.done && pty_master >= 0) {
    terminal_proxy(pty_master, sigfd, &s);
  }
  while (!s.done) {
    struct pollfd p = {.fd = sigfd, .events = POLLIN};
    if (poll(&p, 1, -1) < 0 && errno != EINTR)
      break;
    handle_signals(sigfd, &s);
  }
  if (!s.done) {
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
      ;
    s.status = exit_code(st);
  }
  close(sigfd);
  return s.status;
}
