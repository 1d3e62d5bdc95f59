/* pause/resume, events and update: see cgroup_stats.h. */
#include "cgroup_stats.h"

#include <ctype.h>
#include <stddef.h>
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#include "../common/cleanup.h"
#include "../common/fs.h"
#include "../common/json.h"
#include "../common/log.h"
#include "cgroup_resources.h"

#define FREEZE_TIMEOUT_MS 10000

static void sleep_us(long us) {
  struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
  nanosleep(&ts, NULL);
}

static long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* DIR/FILE's whole content (NULL when unreadable); caller frees. */
static char *rd(const char *dir, const char *file) {
  char p[PATH_MAX];
  snprintf(p, sizeof p, "%s/%s", dir, file);
  char *t = NULL;
  return fs_read_file(p, &t, NULL, NULL) < 0 ? NULL : t;
}

/* First word of DIR/FILE as a number: "max" is UINT64_MAX; *ok false when
 * the file is missing or not a number. */
static uint64_t rd_u64(const char *dir, const char *file, bool *ok) {
  _cleanup_free_ char *t = dir ? rd(dir, file) : NULL;
  if (ok)
    *ok = false;
  if (!t)
    return 0;
  if (!strncmp(t, "max", 3)) {
    if (ok)
      *ok = true;
    return UINT64_MAX;
  }
  char *end;
  errno = 0;
  uint64_t v = strtoull(t, &end, 10);
  if (end == t || errno)
    return 0;
  if (ok)
    *ok = true;
  return v;
}

/* The value after "KEY " in a "key value" per line file. */
static bool kv_get(const char *text, const char *key, uint64_t *out) {
  size_t l = strlen(key);
  for (const char *p = text; p && *p;) {
    if (!strncmp(p, key, l) && (p[l] == ' ' || p[l] == '\t')) {
      *out = strtoull(p + l + 1, NULL, 10);
      return true;
    }
    p = strchr(p, '\n');
    if (p)
      p++;
  }
  return false;
}

/* ====================================================================
 * Freezer
 * ==================================================================== */

static int freeze_v1(const char *dir, bool frozen, struct hull_error *e) {
  char p[PATH_MAX], st[32];
  snprintf(p, sizeof p, "%s/freezer.state", dir);
  if (!frozen) {
    int r = fs_write_string(p, "THAWED");
    if (r < 0)
      return hull_errno(e, -r, "cgroup %s: thaw", dir);
    for (long end = now_ms() + FREEZE_TIMEOUT_MS; now_ms() < end; sleep_us(1000)) {
      _cleanup_free_ char *t = rd(dir, "freezer.state");
      if (!t || !strncmp(t, "THAWED", 6))
        return 0;
    }
    return hull_err(e, ETIMEDOUT, "cgroup %s: thaw: still not THAWED after %d s",
                    dir, FREEZE_TIMEOUT_MS / 1000);
  }
  /* As runc: cgroup v1 cannot reliably freeze a cgroup while processes
   * appear in it; retry, thawing now and then, and give up thawed. */
  for (int i = 0; i < 1000; i++) {
    if (i % 50 == 49) {
      fs_write_string(p, "THAWED");
      sleep_us(10000);
    }
    int r = fs_write_string(p, "FROZEN");
    if (r < 0)
      return hull_errno(e, -r, "cgroup %s: freeze", dir);
    if (i % 25 == 24)
      sleep_us(10);
    _cleanup_free_ char *t = rd(dir, "freezer.state");
    if (!t)
      return hull_errno(e, errno, "cgroup %s: freezer.state", dir);
    snprintf(st, sizeof st, "%.*s", (int)strcspn(t, "\n"), t);
    if (!strcmp(st, "FREEZING"))
      continue;
    if (!strcmp(st, "FROZEN"))
      return 0;
    return hull_err(e, EIO, "cgroup %s: unexpected freezer state \"%s\"", dir, st);
  }
  fs_write_string(p, "THAWED");
  return hull_err(e, EBUSY, "cgroup %s: unable to freeze (processes kept "
                            "appearing); left thawed", dir);
}

/* Wait until DIR's cgroup.events says "frozen WANT". */
static int wait_frozen_v2(const char *dir, int want, int timeout_ms) {
  char p[PATH_MAX];
  snprintf(p, sizeof p, "%s/cgroup.events", dir);
  _cleanup_close_ int fd = open(p, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -errno;
  long end = now_ms() + timeout_ms;
  for (;;) {
    char buf[512];
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    if (n < 0)
      return -errno;
    buf[n] = 0;
    uint64_t v;
    if (kv_get(buf, "frozen", &v) && (int)v == want)
      return 0;
    long left = end - now_ms();
    if (left <= 0)
      return -ETIMEDOUT;
    /* kernfs notifies pollers of cgroup.events with POLLPRI; the short
     * timeout covers a missed notification. */
    struct pollfd pf = {fd, POLLPRI, 0};
    poll(&pf, 1, left < 100 ? (int)left : 100);
  }
}

static int freeze_v2(const char *dir, bool frozen, struct hull_error *e) {
  char p[PATH_MAX];
  snprintf(p, sizeof p, "%s/cgroup.freeze", dir);
  int r = fs_write_string(p, frozen ? "1" : "0");
  if (r < 0)
    return hull_errno(e, -r, "cgroup %s: %s", dir, frozen ? "freeze" : "thaw");
  r = wait_frozen_v2(dir, frozen, FREEZE_TIMEOUT_MS);
  if (r == 0)
    return 0;
  if (frozen)
    fs_write_string(p, "0");
  return hull_errno(e, -r, "cgroup %s: %s did not settle", dir,
                    frozen ? "freeze" : "thaw");
}

int cgroup_freeze(const struct cgroup_set *s, bool frozen, struct hull_error *e) {
  struct cgroup_layout l;
  cgroup_layout_from_set(s, &l);
  const char *dir = l.dir[CG_FREEZER];
  if (!dir)
    return hull_err(e, ENOTSUP,
                    "cgroups: cannot %s: no freezer (neither the v1 freezer "
                    "controller nor cgroup v2)",
                    frozen ? "pause" : "resume");
  return l.v2[CG_FREEZER] ? freeze_v2(dir, frozen, e) : freeze_v1(dir, frozen, e);
}

int cgroup_frozen(const struct cgroup_set *s) {
  struct cgroup_layout l;
  cgroup_layout_from_set(s, &l);
  const char *dir = l.dir[CG_FREEZER];
  if (!dir)
    return -ENOTSUP;
  _cleanup_free_ char *t = rd(dir, l.v2[CG_FREEZER] ? "cgroup.freeze" : "freezer.state");
  if (!t)
    return -errno;
  if (!l.v2[CG_FREEZER])
    return !strncmp(t, "FROZEN", 6);
  if (t[0] != '1')
    return 0;
  _cleanup_free_ char *ev = rd(dir, "cgroup.events");
  uint64_t v = 0;
  return ev && kv_get(ev, "frozen", &v) && v == 1;
}

/* ====================================================================
 * Statistics
 * ==================================================================== */

static json_t *ju(uint64_t v) { return json_integer((json_int_t)v); }

/* set KEY (omitempty: only when non-zero) */
static void put(json_t *o, const char *k, uint64_t v, bool omitempty) {
  if (!omitempty || v)
    json_object_set_new(o, k, ju(v));
}

static void put_nonempty(json_t *o, const char *k, json_t *v) {
  if (v && ((json_is_array(v) && json_array_size(v)) ||
            (json_is_object(v) && json_object_size(v))))
    json_object_set_new(o, k, v);
  else
    json_decref(v);
}

/* "a b c" -> [a, b, c] */
static json_t *num_list(const char *t) {
  json_t *a = json_array();
  for (const char *p = t; p && *p;) {
    char *end;
    uint64_t v = strtoull(p, &end, 10);
    if (end == p)
      break;
    json_array_append_new(a, ju(v));
    p = end;
    while (*p && isspace((unsigned char)*p))
      p++;
  }
  return a;
}

/* "0-3,8" -> [0,1,2,3,8] (at most 65536 entries) */
static json_t *cpu_list(const char *t) {
  json_t *a = json_array();
  for (const char *p = t; p && *p && json_array_size(a) < 65536;) {
    char *end;
    unsigned long lo = strtoul(p, &end, 10), hi;
    if (end == p)
      break;
    hi = lo;
    p = end;
    if (*p == '-') {
      hi = strtoul(p + 1, &end, 10);
      p = end;
    }
    for (unsigned long v = lo; v <= hi && v - lo < 65536; v++)
      json_array_append_new(a, ju(v));
    while (*p == ',' || isspace((unsigned char)*p))
      p++;
  }
  return a;
}

/* "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nfull ..." */
static json_t *psi(const char *dir, const char *file) {
  _cleanup_free_ char *t = rd(dir, file);
  if (!t)
    return NULL;
  json_t *o = json_object();
  for (char *line = strtok(t, "\n"); line; line = strtok(NULL, "\n")) {
    char kind[8];
    double a10, a60, a300;
    unsigned long long total;
    if (sscanf(line, "%7s avg10=%lf avg60=%lf avg300=%lf total=%llu", kind, &a10,
               &a60, &a300, &total) != 5)
      continue;
    json_object_set_new(o, kind,
                        json_pack("{s:f, s:f, s:f, s:I}", "avg10", a10, "avg60",
                                  a60, "avg300", a300, "total",
                                  (json_int_t)total));
  }
  return o;
}

static json_t *cpu_stats(const struct cgroup_layout *l) {
  json_t *cpu = json_object(), *usage = json_object(), *thr = json_object();
  const char *acct = l->dir[CG_CPUACCT], *cdir = l->dir[CG_CPU];
  uint64_t total = 0, user = 0, kernel = 0;
  if (acct && !l->v2[CG_CPUACCT]) {
    total = rd_u64(acct, "cpuacct.usage", NULL);
    _cleanup_free_ char *pc = rd(acct, "cpuacct.usage_percpu");
    json_t *percpu = num_list(pc);
    _cleanup_free_ char *all = rd(acct, "cpuacct.usage_all");
    json_t *pk = json_array(), *pu = json_array();
    char *line = all ? strchr(all, '\n') : NULL; /* skip "cpu user system" */
    while (line && *++line) {
      unsigned long long cpun, u, s;
      if (sscanf(line, "%llu %llu %llu", &cpun, &u, &s) == 3) {
        json_array_append_new(pu, ju(u));
        json_array_append_new(pk, ju(s));
      }
      line = strchr(line, '\n');
    }
    _cleanup_free_ char *st = rd(acct, "cpuacct.stat");
    long hz = sysconf(_SC_CLK_TCK);
    if (st && hz > 0) {
      uint64_t v;
      if (kv_get(st, "user", &v))
        user = v * (1000000000ULL / (uint64_t)hz);
      if (kv_get(st, "system", &v))
        kernel = v * (1000000000ULL / (uint64_t)hz);
    }
    put(usage, "total", total, true);
    put_nonempty(usage, "percpu", percpu);
    put_nonempty(usage, "percpu_kernel", pk);
    put_nonempty(usage, "percpu_user", pu);
  }
  if (cdir && !l->v2[CG_CPU]) {
    _cleanup_free_ char *st = rd(cdir, "cpu.stat");
    uint64_t v;
    if (st && kv_get(st, "nr_periods", &v))
      put(thr, "periods", v, true);
    if (st && kv_get(st, "nr_throttled", &v))
      put(thr, "throttledPeriods", v, true);
    if (st && kv_get(st, "throttled_time", &v))
      put(thr, "throttledTime", v, true);
  }
  if (cdir && l->v2[CG_CPU]) {
    _cleanup_free_ char *st = rd(cdir, "cpu.stat");
    uint64_t v;
    if (st && kv_get(st, "usage_usec", &v))
      put(usage, "total", v * 1000, true);
    if (st && kv_get(st, "user_usec", &v))
      user = v * 1000;
    if (st && kv_get(st, "system_usec", &v))
      kernel = v * 1000;
    if (st && kv_get(st, "nr_periods", &v))
      put(thr, "periods", v, true);
    if (st && kv_get(st, "nr_throttled", &v))
      put(thr, "throttledPeriods", v, true);
    if (st && kv_get(st, "throttled_usec", &v))
      put(thr, "throttledTime", v * 1000, true);
  }
  put(usage, "kernel", kernel, false);
  put(usage, "user", user, false);
  json_object_set_new(cpu, "usage", usage);
  json_object_set_new(cpu, "throttling", thr);
  if (cdir && l->v2[CG_CPU])
    put_nonempty(cpu, "psi", psi(cdir, "cpu.pressure"));
  return cpu;
}

static json_t *cpuset_stats(const struct cgroup_layout *l) {
  json_t *o = json_object();
  const char *dir = l->dir[CG_CPUSET];
  bool v2 = l->v2[CG_CPUSET];
  _cleanup_free_ char *cpus = dir ? rd(dir, v2 ? "cpuset.cpus.effective" : "cpuset.cpus") : NULL;
  _cleanup_free_ char *mems = dir ? rd(dir, v2 ? "cpuset.mems.effective" : "cpuset.mems") : NULL;
  static const char *const fields[] = {
      "cpu_exclusive", "mems", "mem_hardwall", "mem_exclusive", "memory_migrate",
      "memory_spread_page", "memory_spread_slab", "memory_pressure",
      "sched_load_balance", NULL};
  put_nonempty(o, "cpus", cpu_list(cpus));
  for (int i = 0; fields[i]; i++) {
    if (!strcmp(fields[i], "mems")) {
      put_nonempty(o, "mems", cpu_list(mems));
      continue;
    }
    char f[64];
    snprintf(f, sizeof f, "cpuset.%s", fields[i]);
    put(o, fields[i], dir && !v2 ? rd_u64(dir, f, NULL) : 0, false);
  }
  _cleanup_free_ char *rl = dir && !v2 ? rd(dir, "cpuset.sched_relax_domain_level") : NULL;
  json_object_set_new(o, "sched_relax_domain_level",
                      json_integer(rl ? strtoll(rl, NULL, 10) : 0));
  return o;
}

/* {"limit":..,"usage":..,"max":..,"failcnt":..} of memory[.PART].* (v1) */
static json_t *mem_entry_v1(const char *dir, const char *part) {
  char f[64];
  json_t *o = json_object();
  const char *pre = part ? part : "";
  const char *dot = part ? "." : "";
  snprintf(f, sizeof f, "memory.%s%slimit_in_bytes", pre, dot);
  put(o, "limit", rd_u64(dir, f, NULL), false);
  snprintf(f, sizeof f, "memory.%s%susage_in_bytes", pre, dot);
  put(o, "usage", rd_u64(dir, f, NULL), true);
  snprintf(f, sizeof f, "memory.%s%smax_usage_in_bytes", pre, dot);
  put(o, "max", rd_u64(dir, f, NULL), true);
  snprintf(f, sizeof f, "memory.%s%sfailcnt", pre, dot);
  put(o, "failcnt", rd_u64(dir, f, NULL), false);
  return o;
}

static int cmp_keys(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* "key value" lines as an object with sorted keys (as Go prints maps) */
static json_t *kv_object(const char *dir, const char *file) {
  json_t *o = json_object(), *sorted = json_object();
  _cleanup_free_ char *t = rd(dir, file);
  for (char *line = t ? strtok(t, "\n") : NULL; line; line = strtok(NULL, "\n")) {
    char k[128];
    unsigned long long v;
    if (sscanf(line, "%127s %llu", k, &v) == 2)
      json_object_set_new(o, k, ju(v));
  }
  size_t n = json_object_size(o), i = 0;
  const char **keys = calloc(n + 1, sizeof *keys);
  const char *k;
  json_t *v;
  json_object_foreach(o, k, v) {
    if (keys)
      keys[i++] = k;
  }
  if (keys)
    qsort(keys, i, sizeof *keys, cmp_keys);
  for (size_t j = 0; keys && j < i; j++)
    json_object_set(sorted, keys[j], json_object_get(o, keys[j]));
  free(keys);
  json_decref(o);
  return sorted;
}

static json_t *zero_entry(void) {
  return json_pack("{s:I, s:I}", "limit", (json_int_t)0, "failcnt", (json_int_t)0);
}

static json_t *memory_stats(const struct cgroup_layout *l) {
  json_t *m = json_object();
  const char *dir = l->dir[CG_MEMORY];
  if (!dir) {
    json_object_set_new(m, "usage", zero_entry());
    json_object_set_new(m, "swap", zero_entry());
    json_object_set_new(m, "kernel", zero_entry());
    json_object_set_new(m, "kernelTCP", zero_entry());
    return m;
  }
  json_t *raw = kv_object(dir, "memory.stat");
  if (!l->v2[CG_MEMORY]) {
    put(m, "cache", (uint64_t)json_integer_value(json_object_get(raw, "cache")), true);
    json_object_set_new(m, "usage", mem_entry_v1(dir, NULL));
    bool swap = false;
    rd_u64(dir, "memory.memsw.usage_in_bytes", &swap);
    json_object_set_new(m, "swap", swap ? mem_entry_v1(dir, "memsw") : zero_entry());
    json_object_set_new(m, "kernel", mem_entry_v1(dir, "kmem"));
    json_object_set_new(m, "kernelTCP", mem_entry_v1(dir, "kmem.tcp"));
    put_nonempty(m, "raw", raw);
    return m;
  }
  put(m, "cache", (uint64_t)json_integer_value(json_object_get(raw, "file")), true);
  uint64_t cur = rd_u64(dir, "memory.current", NULL);
  uint64_t lim = rd_u64(dir, "memory.max", NULL);
  _cleanup_free_ char *ev = rd(dir, "memory.events");
  uint64_t failcnt = 0;
  if (ev)
    kv_get(ev, "max", &failcnt);
  json_t *u = json_object();
  put(u, "limit", lim, false);
  put(u, "usage", cur, true);
  put(u, "max", rd_u64(dir, "memory.peak", NULL), true);
  put(u, "failcnt", failcnt, false);
  json_object_set_new(m, "usage", u);
  /* v1 reports memory+swap; so does runc on v2 */
  bool have_swap;
  uint64_t sw = rd_u64(dir, "memory.swap.current", &have_swap);
  uint64_t swl = rd_u64(dir, "memory.swap.max", NULL);
  json_t *s = json_object();
  if (have_swap) {
    uint64_t slim = swl == UINT64_MAX || lim == UINT64_MAX ? UINT64_MAX : swl + lim;
    put(s, "limit", slim, false);
    put(s, "usage", sw + cur, true);
  } else {
    put(s, "limit", 0, false);
  }
  put(s, "failcnt", 0, false);
  json_object_set_new(m, "swap", s);
  json_object_set_new(m, "kernel", zero_entry());
  json_object_set_new(m, "kernelTCP", zero_entry());
  put_nonempty(m, "raw", raw);
  put_nonempty(m, "psi", psi(dir, "memory.pressure"));
  return m;
}

static json_t *pids_stats(const struct cgroup_layout *l) {
  json_t *o = json_object();
  const char *dir = l->dir[CG_PIDS];
  if (!dir)
    return o;
  put(o, "current", rd_u64(dir, "pids.current", NULL), true);
  uint64_t max = rd_u64(dir, "pids.max", NULL);
  put(o, "limit", max == UINT64_MAX ? 0 : max, true);
  return o;
}

/* "8:0 Read 123" / "8:0 123" lines ("Total N" skipped) */
static json_t *blkio_entries(const char *dir, const char *file) {
  json_t *a = json_array();
  _cleanup_free_ char *t = rd(dir, file);
  for (char *line = t ? strtok(t, "\n") : NULL; line; line = strtok(NULL, "\n")) {
    unsigned long long maj, min, v;
    char op[32];
    json_t *x = json_object();
    if (sscanf(line, "%llu:%llu %31s %llu", &maj, &min, op, &v) == 4) {
      put(x, "major", maj, true);
      put(x, "minor", min, true);
      if (*op)
        json_object_set_new(x, "op", json_string(op));
      put(x, "value", v, true);
    } else if (sscanf(line, "%llu:%llu %llu", &maj, &min, &v) == 3) {
      put(x, "major", maj, true);
      put(x, "minor", min, true);
      put(x, "value", v, true);
    } else {
      json_decref(x);
      continue;
    }
    json_array_append_new(a, x);
  }
  return a;
}

static json_t *blkio_stats(const struct cgroup_layout *l) {
  json_t *o = json_object();
  const char *dir = l->dir[CG_BLKIO];
  if (!dir)
    return o;
  if (l->v2[CG_BLKIO]) {
    json_t *bytes = json_array(), *ios = json_array();
    _cleanup_free_ char *t = rd(dir, "io.stat");
    for (char *line = t ? strtok(t, "\n") : NULL; line; line = strtok(NULL, "\n")) {
      unsigned long long maj, min;
      int off;
      if (sscanf(line, "%llu:%llu%n", &maj, &min, &off) != 2)
        continue;
      char *save, *tok;
      for (tok = strtok_r(line + off, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
        char k[16];
        unsigned long long v;
        if (sscanf(tok, "%15[a-z]=%llu", k, &v) != 2)
          continue;
        const char *op = !strcmp(k, "rbytes") || !strcmp(k, "rios") ? "Read"
                         : !strcmp(k, "wbytes") || !strcmp(k, "wios") ? "Write"
                                                                       : NULL;
        if (!op)
          continue;
        json_t *x = json_object();
        put(x, "major", maj, true);
        put(x, "minor", min, true);
        json_object_set_new(x, "op", json_string(op));
        put(x, "value", v, true);
        json_array_append_new(strstr(k, "bytes") ? bytes : ios, x);
      }
    }
    put_nonempty(o, "ioServiceBytesRecursive", bytes);
    put_nonempty(o, "ioServicedRecursive", ios);
    put_nonempty(o, "psi", psi(dir, "io.pressure"));
    return o;
  }
  static const char *const keys[] = {
      "ioServiceBytesRecursive", "ioServicedRecursive", "ioQueueRecursive",
      "ioServiceTimeRecursive",  "ioWaitTimeRecursive", "ioMergedRecursive",
      "ioTimeRecursive",         "sectorsRecursive"};
  static const char *const cfq[] = {
      "blkio.io_service_bytes_recursive", "blkio.io_serviced_recursive",
      "blkio.io_queued_recursive",        "blkio.io_service_time_recursive",
      "blkio.io_wait_time_recursive",     "blkio.io_merged_recursive",
      "blkio.time_recursive",             "blkio.sectors_recursive"};
  char p[PATH_MAX];
  snprintf(p, sizeof p, "%s/blkio.io_serviced_recursive", dir);
  if (access(p, F_OK) == 0) {
    for (int i = 0; i < 8; i++)
      put_nonempty(o, keys[i], blkio_entries(dir, cfq[i]));
    return o;
  }
  snprintf(p, sizeof p, "%s/blkio.bfq.io_serviced_recursive", dir);
  bool bfq = access(p, F_OK) == 0;
  put_nonempty(o, keys[0],
               blkio_entries(dir, bfq ? "blkio.bfq.io_service_bytes_recursive"
                                      : "blkio.throttle.io_service_bytes_recursive"));
  put_nonempty(o, keys[1],
               blkio_entries(dir, bfq ? "blkio.bfq.io_serviced_recursive"
                                      : "blkio.throttle.io_serviced_recursive"));
  return o;
}

static json_t *hugetlb_stats(const struct cgroup_layout *l) {
  json_t *o = json_object();
  const char *dir = l->dir[CG_HUGETLB];
  if (!dir)
    return o;
  DIR *d = opendir("/sys/kernel/mm/hugepages");
  struct dirent *de;
  while (d && (de = readdir(d))) {
    unsigned long long kb;
    if (sscanf(de->d_name, "hugepages-%llukB", &kb) != 1)
      continue;
    char size[32], f[96];
    if (kb >= 1048576 && kb % 1048576 == 0)
      snprintf(size, sizeof size, "%lluGB", kb / 1048576);
    else if (kb >= 1024 && kb % 1024 == 0)
      snprintf(size, sizeof size, "%lluMB", kb / 1024);
    else
      snprintf(size, sizeof size, "%lluKB", kb);
    bool ok;
    json_t *x = json_object();
    if (l->v2[CG_HUGETLB]) {
      snprintf(f, sizeof f, "hugetlb.%s.current", size);
      uint64_t cur = rd_u64(dir, f, &ok);
      if (!ok) {
        json_decref(x);
        continue;
      }
      put(x, "usage", cur, true);
      snprintf(f, sizeof f, "hugetlb.%s.events", size);
      _cleanup_free_ char *ev = rd(dir, f);
      uint64_t fc = 0;
      if (ev)
        kv_get(ev, "max", &fc);
      put(x, "failcnt", fc, false);
    } else {
      snprintf(f, sizeof f, "hugetlb.%s.usage_in_bytes", size);
      uint64_t cur = rd_u64(dir, f, &ok);
      if (!ok) {
        json_decref(x);
        continue;
      }
      put(x, "usage", cur, true);
      snprintf(f, sizeof f, "hugetlb.%s.max_usage_in_bytes", size);
      put(x, "max", rd_u64(dir, f, NULL), true);
      snprintf(f, sizeof f, "hugetlb.%s.failcnt", size);
      put(x, "failcnt", rd_u64(dir, f, NULL), false);
    }
    json_object_set_new(o, size, x);
  }
  if (d)
    closedir(d);
  return o;
}

int cgroup_stats(const struct cgroup_set *s, const char *id, json_t **out,
                 struct hull_error *e) {
  *out = NULL;
  if (!s || s->n == 0)
    return hull_err(e, ENOENT, "cgroups: the container has no cgroup");
  struct cgroup_layout l;
  cgroup_layout_from_set(s, &l);
  /* the cgroup must still exist */
  if (access(s->dirs[0].path, F_OK) < 0)
    return hull_errno(e, errno, "cgroup %s", s->dirs[0].path);
  json_t *data = json_object();
  json_object_set_new(data, "cpu", cpu_stats(&l));
  json_object_set_new(data, "cpuset", cpuset_stats(&l));
  json_object_set_new(data, "memory", memory_stats(&l));
  json_object_set_new(data, "pids", pids_stats(&l));
  json_object_set_new(data, "blkio", blkio_stats(&l));
  json_object_set_new(data, "hugetlb", hugetlb_stats(&l));
  json_object_set_new(data, "intel_rdt", json_object());
  json_object_set_new(data, "network_interfaces", json_null());
  json_t *ev = json_object();
  if (!ev || !data) {
    json_decref(ev);
    json_decref(data);
    return hull_errno(e, ENOMEM, "cgroup stats");
  }
  json_object_set_new(ev, "type", json_string("stats"));
  json_object_set_new(ev, "id", json_string(id ? id : ""));
  json_object_set_new(ev, "data", data);
  *out = ev;
  return 0;
}

/* ---- printing with uint64 ---- */

static void dump(FILE *f, const json_t *v, const char *key) {
  switch (json_typeof(v)) {
  case JSON_OBJECT: {
    const char *k;
    json_t *x;
    bool first = true;
    fputc('{', f);
    json_object_foreach((json_t *)v, k, x) {
      if (!first)
        fputc(',', f);
      first = false;
      json_t *ks = json_string(k);
      char *kt = ks ? hjson_dumps(ks) : NULL;
      fputs(kt ? kt : "\"\"", f);
      free(kt);
      json_decref(ks);
      fputc(':', f);
      dump(f, x, k);
    }
    fputc('}', f);
    break;
  }
  case JSON_ARRAY: {
    size_t i;
    json_t *x;
    fputc('[', f);
    json_array_foreach(v, i, x) {
      if (i)
        fputc(',', f);
      dump(f, x, key);
    }
    fputc(']', f);
    break;
  }
  case JSON_INTEGER: {
    json_int_t n = json_integer_value(v);
    if (n < 0 && !(key && !strcmp(key, "sched_relax_domain_level")))
      fprintf(f, "%" PRIu64, (uint64_t)n);
    else
      fprintf(f, "%" JSON_INTEGER_FORMAT, n);
    break;
  }
  case JSON_REAL: {
    /* the shortest text that reads back the same, like Go */
    char buf[40];
    double d = json_real_value(v);
    for (int prec = 1; prec <= 17; prec++) {
      snprintf(buf, sizeof buf, "%.*g", prec, d);
      if (strtod(buf, NULL) == d)
        break;
    }
    fputs(buf, f);
    break;
  }
  default: {
    char *t = hjson_dumps(v);
    fputs(t ? t : "null", f);
    free(t);
  }
  }
}

char *cgroup_event_dumps(const json_t *event) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (!f)
    return NULL;
  dump(f, event, NULL);
  if (fclose(f) != 0) {
    free(buf);
    return NULL;
  }
  return buf;
}

/* ====================================================================
 * OOM notifications
 * ==================================================================== */

static uint64_t oom_kill_count(const char *dir, bool *ok) {
  _cleanup_free_ char *t = rd(dir, "memory.events");
  uint64_t v = 0;
  *ok = t != NULL;
  if (t)
    kv_get(t, "oom_kill", &v);
  return v;
}

int cgroup_oom_watch_open(const struct cgroup_set *s, struct cgroup_oom_watch *w,
                          struct hull_error *e) {
  memset(w, 0, sizeof *w);
  w->fd = w->oom_fd = -1;
  struct cgroup_layout l;
  cgroup_layout_from_set(s, &l);
  const char *dir = l.dir[CG_MEMORY];
  if (!dir)
    return hull_err(e, ENOTSUP, "cgroups: no memory controller: OOM events "
                                "cannot be watched");
  snprintf(w->dir, sizeof w->dir, "%s", dir);
  w->v2 = l.v2[CG_MEMORY];
  char p[PATH_MAX];
  if (!w->v2) {
    snprintf(p, sizeof p, "%s/memory.oom_control", dir);
    if ((w->oom_fd = open(p, O_RDONLY | O_CLOEXEC)) < 0)
      return hull_errno(e, errno, "cgroup %s", p);
    if ((w->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
      int err = errno;
      cgroup_oom_watch_close(w);
      return hull_errno(e, err, "cgroup %s: eventfd", dir);
    }
    char text[32];
    snprintf(text, sizeof text, "%d %d", w->fd, w->oom_fd);
    snprintf(p, sizeof p, "%s/cgroup.event_control", dir);
    int r = fs_write_string(p, text);
    if (r < 0) {
      cgroup_oom_watch_close(w);
      return hull_errno(e, -r, "cgroup %s", p);
    }
    return 0;
  }
  bool ok;
  w->oom_kills = oom_kill_count(dir, &ok);
  if (!ok)
    return hull_errno(e, errno, "cgroup %s/memory.events", dir);
  if ((w->fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK)) < 0)
    return hull_errno(e, errno, "cgroup %s: inotify", dir);
  snprintf(p, sizeof p, "%s/memory.events", dir);
  if (inotify_add_watch(w->fd, p, IN_MODIFY) < 0) {
    int err = errno;
    cgroup_oom_watch_close(w);
    return hull_errno(e, err, "cgroup %s: inotify", p);
  }
  snprintf(p, sizeof p, "%s/cgroup.events", dir);
  inotify_add_watch(w->fd, p, IN_MODIFY); /* "populated 0": gone */
  return 0;
}

int cgroup_oom_watch_fd(const struct cgroup_oom_watch *w) { return w->fd; }

int cgroup_oom_watch_read(struct cgroup_oom_watch *w) {
  if (w->fd < 0)
    return -EBADF;
  char p[PATH_MAX];
  if (!w->v2) {
    uint64_t n = 0;
    ssize_t got = read(w->fd, &n, sizeof n);
    if (got < 0 && errno != EAGAIN)
      return -errno;
    snprintf(p, sizeof p, "%s/cgroup.event_control", w->dir);
    /* the eventfd also fires when the cgroup is removed */
    if (access(p, F_OK) < 0) {
      w->gone = true;
      return 0;
    }
    return got == sizeof n ? (int)(n > INT32_MAX ? INT32_MAX : n) : 0;
  }
  char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
  for (;;) {
    ssize_t got = read(w->fd, buf, sizeof buf);
    if (got <= 0)
      break;
    for (char *q = buf; q < buf + got;) {
      struct inotify_event *ie = (struct inotify_event *)q;
      if (ie->mask & IN_IGNORED)
        w->gone = true;
      q += sizeof *ie + ie->len;
    }
  }
  bool ok;
  uint64_t now = oom_kill_count(w->dir, &ok);
  int n = 0;
  if (!ok) {
    w->gone = true;
  } else {
    if (now > w->oom_kills)
      n = (int)(now - w->oom_kills > INT32_MAX ? INT32_MAX : now - w->oom_kills);
    w->oom_kills = now;
  }
  _cleanup_free_ char *ev = rd(w->dir, "cgroup.events");
  uint64_t pop = 1;
  if (!ev || (kv_get(ev, "populated", &pop) && pop == 0))
    w->gone = true;
  return n;
}

void cgroup_oom_watch_close(struct cgroup_oom_watch *w) {
  if (w->fd >= 0)
    close(w->fd);
  if (w->oom_fd >= 0)
    close(w->oom_fd);
  w->fd = w->oom_fd = -1;
}

/* ====================================================================
 * `update` flags
 * ==================================================================== */

int cgroup_parse_ram(const char *s, int64_t *out) {
  ssize_t sep = -1;
  for (ssize_t i = 0; s[i]; i++)
    if (strchr("0123456789. ", s[i]))
      sep = i;
  if (sep < 0)
    return -EINVAL;
  char num[64];
  size_t nl = (size_t)(s[sep] == ' ' ? sep : sep + 1);
  const char *sfx = s + sep + 1;
  if (nl == 0 || nl >= sizeof num)
    return -EINVAL;
  memcpy(num, s, nl);
  num[nl] = 0;
  if (!isdigit((unsigned char)num[0]) && num[0] != '.' && num[0] != '+')
    return -EINVAL;
  char *end;
  errno = 0;
  double size = strtod(num, &end);
  if (*end || isnan(size) || size < 0)
    return -EINVAL;
  size_t sl = strlen(sfx);
  if (sl > 3)
    return -EINVAL;
  if (sl) {
    char low[4] = {0};
    for (size_t i = 0; i < sl; i++)
      low[i] = (char)tolower((unsigned char)sfx[i]);
    if (low[0] == 'b') {
      if (sl > 1)
        return -EINVAL;
    } else {
      const char *units = "kmgtp";
      const char *u = strchr(units, low[0]);
      if (!u || !low[0])
        return -EINVAL;
      size *= (double)(1ULL << (10 * (u - units + 1)));
      if ((sl == 2 && low[1] != 'b') || (sl == 3 && strcmp(low + 1, "ib")))
        return -EINVAL;
    }
  }
  if (size >= 9223372036854775808.0)
    return -ERANGE;
  *out = (int64_t)size;
  return 0;
}

static const struct {
  const char *name;
  size_t off;
} update_flags[] = {
#define U(n, f) {n, offsetof(struct cgroup_update_args, f)}
    U("r", resources_file),
    U("resources", resources_file),
    U("memory", memory),
    U("memory-swap", memory_swap),
    U("memory-reservation", memory_reservation),
    U("kernel-memory", kernel_memory),
    U("kernel-memory-tcp", kernel_memory_tcp),
    U("cpu-share", cpu_shares),
    U("cpu-shares", cpu_shares),
    U("cpu-quota", cpu_quota),
    U("cpu-period", cpu_period),
    U("cpu-burst", cpu_burst),
    U("cpu-rt-runtime", cpu_rt_runtime),
    U("cpu-rt-period", cpu_rt_period),
    U("cpu-idle", cpu_idle),
    U("cpuset-cpus", cpuset_cpus),
    U("cpuset-mems", cpuset_mems),
    U("pids-limit", pids_limit),
    U("blkio-weight", blkio_weight),
#undef U
};

int cgroup_update_args_set(struct cgroup_update_args *a, const char *name,
                           const char *value) {
  while (*name == '-')
    name++;
  for (size_t i = 0; i < sizeof update_flags / sizeof *update_flags; i++)
    if (!strcmp(name, update_flags[i].name)) {
      *(const char **)((char *)a + update_flags[i].off) = value;
      return 0;
    }
  return -ENOENT;
}

static int set_num(json_t *root, const char *section, const char *key,
                   json_int_t v) {
  json_t *o = json_object_get(root, section);
  if (!o) {
    o = json_object();
    if (!o || json_object_set_new(root, section, o) < 0)
      return -ENOMEM;
  }
  return json_object_set_new(o, key, json_integer(v)) < 0 ? -ENOMEM : 0;
}

static int flag_int(const char *flag, const char *v, bool is_unsigned, int base,
                    json_int_t *out, struct hull_error *e) {
  char *end;
  errno = 0;
  if (is_unsigned) {
    if (!isdigit((unsigned char)*v))
      goto bad;
    unsigned long long u = strtoull(v, &end, base);
    if (errno || *end)
      goto bad;
    *out = (json_int_t)u;
  } else {
    long long s = strtoll(v, &end, base);
    if (errno || *end || !*v || isspace((unsigned char)*v))
      goto bad;
    *out = s;
  }
  return 0;
bad:
  return hull_err(e, EINVAL, "invalid value for --%s: \"%s\": not %s integer", flag,
                  v, is_unsigned ? "an unsigned" : "an");
}

static int load_resources_file(const char *path, json_t **out,
                               struct hull_error *e) {
  _cleanup_free_ char *text = NULL;
  size_t len = 0;
  int r;
  if (!strcmp(path, "-")) {
    size_t cap = 4096;
    if (!(text = malloc(cap)))
      return hull_errno(e, ENOMEM, "update");
    ssize_t got;
    while ((got = read(STDIN_FILENO, text + len, cap - len - 1)) > 0) {
      len += (size_t)got;
      if (len + 1 == cap) {
        char *nt = realloc(text, cap *= 2);
        if (!nt)
          return hull_errno(e, ENOMEM, "update");
        text = nt;
      }
    }
    if (got < 0)
      return hull_errno(e, errno, "--resources: standard input");
    text[len] = 0;
  } else if ((r = fs_read_file(path, &text, &len, e)) < 0) {
    return hull_err_prefix(e, "--resources");
  }
  json_error_t jerr;
  json_t *j = hjson_loadb(text, len, HJSON_WRAP_UINT64, NULL, &jerr);
  if (!j)
    return hull_err(e, EINVAL, "%s: line %d: %s", path, jerr.line, jerr.text);
  if (!json_is_object(j)) {
    json_decref(j);
    return hull_err(e, EINVAL, "%s: must be a JSON object", path);
  }
  if ((r = cgroup_resources_validate_as(j, !strcmp(path, "-") ? "-" : path, e)) < 0) {
    json_decref(j);
    return r;
  }
  *out = j;
  return 0;
}

int cgroup_update_args_to_resources(const struct cgroup_update_args *a,
                                    json_t **out, struct hull_error *e) {
  *out = NULL;
  if (a->resources_file)
    return load_resources_file(a->resources_file, out, e);
  json_t *res = json_object();
  if (!res)
    return hull_errno(e, ENOMEM, "update");
  int r = 0;
  json_int_t v = 0;
  /* kind: INT_FLAG (Go flag.Int: base 0 and required), INT, UINT (runc's
   * strconv.Parse*Int base 10 of a string flag, "" = not given), RAM */
  enum { INT_FLAG, INT, UINT, RAM };
  struct {
    const char *flag, *val, *section, *key;
    int kind;
  } nums[] = {
      {"blkio-weight", a->blkio_weight, "blockIO", "weight", INT_FLAG},
      {"cpu-idle", a->cpu_idle, "cpu", "idle", INT},
      {"cpu-burst", a->cpu_burst, "cpu", "burst", UINT},
      {"cpu-period", a->cpu_period, "cpu", "period", UINT},
      {"cpu-rt-period", a->cpu_rt_period, "cpu", "realtimePeriod", UINT},
      {"cpu-share", a->cpu_shares, "cpu", "shares", UINT},
      {"cpu-quota", a->cpu_quota, "cpu", "quota", INT},
      {"cpu-rt-runtime", a->cpu_rt_runtime, "cpu", "realtimeRuntime", INT},
      {"memory", a->memory, "memory", "limit", RAM},
      {"memory-swap", a->memory_swap, "memory", "swap", RAM},
      {"memory-reservation", a->memory_reservation, "memory", "reservation", RAM},
      {"pids-limit", a->pids_limit, "pids", "limit", INT_FLAG},
  };
  for (size_t i = 0; i < sizeof nums / sizeof *nums; i++) {
    if (!nums[i].val || (!*nums[i].val && nums[i].kind != INT_FLAG))
      continue;
    if (nums[i].kind == RAM) {
      int64_t sz;
      if (!strcmp(nums[i].val, "-1"))
        sz = -1;
      else if (cgroup_parse_ram(nums[i].val, &sz) < 0) {
        r = hull_err(e, EINVAL, "invalid value for --%s: \"%s\": not a size "
                                "(like 1024, 512m, 1.5g)",
                     nums[i].flag, nums[i].val);
        break;
      }
      v = sz;
    } else if ((r = flag_int(nums[i].flag, nums[i].val, nums[i].kind == UINT,
                             nums[i].kind == INT_FLAG ? 0 : 10, &v, e)) < 0) {
      break;
    }
    if (!strcmp(nums[i].flag, "blkio-weight") && v == 0)
      continue; /* runc: 0 = not given */
    if ((r = set_num(res, nums[i].section, nums[i].key, v)) < 0) {
      r = hull_errno(e, ENOMEM, "update");
      break;
    }
  }
  static const char *const sets[] = {"cpus", "mems"};
  const char *setv[] = {a->cpuset_cpus, a->cpuset_mems};
  for (int i = 0; r == 0 && i < 2; i++) {
    if (!setv[i] || !*setv[i])
      continue;
    json_t *cpu = json_object_get(res, "cpu");
    if (!cpu && json_object_set_new(res, "cpu", cpu = json_object()) < 0)
      r = hull_errno(e, ENOMEM, "update");
    else if (json_object_set_new(cpu, sets[i], json_string(setv[i])) < 0)
      r = hull_errno(e, ENOMEM, "update");
  }
  if (a->kernel_memory && *a->kernel_memory)
    log_warn("Setting --kernel-memory is ignored and will be removed");
  if (a->kernel_memory_tcp && *a->kernel_memory_tcp)
    log_warn("Setting --kernel-memory-tcp is ignored and will be removed");
  if (r == 0) {
    /* validate with the flags' names in mind: name the flag */
    r = cgroup_resources_validate_as(res, "update", e);
  }
  if (r < 0) {
    json_decref(res);
    return r;
  }
  *out = res;
  return 0;
}
