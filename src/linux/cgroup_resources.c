/* linux.resources -> cgroup files: validation, the mapping to writes (a
 * plan), and the writes with rollback. See cgroup_resources.h. */
#include "cgroup_resources.h"

#include <ctype.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/bpf.h>
#include <linux/magic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../common/cleanup.h"
#include "../common/fs.h"
#include "../common/json.h"
#include "../common/log.h"

#define U64_MAX_TEXT "18446744073709551615"

static json_t *mem(json_t *o, const char *k) {
  json_t *v = json_object_get(o, k);
  return json_is_null(v) ? NULL : v;
}

/* Messages stay one line even when they quote hostile strings. */
static void one_line(struct hull_error *e) {
  if (!e)
    return;
  for (char *p = e->msg; *p; p++)
    if ((unsigned char)*p < 0x20 || *p == 0x7f)
      *p = '?';
}

/* ====================================================================
 * Validation
 * ==================================================================== */

struct vctx {
  struct hull_error *e;
  const char *file; /* "config.json" */
  const char *root; /* "linux.resources" or "" */
};

/* fail at PARENT.KEY (KEY may be NULL); PARENT is relative to the root and
 * starts with '.' or '[' (or is ""). */
__attribute__((format(printf, 4, 5))) static int
vfail(struct vctx *c, const char *parent, const char *key, const char *fmt,
      ...) {
  char path[320], cause[512];
  snprintf(path, sizeof path, "%s%s%s%s", c->root, parent, key ? "." : "",
           key ? key : "");
  const char *p = path + (path[0] == '.');
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(cause, sizeof cause, fmt, ap);
  va_end(ap);
  hull_err(c->e, EINVAL, "%s: %s%s%s", c->file, p, *p ? ": " : "", cause);
  one_line(c->e);
  return -EINVAL;
}

/* A string must not hide a NUL (jansson allows "\u0000"). */
static bool has_nul(json_t *s) {
  return strlen(json_string_value(s)) != json_string_length(s);
}

/* The members of one object: type, range, required. uint64 members take
 * any integer: 2^63..2^64-1 arrive wrapped to negative numbers (spec.h). */
enum vtype { V_INT, V_U64, V_BOOL, V_STR, V_OBJ, V_ARR };
struct vfield {
  const char *key;
  enum vtype t;
  json_int_t min, max;
  bool required;
};
#define VI(k, lo, hi) {k, V_INT, lo, hi, false}
#define VU(k) {k, V_U64, 0, 0, false}
#define VB(k) {k, V_BOOL, 0, 0, false}
#define VS(k) {k, V_STR, 0, 0, false}
#define VA(k) {k, V_ARR, 0, 0, false}
#define VO(k) {k, V_OBJ, 0, 0, false}
#define RI(k, lo, hi) {k, V_INT, lo, hi, true}
#define RU(k) {k, V_U64, 0, 0, true}
#define RB(k) {k, V_BOOL, 0, 0, true}
#define RS(k) {k, V_STR, 0, 0, true}

static int check(struct vctx *c, json_t *o, const char *w,
                 const struct vfield *f) {
  if (!json_is_object(o))
    return vfail(c, w, NULL, "must be an object");
  for (; f->key; f++) {
    json_t *v = mem(o, f->key);
    if (!v) {
      if (f->required)
        return vfail(c, w, f->key, "missing");
      continue;
    }
    switch (f->t) {
    case V_INT:
      if (!json_is_integer(v) || json_integer_value(v) < f->min ||
          json_integer_value(v) > f->max)
        return vfail(c, w, f->key, "must be an integer in %lld..%lld",
                     (long long)f->min, (long long)f->max);
      break;
    case V_U64:
      if (!json_is_integer(v))
        return vfail(c, w, f->key, "must be an integer in 0.." U64_MAX_TEXT);
      break;
    case V_BOOL:
      if (!json_is_boolean(v))
        return vfail(c, w, f->key, "must be a boolean");
      break;
    case V_STR:
      if (!json_is_string(v) || has_nul(v))
        return vfail(c, w, f->key, "must be a string");
      break;
    case V_OBJ:
      if (!json_is_object(v))
        return vfail(c, w, f->key, "must be an object");
      break;
    case V_ARR:
      if (!json_is_array(v))
        return vfail(c, w, f->key, "must be an array");
      break;
    }
  }
  return 0;
}

/* check every element of the array O.KEY (may be absent) */
static int check_array(struct vctx *c, json_t *o, const char *w, const char *key,
                       const struct vfield *f,
                       int (*more)(struct vctx *, json_t *, const char *)) {
  size_t i;
  json_t *x;
  json_array_foreach(mem(o, key), i, x) {
    char ew[128];
    snprintf(ew, sizeof ew, "%s.%s[%zu]", w, key, i);
    int r = check(c, x, ew, f);
    if (r == 0 && more)
      r = more(c, x, ew);
    if (r < 0)
      return r;
  }
  return 0;
}

static const struct vfield dev_fields[] = {
    RB("allow"), VS("type"), VI("major", -1, UINT32_MAX),
    VI("minor", -1, UINT32_MAX), VS("access"), {0}};
static const struct vfield memory_fields[] = {
    VI("limit", -1, INT64_MAX), VI("reservation", -1, INT64_MAX),
    VI("swap", -1, INT64_MAX), VI("kernel", -1, INT64_MAX),
    VI("kernelTCP", -1, INT64_MAX), VU("swappiness"), VB("disableOOMKiller"),
    VB("useHierarchy"), VB("checkBeforeUpdate"), {0}};
static const struct vfield cpu_fields[] = {
    VU("shares"), VI("quota", INT64_MIN, INT64_MAX), VU("burst"), VU("period"),
    VI("realtimeRuntime", INT64_MIN, INT64_MAX), VU("realtimePeriod"),
    VS("cpus"), VS("mems"), VI("idle", 0, 1), {0}};
static const struct vfield pids_fields[] = {VI("limit", INT64_MIN, INT64_MAX), {0}};
static const struct vfield blkio_fields[] = {
    VI("weight", 0, 1000), VI("leafWeight", 0, 1000), VA("weightDevice"),
    VA("throttleReadBpsDevice"), VA("throttleWriteBpsDevice"),
    VA("throttleReadIOPSDevice"), VA("throttleWriteIOPSDevice"), {0}};
static const struct vfield weight_dev_fields[] = {
    RI("major", 0, UINT32_MAX), RI("minor", 0, UINT32_MAX),
    VI("weight", 0, 1000), VI("leafWeight", 0, 1000), {0}};
static const struct vfield throttle_fields[] = {
    RI("major", 0, UINT32_MAX), RI("minor", 0, UINT32_MAX),
    RU("rate"), {0}};
static const struct vfield hugepage_fields[] = {RS("pageSize"),
                                                RU("limit"), {0}};
static const struct vfield network_fields[] = {VI("classID", 0, UINT32_MAX),
                                               VA("priorities"), {0}};
static const struct vfield prio_fields[] = {
    RS("name"), RI("priority", 0, UINT32_MAX), {0}};
static const struct vfield rdma_fields[] = {
    VI("hcaHandles", 0, UINT32_MAX), VI("hcaObjects", 0, UINT32_MAX), {0}};
static const struct vfield top_fields[] = {
    VA("devices"), VO("memory"), VO("cpu"), VO("pids"), VO("blockIO"),
    VA("hugepageLimits"), VO("network"), VO("rdma"), VO("unified"), {0}};

static int more_device(struct vctx *c, json_t *d, const char *w) {
  const char *t = json_string_value(mem(d, "type"));
  const char *a = json_string_value(mem(d, "access"));
  if (t && *t && strcmp(t, "a") && strcmp(t, "b") && strcmp(t, "c"))
    return vfail(c, w, "type", "unknown device type \"%s\"", t);
  if (a && strspn(a, "rwm") != strlen(a))
    return vfail(c, w, "access", "invalid access \"%s\": only r, w and m", a);
  return 0;
}

/* "2MB", "1GB", "64KB" */
static int more_hugepage(struct vctx *c, json_t *h, const char *w) {
  const char *s = json_string_value(mem(h, "pageSize"));
  size_t d = strspn(s, "0123456789");
  if (d == 0 || d > 12 || strlen(s + d) != 2 || !strchr("KMGTP", s[d]) ||
      s[d + 1] != 'B')
    return vfail(c, w, "pageSize",
                 "invalid page size \"%s\" (a number and KB, MB or GB, like "
                 "\"2MB\")",
                 s);
  return 0;
}

/* interface and rdma device names: one word */
static bool valid_name(const char *p) {
  if (!*p || strlen(p) > 64)
    return false;
  for (; *p; p++)
    if ((unsigned char)*p <= ' ' || *p == 0x7f)
      return false;
  return true;
}

static int more_prio(struct vctx *c, json_t *p, const char *w) {
  const char *n = json_string_value(mem(p, "name"));
  return valid_name(n) ? 0 : vfail(c, w, "name", "invalid interface name \"%s\"", n);
}

static int validate_more(struct vctx *c, json_t *res) {
  json_t *m = mem(res, "memory"), *cpu = mem(res, "cpu"), *v;
  const char *k;
  int r;
  if (m) {
    json_int_t lim = json_integer_value(mem(m, "limit")),
               swap = json_integer_value(mem(m, "swap"));
    v = mem(m, "swappiness");
    if (v && (uint64_t)json_integer_value(v) > 100 &&
        (uint64_t)json_integer_value(v) != UINT64_MAX)
      return vfail(c, ".memory", "swappiness", "must be an integer in 0..100");
    if (lim > 0 && swap > 0 && swap < lim)
      return vfail(c, ".memory", "swap",
                   "%lld is less than memory.limit %lld (swap is the limit of "
                   "memory plus swap)",
                   (long long)swap, (long long)lim);
  }
  for (int i = 0; cpu && i < 2; i++) {
    const char *s = json_string_value(mem(cpu, i ? "mems" : "cpus"));
    /* the kernel's list syntax: "0-3,5,8-15:2/4" */
    if (s && strspn(s, "0123456789,-:/ \n") != strlen(s))
      return vfail(c, ".cpu", i ? "mems" : "cpus", "invalid %s list \"%s\"",
                   i ? "memory node" : "CPU", s);
  }
  json_object_foreach(mem(res, "rdma"), k, v) {
    char w[128];
    snprintf(w, sizeof w, ".rdma[\"%.64s\"]", k);
    if (!valid_name(k))
      return vfail(c, w, NULL, "invalid device name");
    if ((r = check(c, v, w, rdma_fields)) < 0)
      return r;
  }
  json_object_foreach(mem(res, "unified"), k, v) {
    char w[128];
    snprintf(w, sizeof w, ".unified[\"%.64s\"]", k);
    if (!*k || strchr(k, '/') || !strchr(k, '.') || k[0] == '.' || strlen(k) > 64)
      return vfail(c, w, NULL, "must be a file name like \"memory.high\"");
    if (!strcmp(k, "cgroup.procs") || !strcmp(k, "cgroup.threads"))
      return vfail(c, w, NULL, "moving processes is not a resource setting");
    if (!json_is_string(v) || has_nul(v))
      return vfail(c, w, NULL, "must be a string");
  }
  return 0;
}

int cgroup_resources_validate_as(json_t *res, const char *prefix,
                                 struct hull_error *e) {
  struct vctx c = {.e = e, .file = prefix, .root = ""};
  if (!prefix) {
    c.file = "config.json";
    c.root = "linux.resources";
  }
  if (!res)
    return 0;
  int r;
  json_t *b = mem(res, "blockIO");
  static const char *const thr[] = {"throttleReadBpsDevice",
                                    "throttleWriteBpsDevice",
                                    "throttleReadIOPSDevice",
                                    "throttleWriteIOPSDevice"};
  if ((r = check(&c, res, "", top_fields)) < 0 ||
      (r = check_array(&c, res, "", "devices", dev_fields, more_device)) < 0 ||
      (mem(res, "memory") &&
       (r = check(&c, mem(res, "memory"), ".memory", memory_fields)) < 0) ||
      (mem(res, "cpu") && (r = check(&c, mem(res, "cpu"), ".cpu", cpu_fields)) < 0) ||
      (mem(res, "pids") &&
       (r = check(&c, mem(res, "pids"), ".pids", pids_fields)) < 0) ||
      (b && (r = check(&c, b, ".blockIO", blkio_fields)) < 0) ||
      (r = check_array(&c, b, ".blockIO", "weightDevice", weight_dev_fields,
                       NULL)) < 0 ||
      (r = check_array(&c, res, "", "hugepageLimits", hugepage_fields,
                       more_hugepage)) < 0 ||
      (mem(res, "network") &&
       (r = check(&c, mem(res, "network"), ".network", network_fields)) < 0) ||
      (r = check_array(&c, mem(res, "network"), ".network", "priorities",
                       prio_fields, more_prio)) < 0)
    return r;
  for (int i = 0; i < 4; i++)
    if ((r = check_array(&c, b, ".blockIO", thr[i], throttle_fields, NULL)) < 0)
      return r;
  return validate_more(&c, res);
}

int cgroup_resources_validate(json_t *res, struct hull_error *e) {
  return cgroup_resources_validate_as(res, NULL, e);
}

/* ====================================================================
 * Conversions
 * ==================================================================== */

uint64_t cgroup_shares_to_weight(uint64_t shares) {
  if (shares == 0)
    return 0;
  if (shares < 2)
    shares = 2;
  if (shares > 262144)
    shares = 262144;
  return 1 + ((shares - 2) * 9999) / 262142;
}

uint64_t cgroup_blkio_to_io_weight(uint64_t w) {
  if (w == 0)
    return 0;
  if (w < 10)
    w = 10;
  if (w > 1000)
    w = 1000;
  return 1 + ((w - 10) * 9999) / 990;
}

int cgroup_swap_to_v2(int64_t swap, int64_t limit, int64_t *out,
                      struct hull_error *e) {
  /* -1 memory with swap unset: both unlimited, as v1 would have it */
  if (limit == -1 && swap == 0) {
    *out = -1;
    return 0;
  }
  if (swap == -1 || swap == 0) {
    *out = swap;
    return 0;
  }
  if (limit == 0 || limit == -1)
    return hull_err(e, EINVAL,
                    "linux.resources.memory.swap %" PRId64
                    ": a swap limit needs a memory limit",
                    swap);
  if (swap < limit)
    return hull_err(e, EINVAL,
                    "linux.resources.memory.swap %" PRId64
                    ": less than memory.limit %" PRId64
                    " (swap is the limit of memory plus swap)",
                    swap, limit);
  *out = swap - limit;
  return 0;
}

/* ====================================================================
 * Layout
 * ==================================================================== */

static const char *const v1_names[CG_COUNT] = {
    "cpu",     "cpuacct", "cpuset",  "memory",  "pids",     "blkio",
    "hugetlb", "devices", "freezer", "net_cls", "net_prio", "rdma"};
static const char *const v2_names[CG_COUNT] = {
    "cpu", "cpu", "cpuset", "memory", "pids", "io", "hugetlb",
    NULL,  NULL,  NULL,     NULL,     "rdma"};

const char *cgroup_ctrl_name(enum cg_ctrl c, bool v2) {
  if ((unsigned)c >= CG_COUNT)
    return NULL;
  return v2 ? v2_names[c] : v1_names[c];
}

/* The top of DIR's cgroup2 mount (DIR itself when its parent is not
 * cgroup2: a test tree, or the root). */
static void v2_root(const char *dir, char *out, size_t len) {
  snprintf(out, len, "%s", dir);
  for (;;) {
    char *slash = strrchr(out, '/');
    if (!slash || slash == out)
      return;
    *slash = 0;
    struct statfs sf;
    if (statfs(out, &sf) < 0 || sf.f_type != CGROUP2_SUPER_MAGIC) {
      *slash = '/';
      return;
    }
  }
}

/* Is WORD in the space-separated list in DIR/FILE? */
static bool file_has_word(const char *dir, const char *file, const char *word) {
  char p[PATH_MAX];
  snprintf(p, sizeof p, "%s/%s", dir, file);
  _cleanup_free_ char *t = NULL;
  if (fs_read_file(p, &t, NULL, NULL) < 0)
    return false;
  size_t l = strlen(word);
  for (char *q = t; (q = strstr(q, word)); q += l)
    if ((q == t || isspace((unsigned char)q[-1])) &&
        (!q[l] || isspace((unsigned char)q[l])))
      return true;
  return false;
}

void cgroup_layout_from_set(const struct cgroup_set *s, struct cgroup_layout *l) {
  memset(l, 0, sizeof *l);
  for (size_t i = 0; i < s->n; i++) {
    if (s->dirs[i].v2) {
      if (!l->unified)
        l->unified = s->dirs[i].path;
    } else {
      l->any_v1 = true;
    }
  }
  char root[PATH_MAX] = "";
  if (l->unified)
    v2_root(l->unified, root, sizeof root);
  for (int c = 0; c < CG_COUNT; c++) {
    l->dir[c] = cgroup_dir_for(s, v1_names[c]);
    if (l->dir[c] || !l->unified)
      continue;
    if (c == CG_DEVICES || c == CG_FREEZER ||
        (v2_names[c] &&
         (!l->any_v1 || file_has_word(root, "cgroup.controllers", v2_names[c])))) {
      l->dir[c] = l->unified;
      l->v2[c] = true;
    }
  }
}

/* ====================================================================
 * Plan
 * ==================================================================== */

#define F "linux.resources"

/* snprintf(d, n, "%s", s) without the printf machinery: plans are made
 * on every create, and that machinery dominated their cost. */
static void copy_text(char *d, size_t n, const char *s) {
  size_t l = strnlen(s, n - 1);
  memcpy(d, s, l);
  d[l] = 0;
}

/* Append a write. On ENOMEM the plan is marked (cgroup_plan_make fails at
 * the end) and NULL returned. */
__attribute__((format(printf, 7, 8))) static struct cg_write *
add(struct cg_plan *p, const char *dir, const char *file, const char *field,
    const char *shown, unsigned flags, const char *fmt, ...) {
  if (p->n == p->cap) {
    size_t cap = p->cap ? p->cap * 2 : 16;
    struct cg_write *nw = realloc(p->w, cap * sizeof *nw);
    if (!nw) {
      p->nomem = true;
      return NULL;
    }
    p->w = nw;
    p->cap = cap;
  }
  struct cg_write *w = &p->w[p->n];
  memset(w, 0, sizeof *w);
  va_list ap;
  va_start(ap, fmt);
  int r = vasprintf(&w->value, fmt, ap);
  va_end(ap);
  if (r < 0) {
    p->nomem = true;
    return NULL;
  }
  w->dir = dir;
  copy_text(w->file, sizeof w->file, file);
  copy_text(w->field, sizeof w->field, field);
  copy_text(w->shown, sizeof w->shown, shown);
  w->flags = flags;
  p->n++;
  return w;
}

/* A write to a file with a line per device or interface ("KEY VALUE");
 * RESET is the line that clears KEY's setting. */
static void add_keyed(struct cg_plan *p, const char *dir, const char *file,
                      const char *field, const char *shown, const char *key,
                      const char *reset, const char *value) {
  struct cg_write *w = add(p, dir, file, field, shown, 0, "%s %s", key, value);
  if (w) {
    snprintf(w->key, sizeof w->key, "%s", key);
    snprintf(w->reset, sizeof w->reset, "%s %s", key, reset);
  }
}

__attribute__((format(printf, 2, 3))) static void warn(struct cg_plan *p,
                                                        const char *fmt, ...) {
  size_t n = strlen(p->warnings);
  if (n && n < sizeof p->warnings - 2)
    n += (size_t)snprintf(p->warnings + n, sizeof p->warnings - n, "; ");
  if (n >= sizeof p->warnings)
    return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(p->warnings + n, sizeof p->warnings - n, fmt, ap);
  va_end(ap);
}

static int oom_err(struct hull_error *e) { return hull_errno(e, ENOMEM, F); }

static int no_ctrl(struct hull_error *e, const char *field, const char *ctrl) {
  return hull_err(e, ENOTSUP,
                  "%s: the %s cgroup controller is not available on this host",
                  field, ctrl);
}

/* Read DIR/FILE, first line trimmed, into buf. */
static int read_line(const char *dir, const char *file, char *buf, size_t len) {
  char p[PATH_MAX];
  snprintf(p, sizeof p, "%s/%s", dir, file);
  _cleanup_close_ int fd = open(p, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -errno;
  ssize_t n = read(fd, buf, len - 1);
  if (n < 0)
    return -errno;
  buf[n] = 0;
  buf[strcspn(buf, "\n")] = 0;
  return 0;
}

static bool exists(const char *dir, const char *file) {
  char p[PATH_MAX];
  snprintf(p, sizeof p, "%s/%s", dir, file);
  return access(p, F_OK) == 0;
}

/* numbers as text in a temporary that lives for the enclosing block */
static const char *u64_text(char *b, uint64_t v) {
  sprintf(b, "%" PRIu64, v);
  return b;
}
static const char *i64_text(char *b, int64_t v) {
  sprintf(b, "%" PRId64, v);
  return b;
}
#define US(v) u64_text((char[24]){0}, (v))
#define IS(v) i64_text((char[24]){0}, (v))
/* v2 style: negative -> "max" */
#define MAXS(v) ((v) < 0 ? "max" : IS(v))

struct i64f {
  bool set;
  int64_t v;
};
static struct i64f geti(json_t *o, const char *k) {
  json_t *v = mem(o, k);
  struct i64f r = {v != NULL, v ? json_integer_value(v) : 0};
  return r;
}
static uint64_t getu(json_t *o, const char *k) {
  return (uint64_t)json_integer_value(mem(o, k));
}

static int plan_memory(struct cg_plan *p, json_t *m, const struct cgroup_layout *l,
                       const struct cg_plan_opts *o, struct hull_error *e) {
  struct i64f lim = geti(m, "limit"), swap = geti(m, "swap"),
              res = geti(m, "reservation");
  json_t *oomk = mem(m, "disableOOMKiller");
  uint64_t swv = mem(m, "swappiness") ? getu(m, "swappiness") : UINT64_MAX;
  const char *dir = l->dir[CG_MEMORY];
  char tmp[32];
  if (mem(m, "kernel") || mem(m, "kernelTCP"))
    warn(p, F ".memory.kernel/kernelTCP: ignored (kernel memory limits are "
              "obsolete)");
  if (!(lim.v || swap.v || res.v || json_is_true(oomk) || (o->is_update && oomk) ||
        swv != UINT64_MAX))
    return 0;
  if (!dir)
    return no_ctrl(e, F ".memory", "memory");
  if (!l->v2[CG_MEMORY]) {
    int64_t sv = swap.v;
    unsigned sflags = 0;
    if (lim.v == -1 && sv == 0 && exists(dir, "memory.memsw.limit_in_bytes")) {
      sv = -1; /* unlimited memory: unlimited swap too (runc) */
      sflags = CGW_ENOENT_OK;
    }
    /* the kernel keeps memsw >= memory at every step: raise first what
     * grows */
    bool swap_first = lim.v && sv &&
                      (sv == -1 ||
                       (read_line(dir, "memory.limit_in_bytes", tmp, sizeof tmp) == 0 &&
                        strtoull(tmp, NULL, 10) < (uint64_t)sv));
    for (int pass = 0; pass < 2; pass++) {
      if ((pass == 0) == swap_first) {
        if (sv)
          add(p, dir, "memory.memsw.limit_in_bytes", F ".memory.swap", IS(swap.v),
              sflags, "%" PRId64, sv);
      } else if (lim.v) {
        add(p, dir, "memory.limit_in_bytes", F ".memory.limit", IS(lim.v), 0,
            "%" PRId64, lim.v);
      }
    }
    if (res.v)
      add(p, dir, "memory.soft_limit_in_bytes", F ".memory.reservation",
          IS(res.v), 0, "%" PRId64, res.v);
    if (oomk && (json_is_true(oomk) || o->is_update))
      add(p, dir, "memory.oom_control", F ".memory.disableOOMKiller",
          json_is_true(oomk) ? "true" : "false", CGW_OOM_CONTROL, "%d",
          json_is_true(oomk));
    if (swv != UINT64_MAX)
      add(p, dir, "memory.swappiness", F ".memory.swappiness", US(swv), 0,
          "%" PRIu64, swv);
    return 0;
  }
  /* v2: memory.swap.max is swap alone; update may give swap without the
   * limit it is relative to */
  int64_t lim_for_swap = lim.v, sw;
  if (o->is_update && !lim.set && swap.v > 0) {
    int r = read_line(dir, "memory.max", tmp, sizeof tmp);
    if (r < 0)
      return hull_errno(e, -r, F ".memory.swap %" PRId64 ": read %s/memory.max",
                        swap.v, dir);
    lim_for_swap = strcmp(tmp, "max") ? strtoll(tmp, NULL, 10) : -1;
  }
  int r = cgroup_swap_to_v2(swap.v, lim_for_swap, &sw, e);
  if (r < 0)
    return r;
  if (sw || swap.v > 0) /* 0 with swap set: swap == limit, no swap at all */
    add(p, dir, "memory.swap.max", F ".memory.swap", IS(swap.v),
        sw <= 0 ? CGW_ENOENT_OK : 0, "%s", MAXS(sw));
  if (lim.v) {
    if (o->is_update && lim.v > 0 && json_is_true(mem(m, "checkBeforeUpdate")) &&
        read_line(dir, "memory.current", tmp, sizeof tmp) == 0 &&
        strtoll(tmp, NULL, 10) > lim.v)
      return hull_err(e, EBUSY,
                      F ".memory.limit %" PRId64 ": below the current usage %s "
                        "(checkBeforeUpdate)",
                      lim.v, tmp);
    add(p, dir, "memory.max", F ".memory.limit", IS(lim.v), 0, "%s", MAXS(lim.v));
  }
  if (res.v)
    add(p, dir, "memory.low", F ".memory.reservation", IS(res.v), 0, "%s",
        MAXS(res.v));
  if (json_is_true(oomk))
    warn(p, F ".memory.disableOOMKiller: ignored (not in cgroup v2)");
  if (swv != UINT64_MAX)
    warn(p, F ".memory.swappiness: ignored (not in cgroup v2)");
  return 0;
}

static int plan_cpu(struct cg_plan *p, json_t *c, const struct cgroup_layout *l,
                    const struct cg_plan_opts *o, struct hull_error *e) {
  uint64_t shares = getu(c, "shares"), period = getu(c, "period"),
           burst = getu(c, "burst"), rt_period = getu(c, "realtimePeriod");
  struct i64f quota = geti(c, "quota"), rtr = geti(c, "realtimeRuntime"),
              idle = geti(c, "idle");
  bool has_burst = mem(c, "burst") != NULL;
  const char *dir = l->dir[CG_CPU];
  bool v2 = l->v2[CG_CPU];
  if (shares || period || has_burst || quota.v || rt_period || rtr.v || idle.set) {
    if (!dir)
      return no_ctrl(e, F ".cpu", "cpu");
    if (v2 && (rt_period || rtr.v))
      return hull_err(e, ENOTSUP,
                      F ".cpu.%s: realtime limits are not supported on cgroup v2",
                      rtr.v ? "realtimeRuntime" : "realtimePeriod");
    if (shares)
      add(p, dir, v2 ? "cpu.weight" : "cpu.shares", F ".cpu.shares", US(shares),
          v2 ? 0 : CGW_VERIFY, "%" PRIu64,
          v2 ? cgroup_shares_to_weight(shares) : shares);
    if (idle.set)
      add(p, dir, "cpu.idle", F ".cpu.idle", IS(idle.v), 0, "%" PRId64, idle.v);
    /* burst <= quota, and a shorter period may push the old quota over the
     * parent's: what the kernel refuses now is retried after the rest */
    if (has_burst)
      add(p, dir, v2 ? "cpu.max.burst" : "cpu.cfs_burst_us", F ".cpu.burst",
          US(burst), CGW_DEFER_EINVAL | (burst ? 0 : CGW_ENOENT_OK), "%" PRIu64,
          burst);
    if (!v2) {
      if (period)
        add(p, dir, "cpu.cfs_period_us", F ".cpu.period", US(period),
            CGW_DEFER_EINVAL, "%" PRIu64, period);
      if (quota.v)
        add(p, dir, "cpu.cfs_quota_us", F ".cpu.quota", IS(quota.v),
            CGW_DEFER_EINVAL, "%" PRId64, quota.v < 0 ? -1 : quota.v);
      if (rt_period)
        add(p, dir, "cpu.rt_period_us", F ".cpu.realtimePeriod", US(rt_period), 0,
            "%" PRIu64, rt_period);
      if (rtr.v)
        add(p, dir, "cpu.rt_runtime_us", F ".cpu.realtimeRuntime", IS(rtr.v), 0,
            "%" PRId64, rtr.v);
    } else if (quota.v || period) {
      /* "QUOTA PERIOD"; update keeps the current quota when only the period
       * changes */
      char q[32] = "max", cur[64];
      if (quota.v > 0)
        snprintf(q, sizeof q, "%" PRId64, quota.v);
      else if (!quota.v && o->is_update &&
               read_line(dir, "cpu.max", cur, sizeof cur) == 0)
        snprintf(q, sizeof q, "%.*s", (int)strcspn(cur, " "), cur);
      add(p, dir, "cpu.max", quota.v ? F ".cpu.quota" : F ".cpu.period",
          quota.v ? IS(quota.v) : US(period), CGW_DEFER_EINVAL, "%s%s%s", q,
          period ? " " : "", period ? US(period) : "");
    }
  }
  static const char *const lists[] = {"cpus", "mems"};
  for (int i = 0; i < 2; i++) {
    const char *t = json_string_value(mem(c, lists[i]));
    if (!t || !*t)
      continue;
    char file[32], field[48];
    snprintf(file, sizeof file, "cpuset.%s", lists[i]);
    snprintf(field, sizeof field, F ".cpu.%s", lists[i]);
    if (!l->dir[CG_CPUSET])
      return no_ctrl(e, field, "cpuset");
    add(p, l->dir[CG_CPUSET], file, field, t, 0, "%s", t);
  }
  return 0;
}

static const char *dev_key(json_t *d, char *buf) {
  sprintf(buf, "%" PRIu64 ":%" PRIu64, getu(d, "major"), getu(d, "minor"));
  return buf;
}

static int plan_block_io(struct cg_plan *p, json_t *b,
                         const struct cgroup_layout *l, struct hull_error *e) {
  static const char *const thr[] = {"throttleReadBpsDevice",
                                    "throttleWriteBpsDevice",
                                    "throttleReadIOPSDevice",
                                    "throttleWriteIOPSDevice"};
  static const char *const v1f[] = {
      "blkio.throttle.read_bps_device", "blkio.throttle.write_bps_device",
      "blkio.throttle.read_iops_device", "blkio.throttle.write_iops_device"};
  static const char *const v2k[] = {"rbps", "wbps", "riops", "wiops"};
  const char *dir = l->dir[CG_BLKIO];
  bool v2 = l->v2[CG_BLKIO];
  uint64_t weight = getu(b, "weight"), leaf = getu(b, "leafWeight");
  json_t *wd = mem(b, "weightDevice");
  bool any = weight || leaf || json_array_size(wd);
  for (int i = 0; i < 4; i++)
    any = any || json_array_size(mem(b, thr[i]));
  if (!any)
    return 0;
  if (!dir)
    return no_ctrl(e, F ".blockIO", "blkio");
  /* BFQ takes the v1 range as is; io.weight (iocost) is 1..10000 */
  bool bfq = exists(dir, v2 ? "io.bfq.weight" : "blkio.bfq.weight") &&
             (v2 || !exists(dir, "blkio.weight"));
  bool conv = v2 && !bfq;
  const char *wfile = v2 ? (bfq ? "io.bfq.weight" : "io.weight")
                         : (bfq ? "blkio.bfq.weight" : "blkio.weight");
  if (weight)
    add(p, dir, wfile, F ".blockIO.weight", US(weight), 0, "%" PRIu64,
        conv ? cgroup_blkio_to_io_weight(weight) : weight);
  if (leaf && v2)
    warn(p, F ".blockIO.leafWeight: ignored (not in cgroup v2)");
  else if (leaf)
    add(p, dir, "blkio.leaf_weight", F ".blockIO.leafWeight", US(leaf), 0,
        "%" PRIu64, leaf);
  char field[96], devfile[48], key[48];
  snprintf(devfile, sizeof devfile, "%s%s", wfile, v2 ? "" : "_device");
  size_t i;
  json_t *d;
  json_array_foreach(wd, i, d) {
    uint64_t w = getu(d, "weight"), lw = getu(d, "leafWeight");
    snprintf(field, sizeof field, F ".blockIO.weightDevice[%zu].weight", i);
    if (w)
      add_keyed(p, dir, devfile, field, US(w), dev_key(d, key),
                v2 ? "default" : "0",
                US(conv ? cgroup_blkio_to_io_weight(w) : w));
    snprintf(field, sizeof field, F ".blockIO.weightDevice[%zu].leafWeight", i);
    if (lw && v2)
      warn(p, "%s: ignored (not in cgroup v2)", field);
    else if (lw)
      add_keyed(p, dir, "blkio.leaf_weight_device", field, US(lw),
                dev_key(d, key), "0", US(lw));
  }
  for (int t = 0; t < 4; t++) {
    json_array_foreach(mem(b, thr[t]), i, d) {
      uint64_t rate = getu(d, "rate");
      char val[48];
      snprintf(field, sizeof field, F ".blockIO.%s[%zu].rate", thr[t], i);
      snprintf(val, sizeof val, "%s=%s", v2k[t], rate ? US(rate) : "max");
      if (v2)
        add_keyed(p, dir, "io.max", field, US(rate), dev_key(d, key),
                  "rbps=max wbps=max riops=max wiops=max", val);
      else
        add_keyed(p, dir, v1f[t], field, US(rate), dev_key(d, key), "0", US(rate));
    }
  }
  return 0;
}

static int plan_hugepages(struct cg_plan *p, json_t *a,
                          const struct cgroup_layout *l, struct hull_error *e) {
  const char *dir = l->dir[CG_HUGETLB];
  bool v2 = l->v2[CG_HUGETLB];
  size_t i;
  json_t *h;
  json_array_foreach(a, i, h) {
    const char *size = json_string_value(mem(h, "pageSize"));
    uint64_t lim = getu(h, "limit");
    char field[64], shown[64], file[64];
    snprintf(field, sizeof field, F ".hugepageLimits[%zu].limit", i);
    snprintf(shown, sizeof shown, "%" PRIu64 " (pageSize %s)", lim, size);
    if (!dir)
      return no_ctrl(e, field, "hugetlb");
    snprintf(file, sizeof file, "hugetlb.%s.%s", size,
             v2 ? "max" : "limit_in_bytes");
    add(p, dir, file, field, shown, 0, "%" PRIu64, lim);
    snprintf(file, sizeof file, "hugetlb.%s.rsvd.%s", size,
             v2 ? "max" : "limit_in_bytes");
    add(p, dir, file, field, shown, CGW_ENOENT_OK, "%" PRIu64, lim);
    if (v2 && l->any_v1)
      p->enable_v2 |= 1u << CG_HUGETLB;
  }
  return 0;
}

static int plan_network(struct cg_plan *p, json_t *n,
                        const struct cgroup_layout *l, struct hull_error *e) {
  uint64_t cls = getu(n, "classID");
  json_t *prio = mem(n, "priorities");
  if (!cls && !json_array_size(prio))
    return 0;
  if (l->unified && !l->any_v1) { /* as runc and crun */
    warn(p, F ".network: ignored (cgroup v2 has no net_cls/net_prio)");
    return 0;
  }
  if (cls && !l->dir[CG_NET_CLS])
    return no_ctrl(e, F ".network.classID", "net_cls");
  if (cls)
    add(p, l->dir[CG_NET_CLS], "net_cls.classid", F ".network.classID", US(cls),
        0, "%" PRIu64, cls);
  size_t i;
  json_t *d;
  json_array_foreach(prio, i, d) {
    char field[64];
    snprintf(field, sizeof field, F ".network.priorities[%zu]", i);
    if (!l->dir[CG_NET_PRIO])
      return no_ctrl(e, field, "net_prio");
    add_keyed(p, l->dir[CG_NET_PRIO], "net_prio.ifpriomap", field,
              US(getu(d, "priority")), json_string_value(mem(d, "name")), "0",
              US(getu(d, "priority")));
  }
  return 0;
}

static int plan_rdma(struct cg_plan *p, json_t *o, const struct cgroup_layout *l,
                     struct hull_error *e) {
  const char *k;
  json_t *v;
  json_object_foreach(o, k, v) {
    char field[128], text[96] = "";
    snprintf(field, sizeof field, F ".rdma.%s", k);
    if (!l->dir[CG_RDMA])
      return no_ctrl(e, field, "rdma");
    struct i64f h = geti(v, "hcaHandles"), ob = geti(v, "hcaObjects");
    if (h.set)
      snprintf(text, sizeof text, "hca_handle=%" PRId64 "%s", h.v, ob.set ? " " : "");
    if (ob.set)
      snprintf(text + strlen(text), sizeof text - strlen(text),
               "hca_object=%" PRId64, ob.v);
    if (*text)
      add_keyed(p, l->dir[CG_RDMA], "rdma.max", field, text, k,
                "hca_handle=max hca_object=max", text);
    if (*text && l->v2[CG_RDMA] && l->any_v1)
      p->enable_v2 |= 1u << CG_RDMA;
  }
  return 0;
}

static int plan_unified(struct cg_plan *p, json_t *o, const struct cgroup_layout *l,
                        struct hull_error *e) {
  if (!json_object_size(o))
    return 0;
  if (!l->unified)
    return hull_err(e, ENOTSUP, F ".unified: requires cgroup v2");
  const char *k;
  json_t *v;
  json_object_foreach(o, k, v) {
    char field[128];
    snprintf(field, sizeof field, F ".unified.%s", k);
    add(p, l->unified, k, field, json_string_value(v), 0, "%s",
        json_string_value(v));
    /* hybrid: a controller only cgroup2 has must be enabled on the way */
    for (int c = 0; c < CG_COUNT; c++) {
      size_t n = v2_names[c] ? strlen(v2_names[c]) : 0;
      if (n && l->any_v1 && l->v2[c] && !strncmp(k, v2_names[c], n) && k[n] == '.')
        p->enable_v2 |= 1u << c;
    }
  }
  return 0;
}

/* ---- devices ---- */

static int push_rule(struct cg_dev_rule **v, size_t *n, size_t *cap,
                     struct cg_dev_rule r) {
  if (*n == *cap) {
    size_t c = *cap ? *cap * 2 : 32;
    struct cg_dev_rule *nv = realloc(*v, c * sizeof *nv);
    if (!nv)
      return -ENOMEM;
    *v = nv;
    *cap = c;
  }
  (*v)[(*n)++] = r;
  return 0;
}

static unsigned access_bits(const char *s) {
  unsigned a = 0;
  for (; s && *s; s++)
    a |= *s == 'r' ? CG_DEV_READ : *s == 'w' ? CG_DEV_WRITE : CG_DEV_MKNOD;
  return a ? a : CG_DEV_READ | CG_DEV_WRITE | CG_DEV_MKNOD;
}

/* A device number or '*', written backwards into the end of tmp. */
static const char *dev_number(int64_t v, char tmp[24]) {
  char *p = tmp + 23;
  *p = 0;
  if (v < 0) {
    *--p = '*';
    return p;
  }
  do
    *--p = (char)('0' + v % 10);
  while ((v /= 10) > 0);
  return p;
}

void cgroup_dev_rule_text(const struct cg_dev_rule *r, char *buf, size_t len) {
  char text[64], t1[24], t2[24];
  size_t n = 0;
  if (r->type == 'a') {
    text[n++] = 'a';
  } else {
    const char *maj = dev_number(r->major, t1), *min = dev_number(r->minor, t2);
    text[n++] = r->type;
    text[n++] = ' ';
    n += (size_t)(stpcpy(text + n, maj) - (text + n));
    text[n++] = ':';
    n += (size_t)(stpcpy(text + n, min) - (text + n));
    text[n++] = ' ';
    if (r->access & CG_DEV_READ)
      text[n++] = 'r';
    if (r->access & CG_DEV_WRITE)
      text[n++] = 'w';
    if (r->access & CG_DEV_MKNOD)
      text[n++] = 'm';
  }
  text[n] = 0;
  copy_text(buf, len, text);
}

/* runc's default allow list (libcontainer/specconv AllowedDevices); a
 * linux.devices entry with the same path replaces the rule (as in runc:
 * then only linux.resources.devices decides). */
static const struct {
  const char *path;
  struct cg_dev_rule rule;
} default_rules[] = {
    {NULL, {true, 'c', -1, -1, CG_DEV_MKNOD}},
    {NULL, {true, 'b', -1, -1, CG_DEV_MKNOD}},
    {"/dev/null", {true, 'c', 1, 3, 7}},
    {"/dev/random", {true, 'c', 1, 8, 7}},
    {"/dev/full", {true, 'c', 1, 7, 7}},
    {"/dev/tty", {true, 'c', 5, 0, 7}},
    {"/dev/zero", {true, 'c', 1, 5, 7}},
    {"/dev/urandom", {true, 'c', 1, 9, 7}},
    {NULL, {true, 'c', 136, -1, 7}}, /* /dev/pts/ */
    {NULL, {true, 'c', 5, 2, 7}},    /* /dev/ptmx */
    {NULL, {true, 'c', 10, 200, 7}}, /* /dev/net/tun */
};
#define N_DEFAULT_RULES (sizeof default_rules / sizeof *default_rules)

static bool replaced(const char *path, const struct cg_plan_opts *o) {
  for (size_t i = 0; path && i < o->n_devices; i++)
    if (o->devices[i].path && !strcmp(o->devices[i].path, path))
      return true;
  return false;
}

static int plan_devices(struct cg_plan *p, json_t *devs,
                        const struct cgroup_layout *l,
                        const struct cg_plan_opts *o, struct hull_error *e) {
  const char *dir = l->dir[CG_DEVICES];
  if (!dir)
    return hull_err(e, ENOTSUP,
                    F ".devices: no devices cgroup controller and no cgroup2 "
                      "hierarchy for an eBPF device filter: device access "
                      "cannot be restricted");
  size_t total = 1 + json_array_size(devs) + N_DEFAULT_RULES;
  struct cg_dev_rule *rules = calloc(total, sizeof *rules);
  char(*names)[48] = calloc(total, sizeof *names);
  size_t n = 0, i;
  if (!rules || !names) {
    free(rules);
    free(names);
    return oom_err(e);
  }
  /* deny everything first */
  snprintf(names[n], sizeof names[n], F ".devices");
  rules[n++] = (struct cg_dev_rule){false, 'a', -1, -1, 7};
  json_t *d;
  json_array_foreach(devs, i, d) {
    json_t *t = mem(d, "type"), *ma = mem(d, "major"), *mi = mem(d, "minor");
    const char *ts = t ? json_string_value(t) : "a";
    snprintf(names[n], sizeof names[n], F ".devices[%zu]", i);
    rules[n++] = (struct cg_dev_rule){
        .allow = json_is_true(mem(d, "allow")),
        .type = *ts ? *ts : 'a',
        .major = ma ? json_integer_value(ma) : -1,
        .minor = mi ? json_integer_value(mi) : -1,
        .access = access_bits(json_string_value(mem(d, "access"))),
    };
  }
  for (i = 0; o->default_devices && i < N_DEFAULT_RULES; i++) {
    if (replaced(default_rules[i].path, o))
      continue;
    snprintf(names[n], sizeof names[n], "default device rule");
    rules[n++] = default_rules[i].rule;
  }
  if (l->v2[CG_DEVICES]) {
    p->bpf_dir = dir;
    p->rules = rules;
    p->n_rules = n;
    rules = NULL;
  }
  for (i = 0; rules && i < n; i++) {
    char text[64];
    cgroup_dev_rule_text(&rules[i], text, sizeof text);
    add(p, dir, rules[i].allow ? "devices.allow" : "devices.deny", names[i], text,
        CGW_NO_RESTORE, "%s", text);
  }
  free(rules);
  free(names);
  return 0;
}

int cgroup_plan_make(json_t *res, const struct cgroup_layout *l,
                     const struct cg_plan_opts *o, struct cg_plan *p,
                     struct hull_error *e) {
  memset(p, 0, sizeof *p);
  int r = 0;
  if (res && !json_is_object(res))
    return hull_err(e, EINVAL, F ": must be an object");
  if (!o->is_update && l->unified && !l->any_v1) {
    p->enable_v2 = ~0u; /* pure v2: every controller the root offers */
    p->enable_dir = l->unified;
  }
  json_t *v;
  if ((v = mem(res, "memory")) && (r = plan_memory(p, v, l, o, e)) < 0)
    goto fail;
  if ((v = mem(res, "cpu")) && (r = plan_cpu(p, v, l, o, e)) < 0)
    goto fail;
  if ((v = mem(mem(res, "pids"), "limit"))) {
    int64_t lim = json_integer_value(v);
    if (!l->dir[CG_PIDS]) {
      r = no_ctrl(e, F ".pids.limit", "pids");
      goto fail;
    }
    add(p, l->dir[CG_PIDS], "pids.max", F ".pids.limit", IS(lim), 0, "%s",
        lim > 0 ? IS(lim) : "max");
  }
  if ((v = mem(res, "blockIO")) && (r = plan_block_io(p, v, l, e)) < 0)
    goto fail;
  if ((v = mem(res, "hugepageLimits")) && (r = plan_hugepages(p, v, l, e)) < 0)
    goto fail;
  if ((v = mem(res, "network")) && (r = plan_network(p, v, l, e)) < 0)
    goto fail;
  if ((v = mem(res, "rdma")) && (r = plan_rdma(p, v, l, e)) < 0)
    goto fail;
  if (!o->is_update && (r = plan_devices(p, mem(res, "devices"), l, o, e)) < 0)
    goto fail;
  /* unified last: it overrides what the fields above wrote */
  if ((v = mem(res, "unified")) && (r = plan_unified(p, v, l, e)) < 0)
    goto fail;
  if (p->nomem) {
    r = oom_err(e);
    goto fail;
  }
  if (p->enable_v2 && !p->enable_dir)
    p->enable_dir = l->unified;
  return 0;
fail:
  cgroup_plan_free(p);
  return r;
}

void cgroup_plan_free(struct cg_plan *p) {
  for (size_t i = 0; i < p->n; i++)
    free(p->w[i].value);
  free(p->w);
  free(p->rules);
  memset(p, 0, sizeof *p);
}

/* ====================================================================
 * Execute
 * ==================================================================== */

/* What to write back to undo W, from the file's current content. NULL:
 * nothing (the file cannot be read). */
static char *restore_text(const struct cg_write *w) {
  char p[PATH_MAX];
  snprintf(p, sizeof p, "%s/%s", w->dir, w->file);
  _cleanup_free_ char *t = NULL;
  if (fs_read_file(p, &t, NULL, NULL) < 0)
    return NULL;
  if (w->key[0]) {
    size_t kl = strlen(w->key);
    for (char *line = t; line && *line;) {
      char *nl = strchr(line, '\n');
      if (nl)
        *nl = 0;
      if (!strncmp(line, w->key, kl) && (line[kl] == ' ' || line[kl] == '\t')) {
        for (char *q = line; *q; q++)
          if (*q == '\t')
            *q = ' ';
        return strdup(line);
      }
      line = nl ? nl + 1 : NULL;
    }
    return strdup(w->reset);
  }
  if (w->flags & CGW_OOM_CONTROL) {
    char *q = strstr(t, "oom_kill_disable ");
    return strdup(q && q[17] == '1' ? "1" : "0");
  }
  size_t n = strlen(t);
  while (n && (t[n - 1] == '\n' || t[n - 1] == ' '))
    t[--n] = 0;
  return hull_steal_ptr(&t);
}

static const char *hint(const char *file, int err) {
  bool memlim = !strcmp(file, "memory.limit_in_bytes") || !strcmp(file, "memory.max");
  if (err == EBUSY && (memlim || strstr(file, "memsw") || !strcmp(file, "memory.swap.max")))
    return " (below current usage?)";
  if (err == EINVAL && strstr(file, "memsw"))
    return " (must be at least the memory limit)";
  if ((err == EINVAL || err == ERANGE) && !strncmp(file, "cpuset.", 7))
    return " (not within the parent's cpuset?)";
  if (err == EINVAL && !strncmp(file, "cpu.rt_", 7))
    return " (more than the parent cgroup allows?)";
  if (err == ENOENT)
    return " (not supported by this kernel, or the controller is not enabled)";
  return "";
}

static int write_err(struct hull_error *e, const struct cg_write *w, int err) {
  if (err == ENOENT)
    hull_err(e, err, "%s %s: %s/%s: %s%s", w->field, w->shown, w->dir, w->file,
             strerror(err), hint(w->file, err));
  else
    hull_err(e, err, "%s %s: %s%s", w->field, w->shown, strerror(err),
             hint(w->file, err));
  one_line(e);
  return -err;
}

static int do_write(const struct cg_write *w, const char *text) {
  char p[PATH_MAX];
  snprintf(p, sizeof p, "%s/%s", w->dir, w->file);
  return fs_write_string(p, text);
}

/* Consecutive writes to one rule file (the device rules: a dozen lines
 * into devices.allow) share one descriptor: each write(2) is one rule. */
struct write_cache {
  const char *dir, *file;
  int fd;
};

static int cached_write(struct write_cache *c, const struct cg_write *w,
                        const char *text) {
  if (c->fd < 0 || c->dir != w->dir || strcmp(c->file, w->file)) {
    if (c->fd >= 0)
      close(c->fd);
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/%s", w->dir, w->file);
    c->fd = open(p, O_WRONLY | O_CLOEXEC);
    if (c->fd < 0)
      return -errno;
    c->dir = w->dir;
    c->file = w->file;
  }
  ssize_t n;
  size_t len = strlen(text);
  do
    n = write(c->fd, text, len);
  while (n < 0 && errno == EINTR);
  if (n < 0) {
    int err = errno;
    close(c->fd); /* a failed write may leave the file in any state */
    c->fd = -1;
    return -err;
  }
  return (size_t)n == len ? 0 : -EIO;
}

int cgroup_plan_execute(const struct cg_plan *p, bool rollback,
                        struct hull_error *e) {
  if (p->warnings[0])
    log_warn("%s", p->warnings);
  if (p->enable_dir && p->enable_v2)
    cgroup_v2_enable(p->enable_dir, p->enable_v2);
  size_t n = p->n, nd = 0;
  char **old = calloc(n + 1, sizeof *old);
  size_t *done = calloc(n + 1, sizeof *done);
  bool *deferred = calloc(n + 1, sizeof *deferred);
  int r = 0;
  if (!old || !done || !deferred) {
    r = oom_err(e);
    goto out;
  }
  struct write_cache cache = {.fd = -1};
  for (int pass = 0; pass < 2 && r == 0; pass++) {
    for (size_t i = 0; i < n; i++) {
      const struct cg_write *w = &p->w[i];
      if (pass == 1 && !deferred[i])
        continue;
      if (rollback && !(w->flags & CGW_NO_RESTORE) && !old[i])
        old[i] = restore_text(w);
      /* Only the rule files take many writes through one descriptor
       * (a regular file would need O_TRUNC for each). */
      int wr = (w->flags & CGW_NO_RESTORE) ? cached_write(&cache, w, w->value)
                                           : do_write(w, w->value);
      if (wr == -EINVAL && (w->flags & CGW_DEFER_EINVAL) && pass == 0) {
        deferred[i] = true;
        continue;
      }
      if (wr == -ENOENT && (w->flags & CGW_ENOENT_OK))
        continue;
      if (wr < 0) {
        r = write_err(e, w, -wr);
        break;
      }
      done[nd++] = i;
      if (w->flags & CGW_VERIFY) {
        char back[64];
        if (read_line(w->dir, w->file, back, sizeof back) == 0 &&
            strtoull(back, NULL, 10) != strtoull(w->value, NULL, 10)) {
          r = hull_err(e, ERANGE, "%s %s: out of range (the kernel made it %s)",
                       w->field, w->shown, back);
          break;
        }
      }
    }
  }
  if (cache.fd >= 0)
    close(cache.fd);
  if (r == 0 && p->bpf_dir)
    r = cgroup_dev_bpf_apply(p->bpf_dir, p->rules, p->n_rules, e);
  if (r < 0 && rollback) {
    char extra[256] = "";
    for (size_t k = nd; k-- > 0;) {
      const struct cg_write *w = &p->w[done[k]];
      if (!old[done[k]])
        continue;
      int rr = do_write(w, old[done[k]]);
      if (rr < 0 && !extra[0])
        snprintf(extra, sizeof extra, "; restoring %s/%s to \"%.40s\" failed: %s",
                 w->dir, w->file, old[done[k]], strerror(-rr));
    }
    if (extra[0] && e) {
      size_t l = strlen(e->msg);
      snprintf(e->msg + l, sizeof e->msg - l, "%s", extra);
      one_line(e);
    }
  }
out:
  for (size_t i = 0; old && i < n; i++)
    free(old[i]);
  free(old);
  free(done);
  free(deferred);
  return r;
}

/* ====================================================================
 * cgroup2: enabling controllers
 * ==================================================================== */

void cgroup_v2_enable(const char *dir, unsigned ctrls) {
  char root[PATH_MAX];
  v2_root(dir, root, sizeof root);
  size_t rl = strlen(root);
  if (strncmp(dir, root, rl) || dir[rl] != '/')
    return;
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s", root);
  /* each ancestor from the root down to DIR's parent: Q is what is left
   * of DIR below PATH */
  for (const char *q = dir + rl; *q;) {
    const char *next = strchr(q + 1, '/');
    if (!next)
      next = q + strlen(q);
    for (int c = 0; c < CG_COUNT; c++) {
      const char *name = v2_names[c];
      if (!name || !(ctrls & (1u << c)) || (c == CG_CPUACCT))
        continue;
      if (!file_has_word(path, "cgroup.controllers", name) ||
          file_has_word(path, "cgroup.subtree_control", name))
        continue;
      char f[PATH_MAX + 32], plus[32];
      snprintf(f, sizeof f, "%s/cgroup.subtree_control", path);
      snprintf(plus, sizeof plus, "+%s", name);
      if (fs_write_string(f, plus) < 0)
        log_debug("cgroup %s: enable %s: %s", path, name, strerror(errno));
    }
    size_t pl = strlen(path);
    snprintf(path + pl, sizeof path - pl, "%.*s", (int)(next - q), q);
    q = next;
  }
}

/* ====================================================================
 * Devices: the v1 kernel's semantics, emulated, and an eBPF program
 * ==================================================================== */

int cgroup_dev_emulate(const struct cg_dev_rule *rules, size_t n,
                       bool *default_allow, struct cg_dev_rule **exc,
                       size_t *n_exc) {
  bool allow = false;
  struct cg_dev_rule *v = NULL;
  size_t cnt = 0, cap = 0;
  for (size_t i = 0; i < n; i++) {
    const struct cg_dev_rule *r = &rules[i];
    if (r->type == 'a') {
      allow = r->allow;
      cnt = 0;
      continue;
    }
    size_t k;
    for (k = 0; k < cnt; k++)
      if (v[k].type == r->type && v[k].major == r->major && v[k].minor == r->minor)
        break;
    if (r->allow == allow) {
      /* matches the default: take the access away from the exception */
      if (k < cnt && !(v[k].access &= ~r->access))
        memmove(&v[k], &v[k + 1], (--cnt - k) * sizeof *v);
    } else if (k < cnt) {
      v[k].access |= r->access;
    } else {
      struct cg_dev_rule x = *r;
      x.allow = !allow;
      if (push_rule(&v, &cnt, &cap, x) < 0) {
        free(v);
        return -ENOMEM;
      }
    }
  }
  *default_allow = allow;
  *exc = v;
  *n_exc = cnt;
  return 0;
}

bool cgroup_dev_allowed(bool default_allow, const struct cg_dev_rule *exc,
                        size_t n_exc, char type, uint32_t major, uint32_t minor,
                        unsigned access) {
  for (size_t i = 0; i < n_exc; i++) {
    const struct cg_dev_rule *x = &exc[i];
    if (x->type != type || (x->major >= 0 && (uint32_t)x->major != major) ||
        (x->minor >= 0 && (uint32_t)x->minor != minor))
      continue;
    if (default_allow ? (access & x->access) : !(access & ~x->access))
      return !default_allow;
  }
  return default_allow;
}

static struct bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off,
                            int32_t imm) {
  struct bpf_insn i = {.code = code, .dst_reg = dst, .src_reg = src, .off = off,
                       .imm = imm};
  return i;
}

int cgroup_dev_bpf_build(const struct cg_dev_rule *rules, size_t n, void **out,
                         size_t *n_out) {
  bool allow;
  struct cg_dev_rule *exc;
  size_t ne;
  if (cgroup_dev_emulate(rules, n, &allow, &exc, &ne) < 0)
    return -ENOMEM;
  struct bpf_insn *p = calloc(8 + ne * 8, sizeof *p);
  if (!p) {
    free(exc);
    return -ENOMEM;
  }
  size_t k = 0;
  /* struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; } */
  p[k++] = insn(BPF_LDX | BPF_W | BPF_MEM, BPF_REG_2, BPF_REG_1, 0, 0);
  p[k++] = insn(BPF_ALU | BPF_MOV | BPF_X, BPF_REG_3, BPF_REG_2, 0, 0);
  p[k++] = insn(BPF_ALU | BPF_AND | BPF_K, BPF_REG_3, 0, 0, 0xffff); /* type */
  p[k++] = insn(BPF_ALU | BPF_RSH | BPF_K, BPF_REG_2, 0, 0, 16);     /* access */
  p[k++] = insn(BPF_LDX | BPF_W | BPF_MEM, BPF_REG_4, BPF_REG_1, 4, 0);
  p[k++] = insn(BPF_LDX | BPF_W | BPF_MEM, BPF_REG_5, BPF_REG_1, 8, 0);
  for (size_t i = 0; i < ne; i++) {
    const struct cg_dev_rule *x = &exc[i];
    size_t end = k + 6 + (x->major >= 0) + (x->minor >= 0);
#define JUMP_OUT(op, reg, imm)                                                  \
  do {                                                                          \
    p[k] = insn(BPF_JMP32 | (op) | BPF_K, (reg), 0, (int16_t)(end - (k + 1)),   \
                (int32_t)(imm));                                                \
    k++;                                                                        \
  } while (0)
    JUMP_OUT(BPF_JNE, BPF_REG_3,
             x->type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR);
    p[k++] = insn(BPF_ALU | BPF_MOV | BPF_X, BPF_REG_6, BPF_REG_2, 0, 0);
    if (allow) { /* a deny exception: any overlap denies */
      p[k++] = insn(BPF_ALU | BPF_AND | BPF_K, BPF_REG_6, 0, 0, (int32_t)x->access);
      JUMP_OUT(BPF_JEQ, BPF_REG_6, 0);
    } else { /* an allow exception must cover all the access asked for */
      p[k++] = insn(BPF_ALU | BPF_AND | BPF_K, BPF_REG_6, 0, 0,
                    (int32_t)(~x->access & 7));
      JUMP_OUT(BPF_JNE, BPF_REG_6, 0);
    }
    if (x->major >= 0)
      JUMP_OUT(BPF_JNE, BPF_REG_4, (uint32_t)x->major);
    if (x->minor >= 0)
      JUMP_OUT(BPF_JNE, BPF_REG_5, (uint32_t)x->minor);
#undef JUMP_OUT
    p[k++] = insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, allow ? 0 : 1);
    p[k++] = insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
  }
  p[k++] = insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, allow ? 1 : 0);
  p[k++] = insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
  free(exc);
  *out = p;
  *n_out = k;
  return 0;
}

static int sys_bpf(int cmd, union bpf_attr *a) {
  return (int)syscall(SYS_bpf, cmd, a, sizeof *a);
}

int cgroup_dev_bpf_apply(const char *dir, const struct cg_dev_rule *rules,
                         size_t n, struct hull_error *e) {
  void *insns;
  size_t ni;
  if (cgroup_dev_bpf_build(rules, n, &insns, &ni) < 0)
    return oom_err(e);
  static char log_buf[8192];
  union bpf_attr a;
  memset(&a, 0, sizeof a);
  a.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  a.insns = (uintptr_t)insns;
  a.insn_cnt = (uint32_t)ni;
  a.license = (uintptr_t) "GPL";
  _cleanup_close_ int prog = sys_bpf(BPF_PROG_LOAD, &a);
  if (prog < 0) {
    int err = errno;
    a.log_buf = (uintptr_t)log_buf;
    a.log_size = sizeof log_buf;
    a.log_level = 1;
    log_buf[0] = 0;
    int again = sys_bpf(BPF_PROG_LOAD, &a);
    if (again >= 0)
      close(again);
    free(insns);
    log_buf[strcspn(log_buf, "\n")] = 0; /* the verifier's first complaint */
    hull_err(e, err, F ".devices: load the eBPF device filter: %s%s%.200s",
             strerror(err), log_buf[0] ? ": " : "", log_buf);
    one_line(e);
    return -err;
  }
  free(insns);
  _cleanup_close_ int cg = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (cg < 0)
    return hull_errno(e, errno, F ".devices: %s", dir);
  uint32_t ids[64];
  union bpf_attr q;
  memset(&q, 0, sizeof q);
  q.query.target_fd = (uint32_t)cg;
  q.query.attach_type = BPF_CGROUP_DEVICE;
  q.query.prog_ids = (uintptr_t)ids;
  q.query.prog_cnt = 64;
  uint32_t n_old = sys_bpf(BPF_PROG_QUERY, &q) == 0 ? q.query.prog_cnt : 0;
  memset(&a, 0, sizeof a);
  a.target_fd = (uint32_t)cg;
  a.attach_bpf_fd = (uint32_t)prog;
  a.attach_type = BPF_CGROUP_DEVICE;
  a.attach_flags = BPF_F_ALLOW_MULTI;
  if (sys_bpf(BPF_PROG_ATTACH, &a) < 0)
    return hull_errno(e, errno, F ".devices: attach the eBPF device filter to %s",
                      dir);
  for (uint32_t i = 0; i < n_old && i < 64; i++) {
    memset(&q, 0, sizeof q);
    q.prog_id = ids[i];
    _cleanup_close_ int old = sys_bpf(BPF_PROG_GET_FD_BY_ID, &q);
    if (old < 0)
      continue;
    memset(&a, 0, sizeof a);
    a.target_fd = (uint32_t)cg;
    a.attach_bpf_fd = (uint32_t)old;
    a.attach_type = BPF_CGROUP_DEVICE;
    sys_bpf(BPF_PROG_DETACH, &a);
  }
  return 0;
}

/* ====================================================================
 * Entry points
 * ==================================================================== */

static int apply(const struct cgroup_set *s, json_t *res,
                 const struct cg_plan_opts *o, struct hull_error *e) {
  int r = cgroup_resources_validate(res, e);
  if (r < 0)
    return r;
  struct cgroup_layout l;
  cgroup_layout_from_set(s, &l);
  struct cg_plan p;
  if ((r = cgroup_plan_make(res, &l, o, &p, e)) < 0)
    return r;
  r = cgroup_plan_execute(&p, o->is_update, e);
  cgroup_plan_free(&p);
  return r;
}

int cgroup_apply_spec(const struct cgroup_set *s, const struct spec *spec,
                      struct hull_error *e) {
  struct cg_plan_opts o = {
      .default_devices = true,
      .devices = spec->linux.devices,
      .n_devices = spec->linux.n_devices,
  };
  return apply(s, spec->linux.resources, &o, e);
}

int cgroup_apply_resources(const struct cgroup_set *s, json_t *res,
                           bool is_update, struct hull_error *e) {
  struct cg_plan_opts o = {.is_update = is_update, .default_devices = !is_update};
  return apply(s, res, &o, e);
}
