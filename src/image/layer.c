/* Layer tars (plain, gzip, zstd) unpacked into a directory with
 * libarchive, never writing outside it whatever the tar holds.
 *
 * Every path is taken apart here, not by libarchive's writer: absolute
 * paths and ".." are refused, and each directory on the way is opened
 * with O_NOFOLLOW relative to the one before, so a symlink planted by an
 * earlier entry ("l -> /tmp") can never be written through ("l/file" is
 * refused). Hardlinks must name a file unpacked inside the layer.
 *
 * The layer's diff_id is the digest of the uncompressed tar: an outer
 * libarchive reader ("raw" format, every filter) decompresses, and the
 * tar reader reads from it through a callback that hashes what passes. */
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "../common/cleanup.h"
#include "../common/fs.h"
#include "store_priv.h"

#define BUF_SIZE (256 * 1024)
#define MAX_DEPTH 256

struct hashed_src {
  struct archive *outer;
  struct digester d;
  char *buf;
  int err;
};

static la_ssize_t hashed_read(struct archive *a, void *arg, const void **buf) {
  (void)a;
  struct hashed_src *h = arg;
  la_ssize_t n = archive_read_data(h->outer, h->buf, BUF_SIZE);
  if (n < 0) {
    h->err = 1;
    archive_set_error(a, EIO, "%s", archive_error_string(h->outer));
    return -1;
  }
  digester_update(&h->d, h->buf, (size_t)n);
  *buf = h->buf;
  return n;
}

/* A path from the tar split into components; refused when absolute or
 * with "..". "./" and empty components are dropped. */
struct lpath {
  char buf[4096];
  char *comp[MAX_DEPTH];
  int n;
};

static int split_path(const char *p, struct lpath *lp, const char *what,
                      struct hull_error *e) {
  if (!p)
    return hull_err(e, EINVAL, "%s without a name", what);
  if (p[0] == '/')
    return hull_err(e, EPERM, "%s \"%.200s\": absolute path refused", what, p);
  if (snprintf(lp->buf, sizeof lp->buf, "%s", p) >= (int)sizeof lp->buf)
    return hull_err(e, ENAMETOOLONG, "%s \"%.200s...\": path too long", what, p);
  lp->n = 0;
  char *save = NULL;
  for (char *c = strtok_r(lp->buf, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
    if (!strcmp(c, "."))
      continue;
    if (!strcmp(c, ".."))
      return hull_err(e, EPERM, "%s \"%.200s\": \"..\" refused (it would leave the layer)",
                      what, p);
    if (lp->n >= MAX_DEPTH)
      return hull_err(e, ENAMETOOLONG, "%s \"%.200s\": too deep", what, p);
    lp->comp[lp->n++] = c;
  }
  return 0;
}

/* Open the directory holding the last component, creating missing
 * directories when create; never follows a symlink. */
static int open_parent(int rootfd, const struct lpath *lp, bool create,
                       const char *orig, struct hull_error *e) {
  int cur = dup(rootfd);
  if (cur < 0)
    return hull_errno(e, errno, "dup");
  for (int i = 0; i + 1 < lp->n; i++) {
    int next = openat(cur, lp->comp[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (next < 0 && errno == ENOTDIR && create) {
      /* a whiteout of this layer (char 0/0) for a directory re-created
       * in the same layer gives way to the directory */
      struct stat st;
      if (fstatat(cur, lp->comp[i], &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISCHR(st.st_mode) &&
          st.st_rdev == makedev(0, 0) && unlinkat(cur, lp->comp[i], 0) == 0)
        errno = ENOENT;
      else
        errno = ENOTDIR;
    }
    if (next < 0 && errno == ENOENT && create) {
      if (mkdirat(cur, lp->comp[i], 0755) < 0 && errno != EEXIST) {
        int r = errno;
        close(cur);
        return hull_errno(e, r, "\"%.200s\"", orig);
      }
      next = openat(cur, lp->comp[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    }
    if (next < 0) {
      int r = errno;
      close(cur);
      if (r == ELOOP || r == ENOTDIR)
        return hull_err(e, EPERM,
                        "\"%.200s\": refused: \"%s\" is a symlink or not a directory "
                        "(no writes through links)",
                        orig, lp->comp[i]);
      return hull_errno(e, r, "\"%.200s\"", orig);
    }
    close(cur);
    cur = next;
  }
  return cur;
}

/* Make room for a new entry: what is there goes (a directory only when
 * the new entry is not a directory too). */
static int clear_name(int dirfd, const char *name, bool keep_dir) {
  struct stat st;
  if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return errno == ENOENT ? 0 : -errno;
  if (S_ISDIR(st.st_mode)) {
    if (keep_dir)
      return 1;
    return fs_rm_rf_at(dirfd, name);
  }
  return unlinkat(dirfd, name, 0) < 0 ? -errno : 0;
}

static void set_xattrs(int fd, struct archive_entry *ent) {
  const char *name;
  const void *val;
  size_t size;
  archive_entry_xattr_reset(ent);
  while (archive_entry_xattr_next(ent, &name, &val, &size) == ARCHIVE_OK) {
    /* overlay's own attributes come from whiteouts only: an image must
     * not forge redirects or opaque markers */
    if (!strncmp(name, "trusted.overlay.", 16))
      continue;
    fsetxattr(fd, name, val, size, 0);
  }
}

struct dirmeta {
  char *path;
  mode_t mode;
  uid_t uid;
  gid_t gid;
  struct timespec mtime;
  struct archive_entry *ent; /* for xattrs */
};

static int write_data(struct archive *a, int fd, int64_t size, const char *path,
                      struct hull_error *e) {
  const void *buf;
  size_t len;
  la_int64_t off;
  int r;
  while ((r = archive_read_data_block(a, &buf, &len, &off)) == ARCHIVE_OK) {
    const char *p = buf;
    while (len > 0) {
      ssize_t w = pwrite(fd, p, len, off);
      if (w < 0) {
        if (errno == EINTR)
          continue;
        return hull_errno(e, errno, "\"%.200s\"", path);
      }
      p += w;
      len -= (size_t)w;
      off += w;
    }
  }
  if (r != ARCHIVE_EOF)
    return hull_err(e, EBADMSG, "\"%.200s\": %s", path, archive_error_string(a));
  if (ftruncate(fd, size) < 0) /* sparse files end in a hole */
    return hull_errno(e, errno, "\"%.200s\"", path);
  return 0;
}

/* Directory metadata is applied at the end: the entries written into a
 * directory change its mtime, and a read-only mode would stop them. */
static int record_dir(struct dirmeta **dirs, size_t *n_dirs, const char *path,
                      mode_t perm, uid_t uid, gid_t gid, struct timespec mtime,
                      struct archive_entry *ent, struct hull_error *e) {
  struct dirmeta *nd = realloc(*dirs, (*n_dirs + 1) * sizeof **dirs);
  if (!nd)
    return hull_errno(e, ENOMEM, "layer");
  *dirs = nd;
  struct dirmeta *dm = &nd[(*n_dirs)++];
  dm->path = strdup(path);
  dm->mode = perm;
  dm->uid = uid;
  dm->gid = gid;
  dm->mtime = mtime;
  dm->ent = archive_entry_clone(ent);
  if (!dm->path || !dm->ent)
    return hull_errno(e, ENOMEM, "layer");
  return 0;
}

static int unpack_entry(struct archive *a, struct archive_entry *ent, int rootfd,
                        struct dirmeta **dirs, size_t *n_dirs,
                        struct layer_stats *st, struct hull_error *e) {
  const char *path = archive_entry_pathname(ent);
  struct lpath lp;
  int r = split_path(path, &lp, "entry", e);
  if (r < 0)
    return r;
  mode_t type = archive_entry_filetype(ent);
  mode_t perm = archive_entry_perm(ent) & 07777;
  uid_t uid = (uid_t)archive_entry_uid(ent);
  gid_t gid = (gid_t)archive_entry_gid(ent);
  struct timespec ts[2] = {
      {archive_entry_mtime(ent), archive_entry_mtime_nsec(ent)},
      {archive_entry_mtime(ent), archive_entry_mtime_nsec(ent)}};
  const char *hardlink = archive_entry_hardlink(ent);
  st->entries++;

  if (lp.n == 0) { /* the layer's root itself */
    if (type != AE_IFDIR)
      return hull_err(e, EPERM, "entry \"%.200s\": the root must be a directory", path);
    return record_dir(dirs, n_dirs, path, perm, uid, gid, ts[0], ent, e);
  }
  _cleanup_close_ int parent = open_parent(rootfd, &lp, true, path, e);
  if (parent < 0)
    return parent;
  const char *leaf = lp.comp[lp.n - 1];

  if (!strncmp(leaf, ".wh.", 4)) {
    if (!strcmp(leaf, ".wh..wh..opq")) {
      if (fsetxattr(parent, "trusted.overlay.opaque", "y", 1, 0) < 0)
        return hull_errno(e, errno, "\"%.200s\": opaque directory", path);
      return 0;
    }
    const char *name = leaf + 4;
    if (!*name || !strcmp(name, ".") || !strcmp(name, ".."))
      return hull_err(e, EPERM, "entry \"%.200s\": bad whiteout", path);
    if ((r = clear_name(parent, name, false)) < 0)
      return hull_errno(e, -r, "\"%.200s\"", path);
    if (mknodat(parent, name, S_IFCHR, makedev(0, 0)) < 0)
      return hull_errno(e, errno, "\"%.200s\": whiteout", path);
    return 0;
  }

  if (hardlink) {
    struct lpath tp;
    if ((r = split_path(hardlink, &tp, "hardlink target", e)) < 0)
      return hull_err_prefix(e, "entry \"%.200s\"", path);
    if (tp.n == 0)
      return hull_err(e, EPERM, "entry \"%.200s\": hardlink to the root", path);
    _cleanup_close_ int tparent = open_parent(rootfd, &tp, false, hardlink, e);
    if (tparent == -ENOENT)
      return hull_err(e, EPERM, "entry \"%.200s\": hardlink to \"%.200s\", which is not in the layer",
                      path, hardlink);
    if (tparent < 0)
      return hull_err_prefix(e, "entry \"%.200s\": hardlink target", path);
    struct stat ts_;
    if (fstatat(tparent, tp.comp[tp.n - 1], &ts_, AT_SYMLINK_NOFOLLOW) < 0)
      return hull_err(e, EPERM, "entry \"%.200s\": hardlink to \"%.200s\", which is not in the layer",
                      path, hardlink);
    if (S_ISDIR(ts_.st_mode))
      return hull_err(e, EPERM, "entry \"%.200s\": hardlink to a directory", path);
    if (tparent >= 0 && (r = clear_name(parent, leaf, false)) < 0)
      return hull_errno(e, -r, "\"%.200s\"", path);
    if (linkat(tparent, tp.comp[tp.n - 1], parent, leaf, 0) < 0)
      return hull_errno(e, errno, "\"%.200s\": hardlink", path);
    return 0;
  }

  switch (type) {
  case AE_IFDIR: {
    r = clear_name(parent, leaf, true);
    if (r < 0)
      return hull_errno(e, -r, "\"%.200s\"", path);
    if (r == 0 && mkdirat(parent, leaf, 0700) < 0)
      return hull_errno(e, errno, "\"%.200s\"", path);
    return record_dir(dirs, n_dirs, path, perm, uid, gid, ts[0], ent, e);
  }
  case AE_IFREG: {
    if ((r = clear_name(parent, leaf, false)) < 0)
      return hull_errno(e, -r, "\"%.200s\"", path);
    _cleanup_close_ int fd = openat(parent, leaf,
                                    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
      return hull_errno(e, errno, "\"%.200s\"", path);
    int64_t size = archive_entry_size(ent);
    if ((r = write_data(a, fd, size, path, e)) < 0)
      return r;
    st->size += (uint64_t)size;
    /* chown first: it clears setuid bits that fchmod then sets */
    if (fchown(fd, uid, gid) < 0 || fchmod(fd, perm) < 0)
      return hull_errno(e, errno, "\"%.200s\": owner/mode", path);
    set_xattrs(fd, ent);
    futimens(fd, ts);
    return 0;
  }
  case AE_IFLNK: {
    const char *target = archive_entry_symlink(ent);
    if (!target)
      return hull_err(e, EINVAL, "entry \"%.200s\": symlink without a target", path);
    if ((r = clear_name(parent, leaf, false)) < 0)
      return hull_errno(e, -r, "\"%.200s\"", path);
    if (symlinkat(target, parent, leaf) < 0)
      return hull_errno(e, errno, "\"%.200s\": symlink", path);
    fchownat(parent, leaf, uid, gid, AT_SYMLINK_NOFOLLOW);
    utimensat(parent, leaf, ts, AT_SYMLINK_NOFOLLOW);
    return 0;
  }
  case AE_IFCHR:
  case AE_IFBLK:
  case AE_IFIFO: {
    if ((r = clear_name(parent, leaf, false)) < 0)
      return hull_errno(e, -r, "\"%.200s\"", path);
    dev_t dev = type == AE_IFIFO ? 0 : archive_entry_rdev(ent);
    if (mknodat(parent, leaf, type | perm, dev) < 0)
      return hull_errno(e, errno, "\"%.200s\": device node", path);
    if (fchownat(parent, leaf, uid, gid, AT_SYMLINK_NOFOLLOW) < 0 ||
        fchmodat(parent, leaf, perm, 0) < 0)
      return hull_errno(e, errno, "\"%.200s\": owner/mode", path);
    utimensat(parent, leaf, ts, AT_SYMLINK_NOFOLLOW);
    return 0;
  }
  case AE_IFSOCK:
    return 0; /* sockets mean nothing in an image */
  default:
    return hull_err(e, EINVAL, "entry \"%.200s\": unknown file type 0%o", path, type);
  }

}

static void apply_dirs(int rootfd, struct dirmeta *dirs, size_t n) {
  for (size_t i = n; i-- > 0;) {
    struct lpath lp;
    if (split_path(dirs[i].path, &lp, "dir", NULL) < 0)
      continue;
    int fd;
    if (lp.n == 0) {
      fd = dup(rootfd);
    } else {
      int parent = open_parent(rootfd, &lp, false, dirs[i].path, NULL);
      if (parent < 0)
        continue;
      fd = openat(parent, lp.comp[lp.n - 1], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      close(parent);
    }
    if (fd < 0)
      continue;
    if (fchown(fd, dirs[i].uid, dirs[i].gid) == 0)
      fchmod(fd, dirs[i].mode);
    set_xattrs(fd, dirs[i].ent);
    struct timespec ts[2] = {dirs[i].mtime, dirs[i].mtime};
    futimens(fd, ts);
    close(fd);
  }
}

static int unpack(int fd, int dirfd, const char *plain_digest,
                  char diff_id[HULL_DIGEST_MAX], struct layer_stats *st,
                  struct hull_error *e);

int layer_unpack(int fd, int dirfd, char diff_id[HULL_DIGEST_MAX],
                 struct layer_stats *st, struct hull_error *e) {
  return unpack(fd, dirfd, NULL, diff_id, st, e);
}

/* A blob of the store: its digest was verified on the way in, and for an
 * uncompressed tar it is the diff_id, so the tar is read straight from
 * the file without hashing it again (a third of the CPU of a load). */
int layer_unpack_blob(int fd, int dirfd, const char *blob_digest,
                      char diff_id[HULL_DIGEST_MAX], struct layer_stats *st,
                      struct hull_error *e) {
  char magic[6] = "";
  bool plain = pread(fd, magic, 5, 257) == 5 && !memcmp(magic, "ustar", 5) &&
               !*layer_compression(fd);
  return unpack(fd, dirfd, plain ? blob_digest : NULL, diff_id, st, e);
}

static int unpack(int fd, int dirfd, const char *plain_digest,
                  char diff_id[HULL_DIGEST_MAX], struct layer_stats *st,
                  struct hull_error *e) {
  struct hashed_src h = {0};
  struct archive *in = NULL;
  struct archive_entry *ent;
  struct dirmeta *dirs = NULL;
  size_t n_dirs = 0;
  int ret = 0;
  memset(st, 0, sizeof *st);
  h.buf = malloc(BUF_SIZE);
  h.outer = archive_read_new();
  if (!h.buf || !h.outer || digester_init(&h.d) < 0) {
    ret = hull_errno(e, ENOMEM, "layer");
    goto out;
  }
  if (plain_digest) {
    in = archive_read_new();
    if (!in) {
      ret = hull_errno(e, ENOMEM, "layer");
      goto out;
    }
    archive_read_support_format_tar(in);
    archive_read_support_format_gnutar(in);
    if (archive_read_open_fd(in, fd, BUF_SIZE) != ARCHIVE_OK) {
      ret = hull_err(e, EBADMSG, "not a tar: %s", archive_error_string(in));
      goto out;
    }
    goto entries;
  }
  layer_support_filters(h.outer);
  archive_read_support_format_raw(h.outer);
  if (archive_read_open_fd(h.outer, fd, BUF_SIZE) != ARCHIVE_OK ||
      archive_read_next_header(h.outer, &ent) != ARCHIVE_OK) {
    ret = hull_err(e, EBADMSG, "not a tar (or compressed tar): %s",
                   archive_error_string(h.outer));
    goto out;
  }
  in = archive_read_new();
  if (!in) {
    ret = hull_errno(e, ENOMEM, "layer");
    goto out;
  }
  archive_read_support_format_tar(in);
  archive_read_support_format_gnutar(in);
  if (archive_read_open(in, &h, NULL, hashed_read, NULL) != ARCHIVE_OK) {
    ret = hull_err(e, EBADMSG, "not a tar: %s", archive_error_string(in));
    goto out;
  }
entries:;
  int r;
  while ((r = archive_read_next_header(in, &ent)) == ARCHIVE_OK ||
         r == ARCHIVE_WARN) {
    ret = unpack_entry(in, ent, dirfd, &dirs, &n_dirs, st, e);
    if (ret < 0)
      goto out;
  }
  if (r != ARCHIVE_EOF) {
    ret = hull_err(e, EBADMSG, "bad tar: %s", archive_error_string(in));
    goto out;
  }
  if (plain_digest) {
    apply_dirs(dirfd, dirs, n_dirs);
    snprintf(diff_id, HULL_DIGEST_MAX, "%s", plain_digest);
    goto out;
  }
  /* The digest covers the whole uncompressed stream, padding included. */
  la_ssize_t n;
  while ((n = archive_read_data(h.outer, h.buf, BUF_SIZE)) > 0)
    digester_update(&h.d, h.buf, (size_t)n);
  if (n < 0) {
    ret = hull_err(e, EBADMSG, "bad compressed stream: %s",
                   archive_error_string(h.outer));
    goto out;
  }
  apply_dirs(dirfd, dirs, n_dirs);
  digester_final(&h.d, diff_id);
out:
  for (size_t i = 0; i < n_dirs; i++) {
    free(dirs[i].path);
    if (dirs[i].ent)
      archive_entry_free(dirs[i].ent);
  }
  free(dirs);
  if (in)
    archive_read_free(in);
  if (h.outer)
    archive_read_free(h.outer);
  digester_free(&h.d);
  free(h.buf);
  if (ret < 0)
    err_oneline(e);
  return ret;
}

int layer_decompress(int fd, int (*sink)(void *arg, const void *buf, size_t len),
                     void *arg, char diff_id[HULL_DIGEST_MAX], struct hull_error *e) {
  struct archive *a = archive_read_new();
  struct archive_entry *ent;
  struct digester d;
  char *buf = malloc(BUF_SIZE);
  int ret = 0;
  if (!a || !buf || digester_init(&d) < 0) {
    if (a)
      archive_read_free(a);
    free(buf);
    return hull_errno(e, ENOMEM, "layer");
  }
  layer_support_filters(a);
  archive_read_support_format_raw(a);
  la_ssize_t n = -1;
  if (archive_read_open_fd(a, fd, BUF_SIZE) == ARCHIVE_OK &&
      archive_read_next_header(a, &ent) == ARCHIVE_OK)
    while ((n = archive_read_data(a, buf, BUF_SIZE)) > 0) {
      digester_update(&d, buf, (size_t)n);
      if (sink && (ret = sink(arg, buf, (size_t)n)) < 0)
        break;
    }
  if (ret == 0 && n < 0)
    ret = hull_err(e, EBADMSG, "bad compressed stream: %s", archive_error_string(a));
  if (ret < 0)
    digester_free(&d);
  else
    digester_final(&d, diff_id);
  archive_read_free(a);
  free(buf);
  return ret;
}

int layer_diff_id(int fd, char diff_id[HULL_DIGEST_MAX], struct hull_error *e) {
  return layer_decompress(fd, NULL, NULL, diff_id, e);
}

void layer_support_filters(struct archive *a) {
  archive_read_support_filter_gzip(a);
  archive_read_support_filter_zstd(a);
  archive_read_support_filter_xz(a);
  archive_read_support_filter_bzip2(a);
}

const char *layer_compression(int fd) {
  unsigned char m[4];
  if (pread(fd, m, 4, 0) != 4)
    return "";
  if (m[0] == 0x1f && m[1] == 0x8b)
    return "gzip";
  if (m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd)
    return "zstd";
  if (m[0] == 0xfd && m[1] == '7' && m[2] == 'z' && m[3] == 'X')
    return "xz";
  if (m[0] == 'B' && m[1] == 'Z' && m[2] == 'h')
    return "bzip2";
  return "";
}
