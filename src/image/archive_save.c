/* hull save: images as a docker-archive or an OCI image-layout tar.
 *
 * Both carry the OCI layout (oci-layout, index.json, blobs/sha256/...);
 * the docker-archive adds manifest.json (Config and Layers as paths into
 * blobs/, as docker 25+ writes) and repositories, so docker, podman and
 * hull all load it. Blobs are written as they are stored, each once. */
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/cleanup.h"
#include "../common/json.h"
#include "store_priv.h"

#define BUF_SIZE (1 << 20)

static int put_file(struct archive *a, const char *name, const void *data, size_t len,
                    struct hull_error *e) {
  struct archive_entry *ent = archive_entry_new();
  archive_entry_set_pathname(ent, name);
  archive_entry_set_filetype(ent, AE_IFREG);
  archive_entry_set_perm(ent, 0644);
  archive_entry_set_size(ent, (la_int64_t)len);
  int r = archive_write_header(a, ent);
  archive_entry_free(ent);
  if (r != ARCHIVE_OK || (len && archive_write_data(a, data, len) != (la_ssize_t)len))
    return hull_err(e, EIO, "save: %s: %s", name, archive_error_string(a));
  return 0;
}

static int put_dir(struct archive *a, const char *name, struct hull_error *e) {
  struct archive_entry *ent = archive_entry_new();
  archive_entry_set_pathname(ent, name);
  archive_entry_set_filetype(ent, AE_IFDIR);
  archive_entry_set_perm(ent, 0755);
  int r = archive_write_header(a, ent);
  archive_entry_free(ent);
  return r == ARCHIVE_OK ? 0 : hull_err(e, EIO, "save: %s: %s", name, archive_error_string(a));
}

static int put_blob(struct store *s, struct archive *a, const char *digest, json_t *done,
                    char *buf, struct hull_error *e) {
  if (json_object_get(done, digest))
    return 0;
  json_object_set_new(done, digest, json_true());
  _cleanup_close_ int fd = blob_open(s, digest, e);
  if (fd < 0)
    return fd;
  struct stat st;
  if (fstat(fd, &st) < 0)
    return hull_errno(e, errno, "blob %.19s..", digest);
  char name[128];
  snprintf(name, sizeof name, "blobs/sha256/%s", digest_hex(digest));
  struct archive_entry *ent = archive_entry_new();
  archive_entry_set_pathname(ent, name);
  archive_entry_set_filetype(ent, AE_IFREG);
  archive_entry_set_perm(ent, 0644);
  archive_entry_set_size(ent, st.st_size);
  int r = archive_write_header(a, ent);
  archive_entry_free(ent);
  if (r != ARCHIVE_OK)
    return hull_err(e, EIO, "save: %s: %s", name, archive_error_string(a));
  /* the bytes written are hashed again: a store corrupted on disk is
   * noticed here rather than by whoever loads the archive */
  struct digester d;
  if (digester_init(&d) < 0)
    return hull_errno(e, ENOMEM, "save");
  off_t left = st.st_size;
  while (left > 0) {
    ssize_t n = read(fd, buf, BUF_SIZE);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      digester_free(&d);
      return hull_errno(e, n < 0 ? errno : EIO, "blob %.19s..", digest);
    }
    digester_update(&d, buf, (size_t)n);
    if (archive_write_data(a, buf, (size_t)n) != n) {
      digester_free(&d);
      return hull_err(e, EIO, "save: %s: %s", name, archive_error_string(a));
    }
    left -= n;
  }
  char got[HULL_DIGEST_MAX];
  digester_final(&d, got);
  if (strcmp(got, digest))
    return hull_err(e, EBADMSG, "blob %.19s..: digest mismatch (got %.19s..): the store is corrupt",
                    digest, got);
  return 0;
}

int image_save(struct store *s, char **refs, size_t n, enum image_format f,
               int fd, struct hull_error *e) {
  json_t *index = json_pack("{s:i,s:s,s:[]}", "schemaVersion", 2, "mediaType", MT_OCI_INDEX,
                            "manifests");
  json_t *dm = json_array(), *repos = json_object(), *done = json_object();
  struct archive *a = archive_write_new();
  _cleanup_free_ char *buf = malloc(BUF_SIZE);
  _cleanup_free_ char *itext = NULL, *mtext = NULL, *rtext = NULL;
  int r = 0;
  if (!index || !dm || !repos || !done || !a || !buf) {
    r = hull_errno(e, ENOMEM, "save");
    goto out;
  }
  archive_write_set_format_pax_restricted(a);
  archive_write_set_bytes_in_last_block(a, 1);
  if (archive_write_open_fd(a, fd) != ARCHIVE_OK) {
    r = hull_err(e, EIO, "save: %s", archive_error_string(a));
    goto out;
  }
  if ((r = put_dir(a, "blobs", e)) < 0 || (r = put_dir(a, "blobs/sha256", e)) < 0)
    goto out;
  for (size_t i = 0; i < n; i++) {
    struct image *img;
    if ((r = image_resolve(s, refs[i], &img, e)) < 0)
      goto out;
    /* the name asked for, or every name when asked by id */
    char name[512] = "";
    struct ref pr;
    bool by_name = false;
    for (size_t k = 0; k < img->n_names; k++) {
      if (ref_parse(refs[i], &pr, NULL) == 0 && pr.tag[0]) {
        ref_string(&pr, name, sizeof name);
        if (!strcmp(name, img->names[k]) ||
            (strstr(img->names[k], name) && strlen(img->names[k]) > strlen(name))) {
          snprintf(name, sizeof name, "%s", img->names[k]);
          by_name = true;
          break;
        }
      }
    }
    _cleanup_free_ char *mtext = NULL;
    size_t mlen;
    struct manifest m = {0};
    r = blob_read(s, img->manifest, 16 << 20, &mtext, &mlen, e);
    if (r == 0)
      r = manifest_parse(mtext, mlen, &m, e);
    if (r < 0) {
      hull_err_prefix(e, "image %s", refs[i]);
      image_free(img);
      goto out;
    }
    json_t *layers = json_array(), *tags = json_array();
    r = put_blob(s, a, img->id, done, buf, e);
    if (r == 0)
      r = put_blob(s, a, img->manifest, done, buf, e);
    for (size_t k = 0; r == 0 && k < m.n_layers; k++) {
      r = put_blob(s, a, m.layers[k].digest, done, buf, e);
      char p[128];
      snprintf(p, sizeof p, "blobs/sha256/%s", digest_hex(m.layers[k].digest));
      json_array_append_new(layers, json_string(p));
    }
    size_t n_names = by_name ? 1 : img->n_names;
    for (size_t k = 0; k < n_names || (k == 0 && n_names == 0); k++) {
      const char *nm = n_names ? (by_name ? name : img->names[k]) : NULL;
      json_t *desc = json_pack("{s:s,s:s,s:I}", "mediaType", MT_OCI_MANIFEST, "digest",
                               img->manifest, "size", (json_int_t)mlen);
      if (nm) {
        json_object_set_new(desc, "annotations",
                            json_pack("{s:s,s:s}", "io.containerd.image.name", nm,
                                      "org.opencontainers.image.ref.name", nm));
        json_array_append_new(tags, json_string(nm));
        char repo[512];
        snprintf(repo, sizeof repo, "%s", nm);
        char *slash = strrchr(repo, '/');
        char *colon = strrchr(slash ? slash : repo, ':');
        if (colon && m.n_layers) {
          *colon = 0;
          json_t *rt = json_object_get(repos, repo);
          if (!rt)
            json_object_set_new(repos, repo, rt = json_object());
          json_object_set_new(rt, colon + 1,
                              json_string(digest_hex(m.layers[m.n_layers - 1].digest)));
        }
      }
      json_array_append_new(json_object_get(index, "manifests"), desc);
    }
    char cfgp[128];
    snprintf(cfgp, sizeof cfgp, "blobs/sha256/%s", digest_hex(img->id));
    json_array_append_new(dm, json_pack("{s:s,s:o,s:o}", "Config", cfgp, "RepoTags", tags,
                                        "Layers", layers));
    manifest_clear(&m);
    image_free(img);
    if (r < 0)
      goto out;
  }
  static const char layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
  itext = hjson_dumps(index);
  mtext = hjson_dumps(dm);
  rtext = hjson_dumps(repos);
  if (!itext || !mtext || !rtext) {
    r = hull_errno(e, ENOMEM, "save");
    goto out;
  }
  if ((r = put_file(a, "index.json", itext, strlen(itext), e)) < 0)
    goto out;
  if (f == IMAGE_DOCKER_ARCHIVE &&
      ((r = put_file(a, "manifest.json", mtext, strlen(mtext), e)) < 0 ||
       (r = put_file(a, "repositories", rtext, strlen(rtext), e)) < 0))
    goto out;
  if ((r = put_file(a, "oci-layout", layout, strlen(layout), e)) < 0)
    goto out;
  if (archive_write_close(a) != ARCHIVE_OK)
    r = hull_err(e, EIO, "save: %s", archive_error_string(a));
out:
  if (a)
    archive_write_free(a);
  json_decref(index);
  json_decref(dm);
  json_decref(repos);
  json_decref(done);
  return r;
}
