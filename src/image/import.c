/* hull import: a root file system tar (plain or compressed) becomes a
 * one-layer image. The tar is kept as the layer blob as given; its
 * uncompressed digest is the diff_id. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "../common/cleanup.h"
#include "../common/ids.h"
#include "../common/json.h"
#include "store_priv.h"

static const char *go_arch(void) {
  struct utsname u;
  if (uname(&u) < 0)
    return "amd64";
  if (!strcmp(u.machine, "x86_64"))
    return "amd64";
  if (!strcmp(u.machine, "aarch64"))
    return "arm64";
  if (!strncmp(u.machine, "arm", 3))
    return "arm";
  return "amd64";
}

const char *layer_media_type(const char *compression);
const char *layer_media_type(const char *compression) {
  if (!strcmp(compression, "gzip"))
    return MT_OCI_LAYER_GZ;
  if (!strcmp(compression, "zstd"))
    return MT_OCI_LAYER_ZST;
  return MT_OCI_LAYER;
}

static int to_writer(void *arg, const void *buf, size_t len) {
  return blob_writer_write(arg, buf, len, NULL);
}

/* Layers are gzip, zstd or plain tars in images (OCI has no media type
 * for the others): an xz or bzip2 input is stored uncompressed. */
static int plain_if_needed(struct store *s, struct tmpdir *t, char blob[HULL_DIGEST_MAX],
                           uint64_t *size, struct hull_error *e) {
  _cleanup_close_ int fd = blob_open(s, blob, e);
  if (fd < 0)
    return fd;
  const char *c = layer_compression(fd);
  if (strcmp(c, "xz") && strcmp(c, "bzip2"))
    return 0;
  struct blob_writer w;
  char diff_id[HULL_DIGEST_MAX];
  int r = blob_writer_open(s, t, &w, e);
  if (r < 0)
    return r;
  if ((r = layer_decompress(fd, to_writer, &w, diff_id, e)) < 0) {
    blob_writer_abort(&w);
    return hull_err_prefix(e, "import");
  }
  *size = w.size;
  return blob_writer_commit(s, &w, diff_id, blob, e);
}

int image_import(struct store *s, int fd, const char *ref,
                 json_t *config_changes, char out_id[HULL_DIGEST_MAX],
                 struct hull_error *e) {
  char name[512] = "";
  int r;
  if (ref && *ref) {
    struct ref pr;
    if ((r = ref_parse(ref, &pr, e)) < 0)
      return r;
    if (!pr.tag[0] || pr.digest[0])
      return hull_err(e, EINVAL, "import %s: a name cannot hold a digest", ref);
    ref_string(&pr, name, sizeof name);
  }
  if (config_changes && !json_is_object(config_changes))
    return hull_err(e, EINVAL, "import: config changes are not an object");
  if ((r = store_gc_hold(s, e)) < 0)
    return r;
  struct tmpdir t;
  if ((r = tmpdir_new(s, &t, e)) < 0) {
    store_gc_release(s);
    return r;
  }
  _cleanup_close_ int bfd = -1;
  struct blob_writer w;
  char blob[HULL_DIGEST_MAX], diff_id[HULL_DIGEST_MAX], cfg_d[HULL_DIGEST_MAX],
      man_d[HULL_DIGEST_MAX];
  json_t *cfg = NULL;
  char *cfg_text = NULL, *man_text = NULL;
  _cleanup_free_ char *buf = malloc(1 << 20);
  if (!buf) {
    r = hull_errno(e, ENOMEM, "import");
    goto out;
  }
  if ((r = blob_writer_open(s, &t, &w, e)) < 0)
    goto out;
  for (;;) {
    ssize_t n = read(fd, buf, 1 << 20);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      r = hull_errno(e, errno, "import: read");
      blob_writer_abort(&w);
      goto out;
    }
    if (n == 0)
      break;
    if ((r = blob_writer_write(&w, buf, (size_t)n, e)) < 0) {
      blob_writer_abort(&w);
      goto out;
    }
  }
  if (w.size == 0) {
    blob_writer_abort(&w);
    r = hull_err(e, EINVAL, "import: the input is empty (want a tar)");
    goto out;
  }
  uint64_t blob_size = w.size;
  if ((r = blob_writer_commit(s, &w, NULL, blob, e)) < 0)
    goto out;
  if ((r = plain_if_needed(s, &t, blob, &blob_size, e)) < 0)
    goto out;
  if ((r = store_layer_add(s, &t, blob, NULL, diff_id, e)) < 0) {
    hull_err_prefix(e, "import");
    goto out;
  }
  bfd = blob_open(s, blob, e);
  if (bfd < 0) {
    r = bfd;
    goto out;
  }
  char now[64];
  hull_now_rfc3339(now, sizeof now);
  cfg = json_pack("{s:s,s:s,s:s,s:o,s:{s:s,s:[s]},s:[{s:s,s:s}]}", "created", now,
                  "architecture", go_arch(), "os", "linux", "config",
                  config_changes ? json_deep_copy(config_changes) : json_object(),
                  "rootfs", "type", "layers", "diff_ids", diff_id, "history",
                  "created", now, "created_by", "hull import");
  cfg_text = cfg ? hjson_dumps(cfg) : NULL;
  if (!cfg_text) {
    r = hull_errno(e, ENOMEM, "import");
    goto out;
  }
  {
    /* the changes must make a config hull can run */
    json_t *chk;
    char **ids;
    size_t n;
    if ((r = config_parse(cfg_text, strlen(cfg_text), &chk, &ids, &n, e)) < 0) {
      hull_err_prefix(e, "import");
      goto out;
    }
    json_decref(chk);
    img_strv_free(ids);
  }
  if ((r = blob_put(s, &t, cfg_text, strlen(cfg_text), cfg_d, e)) < 0)
    goto out;
  struct descriptor cd = {.size = (int64_t)strlen(cfg_text)};
  snprintf(cd.media_type, sizeof cd.media_type, "%s", MT_OCI_CONFIG);
  memcpy(cd.digest, cfg_d, sizeof cd.digest);
  struct descriptor ld = {.size = (int64_t)blob_size};
  snprintf(ld.media_type, sizeof ld.media_type, "%s",
           layer_media_type(layer_compression(bfd)));
  memcpy(ld.digest, blob, sizeof ld.digest);
  man_text = manifest_build(&cd, &ld, 1);
  if (!man_text) {
    r = hull_errno(e, ENOMEM, "import");
    goto out;
  }
  if ((r = blob_put(s, &t, man_text, strlen(man_text), man_d, e)) < 0)
    goto out;
  char *names[] = {name};
  if ((r = store_add_image(s, cfg_d, man_d, names, name[0] ? 1 : 0, e)) < 0)
    goto out;
  snprintf(out_id, HULL_DIGEST_MAX, "%s", cfg_d);
out:
  json_decref(cfg);
  free(cfg_text);
  free(man_text);
  tmpdir_free(s, &t);
  store_gc_release(s);
  return r;
}
