/* config.json -> struct spec: validation and translation of the OCI
 * runtime-spec 1.0 - 1.2 for Linux. Unknown fields are ignored as the spec
 * requires; JSON null reads as absent, like the Go reference runtime. */
#include "spec.h"

#include "../common/json.h"

#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- error reporting -------------------------------------------------- */

/* The path of the field being parsed, as a chain of stack frames: it costs
 * nothing unless an error has to name it. */
struct where {
  const struct where *up;
  const char *key; /* object member, or NULL for array element idx */
  size_t idx;
};
#define AT(w, k) (&(const struct where){.up = (w), .key = (k)})
#define AT_IDX(w, i) (&(const struct where){.up = (w), .idx = (i)})

struct ctx {
  struct hull_error *e;
  const char *file;   /* "config.json"; NULL for a bare process object */
  const char *bundle; /* as given */
  char *bundle_abs;   /* made absolute, on first need */
  bool wrapped;       /* big uint64 literals were wrapped (see spec.h) */
};

static size_t render(const struct where *w, char *buf, size_t size) {
  if (!w)
    return 0;
  size_t n = render(w->up, buf, size);
  if (n >= size)
    return n;
  int r = w->key ? snprintf(buf + n, size - n, "%s%s", n ? "." : "", w->key)
                 : snprintf(buf + n, size - n, "[%zu]", w->idx);
  return r < 0 ? n : n + (size_t)r;
}

/* Messages stay one line even when they quote hostile strings. */
static void one_line(struct hull_error *e) {
  if (!e)
    return;
  for (char *p = e->msg; *p; p++)
    if ((unsigned char)*p < 0x20 || *p == 0x7f)
      *p = '?';
}

__attribute__((format(printf, 3, 4))) static int
fail(struct ctx *c, const struct where *w, const char *fmt, ...) {
  char path[256] = "", cause[512];
  va_list ap;
  render(w, path, sizeof path);
  va_start(ap, fmt);
  vsnprintf(cause, sizeof cause, fmt, ap);
  va_end(ap);
  hull_err(c->e, EINVAL, "%s%s%s%s%s", c->file ? c->file : "",
           c->file ? ": " : "", path, path[0] ? ": " : "", cause);
  one_line(c->e);
  return -EINVAL;
}

static int oom(struct ctx *c) {
  return hull_err(c->e, ENOMEM, "%s%sout of memory", c->file ? c->file : "",
                  c->file ? ": " : "");
}

/* ---- typed access ----------------------------------------------------- */

static json_t *member(json_t *obj, const char *key) {
  json_t *v = json_object_get(obj, key);
  return json_is_null(v) ? NULL : v;
}

static char *dup_string(json_t *s) {
  size_t n = json_string_length(s);
  char *d = malloc(n + 1);
  if (d)
    memcpy(d, json_string_value(s), n + 1);
  return d;
}

/* OBJ.KEY as a JSON string, *out NULL when absent and not required. */
static int get_string(struct ctx *c, json_t *obj, const char *key,
                      const struct where *w, bool required, json_t **out) {
  json_t *v = member(obj, key);
  *out = v;
  if (!v)
    return required ? fail(c, AT(w, key), "missing") : 0;
  if (!json_is_string(v))
    return fail(c, AT(w, key), "must be a string");
  return 0;
}

static int opt_strdup(struct ctx *c, json_t *obj, const char *key,
                      const struct where *w, char **out) {
  json_t *v;
  int r = get_string(c, obj, key, w, false, &v);
  if (r < 0 || !v)
    return r;
  return (*out = dup_string(v)) ? 0 : oom(c);
}

static int abs_path(struct ctx *c, json_t *obj, const char *key,
                    const struct where *w, bool required, char **out) {
  json_t *v;
  int r = get_string(c, obj, key, w, required, &v);
  if (r < 0 || !v)
    return r;
  if (json_string_value(v)[0] != '/')
    return fail(c, AT(w, key), "must be an absolute path");
  return (*out = dup_string(v)) ? 0 : oom(c);
}

static int opt_bool(struct ctx *c, json_t *obj, const char *key,
                    const struct where *w, bool *out) {
  json_t *v = member(obj, key);
  if (!v)
    return 0;
  if (!json_is_boolean(v))
    return fail(c, AT(w, key), "must be a boolean");
  *out = json_is_true(v);
  return 0;
}

/* OBJ.KEY as an integer in min..max: 1 if present, 0 if absent. */
static int get_int(struct ctx *c, json_t *obj, const char *key,
                   const struct where *w, json_int_t min, json_int_t max,
                   bool required, json_int_t *out) {
  json_t *v = member(obj, key);
  if (!v)
    return required ? fail(c, AT(w, key), "missing") : 0;
  if (!json_is_integer(v) || json_integer_value(v) < min ||
      json_integer_value(v) > max)
    return fail(c, AT(w, key), "must be an integer in %lld..%lld",
                (long long)min, (long long)max);
  *out = json_integer_value(v);
  return 1;
}

static int get_u32(struct ctx *c, json_t *obj, const char *key,
                   const struct where *w, bool required, uint32_t *out) {
  json_int_t v;
  int r = get_int(c, obj, key, w, 0, UINT32_MAX, required, &v);
  if (r > 0)
    *out = (uint32_t)v;
  return r;
}

static int get_u64(struct ctx *c, json_t *obj, const char *key,
                   const struct where *w, uint64_t *out) {
  json_t *v = member(obj, key);
  if (!v)
    return fail(c, AT(w, key), "missing");
  if (!json_is_integer(v) || (json_integer_value(v) < 0 && !c->wrapped))
    return fail(c, AT(w, key), "must be an integer in 0..%llu",
                (unsigned long long)UINT64_MAX);
  *out = (uint64_t)json_integer_value(v);
  return 0;
}

/* OBJ.KEY kept by reference for a later module; must be an object. */
static int keep_object(struct ctx *c, json_t *obj, const char *key,
                       const struct where *w, json_t **out) {
  json_t *v = member(obj, key);
  if (!v)
    return 0;
  if (!json_is_object(v))
    return fail(c, AT(w, key), "must be an object");
  *out = json_incref(v);
  return 0;
}

/* OBJ.KEY as an array (*out NULL when absent). */
static int opt_array(struct ctx *c, json_t *obj, const char *key,
                     const struct where *w, json_t **out) {
  json_t *v = member(obj, key);
  *out = v;
  if (v && !json_is_array(v))
    return fail(c, AT(w, key), "must be an array");
  return 0;
}

enum strv_check { STRV_ANY, STRV_ENV, STRV_ABS };

/* A NULL-terminated copy of an array of strings in one allocation, the
 * pointers followed by the bytes (see spec.h). */
static int strv_dup(struct ctx *c, json_t *arr, const struct where *w,
                    enum strv_check check, char ***out, size_t *n_out) {
  if (!json_is_array(arr))
    return fail(c, w, "must be an array of strings");
  size_t n = json_array_size(arr), bytes = 0;
  for (size_t i = 0; i < n; i++) {
    json_t *s = json_array_get(arr, i);
    if (!json_is_string(s))
      return fail(c, AT_IDX(w, i), "must be a string");
    const char *str = json_string_value(s);
    if (check == STRV_ENV && (str[0] == '=' || !strchr(str, '=')))
      return fail(c, AT_IDX(w, i), "\"%s\" is not of the form KEY=VALUE",
                  str);
    if (check == STRV_ABS && str[0] != '/')
      return fail(c, AT_IDX(w, i), "must be an absolute path");
    bytes += json_string_length(s) + 1;
  }
  char **v = malloc((n + 1) * sizeof *v + bytes);
  if (!v)
    return oom(c);
  char *p = (char *)(v + n + 1);
  for (size_t i = 0; i < n; i++) {
    json_t *s = json_array_get(arr, i);
    size_t len = json_string_length(s) + 1;
    memcpy(p, json_string_value(s), len);
    v[i] = p;
    p += len;
  }
  v[n] = NULL;
  *out = v;
  if (n_out)
    *n_out = n;
  return 0;
}

static int opt_strv(struct ctx *c, json_t *obj, const char *key,
                    const struct where *w, enum strv_check check, char ***out,
                    size_t *n_out) {
  json_t *v = member(obj, key);
  return v ? strv_dup(c, v, AT(w, key), check, out, n_out) : 0;
}

static int id_maps(struct ctx *c, json_t *obj, const char *key,
                   const struct where *w, struct spec_id_map **out,
                   size_t *n_out) {
  json_t *arr;
  int r = opt_array(c, obj, key, w, &arr);
  if (r < 0 || !arr || json_array_size(arr) == 0)
    return r;
  size_t n = json_array_size(arr);
  const struct where *aw = AT(w, key);
  struct spec_id_map *m = malloc(n * sizeof *m);
  if (!m)
    return oom(c);
  *out = m;
  *n_out = n;
  for (size_t i = 0; i < n; i++) {
    json_t *o = json_array_get(arr, i);
    const struct where *ew = AT_IDX(aw, i);
    if (!json_is_object(o))
      return fail(c, ew, "must be an object");
    if ((r = get_u32(c, o, "containerID", ew, true, &m[i].container_id)) < 0 ||
        (r = get_u32(c, o, "hostID", ew, true, &m[i].host_id)) < 0 ||
        (r = get_u32(c, o, "size", ew, true, &m[i].size)) < 0)
      return r;
  }
  return 0;
}

/* ---- paths ------------------------------------------------------------ */

/* Lexical clean of an absolute path, like Go's filepath.Clean: runc joins
 * relative paths to the bundle that way. In place; never grows. */
static void path_clean(char *p) {
  char *out = p + 1;
  const char *in = p + 1;
  while (*in) {
    if (*in == '/') {
      in++;
      continue;
    }
    const char *seg = in;
    while (*in && *in != '/')
      in++;
    size_t n = (size_t)(in - seg);
    if (n == 1 && seg[0] == '.')
      continue;
    if (n == 2 && seg[0] == '.' && seg[1] == '.') {
      char *s = out;
      while (s > p + 1 && s[-1] != '/')
        s--;
      out = s > p + 1 ? s - 1 : p + 1;
      continue;
    }
    if (out > p + 1)
      *out++ = '/';
    memmove(out, seg, n);
    out += n;
  }
  *out = '\0';
}

static const char *bundle_dir(struct ctx *c) {
  if (c->bundle && c->bundle[0] == '/')
    return c->bundle;
  if (c->bundle_abs)
    return c->bundle_abs;
  char *cwd = getcwd(NULL, 0);
  if (!cwd) {
    hull_errno(c->e, errno, "%s: getcwd", c->file ? c->file : "bundle");
    return NULL;
  }
  if (!c->bundle || !c->bundle[0]) {
    c->bundle_abs = cwd;
  } else {
    if (asprintf(&c->bundle_abs, "%s/%s", cwd, c->bundle) < 0)
      c->bundle_abs = NULL;
    free(cwd);
    if (!c->bundle_abs)
      oom(c);
  }
  return c->bundle_abs;
}

/* An absolute copy of PATH, relative ones taken from the bundle. */
static int in_bundle(struct ctx *c, json_t *path, char **out) {
  const char *s = json_string_value(path);
  if (s[0] == '/')
    return (*out = dup_string(path)) ? 0 : oom(c);
  const char *dir = bundle_dir(c);
  if (!dir)
    return -(c->e && c->e->code ? c->e->code : ENOMEM);
  size_t dl = strlen(dir), sl = json_string_length(path);
  char *p = malloc(dl + sl + 2);
  if (!p)
    return oom(c);
  memcpy(p, dir, dl);
  p[dl] = '/';
  memcpy(p + dl + 1, s, sl + 1);
  path_clean(p);
  *out = p;
  return 0;
}

/* ---- process ---------------------------------------------------------- */

static int parse_user(struct ctx *c, json_t *o, const struct where *w,
                      struct spec_user *u) {
  if (!json_is_object(o))
    return fail(c, w, "must be an object");
  uint32_t v;
  int r;
  if ((r = get_u32(c, o, "uid", w, false, &v)) < 0)
    return r;
  if (r)
    u->uid = v;
  if ((r = get_u32(c, o, "gid", w, false, &v)) < 0)
    return r;
  if (r)
    u->gid = v;
  json_int_t umask;
  if ((r = get_int(c, o, "umask", w, 0, 0777, false, &umask)) < 0)
    return r;
  if (r) {
    u->has_umask = true;
    u->umask = (mode_t)umask;
  }
  json_t *arr;
  if ((r = opt_array(c, o, "additionalGids", w, &arr)) < 0)
    return r;
  if (arr && json_array_size(arr)) {
    size_t n = json_array_size(arr);
    const struct where *aw = AT(w, "additionalGids");
    if (!(u->additional_gids = malloc(n * sizeof *u->additional_gids)))
      return oom(c);
    u->n_additional_gids = n;
    for (size_t i = 0; i < n; i++) {
      json_t *g = json_array_get(arr, i);
      if (!json_is_integer(g) || json_integer_value(g) < 0 ||
          json_integer_value(g) > UINT32_MAX)
        return fail(c, AT_IDX(aw, i), "must be an integer in 0..%u",
                    UINT32_MAX);
      u->additional_gids[i] = (gid_t)json_integer_value(g);
    }
  }
  return 0;
}

static const char *const cap_sets[] = {"bounding", "effective", "inheritable",
                                       "permitted", "ambient"};

static int parse_caps(struct ctx *c, json_t *o, const struct where *w,
                      struct spec_caps *caps) {
  if (!json_is_object(o))
    return fail(c, w, "must be an object");
  uint64_t *masks[] = {&caps->bounding, &caps->effective, &caps->inheritable,
                       &caps->permitted, &caps->ambient};
  caps->present = true;
  for (size_t k = 0; k < 5; k++) {
    json_t *arr = member(o, cap_sets[k]);
    const struct where *sw = AT(w, cap_sets[k]);
    if (!arr)
      continue;
    if (!json_is_array(arr))
      return fail(c, sw, "must be an array of strings");
    for (size_t i = 0; i < json_array_size(arr); i++) {
      json_t *s = json_array_get(arr, i);
      if (!json_is_string(s))
        return fail(c, AT_IDX(sw, i), "must be a string");
      int n = cap_number_from_name(json_string_value(s));
      if (n < 0)
        return fail(c, sw, "unknown capability \"%s\"", json_string_value(s));
      *masks[k] |= 1ULL << n;
    }
  }
  return 0;
}

static int parse_rlimits(struct ctx *c, json_t *arr, const struct where *w,
                         struct spec_process *p) {
  size_t n = json_array_size(arr);
  if (n == 0)
    return 0;
  if (!(p->rlimits = calloc(n, sizeof *p->rlimits)))
    return oom(c);
  p->n_rlimits = n;
  for (size_t i = 0; i < n; i++) {
    json_t *o = json_array_get(arr, i), *type;
    const struct where *ew = AT_IDX(w, i);
    struct spec_rlimit *rl = &p->rlimits[i];
    int r;
    if (!json_is_object(o))
      return fail(c, ew, "must be an object");
    if ((r = get_string(c, o, "type", ew, true, &type)) < 0)
      return r;
    const char *name = json_string_value(type);
    if ((rl->resource = rlimit_from_name(name)) < 0)
      return fail(c, AT(ew, "type"), "unknown rlimit \"%s\"", name);
    for (size_t j = 0; j < i; j++)
      if (p->rlimits[j].resource == rl->resource)
        return fail(c, AT(ew, "type"), "duplicate rlimit \"%s\"", name);
    if (!(rl->name = dup_string(type)))
      return oom(c);
    if ((r = get_u64(c, o, "soft", ew, &rl->soft)) < 0 ||
        (r = get_u64(c, o, "hard", ew, &rl->hard)) < 0)
      return r;
  }
  return 0;
}

static int parse_process(struct ctx *c, json_t *o, const struct where *w,
                         struct spec_process *p) {
  if (!json_is_object(o))
    return fail(c, w, "must be an object");
  int r;
  json_t *v;
  if ((r = opt_bool(c, o, "terminal", w, &p->terminal)) < 0)
    return r;
  if ((v = member(o, "consoleSize"))) {
    const struct where *cw = AT(w, "consoleSize");
    json_int_t h = 0, wd = 0;
    if (!json_is_object(v))
      return fail(c, cw, "must be an object");
    if ((r = get_int(c, v, "height", cw, 0, 65535, false, &h)) < 0 ||
        (r = get_int(c, v, "width", cw, 0, 65535, false, &wd)) < 0)
      return r;
    p->console_height = (unsigned)h;
    p->console_width = (unsigned)wd;
  }

  v = member(o, "args");
  if (!json_is_array(v) || json_array_size(v) == 0)
    return fail(c, AT(w, "args"), "must be a non-empty array of strings");
  if ((r = strv_dup(c, v, AT(w, "args"), STRV_ANY, &p->args, &p->n_args)) < 0)
    return r;

  /* env is always a valid (maybe empty) vector: exec paths iterate it. */
  if ((v = member(o, "env"))) {
    if ((r = strv_dup(c, v, AT(w, "env"), STRV_ENV, &p->env, &p->n_env)) < 0)
      return r;
  } else if (!(p->env = calloc(1, sizeof *p->env))) {
    return oom(c);
  }

  if ((r = get_string(c, o, "cwd", w, true, &v)) < 0)
    return r;
  if (json_string_value(v)[0] != '/')
    return fail(c, AT(w, "cwd"), "must be an absolute path");
  if (!(p->cwd = dup_string(v)))
    return oom(c);

  if ((v = member(o, "user")) &&
      (r = parse_user(c, v, AT(w, "user"), &p->user)) < 0)
    return r;
  if ((v = member(o, "capabilities")) &&
      (r = parse_caps(c, v, AT(w, "capabilities"), &p->caps)) < 0)
    return r;
  if ((r = opt_array(c, o, "rlimits", w, &v)) < 0)
    return r;
  if (v && (r = parse_rlimits(c, v, AT(w, "rlimits"), p)) < 0)
    return r;
  if ((r = opt_bool(c, o, "noNewPrivileges", w, &p->no_new_privileges)) < 0)
    return r;
  json_int_t adj;
  if ((r = get_int(c, o, "oomScoreAdj", w, -1000, 1000, false, &adj)) < 0)
    return r;
  if (r) {
    p->has_oom_score_adj = true;
    p->oom_score_adj = (int)adj;
  }
  if ((r = opt_strdup(c, o, "apparmorProfile", w, &p->apparmor_profile)) < 0 ||
      (r = opt_strdup(c, o, "selinuxLabel", w, &p->selinux_label)) < 0 ||
      (r = keep_object(c, o, "scheduler", w, &p->scheduler)) < 0 ||
      (r = keep_object(c, o, "ioPriority", w, &p->io_priority)) < 0 ||
      (r = keep_object(c, o, "execCPUAffinity", w, &p->exec_cpu_affinity)) < 0)
    return r;
  return 0;
}

/* ---- mounts ----------------------------------------------------------- */

enum {
  MO_SET,         /* flags |= f */
  MO_CLEAR,       /* flags &= ~f, clear_flags |= f */
  MO_PROPAGATION, /* propagation = f */
  MO_REC_SET,     /* rec_attr_set |= f */
  MO_REC_CLEAR,   /* rec_attr_clr |= f */
  MO_TMPCOPYUP,
  MO_IDMAP,
  MO_RIDMAP,
  MO_IGNORE,
};

/* runc's parseMountOptions tables, merged and sorted by name for bsearch.
 * Differences: "defaults" is dropped rather than passed on as data, as
 * mount(8) does; of several propagation options the last one wins. */
static const struct mount_opt {
  char name[16];
  unsigned char kind;
  unsigned long flag;
} mount_opts[] = {
    {"async", MO_CLEAR, MS_SYNCHRONOUS},
    {"atime", MO_CLEAR, MS_NOATIME},
    {"bind", MO_SET, MS_BIND},
    {"defaults", MO_IGNORE, 0},
    {"dev", MO_CLEAR, MS_NODEV},
    {"diratime", MO_CLEAR, MS_NODIRATIME},
    {"dirsync", MO_SET, MS_DIRSYNC},
    {"exec", MO_CLEAR, MS_NOEXEC},
    {"idmap", MO_IDMAP, 0},
    {"iversion", MO_SET, MS_I_VERSION},
    {"lazytime", MO_SET, MS_LAZYTIME},
    {"loud", MO_CLEAR, MS_SILENT},
    {"mand", MO_SET, MS_MANDLOCK},
    {"noatime", MO_SET, MS_NOATIME},
    {"nodev", MO_SET, MS_NODEV},
    {"nodiratime", MO_SET, MS_NODIRATIME},
    {"noexec", MO_SET, MS_NOEXEC},
    {"noiversion", MO_CLEAR, MS_I_VERSION},
    {"nolazytime", MO_CLEAR, MS_LAZYTIME},
    {"nomand", MO_CLEAR, MS_MANDLOCK},
    {"norelatime", MO_CLEAR, MS_RELATIME},
    {"nostrictatime", MO_CLEAR, MS_STRICTATIME},
    {"nosuid", MO_SET, MS_NOSUID},
    {"nosymfollow", MO_SET, MS_NOSYMFOLLOW},
    {"private", MO_PROPAGATION, MS_PRIVATE},
    {"ratime", MO_REC_CLEAR, MOUNT_ATTR_NOATIME},
    {"rbind", MO_SET, MS_BIND | MS_REC},
    {"rdev", MO_REC_CLEAR, MOUNT_ATTR_NODEV},
    {"rdiratime", MO_REC_CLEAR, MOUNT_ATTR_NODIRATIME},
    {"relatime", MO_SET, MS_RELATIME},
    {"remount", MO_SET, MS_REMOUNT},
    {"rexec", MO_REC_CLEAR, MOUNT_ATTR_NOEXEC},
    {"ridmap", MO_RIDMAP, 0},
    {"rnoatime", MO_REC_SET, MOUNT_ATTR_NOATIME},
    {"rnodev", MO_REC_SET, MOUNT_ATTR_NODEV},
    {"rnodiratime", MO_REC_SET, MOUNT_ATTR_NODIRATIME},
    {"rnoexec", MO_REC_SET, MOUNT_ATTR_NOEXEC},
    {"rnorelatime", MO_REC_CLEAR, MOUNT_ATTR_RELATIME},
    {"rnostrictatime", MO_REC_CLEAR, MOUNT_ATTR_STRICTATIME},
    {"rnosuid", MO_REC_SET, MOUNT_ATTR_NOSUID},
    {"rnosymfollow", MO_REC_SET, MOUNT_ATTR_NOSYMFOLLOW},
    {"ro", MO_SET, MS_RDONLY},
    {"rprivate", MO_PROPAGATION, MS_PRIVATE | MS_REC},
    {"rrelatime", MO_REC_SET, MOUNT_ATTR_RELATIME},
    {"rro", MO_REC_SET, MOUNT_ATTR_RDONLY},
    {"rrw", MO_REC_CLEAR, MOUNT_ATTR_RDONLY},
    {"rshared", MO_PROPAGATION, MS_SHARED | MS_REC},
    {"rslave", MO_PROPAGATION, MS_SLAVE | MS_REC},
    {"rstrictatime", MO_REC_SET, MOUNT_ATTR_STRICTATIME},
    {"rsuid", MO_REC_CLEAR, MOUNT_ATTR_NOSUID},
    {"rsymfollow", MO_REC_CLEAR, MOUNT_ATTR_NOSYMFOLLOW},
    {"runbindable", MO_PROPAGATION, MS_UNBINDABLE | MS_REC},
    {"rw", MO_CLEAR, MS_RDONLY},
    {"shared", MO_PROPAGATION, MS_SHARED},
    {"silent", MO_SET, MS_SILENT},
    {"slave", MO_PROPAGATION, MS_SLAVE},
    {"strictatime", MO_SET, MS_STRICTATIME},
    {"suid", MO_CLEAR, MS_NOSUID},
    {"symfollow", MO_CLEAR, MS_NOSYMFOLLOW},
    {"sync", MO_SET, MS_SYNCHRONOUS},
    {"tmpcopyup", MO_TMPCOPYUP, 0},
    {"unbindable", MO_PROPAGATION, MS_UNBINDABLE},
};

static const struct mount_opt *mount_opt_find(const char *name) {
  size_t lo = 0, hi = sizeof mount_opts / sizeof mount_opts[0];
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    int r = strcmp(name, mount_opts[mid].name);
    if (r == 0)
      return &mount_opts[mid];
    if (r < 0)
      hi = mid;
    else
      lo = mid + 1;
  }
  return NULL;
}

static void mount_opt_apply(struct spec_mount *m, const struct mount_opt *o) {
  switch (o->kind) {
  case MO_SET:
    m->flags |= o->flag;
    m->clear_flags &= ~o->flag;
    break;
  case MO_CLEAR:
    m->flags &= ~o->flag;
    m->clear_flags |= o->flag;
    break;
  case MO_PROPAGATION:
    m->propagation = o->flag;
    break;
  case MO_REC_SET:
    m->rec_attr_set |= o->flag;
    m->rec_attr_clr &= ~(uint64_t)o->flag;
    /* mount_setattr(2): an atime mode in attr_set needs MOUNT_ATTR__ATIME
     * in attr_clr. */
    if ((o->flag & MOUNT_ATTR__ATIME) == o->flag)
      m->rec_attr_clr |= MOUNT_ATTR__ATIME;
    break;
  case MO_REC_CLEAR:
    m->rec_attr_clr |= o->flag;
    m->rec_attr_set &= ~(uint64_t)o->flag;
    break;
  case MO_TMPCOPYUP:
    m->tmpcopyup = true;
    break;
  case MO_IDMAP:
    m->idmap = true;
    break;
  case MO_RIDMAP:
    m->idmap = m->idmap_recursive = true;
    break;
  }
}

static int mount_options(struct ctx *c, json_t *arr, const struct where *w,
                         struct spec_mount *m) {
  if (!json_is_array(arr))
    return fail(c, w, "must be an array of strings");
  size_t n = json_array_size(arr), total = 0;
  for (size_t i = 0; i < n; i++) {
    json_t *s = json_array_get(arr, i);
    if (!json_is_string(s))
      return fail(c, AT_IDX(w, i), "must be a string");
    total += json_string_length(s) + 1;
  }
  /* Unknown options are file-system data; most mounts have a few short
   * ones, joined on the stack and copied once. */
  char stack[256], *buf = total <= sizeof stack ? stack : malloc(total);
  size_t len = 0;
  if (!buf)
    return oom(c);
  for (size_t i = 0; i < n; i++) {
    json_t *s = json_array_get(arr, i);
    const struct mount_opt *o = mount_opt_find(json_string_value(s));
    if (o) {
      mount_opt_apply(m, o);
    } else if (json_string_length(s)) {
      if (len)
        buf[len++] = ',';
      memcpy(buf + len, json_string_value(s), json_string_length(s));
      len += json_string_length(s);
    }
  }
  if (len) {
    buf[len] = '\0';
    m->data = buf != stack ? buf : strdup(buf);
    if (!m->data)
      return oom(c);
  } else if (buf != stack) {
    free(buf);
  }
  return 0;
}

static int parse_mount(struct ctx *c, json_t *o, const struct where *w,
                       struct spec_mount *m) {
  if (!json_is_object(o))
    return fail(c, w, "must be an object");
  json_t *v;
  int r;
  if ((r = get_string(c, o, "destination", w, true, &v)) < 0)
    return r;
  const char *dst = json_string_value(v);
  if (!dst[0])
    return fail(c, AT(w, "destination"), "must not be empty");
  /* runc accepts relative destinations as relative to the root. */
  if (dst[0] == '/')
    m->destination = dup_string(v);
  else if (asprintf(&m->destination, "/%s", dst) < 0)
    m->destination = NULL;
  if (!m->destination)
    return oom(c);
  if ((r = opt_strdup(c, o, "type", w, &m->type)) < 0)
    return r;
  if ((v = member(o, "options")) &&
      (r = mount_options(c, v, AT(w, "options"), m)) < 0)
    return r;
  if (m->type && strcmp(m->type, "bind") == 0)
    m->flags |= MS_BIND;
  m->bind = m->flags & MS_BIND;
  m->recursive = m->flags & MS_REC;
  if ((r = get_string(c, o, "source", w, false, &v)) < 0)
    return r;
  /* Bind sources are relative to the bundle (runtime-spec, runc). */
  if (v && m->bind && json_string_value(v)[0])
    r = in_bundle(c, v, &m->source);
  else if (v && !(m->source = dup_string(v)))
    r = oom(c);
  if (r < 0)
    return r;
  if ((r = id_maps(c, o, "uidMappings", w, &m->uid_mappings,
                   &m->n_uid_mappings)) < 0 ||
      (r = id_maps(c, o, "gidMappings", w, &m->gid_mappings,
                   &m->n_gid_mappings)) < 0)
    return r;
  if (m->n_uid_mappings || m->n_gid_mappings)
    m->idmap = true;
  return 0;
}

/* ---- hooks ------------------------------------------------------------ */

static const char *const hook_names[HOOK_KIND_COUNT] = {
    [HOOK_PRESTART] = "prestart",
    [HOOK_CREATE_RUNTIME] = "createRuntime",
    [HOOK_CREATE_CONTAINER] = "createContainer",
    [HOOK_START_CONTAINER] = "startContainer",
    [HOOK_POSTSTART] = "poststart",
    [HOOK_POSTSTOP] = "poststop",
};

static int parse_hook(struct ctx *c, json_t *o, const struct where *w,
                      struct spec_hook *h) {
  if (!json_is_object(o))
    return fail(c, w, "must be an object");
  int r;
  if ((r = abs_path(c, o, "path", w, true, &h->path)) < 0 ||
      (r = opt_strv(c, o, "args", w, STRV_ANY, &h->args, NULL)) < 0 ||
      (r = opt_strv(c, o, "env", w, STRV_ANY, &h->env, NULL)) < 0)
    return r;
  json_t *t = member(o, "timeout");
  if (t) {
    if (!json_is_integer(t) || json_integer_value(t) <= 0 ||
        json_integer_value(t) > INT_MAX)
      return fail(c, AT(w, "timeout"), "must be a positive integer");
    h->timeout = (int)json_integer_value(t);
  }
  return 0;
}

static int parse_hooks(struct ctx *c, json_t *o, const struct where *w,
                       struct spec_hooks *hs) {
  if (!json_is_object(o))
    return fail(c, w, "must be an object");
  for (int k = 0; k < HOOK_KIND_COUNT; k++) {
    json_t *arr;
    int r = opt_array(c, o, hook_names[k], w, &arr);
    if (r < 0)
      return r;
    size_t n = arr ? json_array_size(arr) : 0;
    if (n == 0)
      continue;
    if (!(hs->list[k] = calloc(n, sizeof *hs->list[k])))
      return oom(c);
    hs->n[k] = n;
    const struct where *kw = AT(w, hook_names[k]);
    for (size_t i = 0; i < n; i++)
      if ((r = parse_hook(c, json_array_get(arr, i), AT_IDX(kw, i),
                          &hs->list[k][i])) < 0)
        return r;
  }
  return 0;
}

/* ---- linux ------------------------------------------------------------ */

static int parse_namespaces(struct ctx *c, json_t *arr, const struct where *w,
                            struct spec_linux *l) {
  for (size_t i = 0; i < json_array_size(arr); i++) {
    json_t *o = json_array_get(arr, i), *type, *path;
    const struct where *ew = AT_IDX(w, i);
    int r;
    if (!json_is_object(o))
      return fail(c, ew, "must be an object");
    if ((r = get_string(c, o, "type", ew, true, &type)) < 0)
      return r;
    const char *name = json_string_value(type);
    int t = ns_type_from_name(name);
    if (t < 0)
      return fail(c, AT(ew, "type"), "unknown namespace type \"%s\"", name);
    if (l->ns[t].present)
      return fail(c, AT(ew, "type"), "duplicate namespace type \"%s\"", name);
    l->ns[t].present = true;
    if ((r = get_string(c, o, "path", ew, false, &path)) < 0)
      return r;
    /* An empty path means "create", as in Go's zero value. */
    if (!path || !json_string_value(path)[0])
      continue;
    if (json_string_value(path)[0] != '/')
      return fail(c, AT(ew, "path"), "must be an absolute path");
    if (!(l->ns[t].path = dup_string(path)))
      return oom(c);
  }
  return 0;
}

static int parse_time_offsets(struct ctx *c, json_t *o, const struct where *w,
                              struct spec_linux *l) {
  if (!json_is_object(o))
    return fail(c, w, "must be an object");
  const char *clock;
  json_t *v;
  json_object_foreach(o, clock, v) {
    const struct where *cw = AT(w, clock);
    struct spec_time_offset *t;
    if (strcmp(clock, "monotonic") == 0)
      t = &l->time_monotonic;
    else if (strcmp(clock, "boottime") == 0)
      t = &l->time_boottime;
    else
      return fail(c, cw, "unknown clock (want monotonic or boottime)");
    if (json_is_null(v))
      continue;
    if (!json_is_object(v))
      return fail(c, cw, "must be an object");
    json_int_t secs = 0, ns = 0;
    int r;
    if ((r = get_int(c, v, "secs", cw, INT64_MIN, INT64_MAX, false, &secs)) <
            0 ||
        (r = get_int(c, v, "nanosecs", cw, 0, 999999999, false, &ns)) < 0)
      return r;
    t->present = true;
    t->secs = secs;
    t->nanosecs = (uint32_t)ns;
  }
  return 0;
}

static int parse_devices(struct ctx *c, json_t *arr, const struct where *w,
                         struct spec_linux *l) {
  size_t n = json_array_size(arr);
  if (n == 0)
    return 0;
  if (!(l->devices = calloc(n, sizeof *l->devices)))
    return oom(c);
  l->n_devices = n;
  for (size_t i = 0; i < n; i++) {
    json_t *o = json_array_get(arr, i), *type;
    const struct where *ew = AT_IDX(w, i);
    struct spec_device *d = &l->devices[i];
    int r;
    if (!json_is_object(o))
      return fail(c, ew, "must be an object");
    if ((r = abs_path(c, o, "path", ew, true, &d->path)) < 0 ||
        (r = get_string(c, o, "type", ew, true, &type)) < 0)
      return r;
    const char *t = json_string_value(type);
    if (json_string_length(type) != 1 || !strchr("cbup", t[0]))
      return fail(c, AT(ew, "type"),
                  "unknown device type \"%s\" (want c, b, u or p)", t);
    d->type = t[0];
    /* A fifo has no device number. */
    bool need = d->type != 'p';
    json_int_t major = 0, minor = 0;
    if ((r = get_int(c, o, "major", ew, INT64_MIN, INT64_MAX, need, &major)) <
            0 ||
        (r = get_int(c, o, "minor", ew, INT64_MIN, INT64_MAX, need, &minor)) <
            0)
      return r;
    d->major = major;
    d->minor = minor;
    uint32_t v;
    if ((r = get_u32(c, o, "fileMode", ew, false, &v)) < 0)
      return r;
    if (r) {
      d->has_mode = true;
      d->file_mode = (mode_t)v & ~(mode_t)S_IFMT; /* as runc */
    }
    if ((r = get_u32(c, o, "uid", ew, false, &v)) < 0)
      return r;
    if (r) {
      d->has_uid = true;
      d->uid = v;
    }
    if ((r = get_u32(c, o, "gid", ew, false, &v)) < 0)
      return r;
    if (r) {
      d->has_gid = true;
      d->gid = v;
    }
  }
  return 0;
}

static int parse_sysctl(struct ctx *c, json_t *o, const struct where *w,
                        struct spec_linux *l) {
  if (!json_is_object(o))
    return fail(c, w, "must be an object");
  size_t n = json_object_size(o), i = 0;
  if (n == 0)
    return 0;
  if (!(l->sysctl = calloc(n, sizeof *l->sysctl)))
    return oom(c);
  l->n_sysctl = n;
  const char *key;
  json_t *v;
  json_object_foreach(o, key, v) {
    if (!json_is_string(v))
      return fail(c, AT(w, key), "must be a string");
    if (!(l->sysctl[i].key = strdup(key)) ||
        !(l->sysctl[i].value = dup_string(v)))
      return oom(c);
    i++;
  }
  return 0;
}

static const struct {
  const char *name;
  unsigned long flags;
} propagations[] = {
    {"shared", MS_SHARED},
    {"slave", MS_SLAVE},
    {"private", MS_PRIVATE},
    {"unbindable", MS_UNBINDABLE},
    {"rshared", MS_SHARED | MS_REC},
    {"rslave", MS_SLAVE | MS_REC},
    {"rprivate", MS_PRIVATE | MS_REC},
    {"runbindable", MS_UNBINDABLE | MS_REC},
};

static int parse_linux(struct ctx *c, json_t *o, const struct where *w,
                       struct spec_linux *l) {
  if (!json_is_object(o))
    return fail(c, w, "must be an object");
  json_t *v;
  int r;
  if ((r = opt_array(c, o, "namespaces", w, &v)) < 0 ||
      (v && (r = parse_namespaces(c, v, AT(w, "namespaces"), l)) < 0))
    return r;
  if ((r = id_maps(c, o, "uidMappings", w, &l->uid_mappings,
                   &l->n_uid_mappings)) < 0 ||
      (r = id_maps(c, o, "gidMappings", w, &l->gid_mappings,
                   &l->n_gid_mappings)) < 0)
    return r;
  if ((v = member(o, "timeOffsets")) &&
      (r = parse_time_offsets(c, v, AT(w, "timeOffsets"), l)) < 0)
    return r;
  if ((r = opt_array(c, o, "devices", w, &v)) < 0 ||
      (v && (r = parse_devices(c, v, AT(w, "devices"), l)) < 0))
    return r;
  if ((r = opt_strdup(c, o, "cgroupsPath", w, &l->cgroups_path)) < 0)
    return r;
  if ((v = member(o, "sysctl")) &&
      (r = parse_sysctl(c, v, AT(w, "sysctl"), l)) < 0)
    return r;
  if ((r = opt_strv(c, o, "maskedPaths", w, STRV_ABS, &l->masked_paths,
                    &l->n_masked_paths)) < 0 ||
      (r = opt_strv(c, o, "readonlyPaths", w, STRV_ABS, &l->readonly_paths,
                    &l->n_readonly_paths)) < 0)
    return r;
  if ((r = get_string(c, o, "rootfsPropagation", w, false, &v)) < 0)
    return r;
  if (v && json_string_value(v)[0]) {
    const char *p = json_string_value(v);
    size_t i = 0, n = sizeof propagations / sizeof propagations[0];
    while (i < n && strcmp(p, propagations[i].name) != 0)
      i++;
    if (i == n)
      return fail(c, AT(w, "rootfsPropagation"), "unknown propagation \"%s\"",
                  p);
    l->rootfs_propagation = propagations[i].flags;
  }
  if ((r = opt_strdup(c, o, "mountLabel", w, &l->mount_label)) < 0 ||
      (r = keep_object(c, o, "resources", w, &l->resources)) < 0 ||
      (r = keep_object(c, o, "seccomp", w, &l->seccomp)) < 0 ||
      (r = keep_object(c, o, "personality", w, &l->personality)) < 0 ||
      (r = keep_object(c, o, "intelRdt", w, &l->intel_rdt)) < 0 ||
      (r = keep_object(c, o, "netDevices", w, &l->net_devices)) < 0)
    return r;
  return 0;
}

/* ---- the document ----------------------------------------------------- */

static int parse_annotations(struct ctx *c, json_t *doc, struct spec *s) {
  const struct where *w = AT(NULL, "annotations");
  json_t *o = member(doc, "annotations");
  if (!o)
    return (s->annotations = json_object()) ? 0 : oom(c);
  if (!json_is_object(o))
    return fail(c, w, "must be an object");
  const char *key;
  json_t *v;
  json_object_foreach(o, key, v) {
    if (!json_is_string(v))
      return fail(c, AT(w, key), "must be a string");
  }
  s->annotations = json_incref(o);
  return 0;
}

static int parse_doc(struct ctx *c, json_t *doc, struct spec *s) {
  if (!json_is_object(doc))
    return fail(c, NULL, "must be a JSON object");
  json_t *v;
  int r;
  if ((r = get_string(c, doc, "ociVersion", NULL, true, &v)) < 0)
    return r;
  if (strncmp(json_string_value(v), "1.", 2) != 0)
    return fail(c, AT(NULL, "ociVersion"),
                "unsupported version \"%s\" (want 1.x)", json_string_value(v));
  if (!(s->oci_version = dup_string(v)))
    return oom(c);

  const struct where *rw = AT(NULL, "root");
  json_t *root = member(doc, "root");
  if (!root)
    return fail(c, rw, "missing");
  if (!json_is_object(root))
    return fail(c, rw, "must be an object");
  if ((r = get_string(c, root, "path", rw, true, &v)) < 0)
    return r;
  if (!json_string_value(v)[0])
    return fail(c, AT(rw, "path"), "must not be empty");
  if ((r = in_bundle(c, v, &s->root_path)) < 0 ||
      (r = opt_bool(c, root, "readonly", rw, &s->root_readonly)) < 0)
    return r;

  if ((r = opt_strdup(c, doc, "hostname", NULL, &s->hostname)) < 0 ||
      (r = opt_strdup(c, doc, "domainname", NULL, &s->domainname)) < 0)
    return r;

  if ((v = member(doc, "process"))) {
    s->has_process = true;
    if ((r = parse_process(c, v, AT(NULL, "process"), &s->process)) < 0)
      return r;
  }

  if ((r = opt_array(c, doc, "mounts", NULL, &v)) < 0)
    return r;
  if (v && json_array_size(v)) {
    size_t n = json_array_size(v);
    if (!(s->mounts = calloc(n, sizeof *s->mounts)))
      return oom(c);
    s->n_mounts = n;
    const struct where *mw = AT(NULL, "mounts");
    for (size_t i = 0; i < n; i++)
      if ((r = parse_mount(c, json_array_get(v, i), AT_IDX(mw, i),
                           &s->mounts[i])) < 0)
        return r;
  }

  if ((v = member(doc, "hooks")) &&
      (r = parse_hooks(c, v, AT(NULL, "hooks"), &s->hooks)) < 0)
    return r;
  if ((r = parse_annotations(c, doc, s)) < 0)
    return r;
  if ((v = member(doc, "linux")) &&
      (r = parse_linux(c, v, AT(NULL, "linux"), &s->linux)) < 0)
    return r;
  return keep_object(c, doc, "vm", NULL, &s->vm);
}

static int parse_text(struct ctx *c, const char *text, size_t len,
                      struct spec *out) {
  /* jansson integers are long long, yet uint64 fields legitimately hold
   * values up to 2^64-1 (RLIM_INFINITY): the loader wraps them (spec.h). */
  json_error_t jerr;
  json_t *doc = hjson_loadb(text, len, HJSON_WRAP_UINT64, &c->wrapped, &jerr);
  if (!doc) {
    hull_err(c->e, EINVAL, "config.json: invalid JSON at line %d column %d: %s",
             jerr.line, jerr.column, jerr.text);
    one_line(c->e);
    return -EINVAL;
  }
  out->json = doc;
  out->uint64_wrapped = c->wrapped;
  return parse_doc(c, doc, out);
}

int spec_parse(const char *text, size_t len, const char *bundle,
               struct spec *out, struct hull_error *e) {
  struct ctx c = {.e = e, .file = "config.json", .bundle = bundle};
  memset(out, 0, sizeof *out);
  int r = parse_text(&c, text, len, out);
  free(c.bundle_abs);
  if (r < 0)
    spec_free(out);
  return r;
}

int spec_parse_process(json_t *obj, bool wrapped, struct spec_process *out,
                       struct hull_error *e) {
  struct ctx c = {.e = e, .wrapped = wrapped};
  memset(out, 0, sizeof *out);
  int r = parse_process(&c, obj, NULL, out);
  if (r < 0)
    spec_process_free(out);
  return r;
}

/* config.json is read whole: it is small and parsed in one call. Larger
 * than this is not a config anyone wrote. */
#define SPEC_MAX_SIZE (64u << 20)

int spec_load(const char *bundle, struct spec *out, struct hull_error *e) {
  char path[PATH_MAX];
  memset(out, 0, sizeof *out);
  if (!bundle)
    bundle = ".";
  if ((size_t)snprintf(path, sizeof path, "%s/config.json", bundle) >=
      sizeof path)
    return hull_errno(e, ENAMETOOLONG, "config.json: %s/config.json", bundle);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return hull_errno(e, errno, "config.json: %s", path);
  struct stat st;
  char *buf = NULL;
  size_t len = 0;
  int r = 0;
  if (fstat(fd, &st) < 0)
    r = hull_errno(e, errno, "config.json: %s", path);
  else if (!S_ISREG(st.st_mode))
    r = hull_err(e, EINVAL, "config.json: %s: not a regular file", path);
  else if ((uint64_t)st.st_size > SPEC_MAX_SIZE)
    r = hull_err(e, EFBIG, "config.json: %s: larger than %u bytes", path,
                 SPEC_MAX_SIZE);
  else if (!(buf = malloc((size_t)st.st_size + 1)))
    r = hull_err(e, ENOMEM, "config.json: out of memory");
  while (r == 0 && len < (size_t)st.st_size) {
    ssize_t n = read(fd, buf + len, (size_t)st.st_size - len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      r = hull_errno(e, errno, "config.json: %s", path);
    if (n <= 0)
      break; /* truncated under us: parse what was there */
    len += (size_t)n;
  }
  close(fd);
  if (r == 0)
    r = spec_parse(buf, len, bundle, out, e);
  free(buf);
  return r;
}

/* ---- freeing ---------------------------------------------------------- */

void spec_process_free(struct spec_process *p) {
  if (!p)
    return;
  free(p->cwd);
  free(p->args);
  free(p->env);
  free(p->user.additional_gids);
  free(p->user.username);
  for (size_t i = 0; i < p->n_rlimits; i++)
    free(p->rlimits[i].name);
  free(p->rlimits);
  free(p->apparmor_profile);
  free(p->selinux_label);
  json_decref(p->scheduler);
  json_decref(p->io_priority);
  json_decref(p->exec_cpu_affinity);
  memset(p, 0, sizeof *p);
}

static void linux_free(struct spec_linux *l) {
  for (int t = 0; t < NS_COUNT; t++)
    free(l->ns[t].path);
  free(l->uid_mappings);
  free(l->gid_mappings);
  for (size_t i = 0; i < l->n_devices; i++)
    free(l->devices[i].path);
  free(l->devices);
  free(l->cgroups_path);
  for (size_t i = 0; i < l->n_sysctl; i++) {
    free(l->sysctl[i].key);
    free(l->sysctl[i].value);
  }
  free(l->sysctl);
  free(l->masked_paths);
  free(l->readonly_paths);
  free(l->mount_label);
  json_decref(l->resources);
  json_decref(l->seccomp);
  json_decref(l->personality);
  json_decref(l->intel_rdt);
  json_decref(l->net_devices);
}

void spec_free(struct spec *s) {
  if (!s)
    return;
  free(s->oci_version);
  free(s->root_path);
  free(s->hostname);
  free(s->domainname);
  spec_process_free(&s->process);
  for (size_t i = 0; i < s->n_mounts; i++) {
    struct spec_mount *m = &s->mounts[i];
    free(m->destination);
    free(m->type);
    free(m->source);
    free(m->data);
    free(m->uid_mappings);
    free(m->gid_mappings);
  }
  free(s->mounts);
  for (int k = 0; k < HOOK_KIND_COUNT; k++) {
    for (size_t i = 0; i < s->hooks.n[k]; i++) {
      free(s->hooks.list[k][i].path);
      free(s->hooks.list[k][i].args);
      free(s->hooks.list[k][i].env);
    }
    free(s->hooks.list[k]);
  }
  json_decref(s->annotations);
  linux_free(&s->linux);
  json_decref(s->vm);
  json_decref(s->json);
  memset(s, 0, sizeof *s);
}
