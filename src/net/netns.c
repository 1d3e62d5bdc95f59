/* Network namespaces kept by a file (see netns.h). */
#include "netns.h"

#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif

/* In the child: a new namespace, lo up, bound on path. */
static int child_make(const char *path) {
  if (unshare(CLONE_NEWNET) < 0)
    return errno;
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s >= 0) {
    struct ifreq ifr = {0};
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
    if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
      ifr.ifr_flags |= IFF_UP;
      ioctl(s, SIOCSIFFLAGS, &ifr);
    }
    close(s);
  }
  if (mount("/proc/self/ns/net", path, NULL, MS_BIND, NULL) < 0)
    return errno;
  return 0;
}

int netns_create(const char *dir, const char *name, struct hull_error *e) {
  char path[4096];
  if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path)
    return hull_err(e, ENAMETOOLONG, "network namespace %s/%s: path too long", dir, name);
  int fd = -1;
  /* the directory goes with its last namespace (netns_remove): another
   * command may remove it between our mkdir and open */
  for (int i = 0; i < 5 && fd < 0; i++) {
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
      return hull_errno(e, errno, "network namespaces %s", dir);
    fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0400);
    if (fd < 0 && errno != ENOENT)
      break;
  }
  if (fd < 0)
    return hull_errno(e, errno, "network namespace %s", path);
  close(fd);
  /* a child makes it: unshare() of the caller's own namespace would
   * move the caller */
  pid_t pid = fork();
  if (pid < 0) {
    int err = errno;
    unlink(path);
    return hull_errno(e, err, "network namespace %s: fork", path);
  }
  if (pid == 0)
    _exit(child_make(path));
  int st = 0;
  pid_t w;
  while ((w = waitpid(pid, &st, 0)) < 0 && errno == EINTR)
    ;
  int err = w < 0 ? errno : WIFEXITED(st) ? WEXITSTATUS(st) : EINTR;
  if (err) {
    umount2(path, MNT_DETACH);
    unlink(path);
    return hull_errno(e, err, "network namespace %s", path);
  }
  return 0;
}

int netns_is_mounted(const char *path) {
  struct statfs sf;
  return statfs(path, &sf) == 0 && (unsigned long)sf.f_type == (unsigned long)NSFS_MAGIC;
}

int netns_remove(const char *path, struct hull_error *e) {
  /* a file bound more than once (a crash between two tries) comes off
   * layer by layer */
  for (int i = 0; i < 8 && netns_is_mounted(path); i++)
    if (umount2(path, MNT_DETACH) < 0)
      return hull_errno(e, errno, "network namespace %s: unmount", path);
  if (unlink(path) < 0 && errno != ENOENT)
    return hull_errno(e, errno, "network namespace %s", path);
  char dir[4096];
  snprintf(dir, sizeof dir, "%s", path);
  char *slash = strrchr(dir, '/');
  if (slash && slash != dir) {
    *slash = '\0';
    rmdir(dir); /* when it was the last one */
  }
  return 0;
}
