#include "namespaces.h"

#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../common/fs.h"

int ns_plan_make(const struct spec *s, struct ns_plan *p, struct hull_error *e) {
  memset(p, 0, sizeof *p);
  for (int i = 0; i < NS_COUNT; i++)
    p->join_fds[i] = -1;
  for (int i = 0; i < NS_COUNT; i++) {
    const struct spec_namespace *n = &s->linux.ns[i];
    if (!n->present)
      continue;
    p->listed_flags |= (unsigned)ns_clone_flag(i);
    if (!n->path || !*n->path) {
      p->new_flags |= (unsigned)ns_clone_flag(i);
      continue;
    }
    p->join_fds[i] = open(n->path, O_RDONLY | O_CLOEXEC);
    if (p->join_fds[i] < 0) {
      int r = hull_errno(e, errno, "linux.namespaces: %s namespace %s",
                         ns_type_name(i), n->path);
      ns_plan_close(p);
      return r;
    }
  }
  if (!(p->new_flags & CLONE_NEWNS)) {
    ns_plan_close(p);
    return hull_err(e, EINVAL,
                    "linux.namespaces: a new mount namespace is required "
                    "(list {\"type\": \"mount\"} without a path)");
  }
  return 0;
}

void ns_plan_close(struct ns_plan *p) {
  for (int i = 0; i < NS_COUNT; i++)
    if (p->join_fds[i] >= 0) {
      close(p->join_fds[i]);
      p->join_fds[i] = -1;
    }
}

static int write_map(pid_t pid, const char *file, const struct spec_id_map *m,
                     size_t n, struct hull_error *e) {
  char text[4096];
  size_t len = 0;
  for (size_t i = 0; i < n; i++) {
    int w = snprintf(text + len, sizeof text - len, "%u %u %u\n",
                     m[i].container_id, m[i].host_id, m[i].size);
    if (w < 0 || (size_t)w >= sizeof text - len)
      return hull_err(e, E2BIG, "linux.%s: too many mappings",
                      file[0] == 'u' ? "uidMappings" : "gidMappings");
    len += (size_t)w;
  }
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/%s", pid, file);
  int r = fs_write_string(path, text);
  if (r < 0)
    return hull_errno(e, -r, "linux.%s: write %s",
                      file[0] == 'u' ? "uidMappings" : "gidMappings", path);
  return 0;
}

int ns_write_id_maps(pid_t pid, const struct spec *s, struct hull_error *e) {
  int r = 0;
  if (s->linux.n_uid_mappings)
    r = write_map(pid, "uid_map", s->linux.uid_mappings, s->linux.n_uid_mappings, e);
  if (r == 0 && s->linux.n_gid_mappings)
    r = write_map(pid, "gid_map", s->linux.gid_mappings, s->linux.n_gid_mappings, e);
  return r;
}

int ns_write_time_offsets(const struct spec *s, struct hull_error *e) {
  char text[128];
  size_t len = 0;
  if (s->linux.time_monotonic.present)
    len += snprintf(text + len, sizeof text - len, "monotonic %lld %u\n",
                    (long long)s->linux.time_monotonic.secs,
                    s->linux.time_monotonic.nanosecs);
  if (s->linux.time_boottime.present)
    len += snprintf(text + len, sizeof text - len, "boottime %lld %u\n",
                    (long long)s->linux.time_boottime.secs,
                    s->linux.time_boottime.nanosecs);
  if (!len)
    return 0;
  /* One write per line: the kernel takes one offset per write. */
  int fd = open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return hull_errno(e, errno, "linux.timeOffsets");
  for (char *line = text; *line;) {
    char *nl = strchr(line, '\n');
    if (write(fd, line, (size_t)(nl - line + 1)) < 0) {
      int err = errno;
      close(fd);
      return hull_errno(e, err, "linux.timeOffsets: %.*s", (int)(nl - line), line);
    }
    line = nl + 1;
  }
  close(fd);
  return 0;
}
