/* Fuzzing of the container state loader: container_load reads
 * <root>/<id>/state.json, written by an earlier command (or by anyone who
 * could write to the state directory). Whatever the file holds, loading
 * must fail cleanly or give a container that saves and loads back to the
 * same state (no crash, no leak, no use after free under ASan/UBSan). */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/json.h"
#include "runtime/container.h"

static char root[64];

static void cleanup(void) {
  char p[128];
  snprintf(p, sizeof p, "%s/c/state.json", root);
  unlink(p);
  snprintf(p, sizeof p, "%s/c/.state.json.tmp", root);
  unlink(p);
  snprintf(p, sizeof p, "%s/c", root);
  rmdir(p);
  rmdir(root);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  snprintf(root, sizeof root, "/tmp/hull-fuzz-state-XXXXXX");
  if (!mkdtemp(root))
    abort();
  char p[128];
  snprintf(p, sizeof p, "%s/c", root);
  if (mkdir(p, 0700) < 0)
    abort();
  atexit(cleanup);
  return 0;
}

/* The state file is rewritten for each input (the loader reads it by
 * name; container_save replaces it by rename). */
static void put_state(const uint8_t *data, size_t size) {
  char p[128];
  snprintf(p, sizeof p, "%s/c/state.json", root);
  int statefd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (statefd < 0)
    abort();
  size_t off = 0;
  while (off < size) {
    ssize_t n = write(statefd, data + off, size - off);
    if (n <= 0)
      abort();
    off += (size_t)n;
  }
  close(statefd);
}

static void same(const struct container *a, const struct container *b) {
  if (strcmp(a->status, b->status) || a->pid != b->pid ||
      a->start_time != b->start_time || strcmp(a->bundle, b->bundle) ||
      strcmp(a->created, b->created) || strcmp(a->cgroup_path, b->cgroup_path) ||
      a->ns_flags != b->ns_flags || a->ops != b->ops ||
      memcmp(a->ns_inodes, b->ns_inodes, sizeof a->ns_inodes))
    abort();
  if (!json_equal(a->spec.annotations, b->spec.annotations))
    abort();
  if ((a->driver_data == NULL) != (b->driver_data == NULL) ||
      (a->driver_data && !json_equal(a->driver_data, b->driver_data)))
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  put_state(data, size);
  struct runtime_opts ro = {.root = root, .progname = "hull-runtime"};
  struct container *c = NULL, *d = NULL;
  struct hull_error e = {0};
  int r = container_load(&ro, "c", false, &c, &e);
  if (r < 0) {
    /* a clean error: a code and a message, nothing returned */
    if (e.code != -r || !e.msg[0] || c)
      abort();
    return 0;
  }
  /* What the commands do with a loaded container. */
  const char *st = container_status(c);
  json_t *o = container_oci_state(c, st);
  char *text = hjson_dumps(o);
  if (!text)
    abort();
  free(text);
  json_decref(o);
  /* Save, load again: the same container. */
  if (container_save(c, &e) < 0)
    abort();
  if (container_load(&ro, "c", false, &d, &e) < 0)
    abort();
  same(c, d);
  container_free(d);
  container_free(c);
  return 0;
}
