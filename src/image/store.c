/* The store's layout, locks, temporary directories, the index of names,
 * blobs and unpacked layers (see store_priv.h for the layout). */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/cleanup.h"
#include "../common/fs.h"
#include "../common/json.h"
#include "../common/log.h"
#include "store_priv.h"

int store_open(const char *root, struct store **out, struct hull_error *e) {
  struct store *s = calloc(1, sizeof *s);
  if (!s)
    return hull_errno(e, ENOMEM, "image store %s", root);
  s->dirfd = s->lockfd = s->gcfd = -1;
  s->root = strdup(root);
  if (!s->root || asprintf(&s->dir, "%s/image", root) < 0) {
    s->dir = NULL;
    store_close(s);
    return hull_errno(e, ENOMEM, "image store %s", root);
  }
  int r = fs_mkdir_p(s->dir, 0700);
  if (r < 0) {
    store_close(s);
    return hull_errno(e, -r, "image store %s", root);
  }
  s->dirfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (s->dirfd < 0) {
    r = -errno;
    store_close(s);
    return hull_errno(e, -r, "image store %s", root);
  }
  static const char *dirs[] = {"blobs", "blobs/sha256", "layers", "l", "tmp"};
  for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++)
    if (mkdirat(s->dirfd, dirs[i], 0700) < 0 && errno != EEXIST) {
      r = -errno;
      store_close(s);
      return hull_errno(e, -r, "image store %s: %s", root, dirs[i]);
    }
  *out = s;
  return 0;
}

void store_close(struct store *s) {
  if (!s)
    return;
  store_gc_release(s);
  store_unlock(s);
  if (s->dirfd >= 0)
    close(s->dirfd);
  free(s->root);
  free(s->dir);
  free(s);
}

const char *store_root(const struct store *s) { return s->root; }

static int take(struct store *s, const char *name, int op, int *fdp,
                struct hull_error *e) {
  if (*fdp >= 0)
    return 0;
  int fd = openat(s->dirfd, name, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0)
    return hull_errno(e, errno, "image store %s: %s", s->root, name);
  while (flock(fd, op) < 0) {
    if (errno == EINTR)
      continue;
    int r = errno;
    close(fd);
    return hull_errno(e, r, "image store %s: lock %s", s->root, name);
  }
  *fdp = fd;
  return 0;
}

int store_lock(struct store *s, struct hull_error *e) {
  int r = take(s, "lock", LOCK_EX, &s->lockfd, e);
  if (r < 0)
    return r;
  store_cleanup(s, false);
  return 0;
}

void store_unlock(struct store *s) {
  if (s->lockfd >= 0)
    close(s->lockfd);
  s->lockfd = -1;
}

int store_gc_hold(struct store *s, struct hull_error *e) {
  return take(s, "gc.lock", LOCK_SH, &s->gcfd, e);
}

void store_gc_release(struct store *s) {
  if (s->gcfd >= 0)
    close(s->gcfd);
  s->gcfd = -1;
}

void err_oneline(struct hull_error *e) {
  if (!e)
    return;
  for (char *c = e->msg; *c; c++)
    if ((unsigned char)*c < 0x20 || *c == 0x7f)
      *c = '?';
}

/* ---- removal ---- */

/* ---- temporary directories ---- */

int tmpdir_new(struct store *s, struct tmpdir *t, struct hull_error *e) {
  t->fd = -1;
  for (int tries = 0; tries < 100; tries++) {
    unsigned char rnd[6];
    if (getrandom(rnd, sizeof rnd, 0) != sizeof rnd)
      return hull_errno(e, errno, "image store: getrandom");
    snprintf(t->name, sizeof t->name, "tmp/op-%d-%02x%02x%02x%02x%02x%02x",
             (int)getpid(), rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5]);
    if (mkdirat(s->dirfd, t->name, 0700) < 0) {
      if (errno == EEXIST)
        continue;
      return hull_errno(e, errno, "image store %s: %s", s->root, t->name);
    }
    t->fd = openat(s->dirfd, t->name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (t->fd < 0 || flock(t->fd, LOCK_EX | LOCK_NB) < 0) {
      int r = errno;
      if (t->fd >= 0)
        close(t->fd);
      t->fd = -1;
      unlinkat(s->dirfd, t->name, AT_REMOVEDIR);
      return hull_errno(e, r, "image store %s: %s", s->root, t->name);
    }
    return 0;
  }
  return hull_err(e, EEXIST, "image store %s: no temporary name", s->root);
}

void tmpdir_free(struct store *s, struct tmpdir *t) {
  if (t->fd < 0)
    return;
  fs_rm_rf_at(s->dirfd, t->name);
  close(t->fd);
  t->fd = -1;
}

/* ---- the index ---- */

int store_index_load(struct store *s, json_t **out, struct hull_error *e) {
  _cleanup_free_ char *text = NULL;
  size_t len;
  struct hull_error ie = {0};
  int r = fs_read_file_at(s->dirfd, "index.json", &text, &len, &ie);
  if (r == -ENOENT) {
    *out = json_pack("{s:[]}", "images");
    return *out ? 0 : hull_errno(e, ENOMEM, "image index");
  }
  if (r < 0)
    return hull_err(e, -r, "image store %s: index.json: %s", s->root, ie.msg);
  json_error_t je;
  json_t *idx = hjson_loadb(text, len, 0, NULL, &je);
  if (!idx || !json_is_array(json_object_get(idx, "images"))) {
    json_decref(idx);
    return hull_err(e, EUCLEAN, "image store %s: index.json is corrupt", s->root);
  }
  *out = idx;
  return 0;
}

int store_index_save(struct store *s, json_t *idx, struct hull_error *e) {
  _cleanup_free_ char *text = hjson_dumps(idx);
  if (!text)
    return hull_errno(e, ENOMEM, "image index");
  /* the names must not outlive a crash that loses the renames of the
   * blobs and layers they name */
  static const char *dirs[] = {"blobs/sha256", "layers", "l"};
  for (size_t i = 0; i < 3; i++) {
    int fd = openat(s->dirfd, dirs[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
      fsync(fd);
      close(fd);
    }
  }
  int r = fs_atomic_write(s->dirfd, "index.json", text, strlen(text), true, e);
  if (r == 0)
    fsync(s->dirfd); /* the rename itself survives a crash */
  return r;
}

/* ---- blobs ---- */

int blob_writer_open(struct store *s, struct tmpdir *t, struct blob_writer *w,
                     struct hull_error *e) {
  static unsigned counter;
  memset(w, 0, sizeof *w);
  w->t = t;
  snprintf(w->tmpname, sizeof w->tmpname, "blob-%u", counter++);
  w->fd = openat(t->fd, w->tmpname,
                 O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (w->fd < 0)
    return hull_errno(e, errno, "image store %s: temporary blob", s->root);
  if (digester_init(&w->d) < 0) {
    blob_writer_abort(w);
    return hull_errno(e, ENOMEM, "sha256");
  }
  return 0;
}

int blob_writer_write(struct blob_writer *w, const void *buf, size_t len,
                      struct hull_error *e) {
  digester_update(&w->d, buf, len);
  w->size += len;
  int r = fs_write_all(w->fd, buf, len);
  if (r < 0)
    return hull_errno(e, -r, "write blob");
  return 0;
}

void blob_writer_abort(struct blob_writer *w) {
  if (w->fd >= 0) {
    close(w->fd);
    unlinkat(w->t->fd, w->tmpname, 0);
  }
  w->fd = -1;
  digester_free(&w->d);
}

int blob_writer_commit(struct store *s, struct blob_writer *w,
                       const char *expect, char got[HULL_DIGEST_MAX],
                       struct hull_error *e) {
  digester_final(&w->d, got);
  if (expect && *expect && strcmp(expect, got)) {
    blob_writer_abort(w);
    return hull_err(e, EBADMSG, "blob %.19s..: digest mismatch (got %.19s..)",
                    expect, got);
  }
  char path[128];
  snprintf(path, sizeof path, "blobs/sha256/%s", digest_hex(got));
  if (faccessat(s->dirfd, path, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
    blob_writer_abort(w); /* content-addressed: the same bytes are there */
    return 0;
  }
  if (fsync(w->fd) < 0 ||
      renameat(w->t->fd, w->tmpname, s->dirfd, path) < 0) {
    int r = errno;
    blob_writer_abort(w);
    return hull_errno(e, r, "image store %s: blob %s", s->root, got);
  }
  close(w->fd);
  w->fd = -1;
  return 0;
}

int blob_put(struct store *s, struct tmpdir *t, const void *buf, size_t len,
             char got[HULL_DIGEST_MAX], struct hull_error *e) {
  struct blob_writer w;
  int r = blob_writer_open(s, t, &w, e);
  if (r < 0)
    return r;
  r = blob_writer_write(&w, buf, len, e);
  if (r < 0) {
    blob_writer_abort(&w);
    return r;
  }
  return blob_writer_commit(s, &w, NULL, got, e);
}

bool blob_exists(struct store *s, const char *digest) {
  if (!digest_valid(digest))
    return false;
  char path[128];
  snprintf(path, sizeof path, "blobs/sha256/%s", digest_hex(digest));
  return faccessat(s->dirfd, path, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

int blob_open(struct store *s, const char *digest, struct hull_error *e) {
  if (!digest_valid(digest))
    return hull_err(e, EINVAL, "invalid digest \"%.80s\"", digest);
  char path[128];
  snprintf(path, sizeof path, "blobs/sha256/%s", digest_hex(digest));
  int fd = openat(s->dirfd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return hull_errno(e, errno, "blob %.19s..", digest);
  return fd;
}

int blob_read(struct store *s, const char *digest, size_t max, char **out,
              size_t *len, struct hull_error *e) {
  _cleanup_close_ int fd = blob_open(s, digest, e);
  if (fd < 0)
    return fd;
  struct stat st;
  if (fstat(fd, &st) < 0)
    return hull_errno(e, errno, "blob %.19s..", digest);
  if ((uint64_t)st.st_size > max)
    return hull_err(e, EFBIG, "blob %.19s..: %lld bytes, more than %zu allowed",
                    digest, (long long)st.st_size, max);
  char *buf = malloc((size_t)st.st_size + 1);
  if (!buf)
    return hull_errno(e, ENOMEM, "blob %.19s..", digest);
  size_t n = 0;
  while (n < (size_t)st.st_size) {
    ssize_t k = read(fd, buf + n, (size_t)st.st_size - n);
    if (k < 0 && errno == EINTR)
      continue;
    if (k <= 0) {
      free(buf);
      return hull_errno(e, k < 0 ? errno : EIO, "blob %.19s..", digest);
    }
    n += (size_t)k;
  }
  buf[n] = 0;
  *out = buf;
  *len = n;
  char got[HULL_DIGEST_MAX];
  digest_buf(*out, *len, got);
  if (strcmp(got, digest)) {
    free(*out);
    *out = NULL;
    return hull_err(e, EBADMSG, "blob %.19s..: digest mismatch (got %.19s..): the store is corrupt",
                    digest, got);
  }
  return 0;
}

/* ---- layers ---- */

void layer_path(const struct store *s, const char *diff_id, char *out,
                size_t len) {
  snprintf(out, len, "%s/layers/%s/diff", s->dir, digest_hex(diff_id));
}

bool layer_exists(struct store *s, const char *diff_id) {
  if (!digest_valid(diff_id))
    return false;
  char path[128];
  snprintf(path, sizeof path, "layers/%s/diff", digest_hex(diff_id));
  return faccessat(s->dirfd, path, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

uint64_t layer_size(struct store *s, const char *diff_id) {
  char path[128];
  snprintf(path, sizeof path, "layers/%s/size", digest_hex(diff_id));
  _cleanup_free_ char *text = NULL;
  size_t len;
  if (fs_read_file_at(s->dirfd, path, &text, &len, NULL) < 0)
    return 0;
  return strtoull(text, NULL, 10);
}

static int make_short_link(struct store *s, int layerfd, const char *hex,
                           char link[32], struct hull_error *e) {
  char target[128];
  snprintf(target, sizeof target, "../layers/%s/diff", hex);
  for (int tries = 0; tries < 100; tries++) {
    unsigned char rnd[8];
    if (getrandom(rnd, sizeof rnd, 0) != sizeof rnd)
      return hull_errno(e, errno, "getrandom");
    static const char b32[] = "abcdefghijklmnopqrstuvwxyz234567";
    char name[16];
    for (int i = 0; i < 10; i++)
      name[i] = b32[rnd[i % 8] >> (i >= 8 ? 3 : 0) & 31];
    name[10] = 0;
    snprintf(link, 32, "l/%s", name);
    if (symlinkat(target, s->dirfd, link) < 0) {
      int err = errno;
      link[0] = 0; /* not ours: never removed by the caller */
      if (err == EEXIST)
        continue;
      return hull_errno(e, err, "image store: layer link");
    }
    return fs_atomic_write(layerfd, "link", name, strlen(name), true, e);
  }
  return hull_err(e, EEXIST, "image store: no free layer link name");
}

int store_layer_add(struct store *s, struct tmpdir *t, const char *blob,
                    const char *expect, char got[HULL_DIGEST_MAX],
                    struct hull_error *e) {
  _cleanup_close_ int fd = blob_open(s, blob, e);
  if (fd < 0)
    return fd;
  char magic[6] = "";
  if (expect && layer_exists(s, expect) && pread(fd, magic, 5, 257) == 5 &&
      !memcmp(magic, "ustar", 5) && !strcmp(blob, expect)) {
    snprintf(got, HULL_DIGEST_MAX, "%s", expect); /* a plain tar is its diff_id */
    return 0;
  }
  if (expect && layer_exists(s, expect)) {
    /* Already unpacked (shared with another image): the blob must still
     * be that layer, or the manifest would name bytes the image does not
     * run. Hashing the uncompressed stream is enough. */
    int r = layer_diff_id(fd, got, e);
    if (r < 0)
      return hull_err_prefix(e, "layer %.19s..", blob);
    if (strcmp(expect, got))
      return hull_err(e, EBADMSG,
                      "layer %.19s..: diff_id mismatch (config says %.19s.., content is %.19s..)",
                      blob, expect, got);
    return 0;
  }
  static unsigned counter;
  char name[64];
  snprintf(name, sizeof name, "layer-%u", counter++);
  if (mkdirat(t->fd, name, 0700) < 0)
    return hull_errno(e, errno, "image store: temporary layer");
  char diff[80];
  snprintf(diff, sizeof diff, "%s/diff", name);
  if (mkdirat(t->fd, diff, 0755) < 0)
    return hull_errno(e, errno, "image store: temporary layer");
  _cleanup_close_ int layerfd =
      openat(t->fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  _cleanup_close_ int difffd =
      openat(t->fd, diff, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (layerfd < 0 || difffd < 0)
    return hull_errno(e, errno, "image store: temporary layer");
  struct layer_stats st = {0};
  int r = layer_unpack_blob(fd, difffd, blob, got, &st, e);
  if (r < 0) {
    fs_rm_rf_at(t->fd, name);
    return hull_err_prefix(e, "layer %.19s..", blob);
  }
  if (expect && strcmp(expect, got)) {
    fs_rm_rf_at(t->fd, name);
    return hull_err(e, EBADMSG,
                    "layer %.19s..: diff_id mismatch (config says %.19s.., content is %.19s..)",
                    blob, expect, got);
  }
  if (layer_exists(s, got)) {
    fs_rm_rf_at(t->fd, name);
    return 0;
  }
  char size[32];
  snprintf(size, sizeof size, "%llu", (unsigned long long)st.size);
  r = fs_atomic_write(layerfd, "size", size, strlen(size), true, e);
  char link[32] = "";
  if (r == 0)
    r = make_short_link(s, layerfd, digest_hex(got), link, e);
  if (r < 0) {
    if (link[0])
      unlinkat(s->dirfd, link, 0);
    fs_rm_rf_at(t->fd, name);
    return r;
  }
  /* Unpacked files are written without fsync each (too slow for large
   * layers): one syncfs makes them durable before the rename publishes
   * the layer. */
  syncfs(difffd);
  char dst[128];
  snprintf(dst, sizeof dst, "layers/%s", digest_hex(got));
  if (renameat(t->fd, name, s->dirfd, dst) < 0) {
    r = errno;
    fs_rm_rf_at(t->fd, name);
    if (r == EEXIST || r == ENOTEMPTY) { /* another writer was faster */
      unlinkat(s->dirfd, link, 0);
      return 0;
    }
    unlinkat(s->dirfd, link, 0);
    return hull_errno(e, r, "image store: layer %s", got);
  }
  fsync(s->dirfd);
  return 0;
}

/* ---- cleanup and garbage collection ---- */

static void clean_tmp(struct store *s) {
  int fd = openat(s->dirfd, "tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return;
  DIR *d = fdopendir(fd);
  if (!d) {
    close(fd);
    return;
  }
  struct dirent *de;
  while ((de = readdir(d))) {
    if (de->d_name[0] == '.')
      continue;
    int sub = openat(dirfd(d), de->d_name,
                     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sub < 0) {
      unlinkat(dirfd(d), de->d_name, 0);
      continue;
    }
    /* Held by a live operation: keep. */
    if (flock(sub, LOCK_EX | LOCK_NB) == 0)
      fs_rm_rf_at(dirfd(d), de->d_name);
    close(sub);
  }
  closedir(d);
}

static bool in_list(json_t *set, const char *key) {
  return json_object_get(set, key) != NULL;
}

void store_cleanup(struct store *s, bool gc) {
  clean_tmp(s);
  /* Removing unnamed content needs no writer at work (they hold gc.lock
   * shared while their blobs and layers are not in the index yet). */
  int gcfd = openat(s->dirfd, "gc.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (gcfd < 0)
    return;
  if (flock(gcfd, LOCK_EX | LOCK_NB) < 0) {
    close(gcfd);
    return;
  }
  DIR *d;
  struct dirent *de;
  int fd;
  json_t *idx = NULL, *blobs = NULL, *layers = NULL;
  bool whole = true;
  if (!gc)
    goto links;
  if (store_index_load(s, &idx, NULL) < 0) {
    close(gcfd);
    return;
  }
  blobs = json_object();
  layers = json_object();
  size_t i;
  json_t *img;
  json_array_foreach(json_object_get(idx, "images"), i, img) {
    const char *id = json_string_value(json_object_get(img, "id"));
    const char *man = json_string_value(json_object_get(img, "manifest"));
    if (!digest_valid(id) || !digest_valid(man))
      continue;
    json_object_set_new(blobs, digest_hex(id), json_true());
    json_object_set_new(blobs, digest_hex(man), json_true());
    char *text = NULL;
    size_t len;
    struct manifest m = {0};
    if (blob_read(s, man, 16 << 20, &text, &len, NULL) == 0 &&
        manifest_parse(text, len, &m, NULL) == 0)
      for (size_t k = 0; k < m.n_layers; k++)
        json_object_set_new(blobs, digest_hex(m.layers[k].digest), json_true());
    else
      whole = false;
    manifest_clear(&m);
    free(text);
    char **diff_ids = NULL;
    size_t n = 0;
    json_t *cfg = NULL;
    if (blob_read(s, id, 16 << 20, &text, &len, NULL) == 0 &&
        config_parse(text, len, &cfg, &diff_ids, &n, NULL) == 0)
      for (size_t k = 0; k < n; k++)
        json_object_set_new(layers, digest_hex(diff_ids[k]), json_true());
    else
      whole = false;
    json_decref(cfg);
    img_strv_free(diff_ids);
    free(text);
  }
  /* what a named image uses must be known whole before anything goes:
   * an image that cannot be read now (no memory, no descriptors) keeps
   * all content until a later collection */
  if (!whole) {
    log_msg(LOG_WARN, "image store: an image could not be read; nothing collected");
    goto links;
  }
  fd = openat(s->dirfd, "blobs/sha256", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0 && (d = fdopendir(fd))) {
    while ((de = readdir(d)))
      if (de->d_name[0] != '.' && !in_list(blobs, de->d_name))
        unlinkat(dirfd(d), de->d_name, 0);
    closedir(d);
  } else if (fd >= 0)
    close(fd);
  fd = openat(s->dirfd, "layers", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0 && (d = fdopendir(fd))) {
    while ((de = readdir(d)))
      if (de->d_name[0] != '.' && !in_list(layers, de->d_name))
        fs_rm_rf_at(dirfd(d), de->d_name);
    closedir(d);
  } else if (fd >= 0)
    close(fd);
links:
  /* Short links whose layer is gone (removed, or a killed unpack). */
  fd = openat(s->dirfd, "l", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0 && (d = fdopendir(fd))) {
    while ((de = readdir(d))) {
      if (de->d_name[0] == '.')
        continue;
      struct stat st;
      if (fstatat(dirfd(d), de->d_name, &st, 0) < 0 && errno == ENOENT)
        unlinkat(dirfd(d), de->d_name, 0);
    }
    closedir(d);
  } else if (fd >= 0)
    close(fd);
  json_decref(blobs);
  json_decref(layers);
  json_decref(idx);
  fsync(s->dirfd);
  close(gcfd);
}

int store_gc(struct store *s, struct hull_error *e) {
  bool held = s->lockfd >= 0;
  int r = store_lock(s, e);
  if (r < 0)
    return r;
  store_cleanup(s, true);
  if (!held)
    store_unlock(s);
  return 0;
}

const char *layer_path_hex(const char *path) {
  const char *last = NULL;
  for (const char *p = strstr(path, "/layers/"); p; p = strstr(p + 1, "/layers/"))
    last = p;
  return last ? last + 8 : NULL;
}
