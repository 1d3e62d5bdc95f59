/* linux.seccomp: the OCI seccomp profile as a BPF filter (libseccomp).
 *
 * Two halves, split by fork:
 *
 * - seccomp_prepare() runs in the runtime BEFORE the container process is
 *   made (create, and each exec). It checks the whole linux.seccomp
 *   object, probes the kernel for the actions and flags it uses, builds
 *   the filter with libseccomp and compiles it to BPF. Every mistake is
 *   reported there, as one line that names the field, e.g.
 *     config.json: linux.seccomp.syscalls[3].action: unknown action "SCMP_ACT_FOO"
 *   so `create` fails before anything exists. Skipped silently, as runc
 *   does: syscall NAMES unknown to libseccomp (other kernels' and
 *   architectures'), rules whose action is the default action, and
 *   architectures this libseccomp cannot put in one filter with the
 *   native one (other endianness) or does not know (LOONGARCH64, M68K, SH
 *   with libseccomp 2.5): no process can make their system calls here.
 *
 * - seccomp_apply() runs in the container process (the child inherits the
 *   plan through fork). It is one seccomp(2) call: no allocation, no
 *   libseccomp, no file access. With SCMP_ACT_NOTIFY rules it returns the
 *   listener descriptor, which goes to the runtime over the set-up channel
 *   (the container process cannot reach listenerPath after pivot_root);
 *   the runtime hands it on with seccomp_send_notify_fd().
 *
 * When (as runc): during `create`, after the credentials, before
 * SYNC_READY. The agent thus gets the descriptor while the container is
 * "creating", and `create` fails if the agent cannot be reached.
 *
 * Where (init.c and exec.c alike). Loading needs no_new_privs or
 * CAP_SYS_ADMIN:
 *   - process.noNewPrivileges true: right AFTER creds_apply() (which sets
 *     no_new_privs last), so the runtime's own set-up is not filtered;
 *   - process.noNewPrivileges false: right BEFORE creds_apply(), while the
 *     process has CAP_SYS_ADMIN (a non-root user, or one without
 *     CAP_SYS_ADMIN, could not load it afterwards). The profile must then
 *     allow creds_apply()'s calls (capset, setgroups, setresuid, prctl...).
 *   seccomp_load_before_creds() tells which.
 *
 *   The listener descriptor is sent to the runtime IMMEDIATELY after
 *   seccomp_apply() (before creds_apply() in the second case): a NOTIFY'd
 *   call made before the agent has it would wait forever. The send is a
 *   sendmsg(2), so SCMP_ACT_NOTIFY is refused for "sendmsg" (runc refuses
 *   "write", its own channel's call) and as the default action.
 *
 *   What the runtime still does under the filter, as with runc: that
 *   sendmsg/recvmsg, then (init) sendmsg SYNC_READY, accept4/read/close
 *   waiting for `start` (or recvmsg with `run`), the startContainer hooks
 *   (fork, execve), then close_range, fcntl, rt_sigaction and execve.
 *
 * Flags: SECCOMP_FILTER_FLAG_TSYNC, _LOG, _SPEC_ALLOW and
 * _WAIT_KILLABLE_RECV are passed to seccomp(2) directly, so each works
 * whenever the kernel has it (probed at prepare, an error otherwise),
 * whatever the libseccomp version. WAIT_KILLABLE_RECV only means
 * something with a listener: without SCMP_ACT_NOTIFY rules it is ignored.
 * TSYNC with a listener adds SECCOMP_FILTER_FLAG_TSYNC_ESRCH (the kernel
 * refuses TSYNC + NEW_LISTENER otherwise).
 *
 * Cost (libseccomp's rule database and BPF generation, per create and
 * per exec): ~0.01 ms for a few rules, ~2 ms for a Docker-sized allowlist
 * on the native architecture, ~17 ms when it also lists SCMP_ARCH_X86 and
 * SCMP_ARCH_X32 as Docker's profile does on amd64. */

/* The build has -Isrc, so <linux/seccomp.h> (which libseccomp's <seccomp.h>
 * includes, as may any file) finds THIS file before the kernel's: pass on
 * to the kernel's header as well. Keep this line outside the guard. */
#ifdef __clang__
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wpragmas"
#pragma clang diagnostic ignored "-Wunknown-warning-option"
#pragma clang diagnostic ignored "-Winclude-next-absolute-path"
#endif
#include_next <linux/seccomp.h>
#ifdef __clang__
#pragma clang diagnostic pop
#endif

#ifndef HULL_SECCOMP_H
#define HULL_SECCOMP_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "../common/error.h"
#include "../spec/spec.h"

struct seccomp_plan;

/* Check linux.seccomp (spec->linux.seccomp; NULL = no filter: *out = NULL
 * and 0) and compile it. On error returns <0, e->msg like
 * "config.json: linux.seccomp.flags[0]: unknown flag \"X\"", *out NULL. */
int seccomp_prepare(json_t *seccomp, struct seccomp_plan **out,
                    struct hull_error *e);

/* The plan has SCMP_ACT_NOTIFY rules (and so a listenerPath). NULL: false. */
bool seccomp_plan_notifies(const struct seccomp_plan *p);

/* Load the filter now, in the calling thread (the container process).
 * p NULL: nothing to do, *notify_fd = -1. *notify_fd gets the listener
 * descriptor (close-on-exec) when the plan notifies, else -1. On error
 * (e.g. EACCES: neither no_new_privs nor CAP_SYS_ADMIN) returns <0 with a
 * message naming linux.seccomp. */
int seccomp_apply(const struct seccomp_plan *p, int *notify_fd,
                  struct hull_error *e);

/* Where seccomp_apply() goes for this process (see the top of this file):
 * true = right before creds_apply(), false = right after it. */
static inline bool seccomp_load_before_creds(const struct spec_process *proc) {
  return !proc->no_new_privileges;
}

/* In the runtime: connect to linux.seccomp.listenerPath (AF_UNIX,
 * SOCK_STREAM), send the container process state
 *   {"ociVersion": ..., "fds": ["seccompFd"], "pid": PID,
 *    "metadata": listenerMetadata (only when set), "state": STATE}
 * as one JSON payload with notify_fd attached (SCM_RIGHTS) and close the
 * connection. STATE is the OCI state (borrowed), pid the process that
 * loaded the filter as the runtime sees it. Does not close notify_fd.
 * A plan without notify: nothing to do, 0. */
int seccomp_send_notify_fd(const struct seccomp_plan *p, int notify_fd,
                           json_t *state, pid_t pid, struct hull_error *e);

void seccomp_plan_free(struct seccomp_plan *p);
static inline void seccomp_plan_freep(struct seccomp_plan **p) { seccomp_plan_free(*p); }
#define _cleanup_seccomp_plan_ __attribute__((cleanup(seccomp_plan_freep)))

/* linux.seccomp of the `features` document (runtime-spec features-linux):
 * {"enabled": true, "actions": [...], "operators": [...],
 *  "archs": [...], "knownFlags": [...], "supportedFlags": [...]}. */
json_t *seccomp_features(void);

#endif
