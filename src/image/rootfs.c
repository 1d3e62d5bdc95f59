/* Containers' root file systems: overlay over the image's layers.
 *
 * Overlay's options must fit one page (4 KiB); a hundred layers of
 * absolute paths do not. As podman does, each layer has a short link in
 * <store>/image/l/, and the mount is made from inside that directory
 * with relative lowerdirs ("l/abcdefghij", 13 bytes a layer). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/cleanup.h"
#include "../common/fs.h"
#include "store_priv.h"

#define OPTS_MAX 4000 /* a page, less room for the kernel's own */

static int mkdir_in(const char *dir, const char *name, char *out, size_t len,
                    struct hull_error *e) {
  snprintf(out, len, "%s/%s", dir, name);
  if (mkdir(out, 0755) < 0 && errno != EEXIST)
    return hull_errno(e, errno, "rootfs %s", out);
  return 0;
}

int rootfs_mount(struct store *s, const struct image *img, const char *dir,
                 bool readonly, struct hull_error *e) {
  char merged[4096], upper[4096], work[4096], empty[4096];
  int r;
  if (mkdir(dir, 0700) < 0 && errno != EEXIST)
    return hull_errno(e, errno, "rootfs %s", dir);
  /* the mount is made from the store's directory: paths must be absolute */
  _cleanup_free_ char *abs = realpath(dir, NULL);
  if (!abs)
    return hull_errno(e, errno, "rootfs %s", dir);
  dir = abs;
  if ((r = mkdir_in(dir, "merged", merged, sizeof merged, e)) < 0)
    return r;
  if (!readonly && ((r = mkdir_in(dir, "upper", upper, sizeof upper, e)) < 0 ||
                    (r = mkdir_in(dir, "work", work, sizeof work, e)) < 0))
    return r;
  _cleanup_free_ char *opts = malloc(OPTS_MAX + 1);
  if (!opts)
    return hull_errno(e, ENOMEM, "rootfs");
  size_t len = (size_t)snprintf(opts, OPTS_MAX, "lowerdir=");
  size_t lowers = 0;
  for (size_t i = img->n_layers; i-- > 0;) {
    const char *p = layer_path_hex(img->layers[i]);
    char hex[65], rel[128];
    if (!p || sscanf(p, "%64[0-9a-f]/diff", hex) != 1)
      return hull_err(e, EINVAL, "image %.19s..: bad layer path %s", img->id, img->layers[i]);
    /* A layer listed twice (identical content) is kept at its topmost
     * place only: overlay refuses a lowerdir twice (ELOOP), and the copy
     * below adds nothing the one above does not. */
    bool dup = false;
    for (size_t k = i + 1; k < img->n_layers && !dup; k++)
      dup = !strcmp(img->layers[k], img->layers[i]);
    if (dup)
      continue;
    snprintf(rel, sizeof rel, "layers/%s/link", hex);
    _cleanup_free_ char *link = NULL;
    size_t ll;
    struct hull_error le = {0};
    if (fs_read_file_at(s->dirfd, rel, &link, &ll, &le) < 0)
      return hull_err(e, ENOENT, "image %.19s..: layer sha256:%.12s.. is missing from the store",
                      img->id, hex);
    if (ll == 0 || ll > 32 || strchr(link, '/') || strchr(link, ':') || strchr(link, ','))
      return hull_err(e, EUCLEAN, "image %.19s..: layer sha256:%.12s..: bad link name",
                      img->id, hex);
    int n = snprintf(opts + len, OPTS_MAX - len, "%sl/%s", lowers ? ":" : "", link);
    if (n < 0 || (size_t)n >= OPTS_MAX - len)
      return hull_err(e, E2BIG, "image %.19s..: too many layers (%zu) for one overlay mount",
                      img->id, img->n_layers);
    len += (size_t)n;
    lowers++;
  }
  /* No layer (scratch), or a read-only overlay of one layer (overlay
   * wants two lowers without an upper): empty directories fill in. */
  for (int k = 0; lowers < (readonly ? 2u : 1u); k++) {
    char name[16];
    snprintf(name, sizeof name, "empty%d", k);
    if ((r = mkdir_in(dir, name, empty, sizeof empty, e)) < 0)
      return r;
    int n = snprintf(opts + len, OPTS_MAX - len, "%s%s", lowers ? ":" : "", empty);
    if (n < 0 || (size_t)n >= OPTS_MAX - len)
      return hull_err(e, E2BIG, "rootfs %s: path too long", dir);
    len += (size_t)n;
    lowers++;
  }
  if (!readonly) {
    int n = snprintf(opts + len, OPTS_MAX - len, ",upperdir=%s,workdir=%s", upper, work);
    if (n < 0 || (size_t)n >= OPTS_MAX - len)
      return hull_err(e, E2BIG, "rootfs %s: options longer than a page", dir);
  }
  /* Relative lowerdirs are resolved against the cwd at mount time. */
  _cleanup_close_ int cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fchdir(s->dirfd) < 0)
    return hull_errno(e, errno, "rootfs: chdir %s", s->dir);
  r = mount("overlay", merged, "overlay", readonly ? MS_RDONLY : 0, opts);
  int err = errno;
  if (cwd >= 0 && fchdir(cwd) < 0) {
  }
  if (r < 0)
    return hull_errno(e, err, "rootfs %s: overlay mount of image %.19s..", merged, img->id);
  return 0;
}

int rootfs_unmount(const char *dir, struct hull_error *e) {
  char merged[4096];
  snprintf(merged, sizeof merged, "%s/merged", dir);
  if (umount2(merged, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
    return hull_errno(e, errno, "rootfs %s: unmount", merged);
  return 0;
}
