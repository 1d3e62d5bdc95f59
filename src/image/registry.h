/* Registries: hull pull and hull push over the OCI distribution protocol
 * (HTTP with libcurl). Bearer tokens and basic auth, OCI and Docker
 * schema-2 media types, image indexes with platform selection, blob
 * existence checks and cross-repository mounts on push; every blob's
 * digest is checked on the way in. */
#ifndef HULL_IMAGE_REGISTRY_H
#define HULL_IMAGE_REGISTRY_H

#include <stdbool.h>

#include "image.h"

struct registry_opts {
  const char *creds;    /* "user:password", or NULL: auth files
                           ($REGISTRY_AUTH_FILE, ~/.docker/config.json) */
  bool tls_verify;      /* false: certificates are not checked and plain
                           HTTP is tried after HTTPS fails */
  const char *platform; /* "os/arch[/variant]"; NULL: linux/amd64 */
  struct progress *progress;
};

/* Pull ref into the store; out_id gets the image's id. */
int registry_pull(struct store *s, const char *ref,
                  const struct registry_opts *o, char out_id[HULL_DIGEST_MAX],
                  struct hull_error *e);
/* Push the local image src (any reference) to dest (a registry
 * reference; NULL: src itself). out_digest gets the manifest's digest. */
int registry_push(struct store *s, const char *src, const char *dest,
                  const struct registry_opts *o,
                  char out_digest[HULL_DIGEST_MAX], struct hull_error *e);

#endif
