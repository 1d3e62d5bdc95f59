/* The process driver's verbs on a live container that only touch its
 * cgroups: pause and resume (the freezer), update (linux.resources),
 * events (statistics and OOM kills) and the "paused" status. */
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "../common/cleanup.h"
#include "../common/json.h"
#include "cgroup_resources.h"
#include "cgroup_stats.h"
#include "control.h"

int process_state(struct container *c, char *status, size_t len) {
  /* Only a started container can be paused. */
  if (strcmp(c->status, "running") && strcmp(c->status, "paused")) {
    status[0] = 0;
    return 0;
  }
  struct cgroup_set s;
  if (cgroup_set_load(c->driver_data, &s) < 0)
    return -EINVAL;
  int frozen = cgroup_frozen(&s);
  cgroup_set_free(&s);
  if (frozen == 1)
    snprintf(status, len, "paused");
  else if (!strcmp(c->status, "paused"))
    snprintf(status, len, "running");
  else
    status[0] = 0;
  return 0;
}

static int freeze(struct container *c, bool frozen, struct hull_error *e) {
  struct cgroup_set s;
  int r = cgroup_set_load(c->driver_data, &s);
  if (r < 0)
    return hull_errno(e, -r, "container %s: cgroups", c->id);
  r = cgroup_freeze(&s, frozen, e);
  cgroup_set_free(&s);
  return r < 0 ? hull_err_prefix(e, "container %s", c->id) : 0;
}

int process_pause(struct container *c, struct hull_error *e) {
  return freeze(c, true, e);
}

int process_resume(struct container *c, struct hull_error *e) {
  return freeze(c, false, e);
}

int process_update(struct container *c, json_t *resources, struct hull_error *e) {
  struct cgroup_set s;
  int r = cgroup_set_load(c->driver_data, &s);
  if (r < 0)
    return hull_errno(e, -r, "container %s: cgroups", c->id);
  r = cgroup_apply_resources(&s, resources, true, e);
  cgroup_set_free(&s);
  return r < 0 ? hull_err_prefix(e, "container %s: update", c->id) : 0;
}

static int emit_stats(struct container *c, const struct cgroup_set *s,
                      void (*emit)(const char *, void *), void *arg,
                      struct hull_error *e) {
  json_t *ev;
  int r = cgroup_stats(s, c->id, &ev, e);
  if (r < 0)
    return hull_err_prefix(e, "container %s: events", c->id);
  char *line = cgroup_event_dumps(ev);
  json_decref(ev);
  if (!line)
    return hull_errno(e, ENOMEM, "container %s: events", c->id);
  emit(line, arg);
  free(line);
  return 0;
}

int process_events(struct container *c, bool stats_only, int interval_ms,
                   void (*emit)(const char *, void *), void *arg,
                   struct hull_error *e) {
  struct cgroup_set s;
  int r = cgroup_set_load(c->driver_data, &s);
  if (r < 0)
    return hull_errno(e, -r, "container %s: cgroups", c->id);
  if (stats_only) {
    r = emit_stats(c, &s, emit, arg, e);
    cgroup_set_free(&s);
    return r;
  }
  struct cgroup_oom_watch w;
  r = cgroup_oom_watch_open(&s, &w, e);
  if (r < 0) {
    cgroup_set_free(&s);
    return hull_err_prefix(e, "container %s: events", c->id);
  }
  for (;;) {
    struct pollfd p = {.fd = cgroup_oom_watch_fd(&w), .events = POLLIN};
    int n = poll(&p, 1, interval_ms > 0 ? interval_ms : -1);
    if (n < 0 && errno != EINTR) {
      r = hull_errno(e, errno, "container %s: events", c->id);
      break;
    }
    if (n > 0) {
      int kills = cgroup_oom_watch_read(&w);
      for (int k = 0; k < kills; k++) {
        char line[1200];
        json_t *id = json_string(c->id);
        char *idtext = hjson_dumps(id);
        json_decref(id);
        snprintf(line, sizeof line, "{\"type\":\"oom\",\"id\":%s}", idtext ? idtext : "\"\"");
        free(idtext);
        emit(line, arg);
      }
      if (w.gone) {
        r = 0;
        break;
      }
    }
    if (!process_alive(c->pid, c->start_time)) {
      r = 0;
      break;
    }
    if (interval_ms > 0 && n == 0 && (r = emit_stats(c, &s, emit, arg, e)) < 0)
      break;
  }
  cgroup_oom_watch_close(&w);
  cgroup_set_free(&s);
  return r;
}
