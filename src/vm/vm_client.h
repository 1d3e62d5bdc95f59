/* Requests of the runtime's commands to a VM container's supervisor, over
 * its socket vm.sock (SOCK_SEQPACKET): one JSON object per message, with
 * up to three descriptors attached (an exec's stdio or its terminal).
 *
 *   {"op": "start"}                        -> {"ok": true} | {"error": "..."}
 *   {"op": "kill", "signal": n, "all": b}  (no answer: the guest may be paused)
 *   {"op": "ps"}                           -> {"processes": [...]} | {"error"}
 *   {"op": "exec", "process": {...}} + fds -> {"pid": n} | {"error"},
 *        then {"exit": status}; meanwhile the client may send
 *        {"op": "signal", "signal": n} and {"op": "resize", "rows": r, "cols": c};
 *        closing the connection kills the process. */
#ifndef HULL_VM_CLIENT_H
#define HULL_VM_CLIENT_H

#include <jansson.h>
#include <stddef.h>

#include "../common/error.h"

#define VM_MSG_MAX (256u << 10)
#define VM_MSG_FDS 3

struct container;

int vm_msg_send(int sock, json_t *msg, const int *fds, size_t nfds);
/* One message; *msg is NULL at end of stream. fds (may be NULL) get up to
 * VM_MSG_FDS descriptors, *nfds how many. Returns 0 or -errno. */
int vm_msg_recv(int sock, json_t **msg, int *fds, size_t *nfds);

/* Connect to the container's supervisor. */
int vm_client_connect(struct container *c, struct hull_error *e);
/* Connect, send req, and wait for one answer (an {"error"} answer becomes
 * the returned error). */
int vm_client_call(struct container *c, json_t *req, json_t **reply,
                   struct hull_error *e);

#endif
