/* Re-execution of hull's own binary from a read-only place (see
 * self_protect.h). */
#include "self_protect.h"

#include <fcntl.h>
#include <limits.h>
#include <linux/mount.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"

extern char **environ;

void self_note_guest_dir(void) {
  if (getenv("HULL_GUEST_DIR"))
    return;
  char path[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", path, sizeof path - 8);
  if (n <= 0)
    return;
  path[n] = 0;
  char *slash = strrchr(path, '/');
  if (!slash)
    return;
  strcpy(slash + 1, "guest");
  setenv("HULL_GUEST_DIR", path, 0);
}

static bool runs_protected(int self) {
  struct statvfs sv;
  if (fstatvfs(self, &sv) == 0 && (sv.f_flag & ST_RDONLY))
    return true;
  int seals = fcntl(self, F_GET_SEALS);
  return seals >= 0 && (seals & F_SEAL_WRITE);
}

static int exec_sealed_copy(int self, char **argv, struct hull_error *e) {
  struct stat st;
  if (fstat(self, &st) < 0)
    return hull_errno(e, errno, "protect the binary");
  _cleanup_close_ int mfd = memfd_create("hull", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (mfd < 0)
    return hull_errno(e, errno, "protect the binary: memfd");
  off_t off = 0;
  while (off < st.st_size)
    if (sendfile(mfd, self, &off, (size_t)(st.st_size - off)) <= 0)
      return hull_errno(e, errno ? errno : EIO, "protect the binary: copy");
  if (fcntl(mfd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0)
    return hull_errno(e, errno, "protect the binary: seal");
  execveat(mfd, "", argv, environ, AT_EMPTY_PATH);
  return hull_errno(e, errno, "protect the binary: exec");
}

int self_protect(char **argv, struct hull_error *e) {
  self_note_guest_dir();
  _cleanup_close_ int self = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  if (self < 0)
    return hull_errno(e, errno, "protect the binary: /proc/self/exe");
  if (runs_protected(self))
    return 0;
  _cleanup_close_ int tree = (int)syscall(SYS_open_tree, self, "",
                                          AT_EMPTY_PATH | OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
  if (tree >= 0) {
    struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY};
    if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH, &attr, sizeof attr) == 0)
      execveat(tree, "", argv, environ, AT_EMPTY_PATH);
  }
  return exec_sealed_copy(self, argv, e);
}
