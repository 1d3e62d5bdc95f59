/* Fuzzing of the image documents an archive or registry hands hull
 * (src/image/manifest.c): the first byte picks the parser (manifest,
 * index, config, docker manifest.json). Each refuses cleanly or gives
 * values whose digests are well formed; a parsed manifest rebuilt with
 * manifest_build parses back to the same descriptors. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "image/store_priv.h"

static void clean_error(int r, struct hull_error *e) {
  if (r < 0 && (e->code != -r || !e->msg[0] || strchr(e->msg, '\n')))
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  const char *text = (const char *)data + 1;
  size_t len = size - 1;
  struct hull_error e = {0};
  int r;
  switch (data[0] % 4) {
  case 0: {
    struct manifest m;
    r = manifest_parse(text, len, &m, &e);
    clean_error(r, &e);
    if (r < 0)
      break;
    if (!digest_valid(m.config.digest))
      abort();
    for (size_t i = 0; i < m.n_layers; i++)
      if (!digest_valid(m.layers[i].digest) || m.layers[i].size < 0)
        abort();
    /* media types are not carried by manifest_build for the config */
    char *b = manifest_build(&m.config, m.layers, m.n_layers);
    struct manifest m2;
    if (!b || manifest_parse(b, strlen(b), &m2, &e) < 0)
      abort();
    if (m2.n_layers != m.n_layers || strcmp(m2.config.digest, m.config.digest))
      abort();
    for (size_t i = 0; i < m.n_layers; i++)
      if (strcmp(m2.layers[i].digest, m.layers[i].digest) || m2.layers[i].size != m.layers[i].size)
        abort();
    manifest_clear(&m2);
    free(b);
    manifest_clear(&m);
    break;
  }
  case 1: {
    struct index_entry *v;
    size_t n;
    r = index_parse(text, len, &v, &n, &e);
    clean_error(r, &e);
    if (r == 0) {
      for (size_t i = 0; i < n; i++)
        if (!digest_valid(v[i].d.digest))
          abort();
      free(v);
    }
    break;
  }
  case 2: {
    json_t *c;
    char **ids;
    size_t n;
    r = config_parse(text, len, &c, &ids, &n, &e);
    clean_error(r, &e);
    if (r == 0) {
      for (size_t i = 0; i < n; i++)
        if (!digest_valid(ids[i]))
          abort();
      if (ids[n])
        abort();
      json_decref(c);
      img_strv_free(ids);
    }
    break;
  }
  case 3: {
    struct docker_entry *v;
    size_t n;
    r = docker_manifest_parse(text, len, &v, &n, &e);
    clean_error(r, &e);
    if (r == 0) {
      for (size_t i = 0; i < n; i++) {
        if (!v[i].config || !v[i].layers || !v[i].tags || v[i].layers[v[i].n_layers])
          abort();
      }
      docker_manifest_free(v, n);
    }
    break;
  }
  }
  return 0;
}
