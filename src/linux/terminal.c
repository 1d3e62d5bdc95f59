#include "terminal.h"

#include <fcntl.h>
#include <stdbool.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "../common/cleanup.h"
#include "../common/fs.h"
#include "sync.h"

int console_socket_connect(const char *path, struct hull_error *e) {
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof addr.sun_path)
    return hull_err(e, ENAMETOOLONG, "console socket %s: path too long", path);
  strcpy(addr.sun_path, path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return hull_errno(e, errno, "console socket %s", path);
  if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
    int err = errno;
    close(fd);
    return hull_errno(e, err, "console socket %s", path);
  }
  return fd;
}

int terminal_setup_in_container(unsigned width, unsigned height,
                                struct hull_error *e) {
  _cleanup_close_ int master =
      open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0)
    return hull_errno(e, errno, "terminal: /dev/ptmx");
  if (unlockpt(master) < 0)
    return hull_errno(e, errno, "terminal: unlockpt");
  /* TIOCGPTPEER opens the slave through the master: no path lookup that a
   * container could redirect. */
  _cleanup_close_ int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY);
  if (slave < 0)
    return hull_errno(e, errno, "terminal: open pty slave");
  if (width && height) {
    struct winsize ws = {.ws_row = (unsigned short)height,
                         .ws_col = (unsigned short)width};
    ioctl(slave, TIOCSWINSZ, &ws);
  }
  if (setsid() < 0 && errno != EPERM)
    return hull_errno(e, errno, "terminal: setsid");
  if (ioctl(slave, TIOCSCTTY, 0) < 0)
    return hull_errno(e, errno, "terminal: set controlling terminal");
  for (int i = 0; i < 3; i++)
    if (dup2(slave, i) < 0)
      return hull_errno(e, errno, "terminal: stdio");
  return hull_steal_fd(&master);
}

int send_fd(int sock, int fd, const char *name) {
  /* The payload is the name, as runc sends it with the console. */
  return sock_send_fd(sock, name, strlen(name), fd);
}

int recv_fd(int sock) {
  char data[256];
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } ctl;
  struct iovec iov = {.iov_base = data, .iov_len = sizeof data};
  struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1,
                      .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf};
  ssize_t r;
  do
    r = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
  while (r < 0 && errno == EINTR);
  if (r < 0)
    return -errno;
  struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
  if (!c || c->cmsg_type != SCM_RIGHTS)
    return -EBADMSG;
  int fd;
  memcpy(&fd, CMSG_DATA(c), sizeof fd);
  return fd;
}

