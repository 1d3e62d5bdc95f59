/* The runtime's side of vm.sock, and the message framing both sides use. */
#include "vm_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "../common/cleanup.h"
#include "../common/json.h"
#include "../runtime/container.h"
#include "supervisor.h"

/* Messages carry config.json values: uint64 ones survive the round trip
 * through hjson_dumps_wrapped and the wrapping loader. */
int vm_msg_send(int sock, json_t *msg, const int *fds, size_t nfds) {
  _cleanup_free_ char *text = hjson_dumps_wrapped(msg);
  if (!text)
    return -ENOMEM;
  size_t len = strlen(text);
  if (len > VM_MSG_MAX)
    return -EMSGSIZE;
  struct iovec iov = {.iov_base = text, .iov_len = len};
  union {
    char buf[CMSG_SPACE(sizeof(int) * VM_MSG_FDS)];
    struct cmsghdr align;
  } u;
  struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
  if (nfds) {
    memset(&u, 0, sizeof u);
    mh.msg_control = u.buf;
    mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
    struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
    memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
  }
  ssize_t n;
  do
    n = sendmsg(sock, &mh, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  return n < 0 ? -errno : 0;
}

int vm_msg_recv(int sock, json_t **msg, int *fds, size_t *nfds) {
  *msg = NULL;
  if (nfds)
    *nfds = 0;
  _cleanup_free_ char *buf = malloc(VM_MSG_MAX + 1);
  if (!buf)
    return -ENOMEM;
  struct iovec iov = {.iov_base = buf, .iov_len = VM_MSG_MAX};
  union {
    char buf[CMSG_SPACE(sizeof(int) * VM_MSG_FDS)];
    struct cmsghdr align;
  } u;
  struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
                      .msg_controllen = sizeof u.buf};
  ssize_t n;
  do
    n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return -errno;
  int got[VM_MSG_FDS];
  size_t ngot = 0;
  for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
    if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
      size_t k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (size_t i = 0; i < k; i++) {
        int fd;
        memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof fd);
        if (ngot < VM_MSG_FDS && fds)
          got[ngot++] = fd;
        else
          close(fd);
      }
    }
  if (n == 0 && ngot == 0)
    return 0; /* end of stream */
  if ((mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || n == 0) {
    for (size_t i = 0; i < ngot; i++)
      close(got[i]);
    return -EMSGSIZE;
  }
  json_error_t je;
  *msg = hjson_loadb(buf, (size_t)n, HJSON_WRAP_UINT64, NULL, &je);
  if (!*msg || !json_is_object(*msg)) {
    json_decref(*msg);
    *msg = NULL;
    for (size_t i = 0; i < ngot; i++)
      close(got[i]);
    return -EPROTO;
  }
  if (fds) {
    memcpy(fds, got, ngot * sizeof(int));
    *nfds = ngot;
  }
  return 0;
}

int vm_client_connect(struct container *c, struct hull_error *e) {
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  snprintf(addr.sun_path, sizeof addr.sun_path, "/proc/self/fd/%d/%s", c->dirfd,
           VM_SOCKET);
  int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return hull_errno(e, errno, "container %s: VM supervisor socket", c->id);
  /* A guest that stops answering must not hang the runtime's commands. */
  int ms = vm_boot_timeout_ms();
  struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
    int err = errno;
    close(fd);
    if (err == ENOENT || err == ECONNREFUSED)
      return hull_err(e, ESRCH, "container %s: not running (its VM is gone)", c->id);
    return hull_errno(e, err, "container %s: connect to the VM supervisor", c->id);
  }
  return fd;
}

int vm_client_call(struct container *c, json_t *req, json_t **reply,
                   struct hull_error *e) {
  _cleanup_close_ int fd = vm_client_connect(c, e);
  if (fd < 0)
    return fd;
  int r = vm_msg_send(fd, req, NULL, 0);
  if (r < 0)
    return hull_errno(e, -r, "container %s: VM supervisor", c->id);
  r = vm_msg_recv(fd, reply, NULL, NULL);
  if (r == -EAGAIN)
    return hull_err(e, ETIMEDOUT, "container %s: the VM did not answer within %d s",
                    c->id, vm_boot_timeout_ms() / 1000);
  if (r < 0)
    return hull_errno(e, -r, "container %s: VM supervisor answer", c->id);
  if (!*reply)
    return hull_err(e, EPIPE, "container %s: the VM supervisor closed the connection",
                    c->id);
  const char *err = json_string_value(json_object_get(*reply, "error"));
  if (err) {
    r = hull_err(e, EIO, "container %s: %s", c->id, err);
    json_decref(*reply);
    *reply = NULL;
    return r;
  }
  return 0;
}
