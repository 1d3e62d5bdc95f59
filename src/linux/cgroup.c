#include "cgroup.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../common/cleanup.h"
#include "../common/fs.h"
#include "../common/json.h"

struct hierarchy {
  char mountpoint[256];
  char controllers[128]; /* "" for cgroup2 */
  char own[512];         /* this process's cgroup in it */
  bool v2;
};

/* Is TOKEN (from a cgroup v1 super block option list) a controller? */
static bool is_controller_token(const char *t) {
  static const char *flags[] = {"rw", "ro", "noprefix", "clone_children",
                                "xattr", "cpuset_v2_mode", "favordynmods", NULL};
  for (int i = 0; flags[i]; i++)
    if (!strcmp(t, flags[i]))
      return false;
  return strncmp(t, "release_agent=", 14) != 0;
}

/* The hierarchies mounted, from the text of /proc/self/mountinfo (MI), and
 * our own cgroup in each, from the text of /proc/self/cgroup (CG, may be
 * NULL). Closes both. */
static int detect(FILE *mi, FILE *cg, struct hierarchy *h, size_t max,
                  size_t *n) {
  FILE *f = mi;
  char line[4096];
  *n = 0;
  while (fgets(line, sizeof line, f) && *n < max) {
    /* "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [TAGS...] - FSTYPE SOURCE SUPER" */
    char *dash = strstr(line, " - ");
    if (!dash)
      continue;
    char *field[5], *save = NULL;
    char *tok = strtok_r(line, " ", &save);
    for (int k = 0; k < 5 && tok; k++, tok = strtok_r(NULL, " ", &save))
      field[k] = tok;
    if (!tok)
      continue;
    char *fstype = strtok_r(dash + 3, " ", &save);
    char *source = fstype ? strtok_r(NULL, " ", &save) : NULL;
    char *super = source ? strtok_r(NULL, " \n", &save) : NULL;
    if (!super)
      continue;
    const char *mp = field[4];
    /* A later mount on the same place or above hides earlier ones. */
    size_t mpl = strlen(mp);
    if (mpl >= sizeof h->mountpoint)
      continue;
    for (size_t k = 0; k < *n;) {
      if (!strncmp(h[k].mountpoint, mp, mpl) &&
          (h[k].mountpoint[mpl] == 0 || h[k].mountpoint[mpl] == '/' || mpl == 1))
        memmove(&h[k], &h[k + 1], (--*n - k) * sizeof *h);
      else
        k++;
    }
    bool v2 = !strcmp(fstype, "cgroup2");
    if (!v2 && strcmp(fstype, "cgroup"))
      continue;
    struct hierarchy *x = &h[*n];
    memset(x, 0, sizeof *x);
    snprintf(x->mountpoint, sizeof x->mountpoint, "%s", mp);
    x->v2 = v2;
    if (!v2) {
      char *save2, *t2;
      for (t2 = strtok_r(super, ",", &save2); t2; t2 = strtok_r(NULL, ",", &save2)) {
        if (!is_controller_token(t2))
          continue;
        size_t l = strlen(x->controllers);
        snprintf(x->controllers + l, sizeof x->controllers - l, "%s%s",
                 l ? "," : "", t2);
      }
    }
    (*n)++;
  }
  fclose(f);
  /* Our own cgroup in each hierarchy, for relative paths. */
  f = cg;
  while (f && fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = 0;
    char *c1 = strchr(line, ':');
    char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c2)
      continue;
    *c2 = 0;
    const char *ctrls = c1 + 1, *path = c2 + 1;
    for (size_t i = 0; i < *n; i++)
      if ((h[i].v2 && !*ctrls) || (!h[i].v2 && !strcmp(h[i].controllers, ctrls)))
        snprintf(h[i].own, sizeof h[i].own, "%s", path);
  }
  if (f)
    fclose(f);
  return 0;
}

/* "system.slice:hull:c1" -> "/system.slice/hull-c1.scope";
 * nested slices "a-b.slice" -> "/a.slice/a-b.slice". */
static int systemd_path(const char *spec, char *out, size_t len,
                        struct hull_error *e) {
  const char *c1 = strchr(spec, ':');
  const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
  if (!c2 || strchr(c2 + 1, ':'))
    return hull_err(e, EINVAL,
                    "linux.cgroupsPath \"%s\": systemd form is slice:prefix:name",
                    spec);
  char slice[256];
  snprintf(slice, sizeof slice, "%.*s", (int)(c1 - spec), spec);
  if (!*slice)
    snprintf(slice, sizeof slice, "system.slice");
  /* As systemd (and runc) take slice names: "NAME.slice", no '/', no
   * empty dash-separated part; "-.slice" is the root. */
  size_t sl = strlen(slice);
  bool ok = sl > strlen(".slice") && !strcmp(slice + sl - 6, ".slice") &&
            !strchr(slice, '/');
  if (ok && strcmp(slice, "-.slice"))
    ok = slice[0] != '-' && slice[sl - 7] != '-' && !strstr(slice, "--");
  if (!ok)
    return hull_err(e, EINVAL, "linux.cgroupsPath \"%s\": invalid slice \"%s\"", spec,
                    slice);
  const char *prefix_ = c1 + 1, *name_ = c2 + 1;
  if (strchr(name_, '/') || memchr(prefix_, '/', (size_t)(c2 - prefix_)) || !*name_)
    return hull_err(e, EINVAL, "linux.cgroupsPath \"%s\": invalid unit name", spec);
  size_t n = 0;
  out[0] = 0;
  if (strcmp(slice, "-.slice")) {
    /* every dash-separated prefix is a parent slice */
    const char *end = slice + strlen(slice) - strlen(".slice");
    for (const char *p = slice; p <= end; p++) {
      if (p == end || *p == '-') {
        n += snprintf(out + n, len - n, "/%.*s.slice", (int)(p - slice), slice);
        if (n >= len)
          return hull_err(e, ENAMETOOLONG, "linux.cgroupsPath: too long");
      }
    }
  }
  const char *prefix = c1 + 1, *name = c2 + 1;
  if (strstr(name, ".slice"))
    n += snprintf(out + n, len - n, "/%s", name);
  else
    n += snprintf(out + n, len - n, "/%.*s%s%s.scope", (int)(c2 - prefix),
                  prefix, c2 > prefix ? "-" : "", name);
  return n < len ? 0 : hull_err(e, ENAMETOOLONG, "linux.cgroupsPath: too long");
}

static int copy_cpuset(const char *dir) {
  /* A new v1 cpuset cgroup starts empty and refuses tasks: inherit. */
  static const char *files[] = {"cpuset.cpus", "cpuset.mems"};
  char parent[600];
  snprintf(parent, sizeof parent, "%s", dir);
  char *slash = strrchr(parent, '/');
  if (!slash)
    return 0;
  *slash = 0;
  for (int i = 0; i < 2; i++) {
    char p[700], buf[256];
    snprintf(p, sizeof p, "%s/%s", dir, files[i]);
    _cleanup_close_ int fd = open(p, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
    if (n > 1)
      continue;
    snprintf(p, sizeof p, "%s/%s", parent, files[i]);
    _cleanup_close_ int pfd = open(p, O_RDONLY | O_CLOEXEC);
    n = pfd < 0 ? -1 : read(pfd, buf, sizeof buf - 1);
    if (n <= 0)
      continue;
    buf[n] = 0;
    snprintf(p, sizeof p, "%s/%s", dir, files[i]);
    int r = fs_write_string(p, buf);
    if (r < 0)
      return r;
  }
  return 0;
}

/* mkdir -p of FULL below its hierarchy's mount point (the first BASE
 * characters). */
static int make_dirs(const char *path, size_t base, bool cpuset,
                     struct hull_error *e) {
  char full[1400];
  if (snprintf(full, sizeof full, "%s", path) >= (int)sizeof full)
    return hull_err(e, ENAMETOOLONG, "cgroup %s: path too long", path);
  /* Usually only the leaf is new: try it first. */
  if (mkdir(full, 0755) == 0) {
    if (cpuset && copy_cpuset(full) < 0)
      return hull_errno(e, errno, "cgroup %s: cpuset", full);
    return 0;
  }
  if (errno == EEXIST)
    return 0;
  if (errno != ENOENT)
    return hull_errno(e, errno, "cgroup %s", full);
  for (char *p = full + base + 1;; p++) {
    if (*p != '/' && *p)
      continue;
    char saved = *p;
    *p = 0;
    if (mkdir(full, 0755) == 0) {
      if (cpuset && copy_cpuset(full) < 0)
        return hull_errno(e, errno, "cgroup %s: cpuset", full);
    } else if (errno != EEXIST) {
      return hull_errno(e, errno, "cgroup %s", full);
    }
    *p = saved;
    if (!saved)
      break;
  }
  return 0;
}

static int plan(FILE *mi, FILE *cg, const char *cgroups_path, const char *id,
                struct cgroup_set *out, struct hull_error *e) {
  struct hierarchy h[32];
  size_t n = 0;
  int r = detect(mi, cg, h, 32, &n);
  if (r < 0)
    return r;
  if (n == 0)
    return hull_err(e, ENOENT, "cgroups: no cgroup file system is mounted");
  char rel[512];
  bool relative = false;
  if (!cgroups_path || !*cgroups_path) {
    snprintf(rel, sizeof rel, "hull/%s", id);
    relative = true;
  } else if (strchr(cgroups_path, ':')) {
    if ((r = systemd_path(cgroups_path, rel, sizeof rel, e)) < 0)
      return r;
  } else {
    snprintf(rel, sizeof rel, "%s", cgroups_path);
    relative = cgroups_path[0] != '/';
  }
  if (strstr(rel, "/../") || !strncmp(rel, "../", 3) ||
      (strlen(rel) >= 3 && !strcmp(rel + strlen(rel) - 3, "/..")) ||
      !strcmp(rel, ".."))
    return hull_err(e, EINVAL, "linux.cgroupsPath \"%s\": must not contain \"..\"",
                    cgroups_path);
  out->dirs = calloc(n, sizeof *out->dirs);
  if (!out->dirs)
    return hull_errno(e, ENOMEM, "cgroups");
  for (size_t i = 0; i < n; i++) {
    char full[1400];
    if (relative) {
      /* Relative to our own cgroup, as runc does; on cgroup2 to its parent:
       * our own one has processes, and a cgroup2 directory with processes
       * cannot hand controllers down to its children. */
      char own[sizeof h[i].own];
      snprintf(own, sizeof own, "%s", strcmp(h[i].own, "/") ? h[i].own : "");
      if (h[i].v2) {
        char *slash = strrchr(own, '/');
        if (slash)
          *slash = 0;
      }
      snprintf(full, sizeof full, "%s%s/%s", h[i].mountpoint, own, rel);
    } else
      snprintf(full, sizeof full, "%s%s", h[i].mountpoint, rel);
    if (!hjson_valid_utf8(full) || !hjson_valid_utf8(h[i].controllers)) {
      cgroup_set_free(out);
      return hull_err(e, EINVAL, "cgroup %s: not valid UTF-8, cannot be recorded",
                      h[i].mountpoint);
    }
    struct cgroup_dir *d = &out->dirs[out->n++];
    d->path = strdup(full);
    d->controllers = strdup(h[i].controllers);
    d->v2 = h[i].v2;
    d->base = strlen(h[i].mountpoint);
    if (!d->path || !d->controllers) {
      cgroup_set_free(out);
      return hull_errno(e, ENOMEM, "cgroups");
    }
  }
  return 0;
}

int cgroup_plan(const char *cgroups_path, const char *id, struct cgroup_set *out,
                struct hull_error *e) {
  memset(out, 0, sizeof *out);
  FILE *mi = fopen("/proc/self/mountinfo", "re");
  if (!mi)
    return hull_errno(e, errno, "cgroups: /proc/self/mountinfo");
  return plan(mi, fopen("/proc/self/cgroup", "re"), cgroups_path, id, out, e);
}

int cgroup_plan_from(const char *mountinfo, const char *self_cgroup,
                     const char *cgroups_path, const char *id,
                     struct cgroup_set *out, struct hull_error *e) {
  memset(out, 0, sizeof *out);
  /* fmemopen wants a buffer of at least one byte */
  FILE *mi = fmemopen((void *)(*mountinfo ? mountinfo : "\n"),
                      *mountinfo ? strlen(mountinfo) : 1, "r");
  if (!mi)
    return hull_errno(e, errno, "cgroups: mountinfo");
  FILE *cg = self_cgroup && *self_cgroup
                 ? fmemopen((void *)self_cgroup, strlen(self_cgroup), "r")
                 : NULL;
  return plan(mi, cg, cgroups_path, id, out, e);
}

int cgroup_make(const struct cgroup_set *s, int which, struct hull_error *e) {
  for (size_t i = 0; i < s->n; i++) {
    const struct cgroup_dir *d = &s->dirs[i];
    if (!(which & (d->v2 ? CGROUP_V2 : CGROUP_V1)))
      continue;
    bool cpuset = !d->v2 && strstr(d->controllers, "cpuset");
    int r = make_dirs(d->path, d->base, cpuset, e);
    if (r < 0)
      return r;
  }
  return 0;
}

int cgroup_enter(const struct cgroup_set *s, pid_t pid, int which,
                 struct hull_error *e) {
  char text[24];
  snprintf(text, sizeof text, "%d", pid);
  for (size_t i = 0; i < s->n; i++) {
    if (!(which & (s->dirs[i].v2 ? CGROUP_V2 : CGROUP_V1)))
      continue;
    char p[1100];
    snprintf(p, sizeof p, "%s/cgroup.procs", s->dirs[i].path);
    int r = fs_write_string(p, text);
    if (r < 0)
      return hull_errno(e, -r, "cgroup %s: add process %d", s->dirs[i].path, pid);
  }
  return 0;
}

int cgroup_enter_self_v1(const struct cgroup_set *s, struct hull_error *e) {
  for (size_t i = 0; i < s->n; i++) {
    if (s->dirs[i].v2)
      continue;
    char p[1100];
    snprintf(p, sizeof p, "%s/tasks", s->dirs[i].path);
    int r = fs_write_string(p, "0");
    if (r < 0)
      return hull_errno(e, -r, "cgroup %s: join", s->dirs[i].path);
  }
  return 0;
}

int cgroup_v2_open(const struct cgroup_set *s) {
  const char *dir = cgroup_dir_for(s, "");
  return dir ? open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC) : -1;
}

int cgroup_destroy(const struct cgroup_set *s, struct hull_error *e) {
  int ret = 0;
  for (size_t i = 0; i < s->n; i++) {
    /* The last exiting task can leave the cgroup busy for a moment. */
    for (int tries = 0; tries < 100; tries++) {
      if (rmdir(s->dirs[i].path) == 0 || errno == ENOENT)
        break;
      if (errno != EBUSY) {
        ret = hull_errno(e, errno, "cgroup %s: remove", s->dirs[i].path);
        break;
      }
      struct timespec ts = {0, 2 * 1000 * 1000};
      nanosleep(&ts, NULL);
      if (tries == 99)
        ret = hull_errno(e, EBUSY, "cgroup %s: remove", s->dirs[i].path);
    }
  }
  return ret;
}

int cgroup_pids(const struct cgroup_set *s, pid_t **pids, size_t *n) {
  *pids = NULL;
  *n = 0;
  if (s->n == 0)
    return -ENOENT;
  /* Prefer a v1 hierarchy with a controller, else whatever there is. */
  const char *dir = cgroup_dir_for(s, "pids");
  if (!dir)
    dir = cgroup_dir_for(s, "freezer");
  if (!dir)
    dir = s->dirs[0].path;
  char p[1100];
  snprintf(p, sizeof p, "%s/cgroup.procs", dir);
  _cleanup_free_ char *text = NULL;
  struct hull_error e;
  int r = fs_read_file(p, &text, NULL, &e);
  if (r < 0)
    return r;
  size_t cap = 16;
  *pids = malloc(cap * sizeof **pids);
  for (char *q = text; *q;) {
    char *end;
    long v = strtol(q, &end, 10);
    if (end == q)
      break;
    if (*n == cap)
      *pids = realloc(*pids, (cap *= 2) * sizeof **pids);
    (*pids)[(*n)++] = (pid_t)v;
    q = end;
    while (*q == '\n')
      q++;
  }
  return 0;
}

const char *cgroup_dir_for(const struct cgroup_set *s, const char *controller) {
  for (size_t i = 0; i < s->n; i++) {
    const struct cgroup_dir *d = &s->dirs[i];
    if (!*controller) {
      if (d->v2)
        return d->path;
      continue;
    }
    if (d->v2)
      continue;
    const char *c = d->controllers;
    size_t l = strlen(controller);
    while (c && *c) {
      if (!strncmp(c, controller, l) && (c[l] == ',' || !c[l]))
        return d->path;
      c = strchr(c, ',');
      if (c)
        c++;
    }
  }
  return NULL;
}

json_t *cgroup_set_to_json(const struct cgroup_set *s) {
  /* Built by hand: json_pack parses its format on every call. */
  json_t *a = json_array();
  for (size_t i = 0; i < s->n; i++) {
    json_t *o = json_object();
    json_object_set_new_nocheck(o, "path", json_string(s->dirs[i].path));
    json_object_set_new_nocheck(o, "controllers", json_string(s->dirs[i].controllers));
    json_object_set_new_nocheck(o, "v2", json_boolean(s->dirs[i].v2));
    json_array_append_new(a, o);
  }
  return a;
}

int cgroup_set_from_json(json_t *j, struct cgroup_set *out) {
  out->n = 0;
  out->dirs = calloc(json_array_size(j) + 1, sizeof *out->dirs);
  if (!out->dirs)
    return -ENOMEM;
  size_t i;
  json_t *v;
  json_array_foreach(j, i, v) {
    const char *p = json_string_value(json_object_get(v, "path"));
    json_t *cj = json_object_get(v, "controllers"), *vj = json_object_get(v, "v2");
    if (!p || (cj && !json_is_string(cj)) || (vj && !json_is_boolean(vj)))
      return -EINVAL;
    const char *c = cj ? json_string_value(cj) : "";
    bool v2 = json_is_true(vj);
    out->dirs[out->n].path = strdup(p);
    out->dirs[out->n].controllers = strdup(c);
    out->dirs[out->n].v2 = v2;
    out->n++;
  }
  return 0;
}

int cgroup_set_load(json_t *driver_data, struct cgroup_set *out) {
  memset(out, 0, sizeof *out);
  json_t *j = json_object_get(driver_data, "cgroups");
  return j ? cgroup_set_from_json(j, out) : 0;
}

void cgroup_set_free(struct cgroup_set *s) {
  for (size_t i = 0; i < s->n; i++) {
    free(s->dirs[i].path);
    free(s->dirs[i].controllers);
  }
  free(s->dirs);
  s->dirs = NULL;
  s->n = 0;
}

/* The cgroup view is made of bind mounts of the container's own cgroup
 * directories, never of fresh cgroup mounts: mounting a cgroup file system
 * waits until every cgroup removed recently has gone offline (an RCU grace
 * period or more, milliseconds), which stalled back-to-back containers.
 * Inside a cgroup namespace rooted at those directories a bind mount shows
 * exactly what a fresh mount would. */
int cgroup_mount_in_container(int rootfd, const char *dest, unsigned long flags,
                              const struct cgroup_set *s, struct hull_error *e) {
  char fdp[32];
  _cleanup_close_ int dfd = fs_ensure_in_root(rootfd, dest, 1, e);
  if (dfd < 0)
    return dfd;
  fs_fd_path(dfd, fdp);
  unsigned long ro = flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC);
  bool only_v2 = s->n == 1 && s->dirs[0].v2;
  if (only_v2) {
    if (mount(s->dirs[0].path, fdp, NULL, MS_BIND, NULL) < 0)
      return hull_errno(e, errno, "mount cgroup2 on %s", dest);
    if (ro) {
      _cleanup_close_ int top = fs_open_in_root(rootfd, dest, O_PATH, 0);
      fs_fd_path(top, fdp);
      if (mount(NULL, fdp, NULL, MS_BIND | MS_REMOUNT | ro, NULL) < 0)
        return hull_errno(e, errno, "remount %s read-only", dest);
    }
    return 0;
  }
  unsigned long tflags = flags & (MS_NOSUID | MS_NODEV | MS_NOEXEC);
  if (mount("tmpfs", fdp, "tmpfs", tflags, "mode=755") < 0)
    return hull_errno(e, errno, "mount tmpfs on %s", dest);
  _cleanup_close_ int top = fs_open_in_root(rootfd, dest, O_PATH | O_DIRECTORY, 0);
  if (top < 0)
    return hull_errno(e, -top, "%s", dest);
  for (size_t i = 0; i < s->n; i++) {
    const struct cgroup_dir *d = &s->dirs[i];
    /* The subdirectory is named after the controllers, like the host's. */
    char name[160];
    if (d->v2)
      snprintf(name, sizeof name, "unified");
    else if (!strncmp(d->controllers, "name=", 5))
      snprintf(name, sizeof name, "%s", d->controllers + 5);
    else
      snprintf(name, sizeof name, "%s", d->controllers);
    if (mkdirat(top, name, 0755) < 0 && errno != EEXIST)
      return hull_errno(e, errno, "%s/%s", dest, name);
    /* A path through the descriptor of the tmpfs we just made: nothing in
     * it can be a symlink planted by the container. */
    char sp[200];
    snprintf(sp, sizeof sp, "/proc/self/fd/%d/%s", top, name);
    if (mount(d->path, sp, NULL, MS_BIND, NULL) < 0)
      return hull_errno(e, errno, "mount cgroup %s on %s/%s", d->controllers,
                        dest, name);
    if (ro && mount(NULL, sp, NULL, MS_BIND | MS_REMOUNT | ro, NULL) < 0)
      return hull_errno(e, errno, "remount %s/%s read-only", dest, name);
    /* cpu,cpuacct is also reachable as cpu and cpuacct. */
    if (strchr(name, ',')) {
      char copy[160], *save, *tok;
      snprintf(copy, sizeof copy, "%s", name);
      for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
        symlinkat(name, top, tok);
    }
  }
  if (flags & MS_RDONLY) {
    char tp[32];
    fs_fd_path(top, tp);
    mount(NULL, tp, NULL, MS_REMOUNT | MS_RDONLY | tflags, NULL);
  }
  return 0;
}
