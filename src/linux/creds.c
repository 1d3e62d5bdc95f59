#include "creds.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../common/fs.h"

int creds_set_rlimits(const struct spec_process *p, struct hull_error *e) {
  for (size_t i = 0; i < p->n_rlimits; i++) {
    const struct spec_rlimit *l = &p->rlimits[i];
    struct rlimit rl = {.rlim_cur = l->soft, .rlim_max = l->hard};
    if (setrlimit(l->resource, &rl) < 0) {
      struct rlimit cur;
      if (errno == EPERM && getrlimit(l->resource, &cur) == 0 &&
          cur.rlim_max < l->hard) {
        return hull_err(e, EPERM,
                        "process.rlimits: %s: cannot raise the hard limit from "
                        "%llu to %llu: Operation not permitted (needs CAP_SYS_RESOURCE)",
                        l->name, (unsigned long long)cur.rlim_max,
                        (unsigned long long)l->hard);
      }
      return hull_errno(e, errno, "process.rlimits: %s", l->name);
    }
  }
  return 0;
}

int creds_set_oom_score_adj(const struct spec_process *p, struct hull_error *e) {
  if (!p->has_oom_score_adj)
    return 0;
  char text[16];
  snprintf(text, sizeof text, "%d", p->oom_score_adj);
  int r = fs_write_string("/proc/self/oom_score_adj", text);
  return r < 0 ? hull_errno(e, -r, "process.oomScoreAdj %d", p->oom_score_adj) : 0;
}

static int capset_masks(uint64_t eff, uint64_t perm, uint64_t inh) {
  struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
  struct __user_cap_data_struct d[2] = {
      {.effective = (uint32_t)eff, .permitted = (uint32_t)perm,
       .inheritable = (uint32_t)inh},
      {.effective = (uint32_t)(eff >> 32), .permitted = (uint32_t)(perm >> 32),
       .inheritable = (uint32_t)(inh >> 32)},
  };
  return (int)syscall(SYS_capset, &h, d);
}

static int last_cap(void) {
  static int last = -1;
  if (last < 0) {
    /* Probe instead of reading /proc: fewer syscalls, no /proc needed. */
    last = 40;
    while (last < 63 && prctl(PR_CAPBSET_READ, last + 1, 0, 0, 0) >= 0)
      last++;
    while (last > 0 && prctl(PR_CAPBSET_READ, last, 0, 0, 0) < 0)
      last--;
  }
  return last;
}

int creds_apply(const struct spec_process *p, struct hull_error *e) {
  const struct spec_caps *c = &p->caps;
  int last = last_cap();
  if (c->present) {
    for (int i = 0; i <= last; i++)
      if (!(c->bounding & (1ULL << i)) && prctl(PR_CAPBSET_DROP, i, 0, 0, 0) < 0 &&
          errno != EINVAL)
        return hull_errno(e, errno, "process.capabilities: drop %s from bounding set",
                          cap_name_from_number(i));
  }
  /* Keep the permitted set across the uid change, then set it exactly. */
  if (p->user.uid != 0 && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
    return hull_errno(e, errno, "keep capabilities");
  if (setgroups(p->user.n_additional_gids, p->user.additional_gids) < 0 &&
      errno != EPERM)
    return hull_errno(e, errno, "process.user.additionalGids");
  if (setresgid(p->user.gid, p->user.gid, p->user.gid) < 0)
    return hull_errno(e, errno, "process.user.gid %u", p->user.gid);
  if (setresuid(p->user.uid, p->user.uid, p->user.uid) < 0)
    return hull_errno(e, errno, "process.user.uid %u", p->user.uid);
  if (p->user.uid != 0)
    prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
  if (c->present) {
    if (capset_masks(c->effective, c->permitted, c->inheritable) < 0)
      return hull_errno(e, errno, "process.capabilities");
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    for (int i = 0; i <= last; i++)
      if ((c->ambient & (1ULL << i)) &&
          prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, i, 0, 0) < 0)
        return hull_errno(e, errno, "process.capabilities.ambient: %s",
                          cap_name_from_number(i));
  } else if (p->user.uid == 0) {
    /* No capabilities object: root in the container keeps what it has. */
  }
  umask(p->user.has_umask ? p->user.umask : 0022);
  if (p->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    return hull_errno(e, errno, "process.noNewPrivileges");
  return 0;
}

static const char *env_path(const struct spec_process *p) {
  for (size_t i = 0; i < p->n_env; i++)
    if (!strncmp(p->env[i], "PATH=", 5))
      return p->env[i] + 5;
  return "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
}

int creds_exec(const struct spec_process *p, struct hull_error *e) {
  const char *name = p->args[0];
  if (strchr(name, '/')) {
    execve(name, p->args, p->env);
    return hull_errno(e, errno, "exec %s", name);
  }
  const char *path = env_path(p);
  int err = ENOENT;
  char buf[4096];
  for (const char *s = path;; s++) {
    const char *end = strchrnul(s, ':');
    int n = snprintf(buf, sizeof buf, "%.*s%s%s", (int)(end - s), s,
                     end > s ? "/" : "", name);
    if (n > 0 && (size_t)n < sizeof buf) {
      execve(buf, p->args, p->env);
      /* Remember a more telling error than "not found" (EACCES...). */
      if (errno != ENOENT && errno != ENOTDIR)
        err = errno;
    }
    if (!*end)
      break;
    s = end;
  }
  if (err == ENOENT)
    return hull_err(e, ENOENT, "exec %s: executable file not found in $PATH", name);
  return hull_errno(e, err, "exec %s", name);
}
