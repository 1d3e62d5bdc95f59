/* Fuzzing of cgroup detection: the parsing of /proc/self/mountinfo and
 * /proc/self/cgroup, and the planning of linux.cgroupsPath over what was
 * found (cgroup_plan_from in src/linux/cgroup.h).
 *
 * Input: CGROUPS_PATH \0 MOUNTINFO \0 SELF_CGROUP (missing parts are
 * empty; with no NUL at all the whole input is the mountinfo text).
 *
 * Checked: no crash or undefined behaviour; a failure is a clean error;
 * every planned directory lies below its hierarchy's mount point and,
 * unless the input itself holds "..", never has a ".." component; the set
 * survives the JSON round trip of the state file. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "linux/cgroup.h"

static char *part(const uint8_t **p, const uint8_t *end) {
  const uint8_t *nul = memchr(*p, 0, (size_t)(end - *p));
  const uint8_t *stop = nul ? nul : end;
  size_t n = (size_t)(stop - *p);
  char *s = malloc(n + 1);
  if (!s)
    abort();
  memcpy(s, *p, n);
  s[n] = 0;
  *p = nul ? nul + 1 : end;
  return s;
}

static bool has_dotdot_component(const char *path) {
  for (const char *p = path; (p = strstr(p, "..")); p += 2) {
    bool start = p == path || p[-1] == '/';
    bool stop = p[2] == 0 || p[2] == '/';
    if (start && stop)
      return true;
  }
  return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const uint8_t *p = data, *end = data + size;
  char *cgpath, *mountinfo, *self;
  if (!memchr(data, 0, size)) {
    cgpath = strdup("");
    mountinfo = part(&p, end);
    self = strdup("");
  } else {
    cgpath = part(&p, end);
    mountinfo = part(&p, end);
    self = part(&p, end);
  }
  struct cgroup_set s;
  struct hull_error e = {0};
  int r = cgroup_plan_from(mountinfo, self, cgpath, "c1", &s, &e);
  if (r < 0) {
    if (e.code != -r || !e.msg[0] || s.dirs || s.n)
      abort();
    goto out;
  }
  if (s.n == 0 || !s.dirs)
    abort();
  bool input_dotdot = strstr(mountinfo, "..") || strstr(self, "..");
  for (size_t i = 0; i < s.n; i++) {
    const struct cgroup_dir *d = &s.dirs[i];
    if (!d->path || !d->controllers || d->base == 0 || d->base > strlen(d->path))
      abort();
    if (d->v2 && d->controllers[0])
      abort();
    if (!input_dotdot && has_dotdot_component(d->path))
      abort();
    /* each directory is found again by its hierarchy */
    char first[256];
    size_t l = strcspn(d->controllers, ",");
    if (l >= sizeof first)
      l = sizeof first - 1;
    memcpy(first, d->controllers, l);
    first[l] = 0;
    if (d->v2 || first[0])
      if (!cgroup_dir_for(&s, d->v2 ? "" : first))
        abort();
  }
  /* the same plan twice */
  struct cgroup_set s2;
  if (cgroup_plan_from(mountinfo, self, cgpath, "c1", &s2, &e) < 0 || s2.n != s.n)
    abort();
  for (size_t i = 0; i < s.n; i++)
    if (strcmp(s.dirs[i].path, s2.dirs[i].path))
      abort();
  cgroup_set_free(&s2);
  /* the state file's round trip */
  json_t *j = cgroup_set_to_json(&s);
  if (cgroup_set_from_json(j, &s2) < 0 || s2.n != s.n)
    abort();
  for (size_t i = 0; i < s.n; i++)
    if (strcmp(s.dirs[i].path, s2.dirs[i].path) ||
        strcmp(s.dirs[i].controllers, s2.dirs[i].controllers) ||
        s.dirs[i].v2 != s2.dirs[i].v2)
      abort();
  cgroup_set_free(&s2);
  json_decref(j);
  cgroup_set_free(&s);
out:
  free(cgpath);
  free(mountinfo);
  free(self);
  return 0;
}
