/* hull's image store: content-addressed blobs verified on the way in,
 * manifests and configs, layers unpacked once and shared, an index of
 * names, and the overlay root file systems of containers. This header is
 * what the rest of hull (the engine, the registry client, the CLI) uses;
 * the store's own layout stays inside src/image/.
 *
 * Crash safety: everything is written under a temporary name, fsync'ed and
 * renamed; the index of names is written last, so a load or pull killed at
 * any point leaves no image visible and nothing the next command trips on.
 * Concurrency: a store-wide lock (flock) serialises changes to the index
 * and garbage collection; blobs and layers are safe to write side by side
 * (temporary names, rename). */
#ifndef HULL_IMAGE_H
#define HULL_IMAGE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/error.h"

#define HULL_DEFAULT_STORE "/var/lib/hull"
#define HULL_DIGEST_MAX 72 /* "sha256:" + 64 hex + NUL */

struct store;

/* Open (creating its directories) the store at root. */
int store_open(const char *root, struct store **out, struct hull_error *e);
void store_close(struct store *s);
const char *store_root(const struct store *s);

/* An image as the engine needs it. */
struct image {
  char id[HULL_DIGEST_MAX];       /* digest of the config blob */
  char manifest[HULL_DIGEST_MAX]; /* digest of its manifest */
  json_t *config;    /* the image config: {"architecture", "os", "config":
                        {"Env", "Cmd", "Entrypoint", "WorkingDir", "User",
                        "Labels", "ExposedPorts", "Volumes", "StopSignal"},
                        "rootfs", "history", "created"} */
  char **layers;     /* absolute paths of the unpacked layer directories,
                        bottom first; n_layers of them */
  size_t n_layers;
  char **names;      /* the references naming it ("busybox:latest") */
  size_t n_names;
  uint64_t size;     /* bytes of its unpacked layers */
  long long created; /* seconds since the epoch, 0 if unknown */
};

/* A reference: "busybox", "busybox:1.36", "localhost:5000/team/app:v2",
 * "name@sha256:...", an image id or a unique prefix of one (at least 4
 * hex digits). Names without a tag mean ":latest"; names without a
 * registry are kept as written ("busybox:latest"), as podman shows
 * localhost images. */
int image_resolve(struct store *s, const char *ref, struct image **out,
                  struct hull_error *e);
void image_free(struct image *img);
int image_list(struct store *s, struct image ***out, size_t *n,
               struct hull_error *e);
void image_list_free(struct image **list, size_t n);

/* Name an image (by any reference) with new_ref as well. */
int image_tag(struct store *s, const char *ref, const char *new_ref,
              struct hull_error *e);
/* Remove the name ref; the image goes when no name is left and in_use
 * (may be NULL) says no container uses it (then: an error naming the
 * container, unless force). Layers no image uses any more go too. */
int image_remove(struct store *s, const char *ref, bool force,
                 bool (*in_use)(const char *image_id, char *who, size_t len,
                                void *arg),
                 void *arg, struct hull_error *e);

/* Progress of long operations (load, pull, push): per-layer bars on a
 * terminal, plain lines otherwise, nothing with quiet. */
struct progress;
struct progress *progress_new(int fd, bool quiet);
void progress_free(struct progress *p);

/* hull load: a docker-archive (legacy layout, or manifest.json pointing
 * into an OCI layout) or an OCI image-layout tar, from fd. Every blob is
 * verified. *loaded gets the references made (or image ids for untagged
 * images), NULL-terminated, caller frees (one allocation). */
int image_load(struct store *s, int fd, struct progress *p, char ***loaded,
               struct hull_error *e);
/* hull save: refs as a docker-archive or an OCI image layout tar to fd. */
enum image_format { IMAGE_DOCKER_ARCHIVE, IMAGE_OCI_ARCHIVE };
int image_save(struct store *s, char **refs, size_t n, enum image_format f,
               int fd, struct hull_error *e);
/* hull import: a root file system tar from fd becomes a one-layer image
 * named ref (may be NULL); config_changes (may be NULL) sets config
 * fields ({"Cmd": [...], "Env": [...], ...}). out_id gets its id. */
int image_import(struct store *s, int fd, const char *ref,
                 json_t *config_changes, char out_id[HULL_DIGEST_MAX],
                 struct hull_error *e);

/* A container's root file system: an overlay of the image's layers with
 * the container's own upper directory, mounted at <dir>/merged (dir is the
 * engine's directory of the container; upper and work go there too).
 * With readonly the overlay has no upper layer. rootfs_unmount undoes the
 * mount (idempotent); the engine removes dir. */
int rootfs_mount(struct store *s, const struct image *img, const char *dir,
                 bool readonly, struct hull_error *e);
int rootfs_unmount(const char *dir, struct hull_error *e);

/* Remove what no image names: blobs and layers left by a load or pull
 * killed after writing them, and leftovers of killed commands (skipped
 * while a load is at work). image_remove does it too. */
int store_gc(struct store *s, struct hull_error *e);

/* Store usage for `hull system df`: images_size adds up every image's
 * size (a shared layer counts once per image), layers_size counts each
 * unpacked layer once (the disk actually used, blobs aside). */
struct store_usage {
  uint64_t images, images_size, layers, layers_size;
};
int store_usage(struct store *s, struct store_usage *u, struct hull_error *e);

#endif
