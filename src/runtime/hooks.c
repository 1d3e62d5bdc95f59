#include "hooks.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../common/cleanup.h"
#include "../common/fs.h"
#include "../common/log.h"

static const char *kind_names[HOOK_KIND_COUNT] = {
    "prestart",  "createRuntime", "createContainer",
    "startContainer", "poststart", "poststop"};

const char *hook_kind_name(enum hook_kind k) { return kind_names[k]; }

static int run_one(const struct spec_hook *h, enum hook_kind kind,
                   const char *state_json, struct hull_error *e) {
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) < 0)
    return hull_errno(e, errno, "%s hook %s: pipe", kind_names[kind], h->path);
  char *default_argv[] = {h->path, NULL};
  char *empty_env[] = {NULL};
  pid_t pid = fork();
  if (pid < 0) {
    close(pipefd[0]);
    close(pipefd[1]);
    return hull_errno(e, errno, "%s hook %s: fork", kind_names[kind], h->path);
  }
  if (pid == 0) {
    dup2(pipefd[0], STDIN_FILENO);
    /* The hook gets a clean signal state, whatever the runtime had. */
    sigset_t all;
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    execve(h->path, h->args ? h->args : default_argv,
           h->env ? h->env : empty_env);
    dprintf(STDERR_FILENO, "%s hook %s: %s\n", kind_names[kind], h->path,
            strerror(errno));
    _exit(127);
  }
  close(pipefd[0]);
  /* A hook may not read its stdin at all: ignore EPIPE. */
  void (*old)(int) = signal(SIGPIPE, SIG_IGN);
  fs_write_all(pipefd[1], state_json, strlen(state_json));
  close(pipefd[1]);
  signal(SIGPIPE, old);

  int status = 0;
  if (h->timeout > 0) {
    _cleanup_close_ int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    struct pollfd p = {.fd = pidfd, .events = POLLIN};
    int r;
    do
      r = poll(&p, 1, h->timeout * 1000);
    while (r < 0 && errno == EINTR);
    if (pidfd >= 0 && r == 0) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return hull_err(e, ETIMEDOUT, "%s hook %s: timed out after %d s",
                      kind_names[kind], h->path, h->timeout);
    }
  }
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR)
      return hull_errno(e, errno, "%s hook %s: wait", kind_names[kind], h->path);
  }
  if (WIFSIGNALED(status))
    return hull_err(e, ECANCELED, "%s hook %s: killed by signal %d",
                    kind_names[kind], h->path, WTERMSIG(status));
  if (WEXITSTATUS(status) != 0)
    return hull_err(e, ECANCELED, "%s hook %s: exit status %d",
                    kind_names[kind], h->path, WEXITSTATUS(status));
  return 0;
}

int hooks_run(const struct spec_hooks *hooks, enum hook_kind kind,
              const char *state_json, struct hull_error *e) {
  for (size_t i = 0; i < hooks->n[kind]; i++) {
    int r = run_one(&hooks->list[kind][i], kind, state_json, e);
    if (r < 0)
      return r;
  }
  return 0;
}

void hooks_run_all(const struct spec_hooks *hooks, enum hook_kind kind,
                   const char *state_json, const char *container_id) {
  for (size_t i = 0; i < hooks->n[kind]; i++) {
    struct hull_error e;
    if (run_one(&hooks->list[kind][i], kind, state_json, &e) < 0)
      log_warn("container %s: %s", container_id, e.msg);
  }
}
