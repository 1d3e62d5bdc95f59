/* Unit tests for the file helpers (src/common/fs.c). The heart of it:
 * fs_open_in_root and fs_ensure_in_root must never resolve a path to
 * anything outside the root, whatever symlinks and ".." the tree holds.
 * fs_open_in_root uses openat2(RESOLVE_IN_ROOT) and falls back to its own
 * component walk where openat2 is missing (ENOSYS); every case runs twice,
 * once each way: the walk is forced in a child process whose seccomp
 * filter makes openat2 fail with ENOSYS.
 *
 * Each tree lives in a fresh temporary directory T:
 *   T/secret              "SECRET"   (outside the root: never reachable)
 *   T/outside/            a host directory outside the root
 *   T/root/               the root
 *   T/root/secret         "decoy"    (what escapes resolve to, in root)
 *   T/root/dir/file       "inside"
 *   T/root/dir/sub/
 *   ... and the symlinks made in make_tree(). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/fs.h"

#ifndef SYS_openat2
#define SYS_openat2 437
#endif

/* ---- the tree ---------------------------------------------------------- */

static char T[PATH_MAX]; /* the temporary directory of the current tree */

static void put(const char *rel, const char *text) {
  char p[PATH_MAX * 2];
  snprintf(p, sizeof p, "%s/%s", T, rel);
  int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
  close(fd);
}

static void mkd(const char *rel) {
  char p[PATH_MAX * 2];
  snprintf(p, sizeof p, "%s/%s", T, rel);
  assert_int_equal(mkdir(p, 0755), 0);
}

static void lnk(const char *target, const char *rel) {
  char p[PATH_MAX * 2];
  snprintf(p, sizeof p, "%s/%s", T, rel);
  assert_int_equal(symlink(target, p), 0);
}

static void make_tree(void) {
  if (T[0])
    fail_msg("a tree is already there: %s", T);
  snprintf(T, sizeof T, "/tmp/hull-fs-XXXXXX");
  assert_non_null(mkdtemp(T));
  put("secret", "SECRET");
  mkd("outside");
  put("outside/secret", "SECRET");
  mkd("root");
  put("root/secret", "decoy");
  mkd("root/dir");
  mkd("root/dir/sub");
  put("root/dir/file", "inside");
  put("root/dir/sub/deep", "deep");
  char hostpath[PATH_MAX * 2];
  /* absolute symlinks: resolved inside the root */
  lnk("/secret", "root/abs");
  lnk("/dir", "root/absdir");
  lnk("/secret", "root/dir/sub/absup");
  lnk("/dir/sub/../file", "root/dir/sub/absfile");
  lnk("/", "root/absroot");
  snprintf(hostpath, sizeof hostpath, "%s/secret", T);
  lnk(hostpath, "root/abs_host"); /* a host path: ENOENT in the root */
  snprintf(hostpath, sizeof hostpath, "%s/outside", T);
  lnk(hostpath, "root/abs_host_dir");
  /* relative symlinks climbing above the root: clamped at the root */
  lnk("../secret", "root/up1");
  lnk("../../../../../../../../secret", "root/upmany");
  lnk("../../secret", "root/dir/up2");
  lnk("../outside", "root/rel_out");
  lnk("../../../..", "root/uproot");
  lnk("sub/../../secret", "root/dir/zigzag");
  /* loops */
  lnk("loop2", "root/loop1");
  lnk("loop1", "root/loop2");
  lnk("self", "root/self");
  lnk("/dir/../loopabs", "root/loopabs");
  /* dangling */
  lnk("/nonexistent", "root/dangling");
  lnk("nothere/x", "root/dangling2");
  /* intermediate components */
  lnk("dir", "root/mid");
  lnk("dir/sub", "root/midsub");
  lnk("/dir/sub", "root/midabs");
  lnk("mid", "root/midmid");
  /* a chain of 30 links (under the 40 the kernel allows) */
  for (int i = 0; i < 30; i++) {
    char name[64], target[64];
    snprintf(name, sizeof name, "root/chain%d", i);
    if (i == 29)
      snprintf(target, sizeof target, "/dir/file");
    else
      snprintf(target, sizeof target, "chain%d", i + 1);
    lnk(target, name);
  }
  /* a chain of 45: too many */
  for (int i = 0; i < 45; i++) {
    char name[64], target[64];
    snprintf(name, sizeof name, "root/long%d", i);
    if (i == 44)
      snprintf(target, sizeof target, "/dir/file");
    else
      snprintf(target, sizeof target, "long%d", i + 1);
    lnk(target, name);
  }
}

/* rm -rf T. Only ever called on a tree with no mount in it (mounts are
 * made in children with their own mount namespace, gone when they exit);
 * it refuses to cross into another file system all the same. */
static void rm_tree_at(int dfd, dev_t dev) {
  DIR *d = fdopendir(dfd);
  if (!d)
    return;
  struct dirent *de;
  while ((de = readdir(d))) {
    if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
      continue;
    struct stat st;
    if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
      continue;
    if (S_ISDIR(st.st_mode)) {
      if (st.st_dev != dev)
        continue; /* a mount point: leave it */
      int sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sub >= 0)
        rm_tree_at(sub, dev);
      unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR);
    } else {
      unlinkat(dirfd(d), de->d_name, 0);
    }
  }
  closedir(d);
}

static void rm_tree(char *path) {
  struct stat st;
  if (lstat(path, &st) < 0 || !S_ISDIR(st.st_mode))
    return;
  int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return;
  rm_tree_at(fd, st.st_dev);
  rmdir(path);
  if (path == T)
    T[0] = 0;
}

/* After each test, also one that failed half-way. */
static int remove_tree(void **state) {
  (void)state;
  if (T[0])
    rm_tree(T);
  return 0;
}

/* ---- checks, usable in a child (no cmocka there) ----------------------- */

static int failures, known_failures;
/* Set while running checks of a known bug (reported to the lead): their
 * failures make the test skip instead of fail (HULL_STRICT_KNOWN_BUGS=1:
 * fail). */
static bool in_known_bug;

#define CHECK(cond, ...)                                                       \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "  [%s]%s ", mode_name,                                  \
              in_known_bug ? " KNOWN BUG:" : "");                              \
      fprintf(stderr, __VA_ARGS__);                                            \
      fprintf(stderr, " (%s:%d)\n", __FILE__, __LINE__);                      \
      if (in_known_bug)                                                        \
        known_failures++;                                                      \
      else                                                                     \
        failures++;                                                            \
    }                                                                          \
  } while (0)

static const char *mode_name = "openat2";

/* Content of fd (regular file), "" when unreadable. */
static void fd_content(int fd, char *buf, size_t len) {
  buf[0] = 0;
  ssize_t n = pread(fd, buf, len - 1, 0);
  if (n >= 0)
    buf[n] = 0;
}

/* The file an fd refers to, as a path (for messages). */
static void fd_where(int fd, char *buf, size_t len) {
  char p[64];
  snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(p, buf, len - 1);
  buf[n < 0 ? 0 : n] = 0;
}

/* Is the fd's file at host path T/REL (same inode)? */
static bool fd_is(int fd, const char *rel) {
  char p[PATH_MAX * 2];
  snprintf(p, sizeof p, "%s/%s", T, rel);
  struct stat a, b;
  if (fstat(fd, &a) < 0 || lstat(p, &b) < 0)
    return false;
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

static bool host_exists(const char *rel) {
  char p[PATH_MAX * 2];
  snprintf(p, sizeof p, "%s/%s", T, rel);
  struct stat st;
  return lstat(p, &st) == 0;
}

/* Open PATH in the root with FLAGS; expect either an error (want_err > 0)
 * or the file at T/WANT. */
static void expect_open(int rootfd, const char *path, int flags, int want_err,
                        const char *want) {
  int fd = fs_open_in_root(rootfd, path, flags, 0644);
  char where[PATH_MAX];
  if (fd >= 0) {
    char text[64];
    fd_content(fd, text, sizeof text);
    fd_where(fd, where, sizeof where);
    CHECK(strcmp(text, "SECRET") != 0, "%s: ESCAPED to %s", path, where);
    if (want_err)
      CHECK(0, "%s: opened %s, want error %s", path, where, strerror(want_err));
    else
      CHECK(fd_is(fd, want), "%s: opened %s, want %s/%s", path, where, T, want);
    close(fd);
  } else {
    if (want_err)
      CHECK(fd == -want_err, "%s: %s, want %s", path, strerror(-fd),
            strerror(want_err));
    else
      CHECK(0, "%s: %s, want %s", path, strerror(-fd), want);
  }
}

static void cases_open(int rootfd) {
  const int R = O_RDONLY;
  /* plain paths, leading slashes, "." and ".." */
  expect_open(rootfd, "dir/file", R, 0, "root/dir/file");
  expect_open(rootfd, "/dir/file", R, 0, "root/dir/file");
  expect_open(rootfd, "//dir//./file", R, 0, "root/dir/file");
  expect_open(rootfd, "", O_PATH | O_DIRECTORY, 0, "root");
  expect_open(rootfd, "/", O_PATH | O_DIRECTORY, 0, "root");
  expect_open(rootfd, ".", O_PATH | O_DIRECTORY, 0, "root");
  expect_open(rootfd, "dir/sub/", O_PATH | O_DIRECTORY, 0, "root/dir/sub");
  expect_open(rootfd, "..", O_PATH | O_DIRECTORY, 0, "root");
  expect_open(rootfd, "../secret", R, 0, "root/secret");
  expect_open(rootfd, "../../../../secret", R, 0, "root/secret");
  expect_open(rootfd, "/../secret", R, 0, "root/secret");
  expect_open(rootfd, "dir/../../secret", R, 0, "root/secret");
  expect_open(rootfd, "dir/sub/../../../../secret", R, 0, "root/secret");
  expect_open(rootfd, "dir/sub/../file", R, 0, "root/dir/file");
  expect_open(rootfd, "../root/secret", R, ENOENT, NULL);
  expect_open(rootfd, "missing", R, ENOENT, NULL);
  expect_open(rootfd, "missing/x", R, ENOENT, NULL);
  /* absolute symlinks */
  expect_open(rootfd, "abs", R, 0, "root/secret");
  expect_open(rootfd, "absdir/file", R, 0, "root/dir/file");
  expect_open(rootfd, "absroot/../../secret", R, 0, "root/secret");
  expect_open(rootfd, "absroot/dir/file", R, 0, "root/dir/file");
  expect_open(rootfd, "dir/sub/absup", R, 0, "root/secret");
  expect_open(rootfd, "midsub/absfile", R, 0, "root/dir/file");
  expect_open(rootfd, "abs_host", R, ENOENT, NULL);
  expect_open(rootfd, "abs_host_dir/secret", R, ENOENT, NULL);
  /* relative symlinks beyond the root */
  expect_open(rootfd, "up1", R, 0, "root/secret");
  expect_open(rootfd, "upmany", R, 0, "root/secret");
  expect_open(rootfd, "dir/up2", R, 0, "root/secret");
  expect_open(rootfd, "dir/zigzag", R, 0, "root/secret");
  expect_open(rootfd, "rel_out/secret", R, ENOENT, NULL);
  expect_open(rootfd, "uproot/secret", R, 0, "root/secret");
  expect_open(rootfd, "uproot/../uproot/dir/file", R, 0, "root/dir/file");
  /* loops */
  expect_open(rootfd, "loop1", R, ELOOP, NULL);
  expect_open(rootfd, "self", R, ELOOP, NULL);
  expect_open(rootfd, "self/x", R, ELOOP, NULL);
  expect_open(rootfd, "loopabs", R, ELOOP, NULL);
  expect_open(rootfd, "dir/../loop2/file", R, ELOOP, NULL);
  expect_open(rootfd, "chain0", R, 0, "root/dir/file");
  expect_open(rootfd, "long0", R, ELOOP, NULL);
  /* dangling */
  expect_open(rootfd, "dangling", R, ENOENT, NULL);
  expect_open(rootfd, "dangling2", R, ENOENT, NULL);
  /* symlinks as intermediate components */
  expect_open(rootfd, "mid/file", R, 0, "root/dir/file");
  expect_open(rootfd, "midsub/deep", R, 0, "root/dir/sub/deep");
  expect_open(rootfd, "midsub/../file", R, 0, "root/dir/file");
  expect_open(rootfd, "midabs/../../../secret", R, 0, "root/secret");
  expect_open(rootfd, "midmid/sub/deep", R, 0, "root/dir/sub/deep");
  expect_open(rootfd, "midmid/../secret", R, 0, "root/secret");
  /* a file where a directory is expected */
  expect_open(rootfd, "dir/file/x", R, ENOTDIR, NULL);
  expect_open(rootfd, "dir/file", R | O_DIRECTORY, ENOTDIR, NULL);
  expect_open(rootfd, "mid/file/..", R, ENOTDIR, NULL);
  /* O_NOFOLLOW and O_PATH|O_NOFOLLOW on a final symlink */
  expect_open(rootfd, "abs", R | O_NOFOLLOW, ELOOP, NULL);
  expect_open(rootfd, "abs", O_PATH | O_NOFOLLOW, 0, "root/abs");
  expect_open(rootfd, "mid/file", R | O_NOFOLLOW, 0, "root/dir/file");
  expect_open(rootfd, "dir", O_PATH, 0, "root/dir");

  /* O_CREAT: the file is made inside the root, through symlinks too. */
  expect_open(rootfd, "dir/new1", O_WRONLY | O_CREAT, 0, "root/dir/new1");
  expect_open(rootfd, "mid/new2", O_WRONLY | O_CREAT, 0, "root/dir/new2");
  expect_open(rootfd, "../new3", O_WRONLY | O_CREAT, 0, "root/new3");
  CHECK(!host_exists("new3"), "../new3 made outside the root");
  expect_open(rootfd, "dir/file", O_WRONLY | O_CREAT | O_EXCL, EEXIST, NULL);
  expect_open(rootfd, "missing/new", O_WRONLY | O_CREAT, ENOENT, NULL);
  expect_open(rootfd, "rel_out/new4", O_WRONLY | O_CREAT, ENOENT, NULL);
  CHECK(!host_exists("outside/new4"), "rel_out/new4 made outside the root");
  expect_open(rootfd, "abs_host_dir/new5", O_WRONLY | O_CREAT, ENOENT, NULL);
  CHECK(!host_exists("outside/new5"), "abs_host_dir/new5 made outside the root");
  /* Writing through a symlink that points at a host file must not touch it. */
  int fd = fs_open_in_root(rootfd, "abs_host", O_WRONLY | O_TRUNC, 0);
  CHECK(fd < 0, "abs_host opened for writing");
  if (fd >= 0)
    close(fd);
  char text[64];
  char p[PATH_MAX * 2];
  snprintf(p, sizeof p, "%s/secret", T);
  int hfd = open(p, O_RDONLY | O_CLOEXEC);
  fd_content(hfd, text, sizeof text);
  close(hfd);
  CHECK(!strcmp(text, "SECRET"), "host secret changed: \"%s\"", text);
}

/* A trailing slash asks for a directory: openat2 refuses a file (ENOTDIR)
 * and will not create a file (EISDIR). The walk must agree. */
static void cases_trailing_slash(int rootfd) {
  in_known_bug = true; /* fs.c open_in_root_walk: see the report */
  expect_open(rootfd, "dir/file/", O_RDONLY, ENOTDIR, NULL);
  expect_open(rootfd, "mid/file//", O_RDONLY, ENOTDIR, NULL);
  expect_open(rootfd, "chain29/", O_RDONLY, ENOTDIR, NULL);
  expect_open(rootfd, "dir/newfile/", O_WRONLY | O_CREAT, EISDIR, NULL);
  CHECK(!host_exists("root/dir/newfile"), "dir/newfile/ created a file");
  in_known_bug = false;
  expect_open(rootfd, "dir/sub/", O_RDONLY | O_DIRECTORY, 0, "root/dir/sub");
  expect_open(rootfd, "absdir/", O_RDONLY, 0, "root/dir");
  expect_open(rootfd, "dir/file/.", O_RDONLY, ENOTDIR, NULL);
  /* O_CREAT through a dangling symlink makes its target, in the root */
  expect_open(rootfd, "dangling", O_WRONLY | O_CREAT, 0, "root/nonexistent");
  CHECK(access("/nonexistent", F_OK) < 0, "dangling: made /nonexistent on the host");
}

/* fs_ensure_in_root: make what is missing, inside the root only. */
static void expect_ensure(int rootfd, const char *path, int is_dir, int want_err,
                          const char *want) {
  struct hull_error e = {0};
  int fd = fs_ensure_in_root(rootfd, path, is_dir, &e);
  char where[PATH_MAX];
  if (fd >= 0) {
    fd_where(fd, where, sizeof where);
    if (want_err)
      CHECK(0, "ensure %s: made %s, want error %s", path, where,
            strerror(want_err));
    else
      CHECK(fd_is(fd, want), "ensure %s: got %s, want %s/%s", path, where, T,
            want);
    /* The result is an O_PATH descriptor. */
    int fl = fcntl(fd, F_GETFL);
    CHECK(fl >= 0 && (fl & O_PATH), "ensure %s: not an O_PATH fd", path);
    close(fd);
  } else {
    CHECK(e.msg[0] != 0, "ensure %s: no message", path);
    CHECK(e.code == -fd, "ensure %s: code %d, returned %d", path, e.code, fd);
    if (want_err)
      CHECK(fd == -want_err, "ensure %s: %s, want %s", path, e.msg,
            strerror(want_err));
    else
      CHECK(0, "ensure %s: %s, want %s", path, e.msg, want);
  }
}

static bool host_is(const char *rel, mode_t type) {
  char p[PATH_MAX * 2];
  snprintf(p, sizeof p, "%s/%s", T, rel);
  struct stat st;
  return lstat(p, &st) == 0 && (st.st_mode & S_IFMT) == type;
}

static void cases_ensure(int rootfd) {
  /* existing objects */
  expect_ensure(rootfd, "dir", 1, 0, "root/dir");
  expect_ensure(rootfd, "/dir/file", 0, 0, "root/dir/file");
  expect_ensure(rootfd, "mid/sub", 1, 0, "root/dir/sub");
  /* missing parents, made as directories */
  expect_ensure(rootfd, "a/b/c", 1, 0, "root/a/b/c");
  CHECK(host_is("root/a", S_IFDIR) && host_is("root/a/b", S_IFDIR) &&
            host_is("root/a/b/c", S_IFDIR),
        "a/b/c not directories");
  expect_ensure(rootfd, "/x/y/f", 0, 0, "root/x/y/f");
  CHECK(host_is("root/x/y", S_IFDIR) && host_is("root/x/y/f", S_IFREG),
        "x/y/f: not dir/dir/file");
  expect_ensure(rootfd, "trail/slash/", 1, 0, "root/trail/slash");
  /* the leaf is made through symlinked parents, in the root */
  expect_ensure(rootfd, "mid/new/f", 0, 0, "root/dir/new/f");
  expect_ensure(rootfd, "absdir/new2", 1, 0, "root/dir/new2");
  expect_ensure(rootfd, "midabs/n3/n4", 1, 0, "root/dir/sub/n3/n4");
  expect_ensure(rootfd, "uproot/made", 1, 0, "root/made");
  CHECK(!host_exists("made"), "uproot/made made outside the root");
  /* ".." never leaves the root */
  expect_ensure(rootfd, "../../esc1", 1, 0, "root/esc1");
  CHECK(!host_exists("esc1"), "../../esc1 made outside the root");
  expect_ensure(rootfd, "dir/../../esc2/f", 0, 0, "root/esc2/f");
  CHECK(!host_exists("esc2"), "dir/../../esc2 made outside the root");
  /* symlinks to host paths: never made on the host */
  struct hull_error e;
  int fd = fs_ensure_in_root(rootfd, "abs_host_dir/newdir", 1, &e);
  CHECK(!host_exists("outside/newdir"), "abs_host_dir/newdir made on the host");
  if (fd >= 0) {
    CHECK(fd_is(fd, "root") == false, "abs_host_dir/newdir is the root");
    close(fd);
  }
  fd = fs_ensure_in_root(rootfd, "rel_out/newdir", 1, &e);
  CHECK(!host_exists("outside/newdir"), "rel_out/newdir made on the host");
  if (fd >= 0)
    close(fd);
  fd = fs_ensure_in_root(rootfd, "abs_host", 0, &e);
  if (fd >= 0) {
    CHECK(!fd_is(fd, "secret"), "ensure abs_host: got the host's file");
    close(fd);
  }
  /* loops, and "." / ".." as the leaf */
  expect_ensure(rootfd, "loop1/x", 1, ELOOP, NULL);
  expect_ensure(rootfd, "self", 0, ELOOP, NULL);
  expect_ensure(rootfd, "missing1/..", 1, EINVAL, NULL);
  /* an existing file where a directory is expected: kept as it is */
  expect_ensure(rootfd, "dir/file", 1, 0, "root/dir/file");
  CHECK(host_is("root/dir/file", S_IFREG), "dir/file replaced");
  expect_ensure(rootfd, "dir", 0, 0, "root/dir");
  /* ... but it cannot hold anything */
  expect_ensure(rootfd, "dir/file/sub", 1, ENOTDIR, NULL);
  expect_ensure(rootfd, "dir/file/sub/f", 0, ENOTDIR, NULL);
  /* dangling symlinks: never made outside */
  fd = fs_ensure_in_root(rootfd, "dangling", 0, &e);
  CHECK(access("/nonexistent", F_OK) < 0, "dangling made /nonexistent on the host");
  if (fd >= 0)
    close(fd);
}

/* /proc inside the root: magic links must not lead out (openat2 refuses
 * them, the walk may only follow them back into the root). Runs in a
 * child with its own mount namespace. */
static void cases_magic(int rootfd) {
  char p[PATH_MAX * 2];
  snprintf(p, sizeof p, "%s/root/proc", T);
  if (mkdir(p, 0755) < 0 && errno != EEXIST) {
    CHECK(0, "mkdir %s: %s", p, strerror(errno));
    return;
  }
  if (mount("proc", p, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) {
    CHECK(0, "mount proc: %s", strerror(errno));
    return;
  }
  snprintf(p, sizeof p, "%s/secret", T);
  int hfd = open(p, O_RDONLY | O_CLOEXEC);
  snprintf(p, sizeof p, "%s/outside", T);
  int hdir = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
  char path[128];
  const char *tries[] = {"proc/self/root/secret", "proc/self/cwd",
                         "proc/thread-self/root/secret", path, path + 64};
  snprintf(path, 64, "proc/self/fd/%d", hfd);
  snprintf(path + 64, 64, "proc/self/fd/%d/secret", hdir);
  for (size_t i = 0; i < sizeof tries / sizeof *tries; i++) {
    int fd = fs_open_in_root(rootfd, tries[i], O_RDONLY, 0);
    if (fd >= 0) {
      char text[64], where[PATH_MAX];
      fd_content(fd, text, sizeof text);
      fd_where(fd, where, sizeof where);
      CHECK(strcmp(text, "SECRET") != 0, "%s: ESCAPED to %s", tries[i], where);
      close(fd);
    }
  }
  /* openat2 with RESOLVE_NO_MAGICLINKS refuses them outright. */
  if (!strcmp(mode_name, "openat2")) {
    int fd = fs_open_in_root(rootfd, path, O_RDONLY, 0);
    CHECK(fd == -ELOOP, "%s: %d, want ELOOP", path, fd);
    if (fd >= 0)
      close(fd);
  }
  close(hfd);
  close(hdir);
  snprintf(p, sizeof p, "%s/root/proc", T);
  umount2(p, MNT_DETACH);
}

/* ---- running the cases each way ---------------------------------------- */

enum mode { MODE_OPENAT2, MODE_WALK };

static int force_walk(void) {
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  if (!ctx)
    return -1;
  int r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(openat2), 0);
  if (r == 0)
    r = seccomp_load(ctx);
  seccomp_release(ctx);
  if (r < 0)
    return -1;
  /* The filter works: openat2 is gone. */
  struct {
    uint64_t flags, mode, resolve;
  } how = {O_RDONLY, 0, 0};
  if (syscall(SYS_openat2, AT_FDCWD, "/", &how, sizeof how) >= 0 || errno != ENOSYS)
    return -1;
  return 0;
}

/* Run FN over a fresh tree in a child process, in MODE; the child reports
 * each failure on stderr and exits with their count. */
static void run_cases(enum mode mode, void (*fn)(int rootfd), bool own_mntns) {
  make_tree();
  fflush(NULL);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    mode_name = mode == MODE_WALK ? "walk" : "openat2";
    if (own_mntns && (unshare(CLONE_NEWNS) < 0 ||
                      mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)) {
      fprintf(stderr, "own mount namespace: %s\n", strerror(errno));
      _exit(100);
    }
    if (mode == MODE_OPENAT2) {
      /* this mode is only meaningful where the kernel has openat2 (not
       * under valgrind, for one) */
      struct {
        uint64_t flags, mode, resolve;
      } how = {O_PATH, 0, 0};
      long fd = syscall(SYS_openat2, AT_FDCWD, "/", &how, sizeof how);
      if (fd < 0 && errno == ENOSYS)
        _exit(201);
      close((int)fd);
    }
    if (mode == MODE_WALK && force_walk() < 0) {
      fprintf(stderr, "could not make openat2 fail with ENOSYS\n");
      _exit(101);
    }
    char p[PATH_MAX * 2];
    snprintf(p, sizeof p, "%s/root", T);
    int rootfd = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0)
      _exit(102);
    fn(rootfd);
    close(rootfd);
    _exit(failures ? (failures > 99 ? 99 : failures) : known_failures ? 200 : 0);
  }
  int status;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  rm_tree(T);
  assert_true(WIFEXITED(status));
  if (WEXITSTATUS(status) == 201) {
    print_message("openat2 is not available here\n");
    skip();
  }
  if (WEXITSTATUS(status) == 200) {
    print_message("KNOWN BUG (see the lines above)\n");
    if (getenv("HULL_STRICT_KNOWN_BUGS"))
      fail_msg("known bug (strict mode)");
    skip();
  }
  if (WEXITSTATUS(status) != 0)
    fail_msg("%s: %d failure(s), see above",
             mode == MODE_WALK ? "walk" : "openat2", WEXITSTATUS(status));
}

static void test_open_openat2(void **state) {
  (void)state;
  run_cases(MODE_OPENAT2, cases_open, false);
}
static void test_open_walk(void **state) {
  (void)state;
  run_cases(MODE_WALK, cases_open, false);
}
static void test_trailing_slash_openat2(void **state) {
  (void)state;
  run_cases(MODE_OPENAT2, cases_trailing_slash, false);
}
static void test_trailing_slash_walk(void **state) {
  (void)state;
  run_cases(MODE_WALK, cases_trailing_slash, false);
}
static void test_ensure_openat2(void **state) {
  (void)state;
  run_cases(MODE_OPENAT2, cases_ensure, false);
}
static void test_ensure_walk(void **state) {
  (void)state;
  run_cases(MODE_WALK, cases_ensure, false);
}
static void test_magic_openat2(void **state) {
  (void)state;
  run_cases(MODE_OPENAT2, cases_magic, true);
}
static void test_magic_walk(void **state) {
  (void)state;
  run_cases(MODE_WALK, cases_magic, true);
}

/* ---- atomic write, read ------------------------------------------------ */

static int count_entries(const char *dir) {
  DIR *d = opendir(dir);
  int n = 0;
  struct dirent *de;
  while (d && (de = readdir(d)))
    if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
      n++;
  if (d)
    closedir(d);
  return n;
}

static void test_atomic_write(void **state) {
  (void)state;
  make_tree();
  char dir[PATH_MAX * 2];
  snprintf(dir, sizeof dir, "%s/outside", T);
  int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  assert_true(dfd >= 0);
  int before = count_entries(dir);
  struct hull_error e = {0};
  assert_int_equal(fs_atomic_write(dfd, "state.json", "{\"a\":1}", 7, false, &e), 0);
  char p[PATH_MAX * 3];
  snprintf(p, sizeof p, "%s/state.json", dir);
  char *text = NULL;
  size_t len = 0;
  assert_int_equal(fs_read_file(p, &text, &len, &e), 0);
  assert_int_equal(len, 7);
  assert_string_equal(text, "{\"a\":1}");
  free(text);
  /* only the file itself is there: no temporary left */
  assert_int_equal(count_entries(dir), before + 1);
  snprintf(p, sizeof p, "%s/.state.json.tmp", dir);
  assert_int_equal(access(p, F_OK), -1);

  /* replace: shorter content, durable, same name; a reader holding the
   * old file keeps the old content (it was renamed over, not rewritten) */
  snprintf(p, sizeof p, "%s/state.json", dir);
  int old = open(p, O_RDONLY | O_CLOEXEC);
  assert_true(old >= 0);
  assert_int_equal(fs_atomic_write(dfd, "state.json", "{}", 2, true, &e), 0);
  assert_int_equal(fs_read_file(p, &text, &len, &e), 0);
  assert_int_equal(len, 2);
  assert_string_equal(text, "{}");
  free(text);
  char oldtext[32];
  fd_content(old, oldtext, sizeof oldtext);
  assert_string_equal(oldtext, "{\"a\":1}");
  close(old);
  assert_int_equal(count_entries(dir), before + 1);

  /* binary content with NULs, and empty content */
  const char bin[] = {'a', 0, 'b', 0, (char)0xff};
  assert_int_equal(fs_atomic_write(dfd, "bin", bin, sizeof bin, false, &e), 0);
  snprintf(p, sizeof p, "%s/bin", dir);
  assert_int_equal(fs_read_file(p, &text, &len, &e), 0);
  assert_int_equal(len, sizeof bin);
  assert_memory_equal(text, bin, sizeof bin);
  assert_int_equal(text[len], 0); /* NUL-terminated */
  free(text);
  assert_int_equal(fs_atomic_write(dfd, "empty", "", 0, false, &e), 0);
  snprintf(p, sizeof p, "%s/empty", dir);
  assert_int_equal(fs_read_file(p, &text, &len, &e), 0);
  assert_int_equal(len, 0);
  assert_string_equal(text, "");
  free(text);

  /* the new file is private (0600) */
  struct stat st;
  snprintf(p, sizeof p, "%s/state.json", dir);
  assert_int_equal(stat(p, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);

  /* failure: the target is a directory -> error naming it, no temp left */
  snprintf(p, sizeof p, "%s/adir", dir);
  assert_int_equal(mkdir(p, 0755), 0);
  put("outside/adir/x", "x"); /* non-empty: rename over it must fail */
  int n = count_entries(dir);
  int r = fs_atomic_write(dfd, "adir", "x", 1, false, &e);
  assert_true(r < 0);
  assert_int_equal(e.code, -r);
  assert_non_null(strstr(e.msg, "adir"));
  assert_int_equal(count_entries(dir), n);
  /* failure: the directory is gone */
  r = fs_atomic_write(-1, "x", "x", 1, false, &e);
  assert_int_equal(r, -EBADF);
  close(dfd);
  rm_tree(T);
}

static void test_read_file(void **state) {
  (void)state;
  make_tree();
  char p[PATH_MAX * 2];
  struct hull_error e = {0};
  char *text = NULL;
  size_t len = 99;
  snprintf(p, sizeof p, "%s/root/dir/file", T);
  assert_int_equal(fs_read_file(p, &text, &len, &e), 0);
  assert_int_equal(len, 6);
  assert_string_equal(text, "inside");
  free(text);
  /* len may be NULL */
  assert_int_equal(fs_read_file(p, &text, NULL, &e), 0);
  assert_string_equal(text, "inside");
  free(text);
  /* a big file, past every buffer doubling */
  size_t big = 1 << 20;
  char *buf = malloc(big);
  for (size_t i = 0; i < big; i++)
    buf[i] = (char)('a' + i % 23);
  snprintf(p, sizeof p, "%s/big", T);
  int fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  assert_int_equal(fs_write_all(fd, buf, big), 0);
  close(fd);
  assert_int_equal(fs_read_file(p, &text, &len, &e), 0);
  assert_int_equal(len, big);
  assert_memory_equal(text, buf, big);
  assert_int_equal(text[big], 0);
  free(text);
  free(buf);
  /* exactly 4095 bytes (the first buffer minus the NUL) */
  char b4[4095];
  memset(b4, 'z', sizeof b4);
  int dfd = open(T, O_PATH | O_DIRECTORY | O_CLOEXEC);
  assert_int_equal(fs_atomic_write(dfd, "b4", b4, sizeof b4, false, &e), 0);
  assert_int_equal(fs_read_file_at(dfd, "b4", &text, &len, &e), 0);
  assert_int_equal(len, sizeof b4);
  assert_memory_equal(text, b4, sizeof b4);
  free(text);
  /* a proc file (size 0 in stat, content on read) */
  assert_int_equal(fs_read_file("/proc/self/stat", &text, &len, &e), 0);
  assert_true(len > 10);
  free(text);
  /* missing: -ENOENT and the path in the message */
  text = (char *)"untouched";
  assert_int_equal(fs_read_file_at(dfd, "missing-file", &text, &len, &e), -ENOENT);
  assert_int_equal(e.code, ENOENT);
  assert_non_null(strstr(e.msg, "missing-file"));
  assert_string_equal(text, "untouched");
  /* a directory cannot be read */
  assert_int_equal(fs_read_file(T, &text, &len, &e), -EISDIR);
  close(dfd);
  rm_tree(T);
}

static void test_write_string(void **state) {
  (void)state;
  make_tree();
  char p[PATH_MAX * 2];
  snprintf(p, sizeof p, "%s/root/dir/file", T);
  assert_int_equal(fs_write_string(p, "new"), 0);
  char *text;
  struct hull_error e;
  assert_int_equal(fs_read_file(p, &text, NULL, &e), 0);
  assert_string_equal(text, "new"); /* truncated, not "newide" */
  free(text);
  /* does not create */
  snprintf(p, sizeof p, "%s/root/nothere", T);
  assert_int_equal(fs_write_string(p, "x"), -ENOENT);
  char buf[32];
  fs_fd_path(7, buf);
  assert_string_equal(buf, "/proc/self/fd/7");
  rm_tree(T);
}

static void test_sysctl_path(void **state) {
  (void)state;
  char p[128];
  assert_int_equal(fs_sysctl_path("net.ipv4.ip_forward", p, sizeof p), 0);
  assert_string_equal(p, "/proc/sys/net/ipv4/ip_forward");
  assert_int_equal(fs_sysctl_path("net/ipv4/conf/eth0.100/forwarding", p, sizeof p), 0);
  assert_string_equal(p, "/proc/sys/net/ipv4/conf/eth0.100/forwarding");
  const char *bad[] = {"", "net..ipv4", "net/../kernel/x", "net/", "..", "net/..", "a//b"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    assert_int_equal(fs_sysctl_path(bad[i], p, sizeof p), -EINVAL);
  char small[12];
  assert_int_equal(fs_sysctl_path("net.ipv4.ip_forward", small, sizeof small), -ENAMETOOLONG);
}

int main(void) {
  if (geteuid() != 0)
    fprintf(stderr, "test_fs: not root, the mount tests will fail\n");
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sysctl_path),
      cmocka_unit_test_teardown(test_open_openat2, remove_tree),
      cmocka_unit_test_teardown(test_open_walk, remove_tree),
      cmocka_unit_test_teardown(test_trailing_slash_openat2, remove_tree),
      cmocka_unit_test_teardown(test_trailing_slash_walk, remove_tree),
      cmocka_unit_test_teardown(test_ensure_openat2, remove_tree),
      cmocka_unit_test_teardown(test_ensure_walk, remove_tree),
      cmocka_unit_test_teardown(test_magic_openat2, remove_tree),
      cmocka_unit_test_teardown(test_magic_walk, remove_tree),
      cmocka_unit_test_teardown(test_atomic_write, remove_tree),
      cmocka_unit_test_teardown(test_read_file, remove_tree),
      cmocka_unit_test_teardown(test_write_string, remove_tree),
  };
  return cmocka_run_group_tests_name("fs", tests, NULL, NULL);
}
