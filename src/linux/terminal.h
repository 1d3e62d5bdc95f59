/* Terminals: the pty a container gets with process.terminal, handed to an
 * engine over --console-socket (SCM_RIGHTS, as runc does) or proxied to the
 * caller's own terminal by `run`. */
#ifndef HULL_TERMINAL_H
#define HULL_TERMINAL_H

#include <stdbool.h>

#include "../common/error.h"

/* Connect to the engine's console socket (a unix stream socket path). */
int console_socket_connect(const char *path, struct hull_error *e);

/* Inside the container (after pivot_root): open a pty pair via /dev/ptmx,
 * make the slave the controlling terminal and stdio of this process, and
 * return the master. width/height 0 leave the size alone. */
int terminal_setup_in_container(unsigned width, unsigned height,
                                struct hull_error *e);

/* Send fd over a unix socket with SCM_RIGHTS and a name as payload. */
int send_fd(int sock, int fd, const char *name);
/* Receive a descriptor sent with send_fd. */
int recv_fd(int sock);

#endif
