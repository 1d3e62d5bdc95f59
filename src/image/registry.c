/* hull pull and hull push: the distribution protocol's flows over the
 * store. A pull writes blobs under a private temporary directory, checks
 * every digest, unpacks the layers it does not have, and names the image
 * last, so a pull killed at any point leaves nothing visible. */
#include "registry_priv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/cleanup.h"
#include "../common/json.h"

#define ACCEPT_MANIFESTS                                                        \
  "Accept: " MT_OCI_MANIFEST ", " MT_OCI_INDEX ", " MT_DOCKER_MANIFEST ", " MT_DOCKER_LIST
#define MANIFEST_MAX (4u << 20)

static void short_digest(const char *d, char out[20]) {
  snprintf(out, 20, "%.12s", strncmp(d, "sha256:", 7) ? d : d + 7);
}

/* ---- pull */

static int fetch_manifest(struct reg *r, const char *reference, const char *scope,
                          char **body, size_t *len, char digest[HULL_DIGEST_MAX],
                          char **media_type, struct hull_error *e) {
  char path[1024];
  snprintf(path, sizeof path, "/v2/%s/manifests/%s", r->repo, reference);
  struct curl_slist *h = curl_slist_append(NULL, ACCEPT_MANIFESTS);
  struct reg_req q = {.method = "GET", .path = path, .scope = scope, .extra = h,
                      .body_fd = -1};
  struct reg_resp p = {.max = MANIFEST_MAX};
  int rc = reg_do(r, &q, &p, e);
  curl_slist_free_all(h);
  if (rc < 0)
    return rc;
  if (p.status != 200) {
    char what[512];
    snprintf(what, sizeof what, "manifest %s:%s", r->repo, reference);
    rc = reg_fail(r, what, &p, e);
    reg_resp_free(&p);
    return rc;
  }
  digest_buf(p.body ? p.body : "", p.len, digest);
  /* by digest: the bytes must be those; by tag: the registry's header, if
   * it sends one, must agree with them */
  const char *want = !strncmp(reference, "sha256:", 7) ? reference : p.digest;
  if (want && strcmp(want, digest)) {
    rc = hull_err(e, EBADMSG, "registry %s: manifest %s: digest mismatch (got %s)",
                  r->host, want, digest);
    reg_resp_free(&p);
    return rc;
  }
  *body = p.body ? p.body : strdup("");
  *len = p.len;
  p.body = NULL;
  *media_type = p.content_type ? strndup(p.content_type, strcspn(p.content_type, ";"))
                               : NULL;
  reg_resp_free(&p);
  return 0;
}

/* The manifest of an index for platform "os/arch[/variant]". */
static int select_platform(struct reg *r, const char *text, size_t len,
                           const char *platform, char out[HULL_DIGEST_MAX],
                           struct hull_error *e) {
  char os[64] = "linux", arch[64] = "amd64", variant[64] = "";
  if (platform && *platform &&
      sscanf(platform, "%63[^/]/%63[^/]/%63s", os, arch, variant) < 2)
    return hull_err(e, EINVAL, "--platform %s: must be os/arch[/variant]", platform);
  json_error_t je;
  json_t *j = hjson_loadb(text, len, 0, NULL, &je);
  json_t *list = json_object_get(j, "manifests");
  if (!json_is_array(list)) {
    json_decref(j);
    return hull_err(e, EBADMSG, "registry %s: index of %s: no manifests", r->host, r->repo);
  }
  size_t i;
  json_t *m;
  int rc = hull_err(e, ENOENT, "registry %s: %s has no image for %s/%s%s%s", r->host,
                    r->repo, os, arch, *variant ? "/" : "", variant);
  json_array_foreach(list, i, m) {
    json_t *pl = json_object_get(m, "platform");
    const char *mo = json_string_value(json_object_get(pl, "os"));
    const char *ma = json_string_value(json_object_get(pl, "architecture"));
    const char *mv = json_string_value(json_object_get(pl, "variant"));
    const char *d = json_string_value(json_object_get(m, "digest"));
    if (!mo || !ma || !d || strcmp(mo, os) || strcmp(ma, arch) ||
        (*variant && (!mv || strcmp(mv, variant))))
      continue;
    if (!digest_valid(d)) {
      rc = hull_err(e, EBADMSG, "registry %s: index of %s: invalid digest", r->host,
                    r->repo);
      break;
    }
    snprintf(out, HULL_DIGEST_MAX, "%s", d);
    rc = 0;
    break;
  }
  json_decref(j);
  return rc;
}

struct blob_sink {
  struct blob_writer *w;
  struct hull_error *e;
  struct progress *p;
  uint64_t got, total;
  char name[20];
};

static int sink_write(void *arg, const void *data, size_t len) {
  struct blob_sink *b = arg;
  /* a registry that sends more than the descriptor's size is stopped
   * here, not when the disk is full */
  if (b->total && b->got + len > b->total) {
    hull_err(b->e, EBADMSG, "blob %s: more than the %llu bytes its descriptor says", b->name,
             (unsigned long long)b->total);
    return -1;
  }
  if (blob_writer_write(b->w, data, len, b->e) < 0)
    return -1;
  b->got += len;
  progress_bar(b->p, b->name, b->got, b->total);
  return 0;
}

/* Download a blob into the store, its digest checked. */
static int fetch_blob(struct store *s, struct tmpdir *t, struct reg *r,
                      const struct descriptor *d, const char *scope,
                      struct progress *pg, struct hull_error *e) {
  if (blob_exists(s, d->digest))
    return 0;
  char path[1024];
  snprintf(path, sizeof path, "/v2/%s/blobs/%s", r->repo, d->digest);
  struct blob_writer w;
  int rc = blob_writer_open(s, t, &w, e);
  if (rc < 0)
    return rc;
  struct blob_sink b = {.w = &w, .e = e, .p = pg, .total = (uint64_t)d->size};
  short_digest(d->digest, b.name);
  progress_msg(pg, "%s: downloading (%lld bytes)", b.name, (long long)d->size);
  struct reg_req q = {.method = "GET", .path = path, .scope = scope, .body_fd = -1};
  struct reg_resp p = {.max = 1 << 16, .sink = sink_write, .sink_arg = &b};
  rc = reg_do(r, &q, &p, e);
  if (rc == -EIO && p.sink_failed)
    hull_err_prefix(e, "blob %s", d->digest);
  if (rc == 0 && p.status != 200) {
    char what[256];
    snprintf(what, sizeof what, "blob %s", d->digest);
    rc = reg_fail(r, what, &p, e);
  }
  if (rc == 0 && d->size >= 0 && b.got != (uint64_t)d->size)
    rc = hull_err(e, EBADMSG, "registry %s: blob %s: %llu bytes, the manifest says %lld",
                  r->host, d->digest, (unsigned long long)b.got, (long long)d->size);
  reg_resp_free(&p);
  if (rc < 0) {
    blob_writer_abort(&w);
    return rc;
  }
  char got[HULL_DIGEST_MAX];
  rc = blob_writer_commit(s, &w, d->digest, got, e);
  return rc < 0 ? hull_err_prefix(e, "registry %s: blob", r->host) : 0;
}

int registry_pull(struct store *s, const char *refstr, const struct registry_opts *o,
                  char out_id[HULL_DIGEST_MAX], struct hull_error *e) {
  struct ref rf;
  int rc = ref_parse(refstr, &rf, e);
  if (rc < 0)
    return rc;
  struct reg r;
  if ((rc = reg_open(&r, rf.name, o->creds, o->tls_verify, e)) < 0) {
    reg_close(&r);
    return rc;
  }
  char scope[400];
  snprintf(scope, sizeof scope, "repository:%s:pull", r.repo);
  const char *reference = rf.digest[0] ? rf.digest : rf.tag;
  _cleanup_free_ char *man = NULL, *mt = NULL, *cfg_text = NULL;
  size_t man_len = 0, cfg_len = 0;
  char man_digest[HULL_DIGEST_MAX], chosen[HULL_DIGEST_MAX];
  struct manifest m = {0};
  char **diff_ids = NULL;
  size_t n_diff = 0;
  json_t *config = NULL;
  struct tmpdir t = {.fd = -1};
  bool held = false;

  progress_msg(o->progress, "Pulling %s", refstr);
  if ((rc = fetch_manifest(&r, reference, scope, &man, &man_len, man_digest, &mt, e)) < 0)
    goto out;
  bool is_index = (mt && (!strcmp(mt, MT_OCI_INDEX) || !strcmp(mt, MT_DOCKER_LIST))) ||
                  (!mt && strstr(man, "\"manifests\""));
  if (is_index) {
    if ((rc = select_platform(&r, man, man_len, o->platform, chosen, e)) < 0)
      goto out;
    free(man);
    free(mt);
    man = mt = NULL;
    if ((rc = fetch_manifest(&r, chosen, scope, &man, &man_len, man_digest, &mt, e)) < 0)
      goto out;
  }
  if ((rc = manifest_parse(man, man_len, &m, e)) < 0) {
    hull_err_prefix(e, "registry %s: %s", r.host, refstr);
    goto out;
  }
  if ((rc = store_gc_hold(s, e)) < 0)
    goto out;
  held = true;
  if ((rc = tmpdir_new(s, &t, e)) < 0)
    goto out;
  char got[HULL_DIGEST_MAX];
  if ((rc = blob_put(s, &t, man, man_len, got, e)) < 0 ||
      (rc = fetch_blob(s, &t, &r, &m.config, scope, o->progress, e)) < 0 ||
      (rc = blob_read(s, m.config.digest, MANIFEST_MAX, &cfg_text, &cfg_len, e)) < 0 ||
      (rc = config_parse(cfg_text, cfg_len, &config, &diff_ids, &n_diff, e)) < 0)
    goto out;
  if (n_diff != m.n_layers) {
    rc = hull_err(e, EBADMSG, "image %s: %zu layers but %zu diff_ids in its config",
                  refstr, m.n_layers, n_diff);
    goto out;
  }
  for (size_t i = 0; i < m.n_layers; i++) {
    char name[20];
    short_digest(m.layers[i].digest, name);
    /* the layer unpacked and its blob kept (save and push need it) */
    if (layer_exists(s, diff_ids[i]) && blob_exists(s, m.layers[i].digest)) {
      progress_msg(o->progress, "%s: already present", name);
      continue;
    }
    if ((rc = fetch_blob(s, &t, &r, &m.layers[i], scope, o->progress, e)) < 0 ||
        (rc = store_layer_add(s, &t, m.layers[i].digest, diff_ids[i], got, e)) < 0)
      goto out;
    progress_msg(o->progress, "%s: done", name);
  }
  char named[600];
  ref_string(&rf, named, sizeof named);
  char *names[1] = {named};
  /* the name last: until here nothing of the pull is visible */
  if ((rc = store_add_image(s, m.config.digest, man_digest, names, 1, e)) < 0)
    goto out;
  snprintf(out_id, HULL_DIGEST_MAX, "%s", m.config.digest);
  progress_msg(o->progress, "Pulled %s: %s", named, m.config.digest);
  rc = 0;
out:
  if (t.fd >= 0)
    tmpdir_free(s, &t);
  if (held)
    store_gc_release(s);
  manifest_clear(&m);
  img_strv_free(diff_ids);
  json_decref(config);
  reg_close(&r);
  return rc;
}

/* ---- push */

static char *absolute_location(struct reg *r, const char *loc) {
  char *u = NULL;
  if (!strncmp(loc, "http://", 7) || !strncmp(loc, "https://", 8))
    u = strdup(loc);
  else if (asprintf(&u, "%s://%s%s", r->scheme, r->host, loc) < 0)
    u = NULL;
  return u;
}

/* Repositories of the same registry that the store's names say hold
 * images: candidates to mount a blob from instead of uploading it. */
static char **mount_sources(struct store *s, struct reg *r) {
  struct image **list = NULL;
  size_t n = 0;
  struct hull_error ignored;
  char **out = calloc(64, sizeof *out);
  size_t k = 0;
  if (!out || image_list(s, &list, &n, &ignored) < 0)
    return out;
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < list[i]->n_names && k < 63; j++) {
      struct ref rf;
      char host[256], repo[256];
      if (ref_parse(list[i]->names[j], &rf, &ignored) < 0 ||
          reg_split(rf.name, host, sizeof host, repo, sizeof repo, &ignored) < 0 ||
          strcmp(host, r->host) || !strcmp(repo, r->repo))
        continue;
      out[k++] = strdup(repo);
    }
  image_list_free(list, n);
  return out;
}

static int push_blob(struct store *s, struct reg *r, const struct descriptor *d,
                     const char *scope, char **sources, struct progress *pg,
                     struct hull_error *e) {
  char path[1024], name[20];
  short_digest(d->digest, name);
  snprintf(path, sizeof path, "/v2/%s/blobs/%s", r->repo, d->digest);
  struct reg_req head = {.method = "HEAD", .path = path, .scope = scope, .body_fd = -1};
  struct reg_resp p = {.max = 1 << 16};
  int rc = reg_do(r, &head, &p, e);
  long st = p.status;
  reg_resp_free(&p);
  if (rc < 0)
    return rc;
  if (st == 200) {
    progress_msg(pg, "%s: already in the registry", name);
    return 0;
  }
  /* a mount from another repository, else a new upload */
  _cleanup_free_ char *loc = NULL;
  for (size_t i = 0; sources && sources[i] && !loc; i++) {
    char *from = curl_easy_escape(r->curl, sources[i], 0);
    snprintf(path, sizeof path, "/v2/%s/blobs/uploads/?mount=%s&from=%s", r->repo,
             d->digest, from ? from : "");
    curl_free(from);
    struct reg_req q = {.method = "POST", .path = path, .scope = scope, .body_fd = -1};
    struct reg_resp pm = {.max = 1 << 16};
    rc = reg_do(r, &q, &pm, e);
    if (rc == 0 && pm.status == 201) {
      reg_resp_free(&pm);
      progress_msg(pg, "%s: mounted from %s", name, sources[i]);
      return 0;
    }
    if (rc == 0 && pm.status == 202 && pm.location)
      loc = absolute_location(r, pm.location);
    reg_resp_free(&pm);
    if (rc < 0)
      return rc;
  }
  if (!loc) {
    snprintf(path, sizeof path, "/v2/%s/blobs/uploads/", r->repo);
    struct reg_req q = {.method = "POST", .path = path, .scope = scope, .body_fd = -1};
    struct reg_resp pu = {.max = 1 << 16};
    rc = reg_do(r, &q, &pu, e);
    if (rc == 0 && (pu.status != 202 || !pu.location))
      rc = reg_fail(r, "start an upload", &pu, e);
    if (rc == 0)
      loc = absolute_location(r, pu.location);
    reg_resp_free(&pu);
    if (rc < 0)
      return rc;
  }
  if (!loc)
    return hull_err(e, ENOMEM, "registry %s: upload", r->host);
  char url[4096];
  snprintf(url, sizeof url, "%s%sdigest=%s", loc, strchr(loc, '?') ? "&" : "?", d->digest);
  int fd = blob_open(s, d->digest, e);
  if (fd < 0)
    return fd;
  struct stat stb;
  fstat(fd, &stb);
  progress_msg(pg, "%s: uploading (%lld bytes)", name, (long long)stb.st_size);
  struct reg_req q = {.method = "PUT", .url = url, .scope = scope,
                      .content_type = "application/octet-stream", .body_fd = fd,
                      .body_len = stb.st_size, .progress = pg, .progress_name = name};
  struct reg_resp pp = {.max = 1 << 16};
  rc = reg_do(r, &q, &pp, e);
  close(fd);
  if (rc == 0 && pp.status != 201) {
    char what[256];
    snprintf(what, sizeof what, "upload of blob %s", d->digest);
    rc = reg_fail(r, what, &pp, e);
  }
  reg_resp_free(&pp);
  return rc;
}

int registry_push(struct store *s, const char *src, const char *dest,
                  const struct registry_opts *o, char out_digest[HULL_DIGEST_MAX],
                  struct hull_error *e) {
  struct image *img = NULL;
  int rc = image_resolve(s, src, &img, e);
  if (rc < 0)
    return rc;
  struct ref rf;
  if ((rc = ref_parse(dest ? dest : src, &rf, e)) < 0) {
    image_free(img);
    return rc;
  }
  struct reg r;
  if ((rc = reg_open(&r, rf.name, o->creds, o->tls_verify, e)) < 0) {
    reg_close(&r);
    image_free(img);
    return rc;
  }
  char scope[400];
  snprintf(scope, sizeof scope, "repository:%s:pull,push", r.repo);
  _cleanup_free_ char *man = NULL;
  size_t len = 0;
  struct manifest m = {0};
  char **sources = NULL;
  json_t *mj = NULL;
  if ((rc = blob_read(s, img->manifest, MANIFEST_MAX, &man, &len, e)) < 0 ||
      (rc = manifest_parse(man, len, &m, e)) < 0)
    goto out;
  progress_msg(o->progress, "Pushing %s", dest ? dest : src);
  sources = mount_sources(s, &r);
  for (size_t i = 0; i < m.n_layers; i++)
    if ((rc = push_blob(s, &r, &m.layers[i], scope, sources, o->progress, e)) < 0)
      goto out;
  if ((rc = push_blob(s, &r, &m.config, scope, sources, o->progress, e)) < 0)
    goto out;
  json_error_t je;
  mj = hjson_loadb(man, len, 0, NULL, &je);
  const char *mt = json_string_value(json_object_get(mj, "mediaType"));
  char path[1024];
  snprintf(path, sizeof path, "/v2/%s/manifests/%s", r.repo,
           rf.digest[0] ? rf.digest : rf.tag);
  struct reg_req q = {.method = "PUT", .path = path, .scope = scope,
                      .content_type = mt ? mt : MT_OCI_MANIFEST, .body = man,
                      .body_len_mem = len, .body_fd = -1};
  struct reg_resp p = {.max = 1 << 16};
  rc = reg_do(&r, &q, &p, e);
  if (rc == 0 && p.status != 201)
    rc = reg_fail(&r, "manifest upload", &p, e);
  reg_resp_free(&p);
  if (rc < 0)
    goto out;
  snprintf(out_digest, HULL_DIGEST_MAX, "%s", img->manifest);
  progress_msg(o->progress, "Pushed %s: %s", dest ? dest : src, img->manifest);
out:
  for (size_t i = 0; sources && sources[i]; i++)
    free(sources[i]);
  free(sources);
  json_decref(mj);
  manifest_clear(&m);
  reg_close(&r);
  image_free(img);
  return rc;
}
