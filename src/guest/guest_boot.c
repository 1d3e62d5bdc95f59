/* What hull-init does as PID 1 before it serves the host: a root file
 * system that pivot_root accepts, the kernel's file systems, the console
 * for diagnostics, and the port to the host. */
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../common/cleanup.h"
#include "../common/ids.h"
#include "../common/fs.h"
#include "guest.h"

bool guest_debug;

static void vlog(bool stamp, const char *fmt, va_list ap) {
  char line[1200];
  int n;
  if (stamp) {
    /* Debug lines carry the time since boot: they time the phases. */
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    n = snprintf(line, sizeof line, "hull-init: %ld.%06ld: ", (long)ts.tv_sec,
                 ts.tv_nsec / 1000);
  } else {
    n = snprintf(line, sizeof line, "hull-init: ");
  }
  n += vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
  if (n > (int)sizeof line - 2)
    n = (int)sizeof line - 2;
  line[n++] = '\n';
  fs_write_all(STDERR_FILENO, line, (size_t)n);
}

void glog(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vlog(false, fmt, ap);
  va_end(ap);
}

void gdebug(const char *fmt, ...) {
  if (!guest_debug)
    return;
  va_list ap;
  va_start(ap, fmt);
  vlog(true, fmt, ap);
  va_end(ap);
}

int mkdir_p(const char *path, mode_t mode, struct hull_error *e) {
  char buf[PATH_MAX];
  if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
    return hull_err(e, ENAMETOOLONG, "directory %s: path too long", path);
  for (char *p = buf + 1;; p++) {
    if (*p != '/' && *p)
      continue;
    char c = *p;
    *p = 0;
    if (mkdir(buf, mode) < 0 && errno != EEXIST)
      return hull_errno(e, errno, "directory %s", buf);
    if (!c)
      break;
    *p = c;
  }
  struct stat st;
  if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
    return hull_errno(e, errno ? errno : ENOTDIR, "directory %s", path);
  return 0;
}

static int do_mount(const char *src, const char *target, const char *type,
                    unsigned long flags, const char *data, struct hull_error *e) {
  if (mkdir(target, 0755) < 0 && errno != EEXIST)
    return hull_errno(e, errno, "mount %s on %s: mkdir", type, target);
  if (mount(src, target, type, flags, data) < 0)
    return hull_errno(e, errno, "mount %s on %s", type, target);
  return 0;
}

/* The kernel runs /init on the initial rootfs, which has no parent mount:
 * pivot_root refuses such a root (EINVAL), also in the container's mount
 * namespace copied from it. So, as switch_root does, move a tmpfs over /
 * and chroot into it; the archive's files stay behind, unreachable. */
static int switch_root(struct hull_error *e) {
  const char *nr = "/.root";
  unlink("/init"); /* only its memory: the running binary stays mapped */
  int r = do_mount("tmpfs", nr, "tmpfs", 0, "mode=0755", e);
  if (r < 0)
    return r;
  if (chdir(nr) < 0 || mount(".", "/", NULL, MS_MOVE, NULL) < 0 ||
      chroot(".") < 0 || chdir("/") < 0)
    return hull_errno(e, errno, "move the root tmpfs over /");
  return 0;
}

/* The container shares the VM's network namespace: localhost must work.
 * Bringing lo up gives it 127.0.0.1 and ::1. */
static void loopback_up(void) {
  _cleanup_close_ int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  struct ifreq ifr = {0};
  snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
  if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
    goto fail;
  ifr.ifr_flags |= IFF_UP;
  if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
    goto fail;
  return;
fail:
  glog("loopback interface: %s", strerror(errno));
}

int boot_pid1(struct hull_error *e) {
  int r = switch_root(e);
  if (r < 0)
    return r;
  const unsigned long sec = MS_NOSUID | MS_NODEV | MS_NOEXEC;
  if ((r = do_mount("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755", e)) < 0 ||
      (r = do_mount("proc", "/proc", "proc", sec, NULL, e)) < 0 ||
      (r = do_mount("sysfs", "/sys", "sysfs", sec, NULL, e)) < 0 ||
      (r = do_mount("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755", e)) < 0 ||
      (r = do_mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777", e)) < 0 ||
      (r = do_mount("cgroup2", "/sys/fs/cgroup", "cgroup2", sec, "nsdelegate", e)) < 0)
    return r;
  loopback_up();
  return 0;
}

/* Open PATH on a descriptor above 2, whatever 0-2 hold now. */
static int open_high(const char *path, int flags) {
  int fd = open(path, flags | O_CLOEXEC);
  if (fd < 0 || fd > 2)
    return fd;
  int high = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  int err = errno;
  close(fd);
  errno = err;
  return high;
}

int boot_std_fds(bool console, struct hull_error *e) {
  /* With no /dev/console in the archive the kernel gave us no fds 0-2:
   * open above 2 first so nothing lands where dup2 will write. */
  _cleanup_close_ int null = open_high("/dev/null", O_RDWR);
  if (null < 0)
    return hull_errno(e, errno, "/dev/null");
  _cleanup_close_ int cons = -1;
  if (console && (cons = open_high("/dev/console", O_WRONLY | O_NOCTTY)) < 0)
    return hull_errno(e, errno, "/dev/console");
  if (dup2(null, 0) < 0 || dup2(null, 1) < 0 || (cons >= 0 && dup2(cons, 2) < 0))
    return hull_errno(e, errno, "standard descriptors");
  return 0;
}

/* /dev/<vport> of the port whose name is "hull", or -ENOENT while the
 * driver has not announced it yet. */
static int find_port(struct hull_error *e) {
  DIR *d = opendir("/sys/class/virtio-ports");
  if (!d)
    return -ENOENT;
  struct dirent *de;
  int r = -ENOENT;
  while ((de = readdir(d))) {
    if (de->d_name[0] == '.')
      continue;
    char path[512], name[64];
    snprintf(path, sizeof path, "/sys/class/virtio-ports/%s/name", de->d_name);
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd < 0 ? -1 : read(fd, name, sizeof name - 1);
    if (n <= 0)
      continue;
    name[n] = 0;
    name[strcspn(name, "\n")] = 0;
    if (strcmp(name, VM_PORT_NAME))
      continue;
    snprintf(path, sizeof path, "/dev/%s", de->d_name);
    r = open(path, O_RDWR | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (r < 0)
      r = errno == ENOENT ? -ENOENT : hull_errno(e, errno, "port %s", path);
    else
      gdebug("port %s", path);
    break;
  }
  closedir(d);
  return r;
}

int boot_open_port(int timeout_ms, struct hull_error *e) {
  /* The port appears when the host's control message has been handled by
   * the driver's work queue: possibly after init started. */
  long long start = hull_now_ms();
  int fd;
  for (;;) {
    fd = find_port(e);
    if (fd != -ENOENT)
      break;
    if (hull_now_ms() - start > timeout_ms)
      return hull_err(e, ENOENT, "no virtio-serial port named \"%s\" after %d ms",
                      VM_PORT_NAME, timeout_ms);
    usleep(1000);
  }
  if (fd < 0)
    return fd;
  /* The port's name and the news that the host side is connected are two
   * control messages: between them the port reads as closed (POLLHUP, EOF),
   * which would pass for the host gone. Wait for the second. */
  for (;;) {
    struct pollfd p = {.fd = fd, .events = POLLIN | POLLOUT};
    if (poll(&p, 1, 0) >= 0 && !(p.revents & POLLHUP))
      return fd;
    if (hull_now_ms() - start > timeout_ms) {
      close(fd);
      return hull_err(e, ENOTCONN, "port \"%s\": the host is not connected after %d ms",
                      VM_PORT_NAME, timeout_ms);
    }
    usleep(1000);
  }
}

void boot_poweroff(void) {
  sync();
  /* Without ACPI (microvm, acpi=off) power-off only halts the CPUs and
   * the monitor keeps running: reset instead, which ends QEMU under
   * -no-reboot (with reboot=t at once, by a triple fault). */
  reboot(RB_AUTOBOOT);
  for (;;)
    pause();
}
