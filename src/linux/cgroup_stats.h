/* The cgroup side of the runtime verbs other than create: pause/resume
 * (the freezer), `events` (statistics in the shape of `runc events
 * --stats`, OOM notifications) and `update` (runc's flags turned into a
 * linux.resources object for cgroup_apply_resources). */
#ifndef HULL_CGROUP_STATS_H
#define HULL_CGROUP_STATS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/error.h"
#include "cgroup.h"

/* Freeze (pause) or thaw (resume) every process of the container and wait
 * until the state has settled: v1 freezer.state FROZEN/THAWED (retrying
 * while FREEZING, as runc), v2 cgroup.freeze with cgroup.events "frozen 1".
 * Fails (and thaws again) when the freeze does not settle within 10 s. */
int cgroup_freeze(const struct cgroup_set *s, bool frozen, struct hull_error *e);
/* 1 when frozen, 0 when not, <0 (-errno) when it cannot be told (no
 * freezer, cgroup gone). */
int cgroup_frozen(const struct cgroup_set *s);

/* The event `runc events --stats` prints:
 *   {"type":"stats","id":ID,"data":{"cpu":{...},"cpuset":{...},
 *    "memory":{...},"pids":{...},"blkio":{...},"hugetlb":{...},
 *    "intel_rdt":{},"network_interfaces":null}}
 * with runc's field names and omitempty rules (types/events.go). Every
 * integer in "data" is a uint64 except cpuset.sched_relax_domain_level;
 * values of 2^63 and more (a v2 limit of "max" reads as 2^64-1, as runc
 * reports it) are stored wrapped to negative numbers, as hull stores uint64
 * in JSON: print the event with cgroup_event_dumps(). */
int cgroup_stats(const struct cgroup_set *s, const char *id, json_t **out,
                 struct hull_error *e);
/* One line of compact JSON for an event from cgroup_stats() or any other
 * event object, with the wrapped uint64 values printed unsigned. malloc'd
 * (no newline); NULL on ENOMEM. */
char *cgroup_event_dumps(const json_t *event);

/* OOM notifications. v1: an eventfd registered through cgroup.event_control
 * on memory.oom_control (it also fires when the cgroup is removed). v2:
 * inotify on memory.events (the oom_kill counter) and cgroup.events
 * (populated 0: the container is gone).
 *
 *   struct cgroup_oom_watch w;
 *   cgroup_oom_watch_open(&set, &w, &e);
 *   poll {cgroup_oom_watch_fd(&w), POLLIN} with the stats interval;
 *   n = cgroup_oom_watch_read(&w);   // new OOM kills, 0 = nothing new
 *   if (w.gone) stop;                 // the cgroup was removed / emptied
 *   cgroup_oom_watch_close(&w);
 */
struct cgroup_oom_watch {
  int fd;              /* eventfd (v1) or inotify (v2) to poll */
  int oom_fd;          /* v1: memory.oom_control, kept open */
  bool v2;
  bool gone;           /* set by read when the cgroup disappeared */
  uint64_t oom_kills;  /* v2: last oom_kill count seen */
  char dir[4096];      /* the memory cgroup directory */
};

int cgroup_oom_watch_open(const struct cgroup_set *s, struct cgroup_oom_watch *w,
                          struct hull_error *e);
int cgroup_oom_watch_fd(const struct cgroup_oom_watch *w);
/* Drain the descriptor; returns the number of new OOM events (>= 0) or
 * -errno. Sets w->gone when the cgroup is removed or has no process. */
int cgroup_oom_watch_read(struct cgroup_oom_watch *w);
void cgroup_oom_watch_close(struct cgroup_oom_watch *w);

/* ---- `update` flags ------------------------------------------------------ */

/* runc's update flags; NULL = not given. */
struct cgroup_update_args {
  const char *resources_file;   /* -r/--resources FILE, "-" = stdin: the
                                   other flags are then ignored (as runc) */
  const char *memory;           /* --memory: RAM size ("512m", "1g", "-1") */
  const char *memory_swap;      /* --memory-swap */
  const char *memory_reservation; /* --memory-reservation */
  const char *kernel_memory;    /* --kernel-memory: ignored with a warning */
  const char *kernel_memory_tcp;/* --kernel-memory-tcp: ignored */
  const char *cpu_shares;       /* --cpu-share (also --cpu-shares) */
  const char *cpu_quota;        /* --cpu-quota */
  const char *cpu_period;       /* --cpu-period */
  const char *cpu_burst;        /* --cpu-burst */
  const char *cpu_rt_runtime;   /* --cpu-rt-runtime */
  const char *cpu_rt_period;    /* --cpu-rt-period */
  const char *cpu_idle;         /* --cpu-idle */
  const char *cpuset_cpus;      /* --cpuset-cpus */
  const char *cpuset_mems;      /* --cpuset-mems */
  const char *pids_limit;       /* --pids-limit */
  const char *blkio_weight;     /* --blkio-weight */
};

/* Record flag NAME (without dashes: "memory", "cpu-share", "r", ...) with
 * VALUE. Returns 0, or -ENOENT for a name that is not an update flag. */
int cgroup_update_args_set(struct cgroup_update_args *a, const char *name,
                           const char *value);
/* The flags as a linux.resources object (validated), as runc's update
 * builds it: -r FILE is read as is; sizes take runc's suffixes. */
int cgroup_update_args_to_resources(const struct cgroup_update_args *a,
                                    json_t **out, struct hull_error *e);
/* docker/go-units RAMInBytes: "1024", "512m", "1.5g", "2 GiB", "64kb";
 * case-insensitive binary units k m g t p with optional "b"/"ib".
 * Returns 0 or -EINVAL. */
int cgroup_parse_ram(const char *text, int64_t *out);

#endif
