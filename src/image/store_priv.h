/* The image store's internals, shared by the files of src/image/ only.
 *
 * Layout under <root>/image:
 *   lock                 flock: EX for changes to the index and removals
 *   gc.lock              flock: SH held by writers (load, import) while
 *                        they add blobs and layers the index does not name
 *                        yet; removals of unnamed content take it EX
 *   index.json           the names: written last, atomically, durably
 *   blobs/sha256/<hex>   manifests, configs, layer tars (verified)
 *   layers/<hex>/diff    a layer unpacked, keyed by its diff_id
 *   layers/<hex>/link    its short name; l/<short> -> ../<hex>/diff
 *   layers/<hex>/size    bytes of its regular files
 *   l/                   short links for overlay's lowerdir (4 KiB limit)
 *   tmp/<op>/            one directory per operation in progress, held
 *                        with flock: a directory nobody holds is a
 *                        leftover of a killed command, removed under lock */
#ifndef HULL_IMAGE_STORE_PRIV_H
#define HULL_IMAGE_STORE_PRIV_H

#include <jansson.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "../common/error.h"
#include "image.h"

struct store {
  char *root; /* as given */
  char *dir;  /* <root>/image */
  int dirfd;  /* <root>/image */
  int lockfd; /* lock, -1 when not held */
  int gcfd;   /* gc.lock, -1 when not held */
};

/* ---- digest.c ---- */
struct digester {
  EVP_MD_CTX *ctx;
};
int digester_init(struct digester *d);
void digester_update(struct digester *d, const void *buf, size_t len);
/* "sha256:<hex>" into out; frees the context. */
void digester_final(struct digester *d, char out[HULL_DIGEST_MAX]);
void digester_free(struct digester *d);
void digest_buf(const void *buf, size_t len, char out[HULL_DIGEST_MAX]);
/* "sha256:" followed by exactly 64 lowercase hex digits. */
bool digest_valid(const char *d);
/* The 64 hex digits of a valid digest. */
static inline const char *digest_hex(const char *d) { return d + 7; }

/* ---- reference.c ---- */
struct ref {
  char name[256];   /* "busybox", "localhost:5000/team/app" */
  char tag[129];    /* "" when none given (and a digest is) */
  char digest[HULL_DIGEST_MAX]; /* "" when none */
};
/* Parse a reference; no tag and no digest means tag "latest". */
int ref_parse(const char *s, struct ref *r, struct hull_error *e);
/* "name:tag" (or "name@digest" when no tag) into out. */
void ref_string(const struct ref *r, char *out, size_t len);
/* Parse and normalise ("busybox" -> "busybox:latest"). */
int ref_normalize(const char *s, char *out, size_t len, struct hull_error *e);
/* Is s hex digits only (len >= 1)? */
bool img_is_hex(const char *s);

/* ---- store.c ---- */
/* Error messages quote names from archives: keep them one printable line. */
void err_oneline(struct hull_error *e);
int store_lock(struct store *s, struct hull_error *e);
void store_unlock(struct store *s);
int store_gc_hold(struct store *s, struct hull_error *e); /* SH */
void store_gc_release(struct store *s);
/* Remove leftovers of killed commands (call with the lock held); with
 * gc, also blobs and layers no image names. */
void store_cleanup(struct store *s, bool gc);

/* An operation's private temporary directory, held with flock. */
struct tmpdir {
  int fd;
  char name[64];
};
int tmpdir_new(struct store *s, struct tmpdir *t, struct hull_error *e);
void tmpdir_free(struct store *s, struct tmpdir *t);

/* The index: {"images": [{"id", "manifest", "names": [], "created",
 * "size"}]}. store_index_load gives an empty index when there is none. */
int store_index_load(struct store *s, json_t **out, struct hull_error *e);
int store_index_save(struct store *s, json_t *idx, struct hull_error *e);

/* Blobs. A writer streams into a temporary file in tmp while hashing;
 * commit verifies (when expect is given) and renames into blobs/. */
struct blob_writer {
  int fd;
  char tmpname[96];
  struct digester d;
  uint64_t size;
  struct tmpdir *t;
};
int blob_writer_open(struct store *s, struct tmpdir *t, struct blob_writer *w,
                     struct hull_error *e);
int blob_writer_write(struct blob_writer *w, const void *buf, size_t len,
                      struct hull_error *e);
/* expect may be NULL or ""; the digest goes to got. Closes the writer. */
int blob_writer_commit(struct store *s, struct blob_writer *w,
                       const char *expect, char got[HULL_DIGEST_MAX],
                       struct hull_error *e);
void blob_writer_abort(struct blob_writer *w);
int blob_put(struct store *s, struct tmpdir *t, const void *buf, size_t len,
             char got[HULL_DIGEST_MAX], struct hull_error *e);
bool blob_exists(struct store *s, const char *digest);
int blob_open(struct store *s, const char *digest, struct hull_error *e);
/* Read a whole (small) blob, checking its digest again. */
int blob_read(struct store *s, const char *digest, size_t max, char **out,
              size_t *len, struct hull_error *e);

/* Layers. */
bool layer_exists(struct store *s, const char *diff_id);
/* The hex diff_id in a layer path ".../layers/<hex>/diff", found from
 * the end (the store's own path may hold "/layers/" too); NULL if none. */
const char *layer_path_hex(const char *path);
void layer_path(const struct store *s, const char *diff_id, char *out,
                size_t len);
uint64_t layer_size(struct store *s, const char *diff_id);
/* Unpack blob (compressed or not) as the layer whose diff_id must be
 * expect (NULL: whatever it is, given in got); a layer already present
 * is verified by digest only. */
int store_layer_add(struct store *s, struct tmpdir *t, const char *blob,
                    const char *expect, char got[HULL_DIGEST_MAX],
                    struct hull_error *e);

/* ---- layer.c ---- */
struct layer_stats {
  uint64_t size; /* bytes of regular files */
  uint64_t entries;
};
/* Unpack the tar (gzip, zstd or plain) read from fd into the directory
 * dirfd; the digest of the uncompressed tar goes to diff_id. Hostile
 * entries (.. or absolute paths, writes through symlinks, hardlinks
 * outside) are refused. OCI whiteouts become overlay whiteouts. */
int layer_unpack(int fd, int dirfd, char diff_id[HULL_DIGEST_MAX],
                 struct layer_stats *st, struct hull_error *e);
/* The same for a blob of the store whose digest is blob_digest. */
int layer_unpack_blob(int fd, int dirfd, const char *blob_digest,
                      char diff_id[HULL_DIGEST_MAX], struct layer_stats *st,
                      struct hull_error *e);
/* The uncompressed stream of fd to sink (may be NULL), its digest to
 * diff_id (nothing unpacked). */
int layer_decompress(int fd, int (*sink)(void *arg, const void *buf, size_t len),
                     void *arg, char diff_id[HULL_DIGEST_MAX], struct hull_error *e);
/* The digest of the uncompressed stream only (nothing unpacked). */
int layer_diff_id(int fd, char diff_id[HULL_DIGEST_MAX], struct hull_error *e);
/* The compressions hull reads (gzip, zstd, xz, bzip2), all inside
 * libarchive: filter_all would also run external programs (lrzip, lzop,
 * grzip) on input that asks for them. */
struct archive;
void layer_support_filters(struct archive *a);
/* Compression of a blob from its first bytes: "" (tar), "gzip", "zstd",
 * "xz", "bzip2". */
const char *layer_compression(int fd);

/* ---- manifest.c ---- */
#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define MT_OCI_LAYER "application/vnd.oci.image.layer.v1.tar"
#define MT_OCI_LAYER_GZ "application/vnd.oci.image.layer.v1.tar+gzip"
#define MT_OCI_LAYER_ZST "application/vnd.oci.image.layer.v1.tar+zstd"
#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"

struct descriptor {
  char media_type[128];
  char digest[HULL_DIGEST_MAX];
  int64_t size;
};
struct manifest {
  struct descriptor config;
  struct descriptor *layers;
  size_t n_layers;
};
int manifest_parse(const char *text, size_t len, struct manifest *m,
                   struct hull_error *e);
void manifest_clear(struct manifest *m);
/* An OCI index: the manifests it lists, with their ref.name annotation. */
struct index_entry {
  struct descriptor d;
  char ref_name[256];
};
int index_parse(const char *text, size_t len, struct index_entry **out,
                size_t *n, struct hull_error *e);
/* An image config: checks what hull relies on and gives the diff_ids. */
int config_parse(const char *text, size_t len, json_t **config,
                 char ***diff_ids, size_t *n, struct hull_error *e);
void img_strv_free(char **v);
/* A manifest's JSON text (OCI) for a config and layers. */
char *manifest_build(const struct descriptor *config,
                     const struct descriptor *layers, size_t n);
/* docker-archive manifest.json entries. */
struct docker_entry {
  char *config;  /* path in the archive */
  char **layers; /* NULL-terminated */
  size_t n_layers;
  char **tags;   /* NULL-terminated */
};
int docker_manifest_parse(const char *text, size_t len,
                          struct docker_entry **out, size_t *n,
                          struct hull_error *e);
void docker_manifest_free(struct docker_entry *v, size_t n);

/* ---- image.c ---- */
/* Add (or rename onto) an image in the index, under the lock: names move
 * from any other image that had them. */
int store_add_image(struct store *s, const char *id, const char *manifest,
                    char **names, size_t n_names, struct hull_error *e);
int image_from_entry(struct store *s, json_t *entry, struct image **out,
                     struct hull_error *e);

/* ---- progress.c ---- */
void progress_msg(struct progress *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* On a terminal: a bar for name at done of total bytes, redrawn in place
 * (rate-limited); elsewhere nothing (the step lines say enough). */
void progress_bar(struct progress *p, const char *name, uint64_t done,
                  uint64_t total);

#endif
