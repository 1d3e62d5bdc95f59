/* Container records: <root>/containers/<id>/config.json, written
 * atomically and durably, changed under a per-container flock (the file
 * "lock" in the directory); names are checked and records renamed in
 * under a store-wide flock (<root>/containers/.lock), so two creates with
 * one name never both succeed. */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../common/cleanup.h"
#include "../common/ids.h"
#include "../common/fs.h"
#include "../common/json.h"
#include "../runtime/container.h"
#include "engine.h"

int engine_open(const char *root, const char *runroot, struct engine **out,
                struct hull_error *e) {
  struct engine *en = calloc(1, sizeof *en);
  if (!en)
    return hull_errno(e, ENOMEM, "engine");
  en->cdirfd = -1;
  char *root_abs = NULL;
  if (fs_mkdir_p(root, 0700) < 0 || !(root_abs = realpath(root, NULL))) {
    int r = hull_errno(e, errno, "store %s", root);
    free(en);
    return r;
  }
  en->root = root_abs;
  if (fs_mkdir_p(runroot, 0700) < 0 || !(en->runroot = realpath(runroot, NULL))) {
    int r = hull_errno(e, errno, "runroot %s", runroot);
    engine_close(en);
    return r;
  }
  if (asprintf(&en->cdir, "%s/containers", en->root) < 0) {
    en->cdir = NULL;
    engine_close(en);
    return hull_errno(e, ENOMEM, "engine");
  }
  if (mkdir(en->cdir, 0700) < 0 && errno != EEXIST) {
    int r = hull_errno(e, errno, "store %s", en->cdir);
    engine_close(en);
    return r;
  }
  en->cdirfd = open(en->cdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (en->cdirfd < 0) {
    int r = hull_errno(e, errno, "store %s", en->cdir);
    engine_close(en);
    return r;
  }
  *out = en;
  return 0;
}

void engine_close(struct engine *en) {
  if (!en)
    return;
  if (en->cdirfd >= 0)
    close(en->cdirfd);
  free(en->root);
  free(en->runroot);
  free(en->cdir);
  free(en);
}

char *record_path(struct engine *en, const char *id, const char *name) {
  char *p;
  if (asprintf(&p, "%s/%s%s%s", en->cdir, id, name ? "/" : "", name ? name : "") < 0)
    return NULL;
  return p;
}

static bool is_id(const char *s) {
  if (strlen(s) != ENGINE_ID_LEN)
    return false;
  for (; *s; s++)
    if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
      return false;
  return true;
}

static int store_lock(struct engine *en, struct hull_error *e) {
  int fd = openat(en->cdirfd, ".lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0)
    return hull_errno(e, errno, "store %s: lock", en->cdir);
  if (flock(fd, LOCK_EX) < 0) {
    int r = hull_errno(e, errno, "store %s: lock", en->cdir);
    close(fd);
    return r;
  }
  return fd;
}

/* Names in use: scan the records (the store lock is held). */
static int name_taken(struct engine *en, const char *name, char *who, size_t len) {
  char **ids;
  size_t n;
  struct hull_error ig;
  if (record_list(en, &ids, &n, &ig) < 0)
    return 0;
  int taken = 0;
  for (size_t i = 0; i < n; i++) {
    struct record *r;
    if (!taken && record_open_id(en, ids[i], false, &r, &ig) == 0) {
      const char *nm = json_string_value(json_object_get(r->cfg, "Name"));
      if (nm && !strcmp(nm, name)) {
        taken = 1;
        snprintf(who, len, "%.12s", ids[i]);
      }
      record_free(r);
    }
    free(ids[i]);
  }
  free(ids);
  return taken;
}

int record_create(struct engine *en, json_t *cfg, char id_out[ENGINE_ID_LEN + 1],
                  struct hull_error *e) {
  char id[ENGINE_ID_LEN + 1];
  hull_random_id(id);
  json_object_set_new(cfg, "Id", json_string(id));
  char name[160];
  const char *given = json_string_value(json_object_get(cfg, "Name"));
  if (given) {
    snprintf(name, sizeof name, "%s", given);
  } else {
    /* hull's default names: "hull_" and the short id, always valid and unique */
    snprintf(name, sizeof name, "hull_%.12s", id);
    json_object_set_new(cfg, "Name", json_string(name));
  }
  int r = engine_validate_name(name, e);
  if (r < 0) {
    json_decref(cfg);
    return r;
  }
  _cleanup_free_ char *text = hjson_dumps(cfg);
  json_decref(cfg);
  if (!text)
    return hull_errno(e, ENOMEM, "container %s", name);
  char tmp[ENGINE_ID_LEN + 8];
  snprintf(tmp, sizeof tmp, ".tmp-%s", id);
  if (mkdirat(en->cdirfd, tmp, 0700) < 0)
    return hull_errno(e, errno, "container %s: directory", name);
  _cleanup_close_ int dfd = openat(en->cdirfd, tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) {
    r = hull_errno(e, errno, "container %s: directory", name);
    goto fail;
  }
  {
    _cleanup_close_ int lfd = openat(dfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lfd < 0) {
      r = hull_errno(e, errno, "container %s: lock", name);
      goto fail;
    }
  }
  if ((r = fs_atomic_write(dfd, "config.json", text, strlen(text), true, e)) < 0)
    goto fail;
  {
    _cleanup_close_ int lk = store_lock(en, e);
    if (lk < 0) {
      r = lk;
      goto fail;
    }
    char who[16];
    if (name_taken(en, name, who, sizeof who)) {
      r = hull_err(e, EEXIST,
                   "container name \"%s\": already in use by container %s (remove it "
                   "or choose another name)",
                   name, who);
      goto fail;
    }
    if (renameat(en->cdirfd, tmp, en->cdirfd, id) < 0) {
      r = hull_errno(e, errno, "container %s: rename", name);
      goto fail;
    }
    fsync(en->cdirfd);
  }
  memcpy(id_out, id, sizeof id);
  return 0;
fail:
  fs_rm_rf_at(en->cdirfd, tmp);
  return r;
}

static int load_cfg(struct record *r, struct hull_error *e) {
  _cleanup_free_ char *text = NULL;
  size_t len;
  int rc = fs_read_file_at(r->dirfd, "config.json", &text, &len, e);
  if (rc < 0)
    return hull_err(e, -rc, "container %.12s: record: %s", r->id, strerror(-rc));
  json_error_t je;
  json_t *cfg = hjson_loadb(text, len, 0, NULL, &je);
  if (!cfg || !json_is_object(cfg)) {
    json_decref(cfg);
    return hull_err(e, EINVAL, "container %.12s: record corrupt: %s", r->id, je.text);
  }
  json_decref(r->cfg);
  r->cfg = cfg;
  return 0;
}

int record_open_id(struct engine *en, const char *id, bool lock, struct record **out,
                   struct hull_error *e) {
  if (!is_id(id))
    return hull_err(e, ENOENT, "container %s: no such container", id);
  struct record *r = calloc(1, sizeof *r);
  if (!r)
    return hull_errno(e, ENOMEM, "container %s", id);
  r->lockfd = -1;
  snprintf(r->id, sizeof r->id, "%s", id);
  r->dirfd = openat(en->cdirfd, id, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int rc;
  if (r->dirfd < 0) {
    rc = errno == ENOENT ? hull_err(e, ENOENT, "container %s: no such container", id)
                         : hull_errno(e, errno, "container %s", id);
    record_free(r);
    return rc;
  }
  if (lock) {
    r->lockfd = openat(r->dirfd, "lock", O_RDWR | O_CLOEXEC);
    if (r->lockfd < 0 || flock(r->lockfd, LOCK_EX) < 0) {
      rc = hull_errno(e, errno, "container %.12s: lock", id);
      record_free(r);
      return rc;
    }
  }
  if ((rc = load_cfg(r, e)) < 0) {
    record_free(r);
    return rc;
  }
  *out = r;
  return 0;
}

int record_find(struct engine *en, const char *ref, bool lock, struct record **out,
                struct hull_error *e) {
  if (is_id(ref))
    return record_open_id(en, ref, lock, out, e);
  char **ids;
  size_t n;
  int r = record_list(en, &ids, &n, e);
  if (r < 0)
    return r;
  const char *by_name = NULL, *by_prefix = NULL;
  int prefixes = 0;
  size_t rl = strlen(ref);
  for (size_t i = 0; i < n; i++) {
    struct record *rec;
    struct hull_error ig;
    if (record_open_id(en, ids[i], false, &rec, &ig) == 0) {
      const char *nm = json_string_value(json_object_get(rec->cfg, "Name"));
      if (nm && !strcmp(nm, ref))
        by_name = ids[i];
      record_free(rec);
    }
    if (rl && !strncmp(ids[i], ref, rl)) {
      by_prefix = ids[i];
      prefixes++;
    }
  }
  const char *pick = by_name ? by_name : prefixes == 1 ? by_prefix : NULL;
  if (pick)
    r = record_open_id(en, pick, lock, out, e);
  else if (prefixes > 1)
    r = hull_err(e, EINVAL, "container %s: ambiguous id prefix (%d containers)", ref,
                 prefixes);
  else
    r = hull_err(e, ENOENT, "container %s: no such container", ref);
  for (size_t i = 0; i < n; i++)
    free(ids[i]);
  free(ids);
  return r;
}

int record_reload(struct record *r, struct hull_error *e) { return load_cfg(r, e); }

int record_save(struct record *r, struct hull_error *e) {
  _cleanup_free_ char *text = hjson_dumps(r->cfg);
  if (!text)
    return hull_errno(e, ENOMEM, "container %.12s: record", r->id);
  int rc = fs_atomic_write(r->dirfd, "config.json", text, strlen(text), true, e);
  if (rc < 0)
    hull_err_prefix(e, "container %.12s", r->id);
  return rc;
}

void record_free(struct record *r) {
  if (!r)
    return;
  if (r->lockfd >= 0)
    close(r->lockfd);
  if (r->dirfd >= 0)
    close(r->dirfd);
  json_decref(r->cfg);
  free(r);
}

int record_list(struct engine *en, char ***ids, size_t *n, struct hull_error *e) {
  int fd = openat(en->cdirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *d = fd < 0 ? NULL : fdopendir(fd);
  if (!d) {
    if (fd >= 0)
      close(fd);
    return hull_errno(e, errno, "store %s", en->cdir);
  }
  size_t cap = 16, cnt = 0;
  char **v = malloc(cap * sizeof *v);
  struct dirent *de;
  while (v && (de = readdir(d))) {
    if (!strncmp(de->d_name, ".tmp-", 5)) {
      /* a create that died: remove it unless one is running right now
       * (a live create holds no lock on it, so only old ones go) */
      struct stat st;
      if (fstatat(fd, de->d_name, &st, 0) == 0 && time(NULL) - st.st_mtime > 60)
        fs_rm_rf_at(fd, de->d_name);
      continue;
    }
    if (!is_id(de->d_name))
      continue;
    if (cnt == cap) {
      char **nv = realloc(v, (cap *= 2) * sizeof *v);
      if (!nv)
        break;
      v = nv;
    }
    v[cnt++] = strdup(de->d_name);
  }
  closedir(d);
  if (!v)
    return hull_errno(e, ENOMEM, "store %s", en->cdir);
  *ids = v;
  *n = cnt;
  return 0;
}

int record_remove(struct engine *en, struct record *r, struct hull_error *e) {
  /* rename away first: the container disappears at once, even if a
   * removal of a big upper directory is interrupted */
  char tmp[ENGINE_ID_LEN + 8];
  snprintf(tmp, sizeof tmp, ".tmp-%s", r->id);
  if (renameat(en->cdirfd, r->id, en->cdirfd, tmp) < 0)
    return hull_errno(e, errno, "container %.12s: remove", r->id);
  int rc = fs_rm_rf_at(en->cdirfd, tmp);
  if (rc < 0)
    return hull_errno(e, -rc, "container %.12s: remove its directory", r->id);
  return 0;
}

json_t *record_state(struct record *r) {
  json_t *st = json_object_get(r->cfg, "State");
  if (!st) {
    st = json_pack("{s:s}", "Status", "created");
    json_object_set_new(r->cfg, "State", st);
  }
  return st;
}

const char *record_status(struct record *r) {
  json_t *st = record_state(r);
  const char *s = json_string_value(json_object_get(st, "Status"));
  if (!s)
    return "created";
  if (engine_status_live(s)) {
    pid_t mpid = (pid_t)json_integer_value(json_object_get(st, "MonitorPid"));
    unsigned long long mstart =
        (unsigned long long)json_integer_value(json_object_get(st, "MonitorStart"));
    if (mpid > 0 && !process_alive(mpid, mstart)) {
      /* the monitor died without writing the end: the container ended
       * with it (its process is the monitor's child, and killed with it
       * via PR_SET_PDEATHSIG) */
      char now[48];
      hull_now_rfc3339(now, sizeof now);
      json_object_set_new(st, "Status", json_string("exited"));
      json_object_set_new(st, "ExitCode", json_integer(255));
      json_object_set_new(st, "Error", json_string("the monitor of the container died"));
      json_object_set_new(st, "FinishedAt", json_string(now));
      return "exited";
    }
  }
  return json_string_value(json_object_get(st, "Status"));
}
