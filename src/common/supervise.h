/* Waiting for a container's process while forwarding signals to it and
 * proxying its terminal. */
#ifndef HULL_SUPERVISE_H
#define HULL_SUPERVISE_H

#include <signal.h>
#include <sys/types.h>

/* The signals to block and forward (all but our own fault signals). */
void supervise_signals(sigset_t *fwd);

/* With fwd blocked by the caller: wait until the child pid exits, passing
 * every signal in fwd (but SIGCHLD and SIGWINCH) to deliver(); with
 * pty_master >= 0, proxy the caller's terminal meanwhile. Returns the exit
 * status, 128+signal when killed. */
int supervise_child(pid_t pid, int pty_master, const sigset_t *fwd,
                    void (*deliver)(int sig, void *arg), void *arg);

#endif
