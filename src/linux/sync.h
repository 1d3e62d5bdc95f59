/* Messages between the runtime and the container process it creates, over
 * a SOCK_SEQPACKET socket pair: one message per packet, optionally with a
 * descriptor attached (SCM_RIGHTS). */
#ifndef HULL_SYNC_H
#define HULL_SYNC_H

#include <stddef.h>
#include <stdint.h>

#include "../common/error.h"

enum sync_type {
  SYNC_GO = 1,     /* runtime -> init: ids mapped */
  SYNC_NETNS,      /* runtime -> init: its network namespace attached */
  SYNC_HOOKS,      /* init -> runtime: run prestart and createRuntime hooks */
  SYNC_HOOKS_DONE, /* runtime -> init */
  SYNC_READY,      /* init -> runtime: created, waiting for start */
  SYNC_START,      /* runtime -> init: run the user program (run verb) */
  SYNC_PTY,        /* init -> runtime: pty master attached */
  SYNC_PID,        /* intermediate -> runtime: pid of the real init */
  SYNC_ERROR,      /* either way: text holds the one-line cause */
  SYNC_SECCOMP,    /* init/exec -> runtime: seccomp listener fd attached */
  SYNC_SECCOMP_DONE, /* runtime -> init/exec: handed to listenerPath */
};

struct sync_msg {
  uint32_t type;
  int32_t value;
  char text[1016];
};

int sync_send(int sock, uint32_t type, int32_t value, const char *text,
              int fd);
/* One sendmsg of BUF with FD attached (SCM_RIGHTS) when fd >= 0. */
int sock_send_fd(int sock, const void *buf, size_t len, int fd);
/* Receive one message; *fd gets an attached descriptor or -1. Returns 0,
 * -EPIPE on a closed peer, or -errno. */
int sync_recv(int sock, struct sync_msg *m, int *fd);
/* Receive and require TYPE; a SYNC_ERROR becomes the returned error. */
int sync_expect(int sock, uint32_t type, struct sync_msg *m, int *fd,
                struct hull_error *e);
/* Send an error message built from e. */
void sync_send_error(int sock, const struct hull_error *e);

#endif
