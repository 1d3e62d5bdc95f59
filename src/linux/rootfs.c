#include "rootfs.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "../common/cleanup.h"
#include "../common/fs.h"

#define PROPAGATION_FLAGS (MS_SHARED | MS_SLAVE | MS_PRIVATE | MS_UNBINDABLE)

/* The flags a mount has now, as MS_* (for remounts that must keep locked
 * flags such as nosuid inside a user namespace). */
static unsigned long current_flags(const char *path) {
  struct statvfs sv;
  if (statvfs(path, &sv) < 0)
    return 0;
  unsigned long f = 0;
  if (sv.f_flag & ST_RDONLY) f |= MS_RDONLY;
  if (sv.f_flag & ST_NOSUID) f |= MS_NOSUID;
  if (sv.f_flag & ST_NODEV) f |= MS_NODEV;
  if (sv.f_flag & ST_NOEXEC) f |= MS_NOEXEC;
  if (sv.f_flag & ST_NOATIME) f |= MS_NOATIME;
  if (sv.f_flag & ST_NODIRATIME) f |= MS_NODIRATIME;
  if (sv.f_flag & ST_RELATIME) f |= MS_RELATIME;
  return f;
}

/* Remount the mount at PATH (a path in the current root, or a
 * /proc/self/fd link) as a bind mount with flags changed. */
static int remount_path(const char *path, const char *name, unsigned long set,
                        unsigned long clear, struct hull_error *e) {
  unsigned long flags = (current_flags(path) | set) & ~clear;
  if (mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | flags, NULL) < 0)
    return hull_errno(e, errno, "remount %s", name);
  return 0;
}

/* The same for the mount on top of PATH inside rootfd (before pivot_root,
 * when the host's /proc gives descriptors a path). */
static int remount_bind(int rootfd, const char *path, unsigned long set,
                        unsigned long clear, struct hull_error *e) {
  _cleanup_close_ int fd = fs_open_in_root(rootfd, path, O_PATH, 0);
  if (fd < 0)
    return hull_errno(e, -fd, "remount %s", path);
  char p[32];
  fs_fd_path(fd, p);
  return remount_path(p, path, set, clear, e);
}

static int set_propagation(int rootfd, const char *path, unsigned long prop,
                           struct hull_error *e) {
  _cleanup_close_ int fd = fs_open_in_root(rootfd, path, O_PATH, 0);
  if (fd < 0)
    return hull_errno(e, -fd, "mount propagation of %s", path);
  char p[32];
  fs_fd_path(fd, p);
  /* One propagation type per call; MS_REC may accompany it. */
  unsigned long rec = prop & MS_REC;
  unsigned long types[] = {MS_SHARED, MS_SLAVE, MS_PRIVATE, MS_UNBINDABLE};
  for (int i = 0; i < 4; i++)
    if ((prop & types[i]) && mount(NULL, p, NULL, types[i] | rec, NULL) < 0)
      return hull_errno(e, errno, "mount propagation of %s", path);
  return 0;
}

static bool source_is_dir(const char *source) {
  struct stat st;
  return stat(source, &st) < 0 || S_ISDIR(st.st_mode);
}

int rootfs_enter_netns(struct rootfs_ctx *ctx, struct hull_error *e) {
  if (ctx->netns_entered || !ctx->enter_netns)
    return 0;
  ctx->netns_entered = true;
  return ctx->enter_netns(ctx->arg, e);
}

static int mount_one(struct rootfs_ctx *ctx, const struct spec_mount *m,
                     struct hull_error *e) {
  const char *type = m->type ? m->type : "";
  if (!strcmp(type, "cgroup") || !strcmp(type, "cgroup2")) {
    if (!ctx->cgroups)
      return 0;
    int r = cgroup_mount_in_container(ctx->rootfd, m->destination, m->flags,
                                  ctx->cgroups, e);
    return r < 0 ? r : 0;
  }
  /* sysfs shows the network devices of the mounting process's netns. */
  if (!strcmp(type, "sysfs")) {
    int r = rootfs_enter_netns(ctx, e);
    if (r < 0)
      return r;
  }
  if (m->idmap || m->n_uid_mappings || m->n_gid_mappings)
    return hull_err(e, ENOTSUP,
                    "mount %s: idmapped mounts are not supported by this build of hull",
                    m->destination);
  bool bind = m->bind;
  bool is_dir = bind ? source_is_dir(m->source) : true;
  _cleanup_close_ int dfd = fs_ensure_in_root(ctx->rootfd, m->destination, is_dir, e);
  if (dfd < 0)
    return hull_err_prefix(e, "mount %s", m->destination);
  char target[32];
  fs_fd_path(dfd, target);
  if (bind) {
    if (!m->source)
      return hull_err(e, EINVAL, "mount %s: bind mount needs a source", m->destination);
    unsigned long f = MS_BIND | (m->recursive ? MS_REC : 0);
    if (mount(m->source, target, NULL, f, NULL) < 0)
      return hull_errno(e, errno, "mount %s on %s", m->source, m->destination);
    unsigned long extra = m->flags & ~(MS_BIND | MS_REC | PROPAGATION_FLAGS | MS_REMOUNT);
    if (extra || m->clear_flags) {
      int r = remount_bind(ctx->rootfd, m->destination, extra,
                           m->clear_flags & ~(MS_BIND | MS_REC), e);
      if (r < 0)
        return r;
    }
  } else {
    unsigned long f = m->flags & ~(PROPAGATION_FLAGS | MS_REC | MS_BIND);
    int r = mount(m->source ? m->source : type, target, type, f, m->data);
    if (r < 0 && !strcmp(type, "sysfs") && (errno == EPERM || errno == EBUSY)) {
      /* sysfs of a network namespace we do not own: show the host's. */
      r = mount("/sys", target, NULL, MS_BIND | MS_REC, NULL);
      if (r == 0 && (f & MS_RDONLY))
        r = remount_bind(ctx->rootfd, m->destination, MS_RDONLY, 0, e) < 0 ? -1 : 0;
    }
    if (r < 0 && !strcmp(type, "mqueue") && errno == EPERM) {
      r = mount("/dev/mqueue", target, NULL, MS_BIND, NULL);
    }
    if (r < 0)
      return hull_errno(e, errno, "mount %s (%s) on %s", m->source ? m->source : "",
                        type, m->destination);
    if (m->tmpcopyup && !strcmp(type, "tmpfs")) {
      /* What the image had there shows through in the new tmpfs. */
      _cleanup_close_ int top = fs_open_in_root(ctx->rootfd, m->destination,
                                                O_PATH | O_DIRECTORY, 0);
      if (top < 0)
        return hull_errno(e, -top, "tmpcopyup %s", m->destination);
      struct stat st;
      if (fstat(dfd, &st) == 0) {
        char tp[32];
        fs_fd_path(top, tp);
        chmod(tp, st.st_mode & 07777);
        chown(tp, st.st_uid, st.st_gid);
      }
      if (fs_copy_tree(dfd, top, e) < 0)
        return hull_err_prefix(e, "tmpcopyup %s", m->destination);
    }
  }
  if (m->rec_attr_set || m->rec_attr_clr) {
    /* rro, rnosuid...: the whole tree below, submounts included. */
    _cleanup_close_ int top = fs_open_in_root(ctx->rootfd, m->destination, O_PATH, 0);
    struct mount_attr attr = {.attr_set = m->rec_attr_set, .attr_clr = m->rec_attr_clr};
    if (top < 0 || mount_setattr(top, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr,
                                 sizeof attr) < 0)
      return hull_errno(e, top < 0 ? -top : errno, "mount %s: recursive options",
                        m->destination);
  }
  if (m->propagation)
    return set_propagation(ctx->rootfd, m->destination, m->propagation, e);
  return 0;
}

struct default_device {
  const char *path;
  unsigned major, minor;
};

static const struct default_device default_devices[] = {
    {"/dev/null", 1, 3},    {"/dev/zero", 1, 5},    {"/dev/full", 1, 7},
    {"/dev/random", 1, 8},  {"/dev/urandom", 1, 9}, {"/dev/tty", 5, 0},
};

/* Create a device node inside the root, or in a user namespace (where
 * mknod is refused) bind-mount the host's node over an empty file. */
static int make_device(struct rootfs_ctx *ctx, const char *path, char type,
                       unsigned major, unsigned minor, mode_t mode, bool has_uid,
                       uid_t uid, bool has_gid, gid_t gid, struct hull_error *e) {
  _cleanup_free_ char *copy = strdup(path);
  char *slash = strrchr(copy, '/');
  *slash = 0;
  const char *leaf = slash + 1;
  _cleanup_close_ int pfd = fs_ensure_in_root(ctx->rootfd, *copy ? copy : "/", 1, e);
  if (pfd < 0)
    return hull_err_prefix(e, "device %s", path);
  if (ctx->in_userns) {
    _cleanup_close_ int ffd = fs_ensure_in_root(ctx->rootfd, path, 0, e);
    if (ffd < 0)
      return hull_err_prefix(e, "device %s", path);
    char t[32];
    fs_fd_path(ffd, t);
    if (mount(path, t, NULL, MS_BIND, NULL) < 0)
      return hull_errno(e, errno, "device %s: bind host node", path);
    return 0;
  }
  mode_t kind = type == 'b' ? S_IFBLK : type == 'p' ? S_IFIFO : S_IFCHR;
  unlinkat(pfd, leaf, 0);
  if (mknodat(pfd, leaf, kind | (mode & 07777), makedev(major, minor)) < 0)
    return hull_errno(e, errno, "device %s", path);
  /* The mode is exact: the container process sets up with umask 0. */
  if ((has_uid || has_gid) &&
      fchownat(pfd, leaf, has_uid ? uid : (uid_t)-1, has_gid ? gid : (gid_t)-1,
               AT_SYMLINK_NOFOLLOW) < 0)
    return hull_errno(e, errno, "device %s: chown", path);
  return 0;
}

static int setup_dev(struct rootfs_ctx *ctx, struct hull_error *e) {
  const struct spec *s = ctx->spec;
  int r;
  for (size_t i = 0; i < sizeof default_devices / sizeof *default_devices; i++) {
    const struct default_device *d = &default_devices[i];
    bool overridden = false;
    for (size_t j = 0; j < s->linux.n_devices; j++)
      if (!strcmp(s->linux.devices[j].path, d->path))
        overridden = true;
    if (overridden)
      continue;
    r = make_device(ctx, d->path, 'c', d->major, d->minor, 0666, false, 0, false,
                    0, e);
    if (r < 0)
      return r;
  }
  for (size_t j = 0; j < s->linux.n_devices; j++) {
    const struct spec_device *d = &s->linux.devices[j];
    r = make_device(ctx, d->path, d->type, (unsigned)d->major, (unsigned)d->minor,
                    d->has_mode ? d->file_mode : 0666, d->has_uid, d->uid,
                    d->has_gid, d->gid, e);
    if (r < 0)
      return r;
  }
  _cleanup_close_ int dev = fs_open_in_root(ctx->rootfd, "/dev", O_PATH | O_DIRECTORY, 0);
  if (dev < 0)
    return hull_errno(e, -dev, "/dev");
  static const char *links[][2] = {
      {"/proc/self/fd", "fd"},       {"/proc/self/fd/0", "stdin"},
      {"/proc/self/fd/1", "stdout"}, {"/proc/self/fd/2", "stderr"},
      {"pts/ptmx", "ptmx"},          {"/proc/kcore", "core"},
  };
  for (size_t i = 0; i < sizeof links / sizeof *links; i++) {
    if (symlinkat(links[i][0], dev, links[i][1]) < 0 && errno != EEXIST)
      return hull_errno(e, errno, "/dev/%s", links[i][1]);
  }
  return 0;
}

int rootfs_prepare(struct rootfs_ctx *ctx, struct hull_error *e) {
  const struct spec *s = ctx->spec;
  /* Nothing done in here may propagate back to the host; a propagation
   * the config asks for is applied to the container's root at the end. */
  if (mount(NULL, "/", NULL, MS_SLAVE | MS_REC, NULL) < 0)
    return hull_errno(e, errno, "make / a slave mount");
  if (mount(s->root_path, s->root_path, NULL, MS_BIND | MS_REC, NULL) < 0)
    return hull_errno(e, errno, "bind mount root %s", s->root_path);
  ctx->rootfd = open(s->root_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (ctx->rootfd < 0)
    return hull_errno(e, errno, "root %s", s->root_path);
  for (size_t i = 0; i < s->n_mounts; i++) {
    int r = mount_one(ctx, &s->mounts[i], e);
    if (r < 0)
      return r;
  }
  /* Devices go into the container's /dev whether it is a tmpfs of the
   * config or the root's own directory, as runc does; a /dev that is a
   * bind mount (of the host's, say) is left alone. */
  for (size_t i = 0; i < s->n_mounts; i++)
    if (!strcmp(s->mounts[i].destination, "/dev") && s->mounts[i].bind)
      return 0;
  return setup_dev(ctx, e);
}

int rootfs_pivot(struct rootfs_ctx *ctx, bool no_pivot, struct hull_error *e) {
  _cleanup_close_ int root = open(ctx->spec->root_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root < 0 || fchdir(root) < 0)
    return hull_errno(e, errno, "root %s", ctx->spec->root_path);
  if (no_pivot) {
    if (mount(".", "/", NULL, MS_MOVE, NULL) < 0)
      return hull_errno(e, errno, "move root");
    if (chroot(".") < 0)
      return hull_errno(e, errno, "chroot");
  } else {
    /* pivot_root(".", ".") stacks the old root on top of the new one;
     * detaching it leaves only the container's root. */
    if (syscall(SYS_pivot_root, ".", ".") < 0)
      return hull_errno(e, errno, "pivot_root into %s", ctx->spec->root_path);
    /* The old root may be shared with the host: never propagate the
     * unmount back. */
    if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
      return hull_errno(e, errno, "old root");
    if (umount2(".", MNT_DETACH) < 0)
      return hull_errno(e, errno, "detach old root");
  }
  if (chdir("/") < 0)
    return hull_errno(e, errno, "chdir /");
  close(ctx->rootfd);
  ctx->rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  return ctx->rootfd < 0 ? hull_errno(e, errno, "new root") : 0;
}

/* After pivot_root nothing of the host is reachable, so plain paths
 * resolve inside the container; they need no /proc either. */
static int mask_path(const char *path, struct hull_error *e) {
  struct stat st;
  if (lstat(path, &st) < 0)
    return errno == ENOENT ? 0 : hull_errno(e, errno, "maskedPaths %s", path);
  if (S_ISLNK(st.st_mode) && stat(path, &st) < 0)
    return 0;
  int r = S_ISDIR(st.st_mode) ? mount("tmpfs", path, "tmpfs", MS_RDONLY, NULL)
                              : mount("/dev/null", path, NULL, MS_BIND, NULL);
  if (r < 0)
    return hull_errno(e, errno, "maskedPaths %s", path);
  return 0;
}

static int readonly_path(const char *path, struct hull_error *e) {
  if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) < 0)
    return errno == ENOENT ? 0 : hull_errno(e, errno, "readonlyPaths %s", path);
  int r = remount_path(path, path, MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                       0, e);
  return r < 0 ? hull_err_prefix(e, "readonlyPaths") : 0;
}

int rootfs_finish(struct rootfs_ctx *ctx, struct hull_error *e) {
  const struct spec *s = ctx->spec;
  int r;
  for (size_t i = 0; i < s->linux.n_masked_paths; i++)
    if ((r = mask_path(s->linux.masked_paths[i], e)) < 0)
      return r;
  for (size_t i = 0; i < s->linux.n_readonly_paths; i++)
    if ((r = readonly_path(s->linux.readonly_paths[i], e)) < 0)
      return r;
  if (s->root_readonly && (r = remount_path("/", "/", MS_RDONLY, 0, e)) < 0)
    return hull_err_prefix(e, "root.readonly");
  if (s->linux.rootfs_propagation &&
      mount(NULL, "/", NULL, s->linux.rootfs_propagation, NULL) < 0)
    return hull_errno(e, errno, "linux.rootfsPropagation");
  return 0;
}
