#include "sync.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <stddef.h>
#include <unistd.h>

int sock_send_fd(int sock, const void *buf, size_t len, int fd) {
  struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } ctl;
  struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
  if (fd >= 0) {
    memset(&ctl, 0, sizeof ctl);
    mh.msg_control = ctl.buf;
    mh.msg_controllen = sizeof ctl.buf;
    struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof fd);
  }
  ssize_t r;
  do
    r = sendmsg(sock, &mh, MSG_NOSIGNAL);
  while (r < 0 && errno == EINTR);
  return r < 0 ? -errno : 0;
}

int sync_send(int sock, uint32_t type, int32_t value, const char *text,
              int fd) {
  struct sync_msg m = {.type = type, .value = value};
  size_t len = offsetof(struct sync_msg, text);
  if (text) {
    size_t n = strnlen(text, sizeof m.text - 1);
    memcpy(m.text, text, n);
    len += n + 1;
  }
  return sock_send_fd(sock, &m, len, fd);
}

int sync_recv(int sock, struct sync_msg *m, int *fd) {
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } ctl;
  struct iovec iov = {.iov_base = m, .iov_len = sizeof *m};
  struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1,
                      .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf};
  if (fd)
    *fd = -1;
  memset(m, 0, sizeof *m);
  ssize_t r;
  do
    r = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
  while (r < 0 && errno == EINTR);
  if (r < 0)
    return -errno;
  if (r == 0)
    return -EPIPE;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      int got;
      memcpy(&got, CMSG_DATA(c), sizeof got);
      if (fd)
        *fd = got;
      else
        close(got);
    }
  }
  if ((size_t)r < offsetof(struct sync_msg, text)) {
    if (fd && *fd >= 0) {
      close(*fd);
      *fd = -1;
    }
    return -EBADMSG;
  }
  m->text[sizeof m->text - 1] = 0;
  return 0;
}

int sync_expect(int sock, uint32_t type, struct sync_msg *m, int *fd,
                struct hull_error *e) {
  int r = sync_recv(sock, m, fd);
  if (r == -EPIPE)
    return hull_err(e, EPIPE, "container process exited during set-up");
  if (r < 0)
    return hull_errno(e, -r, "container set-up channel");
  if (m->type != type && fd && *fd >= 0) {
    close(*fd); /* not what we wait for: nobody else would close it */
    *fd = -1;
  }
  if (m->type == SYNC_ERROR)
    return hull_err(e, m->value > 0 ? m->value : EINVAL, "%s", m->text);
  if (m->type != type)
    return hull_err(e, EPROTO, "container set-up channel: unexpected message %u",
                    m->type);
  return 0;
}

void sync_send_error(int sock, const struct hull_error *e) {
  sync_send(sock, SYNC_ERROR, e->code, e->msg, -1);
}
