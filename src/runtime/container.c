#include "container.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "../common/cleanup.h"
#include "../common/ids.h"
#include "../common/fs.h"
#include "../common/json.h"
#include "../common/log.h"
#include "hooks.h"

int container_validate_id(const char *id, struct hull_error *e) {
  size_t n = strlen(id);
  if (n == 0)
    return hull_err(e, EINVAL, "container id: must not be empty");
  if (n > 1000)
    return hull_err(e, EINVAL, "container id \"%.32s...\": too long", id);
  if (!strcmp(id, ".") || !strcmp(id, ".."))
    return hull_err(e, EINVAL, "container id \"%s\": invalid", id);
  for (const char *p = id; *p; p++) {
    char ch = *p;
    /* The characters runc accepts: [A-Za-z0-9_+.-], no path separators. */
    if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
          (ch >= '0' && ch <= '9') || ch == '_' || ch == '+' || ch == '-' ||
          ch == '.')) {
      if ((unsigned char)ch < 0x20 || (unsigned char)ch >= 0x7f)
        return hull_err(e, EINVAL,
                        "container id: invalid character 0x%02x (allowed: "
                        "letters, digits, '_', '+', '-', '.')",
                        (unsigned char)ch);
      return hull_err(e, EINVAL,
                      "container id \"%s\": invalid character '%c' (allowed: "
                      "letters, digits, '_', '+', '-', '.')",
                      id, ch);
    }
  }
  return 0;
}

unsigned long long process_start_time(pid_t pid) {
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return 0;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  if (n <= 0)
    return 0;
  buf[n] = 0;
  /* Fields after the last ')' (the command may contain anything). */
  char *p = strrchr(buf, ')');
  if (!p || p[1] != ' ')
    return 0;
  char state = p[2];
  if (state == 'Z' || state == 'X')
    return 0;
  /* field 3 is state; starttime is field 22 */
  p += 2;
  for (int field = 3; field < 22 && p; field++) {
    p = strchr(p, ' ');
    if (p)
      p++;
  }
  return p ? strtoull(p, NULL, 10) : 0;
}

bool process_alive(pid_t pid, unsigned long long start_time) {
  if (pid <= 0)
    return false;
  unsigned long long st = process_start_time(pid);
  return st != 0 && st == start_time;
}

const char *container_status(struct container *c) {
  if (!process_alive(c->pid, c->start_time))
    return "stopped";
  if (!strcmp(c->status, "stopped"))
    return "stopped";
  if (c->ops && c->ops->state) {
    char refined[16];
    if (c->ops->state(c, refined, sizeof refined) == 0 && refined[0])
      snprintf(c->status, sizeof c->status, "%s", refined);
  }
  return c->status;
}

json_t *container_oci_state(struct container *c, const char *status) {
  json_t *o = json_object();
  json_object_set_new(o, "ociVersion", json_string(HULL_OCI_VERSION));
  json_object_set_new(o, "id", json_string(c->id));
  json_object_set_new(o, "status", json_string(status));
  json_object_set_new(o, "pid",
                      json_integer(strcmp(status, "stopped") ? c->pid : 0));
  json_object_set_new(o, "bundle", json_string(c->bundle ? c->bundle : ""));
  json_object_set(o, "annotations",
                  c->spec.annotations ? c->spec.annotations : json_object());
  return o;
}

static char *oci_state_text(struct container *c, const char *status) {
  json_t *o = container_oci_state(c, status);
  char *s = hjson_dumps(o);
  json_decref(o);
  return s;
}

int container_save(struct container *c, struct hull_error *e) {
  json_t *o = container_oci_state(c, c->status);
  json_object_set_new(o, "pid", json_integer(c->pid));
  json_object_set_new(o, "startTime", json_integer((json_int_t)c->start_time));
  json_object_set_new(o, "created", json_string(c->created));
  json_object_set_new(o, "isolation", json_string(c->ops->name));
  json_object_set_new(o, "cgroupPath",
                      json_string(c->cgroup_path ? c->cgroup_path : ""));
  json_object_set_new(o, "rootfs",
                      json_string(c->spec.root_path ? c->spec.root_path : ""));
  json_object_set_new(o, "nsFlags", json_integer(c->ns_flags));
  json_t *inodes = json_array();
  for (int i = 0; i < NS_COUNT; i++)
    json_array_append_new(inodes, json_integer((json_int_t)c->ns_inodes[i]));
  json_object_set_new(o, "nsInodes", inodes);
  if (c->driver_data)
    json_object_set(o, "driver", c->driver_data);
  char *text = hjson_dumps(o);
  json_decref(o);
  if (!text)
    return hull_errno(e, ENOMEM, "container %s: state", c->id);
  int r = fs_atomic_write(c->dirfd, "state.json", text, strlen(text), false, e);
  free(text);
  if (r < 0)
    hull_err_prefix(e, "container %s", c->id);
  return r;
}

void container_free(struct container *c) {
  if (!c)
    return;
  if (c->dirfd >= 0)
    close(c->dirfd);
  if (c->pty_master >= 0)
    close(c->pty_master);
  free(c->bundle);
  free(c->cgroup_path);
  spec_free(&c->spec);
  json_decref(c->driver_data);
  free(c);
}

static struct container *container_new(const struct runtime_opts *ro,
                                       const char *id) {
  struct container *c = calloc(1, sizeof *c);
  if (!c)
    return NULL;
  snprintf(c->id, sizeof c->id, "%s", id);
  c->root = ro->root;
  c->dirfd = -1;
  c->pty_master = -1;
  return c;
}

/* Remove the state directory: its files, then itself. */
static void remove_state_dir(const char *root, const char *id, int dirfd) {
  _cleanup_close_ int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
  if (d) {
    fd = -1;
    struct dirent *de;
    while ((de = readdir(d)))
      if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
        unlinkat(dirfd, de->d_name, 0);
    closedir(d);
  }
  _cleanup_close_ int rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd >= 0)
    unlinkat(rootfd, id, AT_REMOVEDIR);
}

/* mkdir -p of --root; the last level private to root. */
static int make_state_root(const char *root, struct hull_error *e) {
  if (mkdir(root, 0711) == 0 || errno == EEXIST)
    return 0;
  if (errno != ENOENT)
    return hull_errno(e, errno, "state root %s", root);
  char buf[4096];
  snprintf(buf, sizeof buf, "%s", root);
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/')
      continue;
    *p = 0;
    if (mkdir(buf, 0755) < 0 && errno != EEXIST)
      return hull_errno(e, errno, "state root %s", buf);
    *p = '/';
  }
  if (mkdir(root, 0711) < 0 && errno != EEXIST)
    return hull_errno(e, errno, "state root %s", root);
  return 0;
}

int container_write_pid_file(const char *path, pid_t pid, struct hull_error *e) {
  char text[32];
  snprintf(text, sizeof text, "%d", pid);
  /* Atomic like runc: engines poll for the file and must never read half. */
  _cleanup_free_ char *dir = strdup(path);
  if (!dir)
    return hull_errno(e, ENOMEM, "pid file %s", path);
  char *slash = strrchr(dir, '/');
  const char *name = path;
  _cleanup_close_ int dfd = -1;
  if (slash) {
    *slash = 0;
    name = slash + 1;
    dfd = open(*dir ? dir : "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  } else {
    dfd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
  }
  if (dfd < 0)
    return hull_errno(e, errno, "pid file %s", path);
  int r = fs_atomic_write(dfd, name, text, strlen(text), false, e);
  if (r < 0)
    hull_err_prefix(e, "pid file");
  return r;
}

static int make_abs_bundle(const char *bundle, char **out,
                           struct hull_error *e) {
  char *abs = realpath(bundle && *bundle ? bundle : ".", NULL);
  if (!abs)
    return hull_errno(e, errno, "bundle %s", bundle ? bundle : ".");
  *out = abs;
  return 0;
}

int container_create(const struct runtime_opts *ro, const char *id,
                     const char *bundle, const struct create_opts *o,
                     struct container **out, struct hull_error *e) {
  int r = container_validate_id(id, e);
  if (r < 0)
    return r;
  struct container *c = container_new(ro, id);
  if (!c)
    return hull_errno(e, ENOMEM, "container %s", id);
  _cleanup_free_ char *text = NULL;
  size_t len = 0;
  bool made_dir = false;

  if ((r = make_abs_bundle(bundle, &c->bundle, e)) < 0)
    goto fail;
  {
    _cleanup_close_ int bfd = open(c->bundle, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (bfd < 0 || (r = fs_read_file_at(bfd, "config.json", &text, &len, e)) < 0) {
      r = bfd < 0 ? hull_errno(e, errno, "bundle %s", c->bundle)
                  : hull_err(e, e->code, "config.json: %s/config.json: %s",
                             c->bundle, strerror(e->code));
      goto fail;
    }
  }
  if ((r = spec_parse(text, len, c->bundle, &c->spec, e)) < 0)
    goto fail;
  log_debug("container %s: config parsed", id);
  if (!c->spec.has_process) {
    r = hull_err(e, EINVAL, "config.json: process: required to create a container");
    goto fail;
  }
  {
    const char *ann = json_string_value(
        json_object_get(c->spec.annotations, "org.hull.isolation"));
    if ((r = driver_select(ro->isolation, ann, ro->progname, &c->ops, e)) < 0)
      goto fail;
  }
  {
    struct stat st;
    if (stat(c->spec.root_path, &st) < 0 || !S_ISDIR(st.st_mode)) {
      r = hull_errno(e, errno ? errno : ENOTDIR, "root.path %s", c->spec.root_path);
      goto fail;
    }
  }

  if ((r = make_state_root(ro->root, e)) < 0)
    goto fail;
  {
    _cleanup_close_ int rootfd = open(ro->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0) {
      r = hull_errno(e, errno, "state root %s", ro->root);
      goto fail;
    }
    if (mkdirat(rootfd, id, 0700) < 0) {
      r = errno == EEXIST
              ? hull_err(e, EEXIST, "container %s: already exists", id)
              : hull_errno(e, errno, "container %s: state directory", id);
      goto fail;
    }
    made_dir = true;
    c->dirfd = openat(rootfd, id, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  }
  if (c->dirfd < 0 || flock(c->dirfd, LOCK_EX) < 0) {
    r = hull_errno(e, errno, "container %s: lock", id);
    goto fail;
  }
  if ((r = fs_atomic_write(c->dirfd, "config.json", text, len, false, e)) < 0)
    goto fail;
  hull_now_rfc3339(c->created, sizeof c->created);
  snprintf(c->status, sizeof c->status, "creating");

  if ((r = c->ops->create(c, o, e)) < 0)
    goto fail_driver;
  log_debug("container %s: created", id);
  snprintf(c->status, sizeof c->status, "created");
  if ((r = container_save(c, e)) < 0)
    goto fail_kill;
  if (o->pid_file && (r = container_write_pid_file(o->pid_file, c->pid, e)) < 0)
    goto fail_kill;
  *out = c;
  return 0;

fail_kill:
  if (c->pid > 0) {
    kill(c->pid, SIGKILL);
  }
fail_driver:
  {
    struct hull_error ignored;
    c->ops->delete(c, &ignored);
  }
fail:
  if (made_dir && c->dirfd >= 0)
    remove_state_dir(ro->root, id, c->dirfd);
  container_free(c);
  return r;
}

int container_load(const struct runtime_opts *ro, const char *id, bool exclusive,
                   struct container **out, struct hull_error *e) {
  int r = container_validate_id(id, e);
  if (r < 0)
    return r;
  struct container *c = container_new(ro, id);
  if (!c)
    return hull_errno(e, ENOMEM, "container %s", id);
  _cleanup_close_ int rootfd = open(ro->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  c->dirfd = rootfd < 0 ? -1 : openat(rootfd, id, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (c->dirfd < 0) {
    r = errno == ENOENT ? hull_err(e, ENOENT, "container %s: does not exist", id)
                        : hull_errno(e, errno, "container %s", id);
    container_free(c);
    return r;
  }
  if (flock(c->dirfd, exclusive ? LOCK_EX : LOCK_SH) < 0) {
    r = hull_errno(e, errno, "container %s: lock", id);
    container_free(c);
    return r;
  }
  _cleanup_free_ char *text = NULL;
  size_t len;
  if ((r = fs_read_file_at(c->dirfd, "state.json", &text, &len, e)) < 0) {
    /* A directory without state is a create that died half-way. */
    r = hull_err(e, ENOENT, "container %s: does not exist (incomplete state)", id);
    container_free(c);
    return r;
  }
  json_error_t je;
  json_t *o = hjson_loadb(text, len, 0, NULL, &je);
  const char *st = NULL, *bundle = NULL, *iso = NULL, *cg = NULL, *created = NULL;
  json_t *inodes = NULL, *ann = NULL;
  json_int_t pid = 0, start = 0, nsflags = 0;
  if (!o || json_unpack_ex(o, &je, 0, "{s:s, s:I, s:I, s:s, s:s, s:s, s?s, s?I, s?o, s?o, s?o}",
                           "status", &st, "pid", &pid, "startTime", &start,
                           "bundle", &bundle, "isolation", &iso, "created", &created,
                           "cgroupPath", &cg, "nsFlags", &nsflags,
                           "nsInodes", &inodes, "annotations", &ann,
                           "driver", &c->driver_data) < 0) {
    json_decref(o);
    container_free(c);
    return hull_err(e, EINVAL, "container %s: state.json: corrupt: %s", id, je.text);
  }
  snprintf(c->status, sizeof c->status, "%s", st);
  snprintf(c->created, sizeof c->created, "%s", created);
  c->pid = (pid_t)pid;
  c->start_time = (unsigned long long)start;
  c->bundle = strdup(bundle);
  c->cgroup_path = strdup(cg ? cg : "");
  c->ns_flags = (unsigned)nsflags;
  for (size_t i = 0; inodes && i < NS_COUNT; i++)
    c->ns_inodes[i] = (unsigned long long)json_integer_value(json_array_get(inodes, i));
  c->spec.annotations = ann ? json_incref(ann) : json_object();
  json_incref(c->driver_data);
  r = driver_by_name(iso, &c->ops, e);
  json_decref(o);
  if (r < 0) {
    container_free(c);
    return r;
  }
  *out = c;
  return 0;
}

/* The full config, read back from the state directory when needed. */
static int load_spec(struct container *c, struct hull_error *e) {
  if (c->spec.json)
    return 0;
  json_decref(c->spec.annotations);
  c->spec.annotations = NULL;
  _cleanup_free_ char *text = NULL;
  size_t len;
  int r = fs_read_file_at(c->dirfd, "config.json", &text, &len, e);
  if (r < 0)
    return hull_err_prefix(e, "container %s", c->id);
  return spec_parse(text, len, c->bundle, &c->spec, e);
}

int container_start_loaded(struct container *c, struct hull_error *e) {
  const char *st = container_status(c);
  if (strcmp(st, "created"))
    return hull_err(e, EINVAL, "container %s: cannot start a container that is %s",
                    c->id, st);
  int r = load_spec(c, e);
  if (r < 0)
    return r;
  r = c->ops->start(c, e);
  if (r < 0)
    return r;
  log_debug("container %s: started", c->id);
  snprintf(c->status, sizeof c->status, "running");
  r = container_save(c, e);
  if (r < 0)
    return r;
  if (c->spec.hooks.n[HOOK_POSTSTART]) {
    _cleanup_free_ char *state = oci_state_text(c, "running");
    hooks_run_all(&c->spec.hooks, HOOK_POSTSTART, state, c->id);
  }
  return 0;
}

int container_start(const struct runtime_opts *ro, const char *id,
                    struct hull_error *e) {
  struct container *c;
  int r = container_load(ro, id, true, &c, e);
  if (r < 0)
    return r;
  r = container_start_loaded(c, e);
  container_free(c);
  return r;
}

int container_kill(const struct runtime_opts *ro, const char *id, int sig,
                   bool all, struct hull_error *e) {
  struct container *c;
  int r = container_load(ro, id, false, &c, e);
  if (r < 0)
    return r;
  if (!strcmp(container_status(c), "stopped"))
    r = hull_err(e, ESRCH, "container %s: not running", id);
  else
    r = c->ops->kill(c, sig, all, e);
  container_free(c);
  return r;
}

/* Wait until the container's init has exited (it is not our child). */
static void wait_gone(struct container *c, int timeout_ms) {
  int pidfd = (int)syscall(SYS_pidfd_open, c->pid, 0);
  if (pidfd < 0)
    return;
  if (process_alive(c->pid, c->start_time)) {
    struct pollfd p = {.fd = pidfd, .events = POLLIN};
    poll(&p, 1, timeout_ms);
  }
  close(pidfd);
}

int container_delete_loaded(struct container *c, bool force,
                            struct hull_error *e) {
  const char *st = container_status(c);
  if (strcmp(st, "stopped")) {
    if (!force)
      return hull_err(e, EBUSY,
                      "container %s: cannot delete a container that is %s "
                      "(stop it first or use --force)",
                      c->id, st);
    int r = c->ops->kill(c, SIGKILL, true, e);
    if (r < 0 && r != -ESRCH)
      return r;
    wait_gone(c, 10000);
  }
  int r = load_spec(c, e);
  if (r < 0)
    log_warn("%s", e->msg); /* still remove what can be removed */
  r = c->ops->delete(c, e);
  if (r < 0)
    return r;
  if (c->spec.hooks.n[HOOK_POSTSTOP]) {
    _cleanup_free_ char *state = oci_state_text(c, "stopped");
    hooks_run_all(&c->spec.hooks, HOOK_POSTSTOP, state, c->id);
  }
  remove_state_dir(c->root, c->id, c->dirfd);
  return 0;
}

int container_delete(const struct runtime_opts *ro, const char *id, bool force,
                     struct hull_error *e) {
  struct container *c;
  int r = container_load(ro, id, true, &c, e);
  if (r == -ENOENT && force) {
    /* --force: a container that does not exist is deleted already (as
     * runc and engines expect); a half-created leftover is removed. */
    _cleanup_close_ int rootfd = open(ro->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    _cleanup_close_ int dfd =
        rootfd < 0 ? -1 : openat(rootfd, id, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0 && flock(dfd, LOCK_EX | LOCK_NB) == 0)
      remove_state_dir(ro->root, id, dfd);
    return 0;
  }
  if (r < 0)
    return r;
  r = container_delete_loaded(c, force, e);
  container_free(c);
  return r;
}

/* Add NAME to every capability set the process object has. */
static void add_cap(json_t *proc, const char *name) {
  json_t *caps = json_object_get(proc, "capabilities");
  if (!caps) {
    caps = json_object();
    json_object_set_new(proc, "capabilities", caps);
  }
  static const char *sets[] = {"bounding", "effective", "permitted", "inheritable",
                               "ambient"};
  for (int i = 0; i < 5; i++) {
    json_t *a = json_object_get(caps, sets[i]);
    if (!a) {
      if (i >= 3)
        continue; /* inheritable and ambient only if the config has them */
      a = json_array();
      json_object_set_new(caps, sets[i], a);
    }
    json_array_append_new(a, json_string(name));
  }
}

static int build_exec_process(struct container *c, const struct exec_request *req,
                              json_t **out, bool *wrapped, struct hull_error *e) {
  json_t *proc;
  *wrapped = c->spec.uint64_wrapped;
  if (req->process_file) {
    json_error_t je;
    _cleanup_free_ char *text = NULL;
    size_t len;
    int r = fs_read_file(req->process_file, &text, &len, e);
    if (r < 0)
      return hull_err_prefix(e, "exec --process");
    proc = hjson_loadb(text, len, HJSON_WRAP_UINT64, wrapped, &je);
    if (!proc)
      return hull_err(e, EINVAL, "process %s: invalid JSON at line %d column %d: %s",
                      req->process_file, je.line, je.column, je.text);
  } else {
    json_t *base = json_object_get(c->spec.json, "process");
    proc = base ? json_deep_copy(base) : json_object();
    json_t *args = json_array();
    for (char **a = req->args; a && *a; a++)
      json_array_append_new(args, json_string(*a));
    json_object_set_new(proc, "args", args);
    json_object_set_new(proc, "terminal", json_boolean(req->tty));
    json_object_del(proc, "consoleSize");
  }
  if (req->env && *req->env) {
    json_t *env = json_object_get(proc, "env");
    if (!env) {
      env = json_array();
      json_object_set_new(proc, "env", env);
    }
    for (char **v = req->env; *v; v++)
      json_array_append_new(env, json_string(*v));
  }
  if (req->cwd)
    json_object_set_new(proc, "cwd", json_string(req->cwd));
  if (req->tty)
    json_object_set_new(proc, "terminal", json_true());
  if (req->user || (req->additional_gids && *req->additional_gids)) {
    json_t *user = json_object_get(proc, "user");
    if (!user) {
      user = json_object();
      json_object_set_new(proc, "user", user);
    }
    if (req->user) {
      char *end;
      unsigned long uid = strtoul(req->user, &end, 10);
      unsigned long gid = 0;
      bool ok = end != req->user && (!*end || *end == ':');
      if (ok && *end == ':') {
        char *g = end + 1;
        gid = strtoul(g, &end, 10);
        ok = end != g && !*end;
      }
      if (!ok) {
        json_decref(proc);
        return hull_err(e, EINVAL, "--user %s: must be uid[:gid] (numbers)", req->user);
      }
      json_object_set_new(user, "uid", json_integer((json_int_t)uid));
      json_object_set_new(user, "gid", json_integer((json_int_t)gid));
    }
    if (req->additional_gids && *req->additional_gids) {
      json_t *g = json_array();
      for (char **v = req->additional_gids; *v; v++) {
        char *end;
        unsigned long n = strtoul(*v, &end, 10);
        if (end == *v || *end) {
          json_decref(g);
          json_decref(proc);
          return hull_err(e, EINVAL, "--additional-gids %s: not a number", *v);
        }
        json_array_append_new(g, json_integer((json_int_t)n));
      }
      json_object_set_new(user, "additionalGids", g);
    }
  }
  for (char **cap = req->caps; cap && *cap; cap++)
    add_cap(proc, *cap);
  if (req->no_new_privs)
    json_object_set_new(proc, "noNewPrivileges", json_true());
  if (req->apparmor)
    json_object_set_new(proc, "apparmorProfile", json_string(req->apparmor));
  if (req->label)
    json_object_set_new(proc, "selinuxLabel", json_string(req->label));
  *out = proc;
  return 0;
}

int container_exec(const struct runtime_opts *ro, const char *id,
                   const struct exec_request *req, struct hull_error *e) {
  struct container *c;
  int r = container_load(ro, id, false, &c, e);
  if (r < 0)
    return r;
  struct spec_process proc = {0};
  json_t *pj = NULL;
  const char *st = container_status(c);
  if (strcmp(st, "running") && strcmp(st, "created")) {
    r = hull_err(e, EINVAL, "container %s: cannot exec in a container that is %s",
                 id, st);
    goto out;
  }
  bool wrapped;
  if ((r = load_spec(c, e)) < 0 || (r = build_exec_process(c, req, &pj, &wrapped, e)) < 0)
    goto out;
  if ((r = spec_parse_process(pj, wrapped, &proc, e)) < 0) {
    hull_err_prefix(e, "exec");
    goto out;
  }
  /* Release the lock: an exec may run for hours, and other commands on
   * the container (kill, state) must not wait for it. */
  flock(c->dirfd, LOCK_UN);
  struct exec_opts o = {
      .process = &proc,
      .process_json = pj,
      .console_socket = req->console_socket,
      .pid_file = req->pid_file,
      .preserve_fds = req->preserve_fds,
      .detach = req->detach,
  };
  r = c->ops->exec(c, &o, e);
out:
  spec_process_free(&proc);
  json_decref(pj);
  container_free(c);
  return r;
}

int container_ps_table(const struct runtime_opts *ro, const char *id, FILE *out,
                       struct hull_error *e) {
  struct container *c;
  int r = container_load(ro, id, false, &c, e);
  if (r < 0)
    return r;
  if (!c->ops->ps_table)
    r = 1;
  else if (!strcmp(container_status(c), "stopped"))
    r = hull_err(e, ESRCH, "container %s: not running", id);
  else
    r = c->ops->ps_table(c, out, e);
  container_free(c);
  return r;
}

int container_pids(const struct runtime_opts *ro, const char *id, pid_t **pids,
                   size_t *n, struct hull_error *e) {
  struct container *c;
  int r = container_load(ro, id, false, &c, e);
  if (r < 0)
    return r;
  if (!strcmp(container_status(c), "stopped")) {
    *pids = NULL;
    *n = 0;
  } else {
    r = c->ops->pids(c, pids, n, e);
  }
  container_free(c);
  return r;
}

int container_state_json(const struct runtime_opts *ro, const char *id,
                         json_t **out, struct hull_error *e) {
  struct container *c;
  int r = container_load(ro, id, false, &c, e);
  if (r < 0)
    return r;
  const char *st = container_status(c);
  json_t *o = container_oci_state(c, st);
  json_object_set_new(o, "rootfs", json_string(""));
  json_object_set_new(o, "created", json_string(c->created));
  json_object_set_new(o, "owner", json_string(""));
  json_object_set_new(o, "isolation", json_string(c->ops->name));
  *out = o;
  container_free(c);
  return 0;
}

/* Load with an exclusive lock and check the status is one of WANT (a
 * comma-separated list). */
static int load_in_status(const struct runtime_opts *ro, const char *id,
                          bool exclusive, const char *want, const char *verb,
                          struct container **out, struct hull_error *e) {
  struct container *c;
  int r = container_load(ro, id, exclusive, &c, e);
  if (r < 0)
    return r;
  const char *st = container_status(c);
  size_t l = strlen(st);
  for (const char *w = want; w && *w;) {
    if (!strncmp(w, st, l) && (w[l] == ',' || !w[l])) {
      *out = c;
      return 0;
    }
    w = strchr(w, ',');
    if (w)
      w++;
  }
  r = hull_err(e, EINVAL, "container %s: cannot %s a container that is %s", id,
               verb, st);
  container_free(c);
  return r;
}

static int not_supported(struct container *c, const char *verb,
                         struct hull_error *e) {
  return hull_err(e, ENOTSUP, "container %s: %s is not supported with %s isolation",
                  c->id, verb, c->ops->name);
}

int container_pause(const struct runtime_opts *ro, const char *id,
                    struct hull_error *e) {
  struct container *c;
  int r = load_in_status(ro, id, true, "running", "pause", &c, e);
  if (r < 0)
    return r;
  r = c->ops->pause ? c->ops->pause(c, e) : not_supported(c, "pause", e);
  container_free(c);
  return r;
}

int container_resume(const struct runtime_opts *ro, const char *id,
                     struct hull_error *e) {
  struct container *c;
  int r = load_in_status(ro, id, true, "paused", "resume", &c, e);
  if (r < 0)
    return r;
  r = c->ops->resume ? c->ops->resume(c, e) : not_supported(c, "resume", e);
  container_free(c);
  return r;
}

int container_update(const struct runtime_opts *ro, const char *id,
                     json_t *resources, struct hull_error *e) {
  struct container *c;
  int r = load_in_status(ro, id, true, "created,running,paused", "update", &c, e);
  if (r < 0)
    return r;
  r = c->ops->update ? c->ops->update(c, resources, e) : not_supported(c, "update", e);
  container_free(c);
  return r;
}

int container_events(const struct runtime_opts *ro, const char *id,
                     bool stats_only, int interval_ms,
                     void (*emit)(const char *line, void *arg), void *arg,
                     struct hull_error *e) {
  struct container *c;
  int r = load_in_status(ro, id, false, "created,running,paused", "watch", &c, e);
  if (r < 0)
    return r;
  /* Streaming may last as long as the container: hold no lock. */
  flock(c->dirfd, LOCK_UN);
  r = c->ops->events ? c->ops->events(c, stats_only, interval_ms, emit, arg, e)
                     : not_supported(c, "events", e);
  container_free(c);
  return r;
}
