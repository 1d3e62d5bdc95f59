/* Manifests, indexes and configs (OCI and docker schema 2), parsed and
 * checked before anything trusts them: digests well formed, sizes sane,
 * the fields hull uses of the right type. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/json.h"
#include "store_priv.h"

#define MAX_LAYERS 1000

void img_strv_free(char **v) {
  if (!v)
    return;
  for (char **p = v; *p; p++)
    free(*p);
  free(v);
}

static json_t *load(const char *text, size_t len, const char *what,
                    struct hull_error *e) {
  json_error_t je;
  json_t *o = hjson_loadb(text, len, 0, NULL, &je);
  if (!o) {
    hull_err(e, EBADMSG, "%s: not JSON (line %d: %s)", what, je.line, je.text);
    err_oneline(e);
    return NULL;
  }
  if (!json_is_object(o)) {
    json_decref(o);
    hull_err(e, EBADMSG, "%s: not a JSON object", what);
    return NULL;
  }
  return o;
}

static int descriptor(json_t *o, struct descriptor *d, const char *what,
                      struct hull_error *e) {
  if (!json_is_object(o))
    return hull_err(e, EBADMSG, "%s: descriptor is not an object", what);
  json_t *mt = json_object_get(o, "mediaType");
  json_t *dg = json_object_get(o, "digest");
  json_t *sz = json_object_get(o, "size");
  if (!json_is_string(dg) || !digest_valid(json_string_value(dg)))
    return hull_err(e, EBADMSG, "%s: missing or bad digest (want sha256:<64 hex>)", what);
  if (!json_is_integer(sz) || json_integer_value(sz) < 0)
    return hull_err(e, EBADMSG, "%s: missing or bad size", what);
  if (mt && !json_is_string(mt))
    return hull_err(e, EBADMSG, "%s: mediaType is not a string", what);
  if (mt && strlen(json_string_value(mt)) >= sizeof d->media_type)
    return hull_err(e, EBADMSG, "%s: mediaType longer than %zu bytes", what,
                    sizeof d->media_type - 1);
  snprintf(d->media_type, sizeof d->media_type, "%s", mt ? json_string_value(mt) : "");
  snprintf(d->digest, sizeof d->digest, "%s", json_string_value(dg));
  d->size = json_integer_value(sz);
  return 0;
}

void manifest_clear(struct manifest *m) {
  free(m->layers);
  memset(m, 0, sizeof *m);
}

int manifest_parse(const char *text, size_t len, struct manifest *m,
                   struct hull_error *e) {
  memset(m, 0, sizeof *m);
  json_t *o = load(text, len, "manifest", e);
  if (!o)
    return -EBADMSG;
  int r = 0;
  json_t *sv = json_object_get(o, "schemaVersion");
  json_t *mt = json_object_get(o, "mediaType");
  json_t *layers = json_object_get(o, "layers");
  if (!json_is_integer(sv) || json_integer_value(sv) != 2) {
    r = hull_err(e, EBADMSG, "manifest: schemaVersion is not 2");
    goto out;
  }
  if (mt && (!json_is_string(mt) ||
             (strcmp(json_string_value(mt), MT_OCI_MANIFEST) &&
              strcmp(json_string_value(mt), MT_DOCKER_MANIFEST)))) {
    r = hull_err(e, EBADMSG, "manifest: unsupported mediaType %.100s",
                 json_is_string(mt) ? json_string_value(mt) : "(not a string)");
    goto out;
  }
  if ((r = descriptor(json_object_get(o, "config"), &m->config, "manifest config", e)) < 0)
    goto out;
  if (!json_is_array(layers)) {
    r = hull_err(e, EBADMSG, "manifest: layers is not an array");
    goto out;
  }
  size_t n = json_array_size(layers);
  if (n > MAX_LAYERS) {
    r = hull_err(e, EBADMSG, "manifest: %zu layers, at most %d", n, MAX_LAYERS);
    goto out;
  }
  m->layers = calloc(n ? n : 1, sizeof *m->layers);
  if (!m->layers) {
    r = hull_errno(e, ENOMEM, "manifest");
    goto out;
  }
  for (size_t i = 0; i < n; i++) {
    char what[48];
    snprintf(what, sizeof what, "manifest layer %zu", i);
    if ((r = descriptor(json_array_get(layers, i), &m->layers[i], what, e)) < 0)
      goto out;
    const char *lm = m->layers[i].media_type;
    if (*lm && !strstr(lm, "tar") && !strstr(lm, "layer")) {
      r = hull_err(e, EBADMSG, "manifest layer %zu: unsupported mediaType %.100s", i, lm);
      goto out;
    }
    m->n_layers++;
  }
out:
  json_decref(o);
  if (r < 0) {
    manifest_clear(m);
    err_oneline(e); /* messages quote the document */
  }
  return r;
}

int index_parse(const char *text, size_t len, struct index_entry **out,
                size_t *n, struct hull_error *e) {
  *out = NULL;
  *n = 0;
  json_t *o = load(text, len, "index.json", e);
  if (!o)
    return -EBADMSG;
  int r = 0;
  json_t *ms = json_object_get(o, "manifests");
  json_t *sv = json_object_get(o, "schemaVersion");
  if (!json_is_integer(sv) || json_integer_value(sv) != 2 || !json_is_array(ms)) {
    r = hull_err(e, EBADMSG, "index.json: not an OCI index (schemaVersion 2, manifests)");
    goto out;
  }
  size_t k = json_array_size(ms);
  if (k > MAX_LAYERS) {
    r = hull_err(e, EBADMSG, "index.json: too many manifests");
    goto out;
  }
  struct index_entry *v = calloc(k ? k : 1, sizeof *v);
  if (!v) {
    r = hull_errno(e, ENOMEM, "index.json");
    goto out;
  }
  for (size_t i = 0; i < k; i++) {
    json_t *d = json_array_get(ms, i);
    char what[48];
    snprintf(what, sizeof what, "index.json manifest %zu", i);
    if ((r = descriptor(d, &v[i].d, what, e)) < 0) {
      free(v);
      goto out;
    }
    json_t *name = json_object_get(json_object_get(d, "annotations"),
                                   "org.opencontainers.image.ref.name");
    if (json_is_string(name))
      snprintf(v[i].ref_name, sizeof v[i].ref_name, "%s", json_string_value(name));
  }
  *out = v;
  *n = k;
out:
  json_decref(o);
  if (r < 0)
    err_oneline(e);
  return r;
}

int config_parse(const char *text, size_t len, json_t **config,
                 char ***diff_ids, size_t *n, struct hull_error *e) {
  *config = NULL;
  *diff_ids = NULL;
  *n = 0;
  json_t *o = load(text, len, "config", e);
  if (!o)
    return -EBADMSG;
  int r = 0;
  json_t *rootfs = json_object_get(o, "rootfs");
  json_t *ids = json_object_get(rootfs, "diff_ids");
  json_t *c = json_object_get(o, "config");
  json_t *os = json_object_get(o, "os");
  if (!json_is_object(rootfs) || !json_is_array(ids)) {
    r = hull_err(e, EBADMSG, "config: no rootfs.diff_ids");
    goto out;
  }
  if (os && !json_is_string(os)) {
    r = hull_err(e, EBADMSG, "config: os is not a string");
    goto out;
  }
  if (c && !json_is_object(c) && !json_is_null(c)) {
    r = hull_err(e, EBADMSG, "config: config is not an object");
    goto out;
  }
  static const char *strv_fields[] = {"Env", "Cmd", "Entrypoint"};
  for (size_t i = 0; c && i < 3; i++) {
    json_t *f = json_object_get(c, strv_fields[i]);
    if (!f || json_is_null(f))
      continue;
    size_t k;
    json_t *s;
    if (!json_is_array(f)) {
      r = hull_err(e, EBADMSG, "config: config.%s is not an array", strv_fields[i]);
      goto out;
    }
    json_array_foreach(f, k, s) if (!json_is_string(s)) {
      r = hull_err(e, EBADMSG, "config: config.%s has a non-string", strv_fields[i]);
      goto out;
    }
  }
  static const char *str_fields[] = {"WorkingDir", "User", "StopSignal"};
  for (size_t i = 0; c && i < 3; i++) {
    json_t *f = json_object_get(c, str_fields[i]);
    if (f && !json_is_string(f) && !json_is_null(f)) {
      r = hull_err(e, EBADMSG, "config: config.%s is not a string", str_fields[i]);
      goto out;
    }
  }
  size_t k = json_array_size(ids);
  if (k > MAX_LAYERS) {
    r = hull_err(e, EBADMSG, "config: %zu layers, at most %d", k, MAX_LAYERS);
    goto out;
  }
  char **v = calloc(k + 1, sizeof *v);
  if (!v) {
    r = hull_errno(e, ENOMEM, "config");
    goto out;
  }
  for (size_t i = 0; i < k; i++) {
    const char *d = json_string_value(json_array_get(ids, i));
    if (!digest_valid(d)) {
      img_strv_free(v);
      r = hull_err(e, EBADMSG, "config: rootfs.diff_ids[%zu] is not a sha256 digest", i);
      goto out;
    }
    if (!(v[i] = strdup(d))) {
      img_strv_free(v);
      r = hull_errno(e, ENOMEM, "config");
      goto out;
    }
  }
  *diff_ids = v;
  *n = k;
  *config = json_incref(o);
out:
  json_decref(o);
  if (r < 0)
    err_oneline(e);
  return r;
}

static json_t *desc_json(const struct descriptor *d) {
  return json_pack("{s:s,s:s,s:I}", "mediaType", d->media_type, "digest",
                   d->digest, "size", (json_int_t)d->size);
}

char *manifest_build(const struct descriptor *config,
                     const struct descriptor *layers, size_t n) {
  json_t *ls = json_array();
  for (size_t i = 0; i < n; i++)
    json_array_append_new(ls, desc_json(&layers[i]));
  json_t *o = json_pack("{s:i,s:s,s:o,s:o}", "schemaVersion", 2, "mediaType",
                        MT_OCI_MANIFEST, "config", desc_json(config), "layers", ls);
  char *text = o ? hjson_dumps(o) : NULL;
  json_decref(o);
  return text;
}

void docker_manifest_free(struct docker_entry *v, size_t n) {
  if (!v)
    return;
  for (size_t i = 0; i < n; i++) {
    free(v[i].config);
    img_strv_free(v[i].layers);
    img_strv_free(v[i].tags);
  }
  free(v);
}

static char **strv_from(json_t *a, size_t *n, bool *ok) {
  *ok = true;
  *n = 0;
  if (!a || json_is_null(a))
    return calloc(1, sizeof(char *));
  if (!json_is_array(a) || json_array_size(a) > MAX_LAYERS) {
    *ok = false;
    return NULL;
  }
  size_t k = json_array_size(a);
  char **v = calloc(k + 1, sizeof *v);
  if (!v)
    return NULL;
  for (size_t i = 0; i < k; i++) {
    const char *s = json_string_value(json_array_get(a, i));
    if (!s || !(v[i] = strdup(s))) {
      *ok = s != NULL;
      img_strv_free(v);
      return NULL;
    }
  }
  *n = k;
  return v;
}

int docker_manifest_parse(const char *text, size_t len,
                          struct docker_entry **out, size_t *n,
                          struct hull_error *e) {
  *out = NULL;
  *n = 0;
  json_error_t je;
  json_t *o = hjson_loadb(text, len, 0, NULL, &je);
  if (!o)
  {
    hull_err(e, EBADMSG, "manifest.json: not JSON (line %d: %s)", je.line, je.text);
    err_oneline(e);
    return -EBADMSG;
  }
  int r = 0;
  if (!json_is_array(o) || json_array_size(o) > MAX_LAYERS) {
    r = hull_err(e, EBADMSG, "manifest.json: not an array of images");
    goto out;
  }
  size_t k = json_array_size(o);
  struct docker_entry *v = calloc(k ? k : 1, sizeof *v);
  if (!v) {
    r = hull_errno(e, ENOMEM, "manifest.json");
    goto out;
  }
  for (size_t i = 0; i < k; i++) {
    json_t *it = json_array_get(o, i);
    const char *cfg = json_string_value(json_object_get(it, "Config"));
    bool ok1, ok2;
    size_t nt;
    if (!cfg) {
      docker_manifest_free(v, k);
      r = hull_err(e, EBADMSG, "manifest.json: image %zu has no Config", i);
      goto out;
    }
    v[i].config = strdup(cfg);
    v[i].layers = strv_from(json_object_get(it, "Layers"), &v[i].n_layers, &ok1);
    v[i].tags = strv_from(json_object_get(it, "RepoTags"), &nt, &ok2);
    if (!ok1 || !ok2) {
      docker_manifest_free(v, k);
      r = hull_err(e, EBADMSG, "manifest.json: image %zu: Layers or RepoTags is not an array of strings", i);
      goto out;
    }
    if (!v[i].config || !v[i].layers || !v[i].tags) {
      docker_manifest_free(v, k);
      r = hull_errno(e, ENOMEM, "manifest.json");
      goto out;
    }
  }
  *out = v;
  *n = k;
out:
  json_decref(o);
  if (r < 0)
    err_oneline(e);
  return r;
}
