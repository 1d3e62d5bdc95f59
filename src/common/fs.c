#include "fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"

int fs_read_file_at(int dirfd, const char *path, char **out, size_t *len,
                    struct hull_error *e) {
  _cleanup_close_ int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return hull_errno(e, errno, "%s", path);
  size_t cap = 4096, n = 0;
  _cleanup_free_ char *buf = malloc(cap);
  if (!buf)
    return hull_errno(e, ENOMEM, "%s", path);
  for (;;) {
    if (n + 1 >= cap) {
      char *nb = realloc(buf, cap *= 2);
      if (!nb)
        return hull_errno(e, ENOMEM, "%s", path);
      buf = nb;
    }
    ssize_t r = read(fd, buf + n, cap - n - 1);
    if (r < 0) {
      if (errno == EINTR)
        continue;
      return hull_errno(e, errno, "read %s", path);
    }
    if (r == 0)
      break;
    n += r;
  }
  buf[n] = 0;
  if (len)
    *len = n;
  *out = hull_steal_ptr(&buf);
  return 0;
}

int fs_read_file(const char *path, char **out, size_t *len,
                 struct hull_error *e) {
  return fs_read_file_at(AT_FDCWD, path, out, len, e);
}

int fs_write_all(int fd, const void *buf, size_t len) {
  const char *p = buf;
  while (len > 0) {
    ssize_t r = write(fd, p, len);
    if (r < 0) {
      if (errno == EINTR)
        continue;
      return -errno;
    }
    p += r;
    len -= r;
  }
  return 0;
}

int fs_write_string_at(int dirfd, const char *path, const char *text) {
  _cleanup_close_ int fd = openat(dirfd, path, O_WRONLY | O_TRUNC | O_CLOEXEC);
  if (fd < 0)
    return -errno;
  return fs_write_all(fd, text, strlen(text));
}

int fs_write_string(const char *path, const char *text) {
  return fs_write_string_at(AT_FDCWD, path, text);
}

int fs_atomic_write(int dirfd, const char *name, const void *data, size_t len,
                    bool durable, struct hull_error *e) {
  char tmp[256];
  snprintf(tmp, sizeof tmp, ".%s.tmp", name);
  _cleanup_close_ int fd =
      openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    return hull_errno(e, errno, "write %s", name);
  int r = fs_write_all(fd, data, len);
  if (r == 0 && durable && fsync(fd) < 0)
    r = -errno;
  if (r == 0 && renameat(dirfd, tmp, dirfd, name) < 0)
    r = -errno;
  if (r < 0) {
    unlinkat(dirfd, tmp, 0);
    return hull_errno(e, -r, "write %s", name);
  }
  return 0;
}

/* The walk openat2(RESOLVE_IN_ROOT) does, for kernels before 5.6 (and
 * tools such as valgrind that lack it): one component at a time, never
 * following a symlink or ".." above the root. */
#define WALK_MAX_DEPTH 128
static int open_in_root_walk(int rootfd, const char *path, int flags, mode_t mode) {
  char buf[PATH_MAX * 2];
  if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
    return -ENAMETOOLONG;
  int stack[WALK_MAX_DEPTH]; /* directory fds from the root down */
  int depth = 0, links = 0, ret;
  stack[0] = fcntl(rootfd, F_DUPFD_CLOEXEC, 0);
  if (stack[0] < 0)
    return -errno;
  char *rest = buf;
  for (;;) {
    while (*rest == '/')
      rest++;
    if (!*rest) {
      /* The path ends at a directory: open it as asked. */
      ret = openat(stack[depth], ".", (flags & ~O_CREAT) | O_CLOEXEC);
      ret = ret < 0 ? -errno : ret;
      break;
    }
    char *name = rest;
    rest = strchrnul(rest, '/');
    bool slash = *rest == '/'; /* "name/...": name must be a directory */
    bool last = true;
    for (char *p = rest; *p; p++)
      if (*p != '/') {
        last = false;
        break;
      }
    if (*rest)
      *rest++ = 0;
    if (!strcmp(name, "."))
      continue;
    if (!strcmp(name, "..")) {
      if (depth > 0)
        close(stack[depth--]);
      continue;
    }
    int fd = openat(stack[depth], name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT && last && (flags & O_CREAT)) {
      if (slash) { /* as open(2): O_CREAT never makes "name/" */
        ret = -EISDIR;
        break;
      }
      ret = openat(stack[depth], name, flags | O_NOFOLLOW | O_CLOEXEC, mode);
      ret = ret < 0 ? -errno : ret;
      break;
    }
    if (fd < 0) {
      ret = -errno;
      break;
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
      ret = -errno;
      close(fd);
      break;
    }
    if (S_ISLNK(st.st_mode) && !(last && (flags & O_NOFOLLOW))) {
      char target[PATH_MAX];
      ssize_t n = readlinkat(fd, "", target, sizeof target - 1);
      close(fd);
      if (n < 0 || ++links > 40) {
        ret = n < 0 ? -errno : -ELOOP;
        break;
      }
      target[n] = 0;
      /* Splice the target in front of what is left. */
      char joined[PATH_MAX * 2];
      if (snprintf(joined, sizeof joined, "%s%s%s", target, slash ? "/" : "",
                   rest) >= (int)sizeof joined) {
        ret = -ENAMETOOLONG;
        break;
      }
      memcpy(buf, joined, strlen(joined) + 1);
      rest = buf;
      if (target[0] == '/')
        while (depth > 0)
          close(stack[depth--]);
      continue;
    }
    if (last && slash && !S_ISDIR(st.st_mode)) {
      close(fd);
      ret = -ENOTDIR;
      break;
    }
    if (last) {
      if ((flags & O_PATH) && !(flags & O_DIRECTORY)) {
        ret = fd;
      } else {
        ret = openat(stack[depth], name, flags | O_NOFOLLOW | O_CLOEXEC, mode);
        ret = ret < 0 ? -errno : ret;
        close(fd);
      }
      break;
    }
    if (!S_ISDIR(st.st_mode)) {
      close(fd);
      ret = -ENOTDIR;
      break;
    }
    if (depth + 1 >= WALK_MAX_DEPTH) {
      close(fd);
      ret = -ENAMETOOLONG;
      break;
    }
    stack[++depth] = fd;
  }
  while (depth >= 0)
    close(stack[depth--]);
  return ret;
}

int fs_open_in_root(int rootfd, const char *path, int flags, mode_t mode) {
  static bool no_openat2;
  struct open_how how = {
      .flags = (unsigned)flags | O_CLOEXEC,
      .mode = (flags & O_CREAT) ? mode : 0,
      .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
  };
  while (*path == '/')
    path++;
  if (!*path)
    path = ".";
  if (!no_openat2) {
    int fd = (int)syscall(SYS_openat2, rootfd, path, &how, sizeof how);
    if (fd >= 0)
      return fd;
    if (errno != ENOSYS)
      return -errno;
    no_openat2 = true;
  }
  return open_in_root_walk(rootfd, path, flags, mode);
}

/* Split "a/b/c" at its last component: parent "a/b", leaf "c". */
static void split_last(char *path, char **parent, char **leaf) {
  char *slash = strrchr(path, '/');
  if (!slash) {
    *parent = ".";
    *leaf = path;
  } else {
    *slash = 0;
    *parent = *path ? path : ".";
    *leaf = slash + 1;
  }
}

int fs_ensure_in_root(int rootfd, const char *path, int is_dir,
                      struct hull_error *e) {
  int fd = fs_open_in_root(rootfd, path, O_PATH, 0);
  if (fd >= 0 || fd != -ENOENT) {
    if (fd < 0)
      return hull_errno(e, -fd, "%s", path);
    return fd;
  }
  /* Create the parent first (recursively), then the leaf inside it. Each
   * step re-resolves from the root so a symlink never leads outside. */
  _cleanup_free_ char *copy = strdup(path);
  if (!copy)
    return hull_errno(e, ENOMEM, "%s", path);
  size_t l = strlen(copy);
  while (l > 1 && copy[l - 1] == '/')
    copy[--l] = 0;
  char *parent, *leaf;
  split_last(copy, &parent, &leaf);
  if (!*leaf || !strcmp(leaf, ".") || !strcmp(leaf, ".."))
    return hull_err(e, EINVAL, "%s: invalid path", path);
  _cleanup_close_ int pfd = -1;
  if (!strcmp(parent, ".") || !*parent)
    pfd = fs_open_in_root(rootfd, "/", O_PATH | O_DIRECTORY, 0);
  else
    pfd = fs_ensure_in_root(rootfd, parent, 1, e);
  if (pfd < 0)
    return pfd == -ENOENT ? hull_errno(e, ENOENT, "%s", path) : pfd;
  /* O_PATH descriptors serve as dirfd for mkdirat and openat(O_CREAT). */
  int r;
  if (is_dir)
    r = mkdirat(pfd, leaf, 0755);
  else {
    r = openat(pfd, leaf, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
               0644);
    if (r >= 0)
      r = close(r);
  }
  if (r < 0 && errno != EEXIST)
    return hull_errno(e, errno, "create %s", path);
  fd = fs_open_in_root(rootfd, path, O_PATH, 0);
  if (fd < 0)
    return hull_errno(e, -fd, "%s", path);
  return fd;
}

void fs_fd_path(int fd, char buf[32]) {
  snprintf(buf, 32, "/proc/self/fd/%d", fd);
}

static int copy_file(int src, int dst, const char *name, const struct stat *st,
                     struct hull_error *e) {
  int in = openat(src, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (in < 0)
    return hull_errno(e, errno, "copy %s", name);
  int out = openat(dst, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                   st->st_mode & 07777);
  if (out < 0) {
    close(in);
    return hull_errno(e, errno, "copy %s", name);
  }
  int r = 0;
  for (off_t left = st->st_size; left > 0;) {
    ssize_t n = copy_file_range(in, NULL, out, NULL, (size_t)left, 0);
    if (n <= 0) {
      /* Across file systems where copy_file_range refuses: read/write. */
      char buf[65536];
      n = read(in, buf, sizeof buf);
      if (n < 0 || (n > 0 && fs_write_all(out, buf, (size_t)n) < 0)) {
        r = hull_errno(e, errno, "copy %s", name);
        break;
      }
      if (n == 0)
        break;
    }
    left -= n;
  }
  close(in);
  close(out);
  return r;
}

static int copy_tree_depth(int src, int dst, int depth, struct hull_error *e) {
  if (depth > 256)
    return hull_err(e, ELOOP, "copy: directories nested too deep");
  int dfd = openat(src, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *d = dfd < 0 ? NULL : fdopendir(dfd);
  if (!d) {
    if (dfd >= 0)
      close(dfd);
    return hull_errno(e, errno, "copy: read directory");
  }
  int r = 0;
  struct dirent *de;
  while (r == 0 && (de = readdir(d))) {
    const char *n = de->d_name;
    if (!strcmp(n, ".") || !strcmp(n, ".."))
      continue;
    struct stat st;
    if (fstatat(src, n, &st, AT_SYMLINK_NOFOLLOW) < 0) {
      r = hull_errno(e, errno, "copy %s", n);
      break;
    }
    if (S_ISDIR(st.st_mode)) {
      if (mkdirat(dst, n, st.st_mode & 07777) < 0 && errno != EEXIST) {
        r = hull_errno(e, errno, "copy %s", n);
        break;
      }
      int s2 = openat(src, n, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      int d2 = openat(dst, n, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      r = s2 < 0 || d2 < 0 ? hull_errno(e, errno, "copy %s", n)
                           : copy_tree_depth(s2, d2, depth + 1, e);
      if (s2 >= 0)
        close(s2);
      if (d2 >= 0)
        close(d2);
    } else if (S_ISREG(st.st_mode)) {
      r = copy_file(src, dst, n, &st, e);
    } else if (S_ISLNK(st.st_mode)) {
      char target[PATH_MAX];
      ssize_t l = readlinkat(src, n, target, sizeof target - 1);
      if (l < 0 || (target[l] = 0, symlinkat(target, dst, n) < 0))
        r = hull_errno(e, errno, "copy %s", n);
    } else if (mknodat(dst, n, st.st_mode, st.st_rdev) < 0) {
      r = hull_errno(e, errno, "copy %s", n);
    }
    if (r == 0) {
      fchownat(dst, n, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW);
      if (!S_ISLNK(st.st_mode))
        fchmodat(dst, n, st.st_mode & 07777, 0);
    }
  }
  closedir(d);
  return r;
}

int fs_copy_tree(int src, int dst, struct hull_error *e) {
  return copy_tree_depth(src, dst, 0, e);
}

int fs_mkdir_p(const char *path, mode_t mode) {
  char buf[PATH_MAX];
  if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
    return -ENAMETOOLONG;
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/')
      continue;
    *p = '\0';
    if (mkdir(buf, 0755) < 0 && errno != EEXIST)
      return -errno;
    *p = '/';
  }
  if (mkdir(buf, mode) < 0 && errno != EEXIST)
    return -errno;
  return 0;
}

/* The children of the directory fd (consumed); dev is its device: a
 * directory on another one is a mount point, never deleted through. */
static int rm_children(int fd, dev_t dev, int depth) {
  if (depth > 4096) {
    close(fd);
    return -ELOOP;
  }
  DIR *d = fdopendir(fd);
  if (!d) {
    close(fd);
    return -errno;
  }
  int ret = 0;
  struct dirent *de;
  while ((de = readdir(d))) {
    if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
      continue;
    if (unlinkat(dirfd(d), de->d_name, 0) == 0 || errno == ENOENT)
      continue;
    if (errno != EISDIR && errno != EPERM) {
      ret = -errno;
      continue;
    }
    int sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (sub < 0 || fstat(sub, &st) < 0) {
      ret = -errno;
      if (sub >= 0)
        close(sub);
      continue;
    }
    if (st.st_dev != dev) {
      close(sub);
      ret = -EBUSY;
      continue;
    }
    int r = rm_children(sub, dev, depth + 1);
    if (r < 0)
      ret = r;
    else if (unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR) < 0 && errno != ENOENT)
      ret = -errno;
  }
  closedir(d);
  return ret;
}

int fs_rm_rf_at(int dirfd, const char *name) {
  if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT)
    return 0;
  if (errno != EISDIR && errno != EPERM)
    return -errno;
  int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return errno == ENOENT ? 0 : -errno;
  struct stat st;
  if (fstat(fd, &st) < 0) {
    close(fd);
    return -errno;
  }
  int r = rm_children(fd, st.st_dev, 0);
  if (r == 0 && unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
    r = -errno;
  return r;
}

int fs_sysctl_path(const char *key, char *out, size_t len) {
  int n = snprintf(out, len, "/proc/sys/%s", key);
  if (n < 0 || (size_t)n >= len)
    return -ENAMETOOLONG;
  /* "net.ipv4.ip_forward" or "net/ipv4/conf/eth0.100/forwarding": dots
   * are separators only in a name written without slashes */
  if (!strchr(key, '/'))
    for (char *p = out + 10; *p; p++)
      if (*p == '.')
        *p = '/';
  if (!*key || strstr(out, "/../") || strstr(out, "/./") || strstr(out, "//") ||
      out[n - 1] == '/' || (n >= 3 && !strcmp(out + n - 3, "/..")))
    return -EINVAL;
  return 0;
}
