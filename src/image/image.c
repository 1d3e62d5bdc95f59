/* Images as the rest of hull sees them: resolve a reference, list, tag,
 * remove, usage. Names live in index.json (store.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/cleanup.h"
#include "store_priv.h"

void image_free(struct image *img) {
  if (!img)
    return;
  json_decref(img->config);
  for (size_t i = 0; i < img->n_layers; i++)
    free(img->layers[i]);
  free(img->layers);
  for (size_t i = 0; i < img->n_names; i++)
    free(img->names[i]);
  free(img->names);
  free(img);
}

void image_list_free(struct image **list, size_t n) {
  for (size_t i = 0; i < n; i++)
    image_free(list[i]);
  free(list);
}

static long long parse_time(const char *s) {
  if (!s)
    return 0;
  struct tm tm = {0};
  const char *end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
  if (!end)
    return 0;
  return (long long)timegm(&tm);
}

int image_from_entry(struct store *s, json_t *entry, struct image **out,
                     struct hull_error *e) {
  const char *id = json_string_value(json_object_get(entry, "id"));
  const char *man = json_string_value(json_object_get(entry, "manifest"));
  if (!digest_valid(id) || !digest_valid(man))
    return hull_err(e, EUCLEAN, "image store %s: index.json has a bad entry", store_root(s));
  struct image *img = calloc(1, sizeof *img);
  if (!img)
    return hull_errno(e, ENOMEM, "image");
  snprintf(img->id, sizeof img->id, "%s", id);
  snprintf(img->manifest, sizeof img->manifest, "%s", man);
  _cleanup_free_ char *text = NULL;
  size_t len;
  char **diff_ids = NULL;
  size_t n = 0;
  int r = blob_read(s, id, 16 << 20, &text, &len, e);
  if (r == 0)
    r = config_parse(text, len, &img->config, &diff_ids, &n, e);
  if (r < 0) {
    image_free(img);
    return hull_err_prefix(e, "image %.19s..", id);
  }
  img->layers = calloc(n + 1, sizeof *img->layers);
  json_t *names = json_object_get(entry, "names");
  img->names = calloc(json_array_size(names) + 1, sizeof *img->names);
  if (!img->layers || !img->names) {
    img_strv_free(diff_ids);
    image_free(img);
    return hull_errno(e, ENOMEM, "image");
  }
  for (size_t i = 0; i < n; i++) {
    char p[4096];
    layer_path(s, diff_ids[i], p, sizeof p);
    img->layers[i] = strdup(p);
    img->n_layers++;
    img->size += layer_size(s, diff_ids[i]);
  }
  img_strv_free(diff_ids);
  size_t i;
  json_t *nm;
  json_array_foreach(names, i, nm) if (json_is_string(nm))
      img->names[img->n_names++] = strdup(json_string_value(nm));
  img->created = parse_time(json_string_value(json_object_get(img->config, "created")));
  *out = img;
  return 0;
}

static bool has_name(json_t *entry, const char *name) {
  size_t i;
  json_t *nm;
  json_array_foreach(json_object_get(entry, "names"), i, nm) {
    const char *v = json_string_value(nm);
    if (v && !strcmp(v, name))
      return true;
  }
  return false;
}

/* The same name as docker spells it (docker.io/library/), or as podman
 * names local images (localhost/): "busybox:latest" finds either. */
static void alt_names(const char *name, char out[2][512]) {
  out[0][0] = out[1][0] = 0;
  if (!strncmp(name, "docker.io/library/", 18))
    snprintf(out[0], 512, "%s", name + 18);
  else if (!strncmp(name, "docker.io/", 10))
    snprintf(out[0], 512, "%s", name + 10);
  else if (!strncmp(name, "localhost/", 10))
    snprintf(out[0], 512, "%s", name + 10);
  else if (!strchr(name, '/')) {
    snprintf(out[0], 512, "docker.io/library/%s", name);
    snprintf(out[1], 512, "localhost/%s", name);
  }
}

/* Find the index entry a reference names; *by_name tells whether it was
 * a name (as opposed to an id or digest); name gets the normalised name. */
/* An image by name ("busybox" = "busybox:latest", also spelt with
 * docker.io/library/ or localhost/); *found stays NULL when none. */
static int find_by_name(json_t *images, const char *ref, json_t **found,
                        char *name, size_t nlen, struct hull_error *e) {
  size_t i;
  json_t *it;
  struct ref r;
  struct hull_error pe = {0};
  if (ref_parse(ref, &r, &pe) < 0)
    return hull_err(e, EINVAL, "%s", pe.msg);
  if (r.digest[0]) {
    json_array_foreach(images, i, it) {
      const char *m = json_string_value(json_object_get(it, "manifest"));
      if (m && !strcmp(m, r.digest)) {
        *found = it;
        return 0;
      }
    }
    return 0;
  }
  char full[512], alt[2][512];
  ref_string(&r, full, sizeof full);
  alt_names(full, alt);
  for (int pass = 0; pass < 3; pass++) {
    const char *want = pass ? alt[pass - 1] : full;
    if (!*want)
      continue;
    json_array_foreach(images, i, it) if (has_name(it, want)) {
      *found = it;
      if (name)
        snprintf(name, nlen, "%s", want);
      return 0;
    }
  }
  return 0;
}

/* Find the index entry a reference names: a name first (as docker does:
 * an image named "beef" wins over an id starting with beef), then a
 * "sha256:" id or an id prefix of at least 4 hex digits. *by_name tells
 * whether it was a name; name gets the name matched. */
static int find_entry(json_t *idx, const char *ref,
                      json_t **found, bool *by_name, char *name, size_t nlen,
                      struct hull_error *e) {
  json_t *images = json_object_get(idx, "images");
  size_t i;
  json_t *it;
  *found = NULL;
  *by_name = false;
  if (name)
    name[0] = 0;
  const char *hex = !strncmp(ref, "sha256:", 7) ? ref + 7 : ref;
  size_t hlen = strlen(hex);
  bool maybe_id = hlen >= 4 && hlen <= 64 && img_is_hex(hex);
  if (hex == ref) {
    struct hull_error ne = {0};
    int r = find_by_name(images, ref, found, name, nlen, &ne);
    if (*found) {
      *by_name = !strchr(ref, '@');
      return 0;
    }
    if (r < 0 && !maybe_id)
      return hull_err(e, -r, "%s", ne.msg);
  }
  if (maybe_id) {
    json_t *match = NULL;
    int count = 0;
    json_array_foreach(images, i, it) {
      const char *id = json_string_value(json_object_get(it, "id"));
      if (id && !strncmp(id + 7, hex, hlen)) {
        match = it;
        count++;
      }
    }
    if (count > 1)
      return hull_err(e, EINVAL, "image %s: ambiguous id prefix, %d images match", ref, count);
    if (match) {
      *found = match;
      return 0;
    }
  }
  return hull_err(e, ENOENT, "image %s: no such image", ref);
}

int image_resolve(struct store *s, const char *ref, struct image **out,
                  struct hull_error *e) {
  json_t *idx = NULL;
  int r = store_index_load(s, &idx, e);
  if (r < 0)
    return r;
  json_t *entry;
  bool by_name;
  r = find_entry(idx, ref, &entry, &by_name, NULL, 0, e);
  if (r == 0)
    r = image_from_entry(s, entry, out, e);
  json_decref(idx);
  return r;
}

static int cmp_created(const void *a, const void *b) {
  const struct image *x = *(struct image *const *)a, *y = *(struct image *const *)b;
  return (x->created < y->created) - (x->created > y->created);
}

int image_list(struct store *s, struct image ***out, size_t *n,
               struct hull_error *e) {
  json_t *idx = NULL;
  int r = store_index_load(s, &idx, e);
  if (r < 0)
    return r;
  json_t *images = json_object_get(idx, "images");
  struct image **v = calloc(json_array_size(images) + 1, sizeof *v);
  size_t k = 0, i;
  json_t *it;
  if (!v) {
    json_decref(idx);
    return hull_errno(e, ENOMEM, "images");
  }
  json_array_foreach(images, i, it) {
    r = image_from_entry(s, it, &v[k], e);
    if (r < 0) {
      image_list_free(v, k);
      json_decref(idx);
      return r;
    }
    k++;
  }
  qsort(v, k, sizeof *v, cmp_created);
  json_decref(idx);
  *out = v;
  *n = k;
  return 0;
}

static void drop_name(json_t *images, const char *name) {
  size_t i, j;
  json_t *it, *nm;
  json_array_foreach(images, i, it) {
    json_t *names = json_object_get(it, "names");
    for (j = json_array_size(names); j-- > 0;) {
      nm = json_array_get(names, j);
      if (json_string_value(nm) && !strcmp(json_string_value(nm), name))
        json_array_remove(names, j);
    }
  }
}

int store_add_image(struct store *s, const char *id, const char *manifest,
                    char **names, size_t n_names, struct hull_error *e) {
  bool held = s->lockfd >= 0;
  int r = store_lock(s, e);
  if (r < 0)
    return r;
  json_t *idx = NULL;
  r = store_index_load(s, &idx, e);
  if (r < 0)
    goto out;
  json_t *images = json_object_get(idx, "images");
  for (size_t k = 0; k < n_names; k++)
    drop_name(images, names[k]);
  json_t *entry = NULL, *it;
  size_t i;
  json_array_foreach(images, i, it) {
    const char *v = json_string_value(json_object_get(it, "id"));
    if (v && !strcmp(v, id))
      entry = it;
  }
  if (!entry) {
    entry = json_pack("{s:s,s:s,s:[]}", "id", id, "manifest", manifest, "names");
    json_array_append_new(images, entry);
  } else {
    json_object_set_new(entry, "manifest", json_string(manifest));
  }
  for (size_t k = 0; k < n_names; k++)
    json_array_append_new(json_object_get(entry, "names"), json_string(names[k]));
  r = store_index_save(s, idx, e);
out:
  json_decref(idx);
  if (!held)
    store_unlock(s);
  return r;
}

int image_tag(struct store *s, const char *ref, const char *new_ref,
              struct hull_error *e) {
  char name[512];
  struct ref nr;
  int r = ref_parse(new_ref, &nr, e);
  if (r < 0)
    return r;
  if (!nr.tag[0] || nr.digest[0])
    return hull_err(e, EINVAL, "tag %s: a tag cannot hold a digest", new_ref);
  ref_string(&nr, name, sizeof name);
  r = store_lock(s, e);
  if (r < 0)
    return r;
  json_t *idx = NULL, *entry;
  bool by_name;
  r = store_index_load(s, &idx, e);
  if (r == 0)
    r = find_entry(idx, ref, &entry, &by_name, NULL, 0, e);
  if (r == 0) {
    char id[HULL_DIGEST_MAX], man[HULL_DIGEST_MAX];
    snprintf(id, sizeof id, "%s", json_string_value(json_object_get(entry, "id")));
    snprintf(man, sizeof man, "%s", json_string_value(json_object_get(entry, "manifest")));
    char *names[] = {name};
    r = store_add_image(s, id, man, names, 1, e);
  }
  json_decref(idx);
  store_unlock(s);
  return r;
}

int image_remove(struct store *s, const char *ref, bool force,
                 bool (*in_use)(const char *image_id, char *who, size_t len,
                                void *arg),
                 void *arg, struct hull_error *e) {
  int r = store_lock(s, e);
  if (r < 0)
    return r;
  json_t *idx = NULL, *entry;
  bool by_name;
  char name[512];
  r = store_index_load(s, &idx, e);
  if (r == 0)
    r = find_entry(idx, ref, &entry, &by_name, name, sizeof name, e);
  if (r < 0)
    goto out;
  json_t *names = json_object_get(entry, "names");
  const char *id = json_string_value(json_object_get(entry, "id"));
  if (by_name && json_array_size(names) > 1) {
    drop_name(json_object_get(idx, "images"), name);
    r = store_index_save(s, idx, e);
    goto out;
  }
  if (!by_name && json_array_size(names) > 1 && !force) {
    r = hull_err(e, EBUSY,
                 "image %s: referenced by %zu names (untag them, or use --force)",
                 ref, json_array_size(names));
    goto out;
  }
  char who[256] = "";
  if (in_use && in_use(id, who, sizeof who, arg) && !force) {
    r = hull_err(e, EBUSY, "image %s: in use by container %s", ref, who[0] ? who : "?");
    goto out;
  }
  json_t *images = json_object_get(idx, "images");
  size_t i;
  json_t *it;
  json_array_foreach(images, i, it) if (it == entry) {
    json_array_remove(images, i);
    break;
  }
  r = store_index_save(s, idx, e);
  if (r == 0)
    store_cleanup(s, true); /* blobs and layers no image names any more */
out:
  json_decref(idx);
  store_unlock(s);
  return r;
}

int store_usage(struct store *s, struct store_usage *u, struct hull_error *e) {
  memset(u, 0, sizeof *u);
  struct image **v;
  size_t n;
  int r = image_list(s, &v, &n, e);
  if (r < 0)
    return r;
  json_t *seen = json_object();
  for (size_t i = 0; i < n; i++) {
    u->images++;
    u->images_size += v[i]->size;
    for (size_t k = 0; k < v[i]->n_layers; k++) {
      if (json_object_get(seen, v[i]->layers[k]))
        continue;
      json_object_set_new(seen, v[i]->layers[k], json_true());
      u->layers++;
    }
  }
  /* layer sizes: each once */
  const char *key;
  json_t *val;
  json_object_foreach(seen, key, val) {
    /* key is <dir>/layers/<hex>/diff */
    const char *p = layer_path_hex(key);
    if (p) {
      char d[HULL_DIGEST_MAX];
      snprintf(d, sizeof d, "sha256:%.64s", p);
      u->layers_size += layer_size(s, d);
    }
  }
  json_decref(seen);
  image_list_free(v, n);
  return 0;
}
