/* Unit tests of layer unpacking (src/image/layer.c): OCI whiteouts become
 * overlay whiteouts, owners, modes (setuid too) and device nodes are
 * kept, the diff_id is the digest of the uncompressed tar whatever the
 * compression, and hostile entries are refused without writing outside
 * the layer directory. Runs as root (mknod, chown, trusted xattrs). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "image/store_priv.h"

static char T[PATH_MAX];   /* temporary directory: T/layer is unpacked into */
static char L[PATH_MAX + 8];

struct ent {
  char type; /* f file, d dir, l symlink, h hardlink, c char device */
  const char *path;
  const char *arg; /* file content, link target */
  mode_t mode;
};

/* A tar of the entries in a memfd (filter: "none", "gzip", "zstd"); the
 * digest of the uncompressed tar goes to plain_digest. */
static int make_tar(const struct ent *v, size_t n, const char *filter,
                    char plain_digest[HULL_DIGEST_MAX]) {
  for (int pass = 0; pass < 2; pass++) {
    int fd = memfd_create("layer", MFD_CLOEXEC);
    assert_true(fd >= 0);
    struct archive *a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    if (pass == 1 && !strcmp(filter, "gzip"))
      archive_write_add_filter_gzip(a);
    if (pass == 1 && !strcmp(filter, "zstd"))
      archive_write_add_filter_zstd(a);
    archive_write_set_bytes_in_last_block(a, 1);
    assert_int_equal(archive_write_open_fd(a, fd), ARCHIVE_OK);
    for (size_t i = 0; i < n; i++) {
      struct archive_entry *e = archive_entry_new();
      archive_entry_set_pathname(e, v[i].path);
      archive_entry_set_uid(e, 1234);
      archive_entry_set_gid(e, 5678);
      archive_entry_set_mtime(e, 1700000000, 0);
      size_t len = 0;
      switch (v[i].type) {
      case 'f':
        archive_entry_set_filetype(e, AE_IFREG);
        len = strlen(v[i].arg);
        archive_entry_set_size(e, (la_int64_t)len);
        break;
      case 'd': archive_entry_set_filetype(e, AE_IFDIR); break;
      case 'l':
        archive_entry_set_filetype(e, AE_IFLNK);
        archive_entry_set_symlink(e, v[i].arg);
        break;
      case 'h':
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_hardlink(e, v[i].arg);
        break;
      case 'c':
        archive_entry_set_filetype(e, AE_IFCHR);
        archive_entry_set_rdev(e, makedev(1, 3));
        break;
      }
      archive_entry_set_perm(e, v[i].mode ? v[i].mode : 0644);
      assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
      if (len)
        assert_int_equal(archive_write_data(a, v[i].arg, len), (la_ssize_t)len);
      archive_entry_free(e);
    }
    archive_write_close(a);
    archive_write_free(a);
    if (pass == 0) {
      /* hash the plain tar, then build the compressed one */
      off_t size = lseek(fd, 0, SEEK_END);
      char *buf = malloc((size_t)size);
      assert_int_equal(pread(fd, buf, (size_t)size, 0), size);
      digest_buf(buf, (size_t)size, plain_digest);
      free(buf);
      close(fd);
      continue;
    }
    lseek(fd, 0, SEEK_SET);
    return fd;
  }
  return -1;
}

static int setup(void **state) {
  (void)state;
  snprintf(T, sizeof T, "/tmp/hull-test-layer-XXXXXX");
  assert_non_null(mkdtemp(T));
  snprintf(L, sizeof L, "%s/layer", T);
  assert_int_equal(mkdir(L, 0755), 0);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  char cmd[PATH_MAX + 16];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", T);
  return system(cmd) == 0 ? 0 : -1;
}

static int unpack(const struct ent *v, size_t n, const char *filter,
                  struct hull_error *e, char diff[HULL_DIGEST_MAX],
                  char plain[HULL_DIGEST_MAX]) {
  int fd = make_tar(v, n, filter, plain);
  int dir = open(L, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  assert_true(dir >= 0);
  struct layer_stats st;
  int r = layer_unpack(fd, dir, diff, &st, e);
  close(dir);
  close(fd);
  return r;
}

static const char *at(const char *rel) {
  static char p[PATH_MAX * 2];
  snprintf(p, sizeof p, "%s/%s", L, rel);
  return p;
}

static void test_whiteouts(void **state) {
  (void)state;
  const struct ent v[] = {
      {'d', "a", NULL, 0755},
      {'f', "a/.wh.gone", "", 0},
      {'d', "d", NULL, 0700},
      {'f', "d/.wh..wh..opq", "", 0},
      {'f', "d/new", "4", 0},
      /* deleted, then made again below in the same layer */
      {'f', ".wh.re", "", 0},
      {'f', "re/file", "z", 0},
  };
  char diff[HULL_DIGEST_MAX], plain[HULL_DIGEST_MAX];
  struct hull_error e = {0};
  assert_int_equal(unpack(v, 7, "none", &e, diff, plain), 0);
  struct stat st;
  assert_int_equal(lstat(at("a/gone"), &st), 0);
  assert_true(S_ISCHR(st.st_mode));
  assert_int_equal(st.st_rdev, makedev(0, 0));
  assert_int_equal(lstat(at("a/.wh.gone"), &st), -1);
  assert_int_equal(lstat(at("d/.wh..wh..opq"), &st), -1);
  char val[8] = "";
  assert_int_equal(getxattr(at("d"), "trusted.overlay.opaque", val, sizeof val), 1);
  assert_int_equal(val[0], 'y');
  assert_int_equal(lstat(at("d"), &st), 0);
  assert_int_equal(st.st_mode & 07777, 0700);
  assert_int_equal(st.st_uid, 1234);
  assert_int_equal(lstat(at("re/file"), &st), 0);
  assert_true(S_ISREG(st.st_mode));
}

static void test_metadata_and_compression(void **state) {
  (void)state;
  const struct ent v[] = {
      {'d', "bin", NULL, 0755},
      {'f', "bin/su", "x", 04755},
      {'f', "bin/f", "hello", 0600},
      {'h', "bin/g", "bin/f", 0},
      {'l', "bin/abs", "/etc/passwd", 0777},
      {'c', "null", NULL, 0666},
  };
  const char *filters[] = {"none", "gzip", "zstd"};
  for (int i = 0; i < 3; i++) {
    char diff[HULL_DIGEST_MAX], plain[HULL_DIGEST_MAX];
    struct hull_error e = {0};
    if (unpack(v, 6, filters[i], &e, diff, plain) < 0)
      fail_msg("%s: %s", filters[i], e.msg);
    /* the diff_id is the uncompressed tar's digest */
    assert_string_equal(diff, plain);
    struct stat st, st2;
    assert_int_equal(lstat(at("bin/su"), &st), 0);
    assert_int_equal(st.st_mode & 07777, 04755);
    assert_int_equal(st.st_uid, 1234);
    assert_int_equal(st.st_gid, 5678);
    assert_int_equal(st.st_mtime, 1700000000);
    assert_int_equal(lstat(at("bin/f"), &st), 0);
    assert_int_equal(lstat(at("bin/g"), &st2), 0);
    assert_int_equal(st.st_ino, st2.st_ino);
    char target[64] = "";
    assert_int_equal(readlink(at("bin/abs"), target, sizeof target), 11);
    assert_int_equal(lstat(at("null"), &st), 0);
    assert_true(S_ISCHR(st.st_mode));
    assert_int_equal(st.st_rdev, makedev(1, 3));
    teardown(NULL);
    setup(NULL);
  }
}

static void refused(const struct ent *v, size_t n, const char *want) {
  char diff[HULL_DIGEST_MAX], plain[HULL_DIGEST_MAX];
  struct hull_error e = {0};
  char canary[PATH_MAX + 16];
  snprintf(canary, sizeof canary, "%s/canary", T);
  assert_true(unpack(v, n, "none", &e, diff, plain) < 0);
  if (!strstr(e.msg, want))
    fail_msg("error '%s' does not mention '%s'", e.msg, want);
  struct stat st;
  assert_int_equal(lstat(canary, &st), -1);
  assert_int_equal(lstat(canary, &st), -1);
}

static void test_hostile(void **state) {
  (void)state;
  char target[PATH_MAX + 16];
  snprintf(target, sizeof target, "%s/canary", T);
  const struct ent dotdot[] = {{'f', "../canary", "x", 0}};
  refused(dotdot, 1, "\"..\" refused");
  const struct ent deep[] = {{'d', "a", NULL, 0}, {'f', "a/../../canary", "x", 0}};
  refused(deep, 2, "\"..\" refused");
  const struct ent abs[] = {{'f', target, "x", 0}};
  refused(abs, 1, "absolute path refused");
  const struct ent through[] = {{'l', "l", T, 0}, {'f', "l/canary", "x", 0}};
  refused(through, 2, "symlink");
  const struct ent rel_through[] = {{'l', "l", "..", 0}, {'f', "l/canary", "x", 0}};
  refused(rel_through, 2, "symlink");
  const struct ent hl[] = {{'h', "pw", "../canary", 0}};
  refused(hl, 1, "hardlink");
  const struct ent hl_abs[] = {{'h', "pw", "/etc/passwd", 0}};
  refused(hl_abs, 1, "absolute");
  const struct ent hl_link[] = {{'l', "l", "/etc", 0}, {'h', "pw", "l/passwd", 0}};
  refused(hl_link, 2, "");
  const struct ent wh[] = {{'f', ".wh...", "", 0}};
  refused(wh, 1, "whiteout");
  /* a symlink replaced by a directory entry is not followed either */
  const struct ent dir_over_link[] = {{'l', "d", T, 0}, {'d', "d", NULL, 0755},
                                      {'f', "d/canary", "x", 0}};
  char diff[HULL_DIGEST_MAX], plain[HULL_DIGEST_MAX];
  struct hull_error e = {0};
  assert_int_equal(unpack(dir_over_link, 3, "none", &e, diff, plain), 0);
  struct stat st;
  assert_int_equal(lstat(target, &st), -1);
  assert_int_equal(lstat(at("d/canary"), &st), 0);
}

static void test_not_a_tar(void **state) {
  (void)state;
  int fd = memfd_create("x", MFD_CLOEXEC);
  assert_int_equal(write(fd, "garbage, not a tar at all, no no no", 35), 35);
  lseek(fd, 0, SEEK_SET);
  int dir = open(L, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  char diff[HULL_DIGEST_MAX];
  struct layer_stats st;
  struct hull_error e = {0};
  assert_true(layer_unpack(fd, dir, diff, &st, &e) < 0);
  assert_true(e.msg[0] != 0);
  close(dir);
  close(fd);
}

int main(void) {
  if (geteuid() != 0)
    fprintf(stderr, "test_image_layer: not root, mknod and chown will fail\n");
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_whiteouts, setup, teardown),
      cmocka_unit_test_setup_teardown(test_metadata_and_compression, setup, teardown),
      cmocka_unit_test_setup_teardown(test_hostile, setup, teardown),
      cmocka_unit_test_setup_teardown(test_not_a_tar, setup, teardown),
  };
  return cmocka_run_group_tests_name("image_layer", tests, NULL, NULL);
}
