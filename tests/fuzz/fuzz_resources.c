/* libFuzzer target: arbitrary bytes as linux.resources. Validation must
 * accept or fail with a one-line message; what it accepts must map onto
 * v1, v2 and hybrid layouts (fake directories that do not exist: nothing
 * is written) without crashing, and the plan must only name plain files
 * inside the cgroup directories. The device rules also go through the v1
 * emulation and the eBPF program builder, and short inputs through the
 * RAM size parser of `update`. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "linux/cgroup_resources.h"
#include "linux/cgroup_stats.h"

static void check_error(int r, const struct hull_error *e) {
  if (!e->msg[0] || strchr(e->msg, '\n') || e->code != -r)
    __builtin_trap();
}

static void check_plan(const struct cg_plan *p, const struct cgroup_layout *l) {
  for (size_t i = 0; i < p->n; i++) {
    const struct cg_write *w = &p->w[i];
    if (!w->value || !w->file[0] || strchr(w->file, '/') ||
        !strcmp(w->file, "..") || !strcmp(w->file, ".") || !w->field[0])
      __builtin_trap();
    bool known = false;
    for (int c = 0; c < CG_COUNT; c++)
      known = known || (l->dir[c] && w->dir == l->dir[c]);
    if (!known && w->dir != l->unified)
      __builtin_trap();
  }
  if (p->bpf_dir) {
    void *insns;
    size_t n;
    if (cgroup_dev_bpf_build(p->rules, p->n_rules, &insns, &n) == 0)
      free(insns);
  }
}

static void map(json_t *res, const struct cgroup_set *s) {
  struct cgroup_layout l;
  cgroup_layout_from_set(s, &l);
  static const struct spec_device devs[] = {
      {.type = 'c', .major = 10, .minor = 229}, {.type = 'p'}};
  for (int update = 0; update < 2; update++) {
    struct cg_plan_opts o = {.is_update = update, .default_devices = !update,
                             .devices = devs, .n_devices = 2};
    struct cg_plan p;
    struct hull_error e = {0};
    int r = cgroup_plan_make(res, &l, &o, &p, &e);
    if (r < 0) {
      check_error(r, &e);
      continue;
    }
    check_plan(&p, &l);
    cgroup_plan_free(&p);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 32 && !memchr(data, 0, size)) {
    char text[32];
    memcpy(text, data, size);
    text[size] = 0;
    int64_t v;
    cgroup_parse_ram(text, &v);
  }
  json_error_t jerr;
  json_t *res = hjson_loadb((const char *)data, size, HJSON_WRAP_UINT64, NULL, &jerr);
  if (!res)
    return 0;
  struct hull_error e = {0};
  int r = cgroup_resources_validate(res, &e);
  if (r < 0) {
    check_error(r, &e);
    json_decref(res);
    return 0;
  }
  static struct cgroup_dir v1[] = {
      {"/nonexistent/cpu", "cpu,cpuacct", false, 0},
      {"/nonexistent/cpuset", "cpuset", false, 0},
      {"/nonexistent/memory", "memory", false, 0},
      {"/nonexistent/pids", "pids", false, 0},
      {"/nonexistent/blkio", "blkio", false, 0},
      {"/nonexistent/devices", "devices", false, 0},
      {"/nonexistent/net", "net_cls,net_prio", false, 0},
      {"/nonexistent/unified", "", true, 0},
  };
  struct cgroup_set hybrid = {v1, 8}, v1only = {v1, 7}, v2only = {v1 + 7, 1};
  map(res, &v1only);
  map(res, &hybrid);
  map(res, &v2only);
  json_decref(res);
  return 0;
}
