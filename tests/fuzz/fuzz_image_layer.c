/* Fuzzing of layer unpacking (src/image/layer.c): whatever the tar (plain
 * or compressed) holds, unpacking into <tmp>/layer must never create,
 * change or remove anything outside it. The temporary directory holds
 * the layer, a canary directory and a symlink pointing to the canary (a
 * tar that writes through a link it makes or finds would land there). */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fs.h"
#include "image/store_priv.h"

static char root[64];
static int rootfd = -1;

static void cleanup(void) {
  fs_rm_rf_at(AT_FDCWD, root);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  snprintf(root, sizeof root, "/tmp/hull-fuzz-layer-XXXXXX");
  if (!mkdtemp(root))
    abort();
  rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0 || mkdirat(rootfd, "canary", 0755) < 0 ||
      symlinkat("canary", rootfd, "link") < 0)
    abort();
  atexit(cleanup);
  return 0;
}

static size_t count(int dirfd, const char *name) {
  int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    abort();
  DIR *d = fdopendir(fd);
  size_t n = 0;
  struct dirent *de;
  while ((de = readdir(d)))
    n++;
  closedir(d);
  return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  int fd = memfd_create("layer", MFD_CLOEXEC);
  if (fd < 0 || (size && write(fd, data, size) != (ssize_t)size))
    abort();
  lseek(fd, 0, SEEK_SET);
  if (mkdirat(rootfd, "layer", 0755) < 0)
    abort();
  int dir = openat(rootfd, "layer", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  char diff[HULL_DIGEST_MAX];
  struct layer_stats st;
  struct hull_error e = {0};
  /* both ways in: a tar from anywhere, and a store blob (a plain tar is
   * then read without hashing, its digest taken as the diff_id) */
  char blob[HULL_DIGEST_MAX];
  digest_buf(data, size, blob);
  int r = size % 2 ? layer_unpack(fd, dir, diff, &st, &e)
                   : layer_unpack_blob(fd, dir, blob, diff, &st, &e);
  if (r < 0 && (e.code != -r || !e.msg[0] || strchr(e.msg, '\n')))
    abort();
  if (r == 0 && !digest_valid(diff))
    abort();
  close(dir);
  close(fd);
  /* nothing but layer, canary (empty) and link beside it */
  if (count(rootfd, ".") != 5 || count(rootfd, "canary") != 2)
    abort();
  struct stat s;
  if (fstatat(rootfd, "link", &s, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISLNK(s.st_mode))
    abort();
  if (fs_rm_rf_at(rootfd, "layer") < 0)
    abort();
  return 0;
}
