/* hull load: docker-archive (legacy layout with <id>/layer.tar, or
 * manifest.json pointing into an OCI layout as docker 25+ writes) and OCI
 * image-layout tars, plain or compressed.
 *
 * The archive is read once, as a stream: every file that may be a blob is
 * hashed on the way into the store (entries named blobs/sha256/<hex> must
 * match their name), small metadata files are kept in memory. Then the
 * images are put together from manifest.json or index.json: each config
 * and layer must be there, each layer's uncompressed digest must be the
 * config's diff_id, and only then are the names written, last. */
#include <archive.h>
#include <archive_entry.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/cleanup.h"
#include "../common/json.h"
#include "store_priv.h"

#define META_MAX (16 << 20)
#define BUF_SIZE (1 << 20)

const char *layer_media_type(const char *compression);

struct loader {
  struct store *s;
  struct tmpdir t;
  struct progress *p;
  json_t *files;    /* archive path -> digest of the blob it became */
  json_t *links;    /* archive path -> path it links to */
  char *manifest_json, *index_json;
  size_t manifest_len, index_len;
  char **loaded;    /* names made */
  size_t n_loaded;
};

/* "./a//b" -> "a/b"; ".." components make the name unusable (NULL). */
static char *clean_path(const char *dir, const char *p) {
  char buf[8192];
  if (dir && p[0] != '/')
    snprintf(buf, sizeof buf, "%s/%s", dir, p);
  else
    snprintf(buf, sizeof buf, "%s", p);
  char *out = calloc(1, strlen(buf) + 1);
  if (!out)
    return NULL;
  char *save = NULL;
  size_t n = 0;
  for (char *c = strtok_r(buf, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
    if (!strcmp(c, "."))
      continue;
    if (!strcmp(c, "..")) {
      /* pop one component (links like ../<id>/layer.tar) */
      char *slash = strrchr(out, '/');
      if (n == 0) {
        free(out);
        return NULL;
      }
      n = slash ? (size_t)(slash - out) : 0;
      out[n] = 0;
      continue;
    }
    n += (size_t)sprintf(out + n, "%s%s", n ? "/" : "", c);
  }
  return out;
}

static bool is_blob_path(const char *p, char digest[HULL_DIGEST_MAX]) {
  if (strncmp(p, "blobs/sha256/", 13))
    return false;
  snprintf(digest, HULL_DIGEST_MAX, "sha256:%s", p + 13);
  return digest_valid(digest);
}

static int read_meta(struct archive *a, const char *name, int64_t size, char **out,
                     size_t *len, struct hull_error *e) {
  if (size < 0 || size > META_MAX)
    return hull_err(e, EFBIG, "%s: too large (%lld bytes)", name, (long long)size);
  char *buf = malloc((size_t)size + 1);
  if (!buf)
    return hull_errno(e, ENOMEM, "%s", name);
  size_t n = 0;
  while (n < (size_t)size) {
    la_ssize_t k = archive_read_data(a, buf + n, (size_t)size - n);
    if (k <= 0) {
      free(buf);
      return hull_err(e, EBADMSG, "%s: truncated archive: %s", name,
                      k < 0 ? archive_error_string(a) : "short read");
    }
    n += (size_t)k;
  }
  buf[n] = 0;
  free(*out);
  *out = buf;
  *len = n;
  return 0;
}

static int read_blob(struct loader *L, struct archive *a, const char *name,
                     const char *expect, char *buf, struct hull_error *e) {
  struct blob_writer w;
  int r = blob_writer_open(L->s, &L->t, &w, e);
  if (r < 0)
    return r;
  la_ssize_t n;
  while ((n = archive_read_data(a, buf, BUF_SIZE)) > 0)
    if ((r = blob_writer_write(&w, buf, (size_t)n, e)) < 0) {
      blob_writer_abort(&w);
      return r;
    }
  if (n < 0) {
    blob_writer_abort(&w);
    return hull_err(e, EBADMSG, "%s: truncated archive: %s", name, archive_error_string(a));
  }
  char got[HULL_DIGEST_MAX];
  if ((r = blob_writer_commit(L->s, &w, expect, got, e)) < 0)
    return hull_err_prefix(e, "%s", name);
  json_object_set_new(L->files, name, json_string(got));
  return 0;
}

static int read_archive(struct loader *L, int fd, struct hull_error *e) {
  struct archive *a = archive_read_new();
  _cleanup_free_ char *buf = malloc(BUF_SIZE);
  if (!a || !buf) {
    if (a)
      archive_read_free(a);
    return hull_errno(e, ENOMEM, "load");
  }
  layer_support_filters(a);
  archive_read_support_format_tar(a);
  archive_read_support_format_gnutar(a);
  int r = 0;
  if (archive_read_open_fd(a, fd, BUF_SIZE) != ARCHIVE_OK) {
    r = hull_err(e, EBADMSG, "not a tar archive (or the input is empty): %s",
                 archive_error_string(a));
    goto out;
  }
  struct archive_entry *ent;
  int ar;
  size_t n_entries = 0;
  while ((ar = archive_read_next_header(a, &ent)) == ARCHIVE_OK || ar == ARCHIVE_WARN) {
    n_entries++;
    _cleanup_free_ char *name = clean_path(NULL, archive_entry_pathname(ent));
    if (!name)
      continue; /* ".." names are never looked up: ignore */
    mode_t type = archive_entry_filetype(ent);
    if (type == AE_IFLNK) {
      const char *target = archive_entry_symlink(ent);
      char *dir = strdup(name);
      char *slash = dir ? strrchr(dir, '/') : NULL;
      if (slash)
        *slash = 0;
      char *full = target ? clean_path(slash ? dir : NULL, target) : NULL;
      if (full)
        json_object_set_new(L->links, name, json_string(full));
      free(full);
      free(dir);
      continue;
    }
    const char *hl = archive_entry_hardlink(ent);
    if (hl) {
      char *full = clean_path(NULL, hl);
      if (full)
        json_object_set_new(L->links, name, json_string(full));
      free(full);
      continue;
    }
    if (type != AE_IFREG)
      continue;
    char digest[HULL_DIGEST_MAX];
    const char *base = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;
    if (!strcmp(name, "manifest.json")) {
      r = read_meta(a, name, archive_entry_size(ent), &L->manifest_json, &L->manifest_len, e);
    } else if (!strcmp(name, "index.json")) {
      r = read_meta(a, name, archive_entry_size(ent), &L->index_json, &L->index_len, e);
    } else if (!strcmp(name, "oci-layout") || !strcmp(name, "repositories") ||
               !strcmp(base, "VERSION") || !strcmp(base, "json")) {
      continue; /* nothing hull needs */
    } else {
      if (archive_entry_size(ent) >= (1 << 20))
        progress_msg(L->p, "Reading %.60s (%.1f MB)", name,
                     (double)archive_entry_size(ent) / 1e6);
      r = read_blob(L, a, name, is_blob_path(name, digest) ? digest : NULL, buf, e);
    }
    if (r < 0)
      goto out;
  }
  if (ar != ARCHIVE_EOF) {
    r = hull_err(e, EBADMSG, "bad archive: %s", archive_error_string(a));
    goto out;
  }
  if (n_entries == 0)
    r = hull_err(e, EBADMSG, "empty archive");
out:
  archive_read_free(a);
  return r;
}

/* The blob an archive path became (following the archive's links). */
static const char *lookup(struct loader *L, const char *path) {
  _cleanup_free_ char *p = clean_path(NULL, path);
  if (!p)
    return NULL;
  char cur[8192];
  snprintf(cur, sizeof cur, "%s", p);
  for (int hops = 0; hops < 16; hops++) {
    const char *d = json_string_value(json_object_get(L->files, cur));
    if (d)
      return d;
    char digest[HULL_DIGEST_MAX];
    if (is_blob_path(cur, digest) && blob_exists(L->s, digest)) {
      /* an OCI blob the archive did not hold but the store does */
      json_object_set_new(L->files, cur, json_string(digest));
      return json_string_value(json_object_get(L->files, cur));
    }
    const char *t = json_string_value(json_object_get(L->links, cur));
    if (!t)
      return NULL;
    snprintf(cur, sizeof cur, "%s", t);
  }
  return NULL;
}

static int blob_size(struct store *s, const char *digest, int64_t *size) {
  _cleanup_close_ int fd = blob_open(s, digest, NULL);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) < 0)
    return -ENOENT;
  *size = st.st_size;
  return 0;
}

/* Check a config and unpack its layers (blobs[i] gives diff_ids[i]). */
static int build_image(struct loader *L, const char *what, const char *config,
                       char **layer_blobs, size_t n_layers, struct hull_error *e) {
  _cleanup_free_ char *text = NULL;
  size_t len;
  json_t *cfg = NULL;
  char **diff_ids = NULL;
  size_t n = 0;
  int r = blob_read(L->s, config, META_MAX, &text, &len, e);
  if (r == 0)
    r = config_parse(text, len, &cfg, &diff_ids, &n, e);
  if (r < 0)
    return hull_err_prefix(e, "%s: config %.19s..", what, config);
  json_decref(cfg);
  if (n != n_layers) {
    img_strv_free(diff_ids);
    return hull_err(e, EBADMSG, "%s: %zu layers, but the config lists %zu diff_ids",
                    what, n_layers, n);
  }
  for (size_t i = 0; i < n; i++) {
    progress_msg(L->p, "Loading layer %.12s (%zu/%zu)", diff_ids[i] + 7, i + 1, n);
    char got[HULL_DIGEST_MAX];
    r = store_layer_add(L->s, &L->t, layer_blobs[i], diff_ids[i], got, e);
    if (r < 0) {
      img_strv_free(diff_ids);
      return hull_err_prefix(e, "%s", what);
    }
  }
  img_strv_free(diff_ids);
  return 0;
}

static int add_loaded(struct loader *L, const char *name) {
  char **v = realloc(L->loaded, (L->n_loaded + 2) * sizeof *v);
  if (!v)
    return -ENOMEM;
  L->loaded = v;
  v[L->n_loaded] = strdup(name);
  if (!v[L->n_loaded])
    return -ENOMEM;
  v[++L->n_loaded] = NULL;
  return 0;
}

/* Names from an archive are checked like any reference ("busybox" ->
 * "busybox:latest"); a bad one is an error, not silently dropped. */
static int norm_names(char **in, size_t n, char ***out, struct hull_error *e) {
  char **v = calloc(n + 1, sizeof *v);
  if (!v)
    return hull_errno(e, ENOMEM, "load");
  for (size_t i = 0; i < n; i++) {
    char buf[512];
    int r = ref_normalize(in[i], buf, sizeof buf, e);
    if (r == 0 && !strchr(buf, ':'))
      r = hull_err(e, EINVAL, "name %s: no tag", in[i]);
    if (r < 0 || !(v[i] = strdup(buf))) {
      img_strv_free(v);
      return r < 0 ? r : hull_errno(e, ENOMEM, "load");
    }
  }
  *out = v;
  return 0;
}

struct pending {
  char id[HULL_DIGEST_MAX], manifest[HULL_DIGEST_MAX];
  char **names;
  size_t n_names;
};

static int load_docker(struct loader *L, struct pending **out, size_t *n_out,
                       struct hull_error *e) {
  struct docker_entry *v;
  size_t n;
  int r = docker_manifest_parse(L->manifest_json, L->manifest_len, &v, &n, e);
  if (r < 0)
    return r;
  struct pending *pv = calloc(n + 1, sizeof *pv);
  if (!pv) {
    docker_manifest_free(v, n);
    return hull_errno(e, ENOMEM, "load");
  }
  for (size_t i = 0; i < n && r == 0; i++) {
    char what[600];
    snprintf(what, sizeof what, "image %s", v[i].tags[0] ? v[i].tags[0] : v[i].config);
    const char *cfg = lookup(L, v[i].config);
    if (!cfg) {
      r = hull_err(e, ENOENT, "%s: manifest.json names config %s, which the archive does not hold",
                   what, v[i].config);
      break;
    }
    char **blobs = calloc(v[i].n_layers + 1, sizeof *blobs);
    struct descriptor *ds = calloc(v[i].n_layers + 1, sizeof *ds);
    if (!blobs || !ds) {
      free(blobs);
      free(ds);
      r = hull_errno(e, ENOMEM, "load");
      break;
    }
    for (size_t k = 0; k < v[i].n_layers && r == 0; k++) {
      const char *b = lookup(L, v[i].layers[k]);
      if (!b) {
        r = hull_err(e, ENOENT, "%s: manifest.json names layer %s, which the archive does not hold",
                     what, v[i].layers[k]);
        break;
      }
      blobs[k] = (char *)b;
      snprintf(ds[k].digest, sizeof ds[k].digest, "%s", b);
      _cleanup_close_ int bfd = blob_open(L->s, b, e);
      if (bfd < 0 || blob_size(L->s, b, &ds[k].size) < 0) {
        r = bfd < 0 ? bfd : hull_err(e, ENOENT, "%s: layer %s missing", what, b);
        break;
      }
      snprintf(ds[k].media_type, sizeof ds[k].media_type, "%s",
               layer_media_type(layer_compression(bfd)));
    }
    if (r == 0)
      r = build_image(L, what, cfg, blobs, v[i].n_layers, e);
    if (r == 0) {
      struct descriptor cd = {0};
      snprintf(cd.media_type, sizeof cd.media_type, "%s", MT_OCI_CONFIG);
      snprintf(cd.digest, sizeof cd.digest, "%s", cfg);
      blob_size(L->s, cfg, &cd.size);
      _cleanup_free_ char *man = manifest_build(&cd, ds, v[i].n_layers);
      if (!man)
        r = hull_errno(e, ENOMEM, "load");
      else
        r = blob_put(L->s, &L->t, man, strlen(man), pv[i].manifest, e);
      snprintf(pv[i].id, sizeof pv[i].id, "%s", cfg);
    }
    if (r == 0) {
      size_t nt = 0;
      while (v[i].tags[nt])
        nt++;
      r = norm_names(v[i].tags, nt, &pv[i].names, e);
      if (r < 0)
        hull_err_prefix(e, "%s", what);
      pv[i].n_names = nt;
    }
    free(blobs);
    free(ds);
  }
  docker_manifest_free(v, n);
  *out = pv;
  *n_out = n;
  return r;
}

/* A manifest of an OCI layout: check and unpack; follow one level of
 * index (a multi-platform image) to the linux manifest of this host's
 * architecture. */
static int oci_manifest(struct loader *L, const struct descriptor *d, int depth,
                        char manifest_out[HULL_DIGEST_MAX], char id_out[HULL_DIGEST_MAX],
                        struct hull_error *e) {
  char path[128];
  snprintf(path, sizeof path, "blobs/sha256/%s", digest_hex(d->digest));
  if (!lookup(L, path))
    return hull_err(e, ENOENT, "index.json names manifest %.19s.., which the archive does not hold",
                    d->digest);
  _cleanup_free_ char *text = NULL;
  size_t len;
  int r = blob_read(L->s, d->digest, META_MAX, &text, &len, e);
  if (r < 0)
    return r;
  if (!strcmp(d->media_type, MT_OCI_INDEX) || !strcmp(d->media_type, MT_DOCKER_LIST)) {
    if (depth > 0)
      return hull_err(e, EBADMSG, "manifest %.19s..: nested index too deep", d->digest);
    struct index_entry *v;
    size_t n;
    if ((r = index_parse(text, len, &v, &n, e)) < 0)
      return hull_err_prefix(e, "manifest %.19s..", d->digest);
    /* index_parse has no platform: take the first manifest (single
     * platform archives) */
    r = n ? oci_manifest(L, &v[0].d, depth + 1, manifest_out, id_out, e)
          : hull_err(e, EBADMSG, "index %.19s..: no manifests", d->digest);
    free(v);
    return r;
  }
  struct manifest m;
  if ((r = manifest_parse(text, len, &m, e)) < 0)
    return hull_err_prefix(e, "manifest %.19s..", d->digest);
  char what[128];
  snprintf(what, sizeof what, "manifest %.19s..", d->digest);
  char **blobs = calloc(m.n_layers + 1, sizeof *blobs);
  if (!blobs) {
    manifest_clear(&m);
    return hull_errno(e, ENOMEM, "load");
  }
  for (size_t k = 0; k <= m.n_layers && r == 0; k++) {
    const struct descriptor *ld = k < m.n_layers ? &m.layers[k] : &m.config;
    snprintf(path, sizeof path, "blobs/sha256/%s", digest_hex(ld->digest));
    int64_t size;
    if (!lookup(L, path) || blob_size(L->s, ld->digest, &size) < 0)
      r = hull_err(e, ENOENT, "%s names blob %.19s.., which the archive does not hold", what,
                   ld->digest);
    else if (size != ld->size)
      r = hull_err(e, EBADMSG, "%s: blob %.19s..: size %lld, manifest says %lld", what,
                   ld->digest, (long long)size, (long long)ld->size);
    if (k < m.n_layers)
      blobs[k] = m.layers[k].digest;
  }
  if (r == 0)
    r = build_image(L, what, m.config.digest, blobs, m.n_layers, e);
  if (r == 0) {
    snprintf(manifest_out, HULL_DIGEST_MAX, "%s", d->digest);
    snprintf(id_out, HULL_DIGEST_MAX, "%s", m.config.digest);
  }
  free(blobs);
  manifest_clear(&m);
  return r;
}

static int load_oci(struct loader *L, struct pending **out, size_t *n_out,
                    struct hull_error *e) {
  struct index_entry *v;
  size_t n;
  int r = index_parse(L->index_json, L->index_len, &v, &n, e);
  if (r < 0)
    return r;
  struct pending *pv = calloc(n + 1, sizeof *pv);
  if (!pv) {
    free(v);
    return hull_errno(e, ENOMEM, "load");
  }
  for (size_t i = 0; i < n && r == 0; i++) {
    r = oci_manifest(L, &v[i].d, 0, pv[i].manifest, pv[i].id, e);
    if (r == 0 && v[i].ref_name[0]) {
      char *name = v[i].ref_name;
      r = norm_names(&name, 1, &pv[i].names, e);
      if (r < 0)
        hull_err_prefix(e, "index.json");
      pv[i].n_names = 1;
    }
  }
  free(v);
  *out = pv;
  *n_out = n;
  return r;
}

int image_load(struct store *s, int fd, struct progress *p, char ***loaded,
               struct hull_error *e) {
  struct loader L = {.s = s, .p = p};
  struct pending *pv = NULL;
  size_t n = 0;
  *loaded = NULL;
  int r = store_gc_hold(s, e);
  if (r < 0)
    return r;
  if ((r = tmpdir_new(s, &L.t, e)) < 0) {
    store_gc_release(s);
    return r;
  }
  L.files = json_object();
  L.links = json_object();
  r = read_archive(&L, fd, e);
  if (r == 0) {
    if (L.manifest_json)
      r = load_docker(&L, &pv, &n, e);
    else if (L.index_json)
      r = load_oci(&L, &pv, &n, e);
    else
      r = hull_err(e, EBADMSG,
                   "neither a docker-archive (manifest.json) nor an OCI layout (index.json)");
  }
  /* Names last, all images of the archive at once. */
  if (r == 0 && (r = store_lock(s, e)) == 0) {
    for (size_t i = 0; i < n && r == 0; i++) {
      r = store_add_image(s, pv[i].id, pv[i].manifest, pv[i].names, pv[i].n_names, e);
      for (size_t k = 0; r == 0 && k < pv[i].n_names; k++)
        r = add_loaded(&L, pv[i].names[k]);
      if (r == 0 && pv[i].n_names == 0)
        r = add_loaded(&L, pv[i].id);
    }
    store_unlock(s);
  }
  for (size_t i = 0; pv && i < n; i++)
    img_strv_free(pv[i].names);
  free(pv);
  json_decref(L.files);
  json_decref(L.links);
  free(L.manifest_json);
  free(L.index_json);
  tmpdir_free(s, &L.t);
  store_gc_release(s);
  if (r < 0) {
    err_oneline(e);
    img_strv_free(L.loaded);
    return r < 0 && e->code == 0 ? hull_errno(e, -r, "load") : r;
  }
  /* one allocation: the pointers, then the strings */
  size_t total = (L.n_loaded + 1) * sizeof(char *);
  for (size_t i = 0; i < L.n_loaded; i++)
    total += strlen(L.loaded[i]) + 1;
  char **one = malloc(total);
  if (!one) {
    img_strv_free(L.loaded);
    return hull_errno(e, ENOMEM, "load");
  }
  char *q = (char *)(one + L.n_loaded + 1);
  for (size_t i = 0; i < L.n_loaded; i++) {
    one[i] = strcpy(q, L.loaded[i]);
    q += strlen(q) + 1;
  }
  one[L.n_loaded] = NULL;
  img_strv_free(L.loaded);
  *loaded = one;
  return 0;
}
