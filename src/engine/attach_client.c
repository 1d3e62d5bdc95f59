/* The client side of the attach protocol (engine.h frames), for `hull
 * run`, `start -a` and `attach`: our terminal or stdio relayed to the
 * container's monitor, signals forwarded, the exit status received. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "../common/cleanup.h"
#include "../common/fs.h"
#include "engine.h"

static struct termios saved_tio;
static bool tio_saved;
static void restore_tty(void) {
  if (tio_saved)
    tcsetattr(STDIN_FILENO, TCSANOW, &saved_tio);
}

int attach_connect(struct engine *en, const char *id) {
  _cleanup_close_ int dfd = openat(en->cdirfd, id, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    return -errno;
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0)
    return -errno;
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  snprintf(a.sun_path, sizeof a.sun_path, "/proc/self/fd/%d/attach.sock", dfd);
  if (connect(s, (struct sockaddr *)&a, sizeof a) < 0) {
    int r = -errno;
    close(s);
    return r;
  }
  return s;
}

static void send_winsize(int s) {
  struct winsize ws;
  if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0) {
    char b[32];
    int n = snprintf(b, sizeof b, "%u %u", ws.ws_row, ws.ws_col);
    frame_send(s, FRAME_RESIZE, b, (size_t)n);
  }
}

int attach_relay(int s, bool tty, bool stdin_open, bool send_start, bool proxy_signals) {
  sigset_t set, old;
  sigfillset(&set);
  sigdelset(&set, SIGSEGV);
  sigdelset(&set, SIGBUS);
  sigdelset(&set, SIGILL);
  sigdelset(&set, SIGFPE);
  sigdelset(&set, SIGTSTP);
  sigdelset(&set, SIGTTIN);
  sigdelset(&set, SIGTTOU);
  sigprocmask(SIG_BLOCK, &set, &old);
  int sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  if (tty && isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved_tio) == 0) {
    tio_saved = true;
    atexit(restore_tty);
    struct termios raw = saved_tio;
    cfmakeraw(&raw);
    tcsetattr(STDIN_FILENO, TCSANOW, &raw);
  }
  if (tty)
    send_winsize(s);
  if (send_start)
    frame_send(s, FRAME_START, NULL, 0);
  static char buf[16384];
  int code = -1;
  bool in_open = stdin_open;
  for (;;) {
    struct pollfd p[3] = {{.fd = s, .events = POLLIN},
                          {.fd = sigfd, .events = POLLIN},
                          {.fd = in_open ? STDIN_FILENO : -1, .events = POLLIN}};
    if (poll(p, 3, -1) < 0 && errno != EINTR)
      break;
    if (p[0].revents) {
      int type;
      size_t len;
      if (frame_recv(s, &type, buf, sizeof buf - 1, &len) < 0)
        break;
      if (type == FRAME_STDOUT)
        fs_write_all(STDOUT_FILENO, buf, len);
      else if (type == FRAME_STDERR)
        fs_write_all(STDERR_FILENO, buf, len);
      else if (type == FRAME_EXIT) {
        buf[len] = '\0';
        code = atoi(buf);
        break;
      } else if (type == FRAME_ERROR) {
        buf[len] = '\0';
        restore_tty();
        fprintf(stderr, "hull: %s\n", buf);
        code = ATTACH_START_FAILED;
        break;
      }
    }
    if (p[1].revents) {
      struct signalfd_siginfo si;
      while (read(sigfd, &si, sizeof si) == sizeof si) {
        if (si.ssi_signo == SIGWINCH) {
          if (tty)
            send_winsize(s);
        } else if (si.ssi_signo != SIGCHLD && si.ssi_signo != SIGPIPE && proxy_signals) {
          char b[16];
          int n = snprintf(b, sizeof b, "%u", si.ssi_signo);
          frame_send(s, FRAME_SIGNAL, b, (size_t)n);
        }
      }
    }
    if (p[2].revents) {
      ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
      if (n > 0)
        frame_send(s, FRAME_STDIN, buf, (size_t)n);
      else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
        in_open = false;
        if (!tty)
          frame_send(s, FRAME_STDIN, NULL, 0);
      }
    }
  }
  restore_tty();
  close(sigfd);
  sigprocmask(SIG_SETMASK, &old, NULL);
  return code;
}

