/* The QEMU backend: the microvm machine (no firmware, no PCI, no ACPI),
 * the kernel booted directly through its PVH entry, virtio-mmio devices
 * only: one virtio-serial port for hull-init's channel, one virtio-9p
 * device per shared directory, one virtio-net device per tap, the console
 * on the ISA serial port (a log file). QEMU's own seccomp sandbox confines the monitor. */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../common/cleanup.h"
#include "../common/log.h"
#include "vmm.h"

#define QEMU_PORT_FD 3
#define QEMU_QMP_FD 4
#define QEMU_REPORT_FD 5
/* the taps: 6, 7, ... */
#define QEMU_TAP_FD0 6
/* Descriptors are moved from at least this number to their places. */
#define QEMU_FD_STAGE 16
#define MAX_ARGS 128
_Static_assert(QEMU_TAP_FD0 + VMM_MAX_NICS <= QEMU_FD_STAGE,
               "the descriptors' places lie below where they are staged");

/* QEMU option values separate fields with commas: a comma in a path is
 * written twice. */
static char *opt_path(const char *path) {
  size_t n = strlen(path), extra = 0;
  for (size_t i = 0; i < n; i++)
    extra += path[i] == ',';
  char *s = malloc(n + extra + 1);
  if (!s)
    return NULL;
  char *p = s;
  for (size_t i = 0; i < n; i++) {
    *p++ = path[i];
    if (path[i] == ',')
      *p++ = ',';
  }
  *p = 0;
  return s;
}

struct argv_builder {
  char *argv[MAX_ARGS + 1];
  size_t n;
  bool oom;
};

static void add(struct argv_builder *b, char *s) {
  if (!s || b->n >= MAX_ARGS) {
    free(s);
    b->oom = true;
    return;
  }
  b->argv[b->n++] = s;
}

static void addf(struct argv_builder *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void addf(struct argv_builder *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *s = NULL;
  if (vasprintf(&s, fmt, ap) < 0)
    s = NULL;
  va_end(ap);
  add(b, s);
}

static void build_argv(const struct vmm_config *c, struct argv_builder *b) {
  const char *qemu = getenv("HULL_QEMU");
  add(b, strdup(qemu && *qemu ? qemu : "qemu-system-x86_64"));
  /* rtc=on: without the RTC the kernel spends a second calibrating;
   * acpi=off: virtio-mmio devices are then described on the command line. */
  add(b, strdup("-M"));
  add(b, strdup("microvm,x-option-roms=off,isa-serial=on,rtc=on,acpi=off"));
  add(b, strdup("-accel"));
  add(b, strdup(c->accel == VM_ACCEL_KVM ? "kvm" : "tcg"));
  add(b, strdup("-cpu"));
  add(b, strdup(c->accel == VM_ACCEL_KVM ? "host" : "max"));
  add(b, strdup("-smp"));
  addf(b, "%u", c->vcpus);
  add(b, strdup("-m"));
  addf(b, "%llu", (unsigned long long)c->mem_mib);
  add(b, strdup("-nodefaults"));
  add(b, strdup("-no-user-config"));
  add(b, strdup("-display"));
  add(b, strdup("none"));
  add(b, strdup("-no-reboot"));
  add(b, strdup("-sandbox"));
  add(b, strdup("on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny"));
  _cleanup_free_ char *con = opt_path(c->console_log);
  add(b, strdup("-chardev"));
  addf(b, "file,id=console,path=%s", con ? con : "");
  add(b, strdup("-serial"));
  add(b, strdup("chardev:console"));
  add(b, strdup("-kernel"));
  add(b, strdup(c->kernel));
  add(b, strdup("-initrd"));
  add(b, strdup(c->initrd));
  add(b, strdup("-append"));
  addf(b, "console=ttyS0 reboot=t panic=-1 quiet%s",
       log_debug_enabled() ? " hull_debug=1" : "");
  add(b, strdup("-device"));
  add(b, strdup("virtio-serial-device,max_ports=2"));
  add(b, strdup("-chardev"));
  addf(b, "socket,id=hull,fd=%d", QEMU_PORT_FD);
  add(b, strdup("-device"));
  add(b, strdup("virtserialport,chardev=hull,name=hull"));
  add(b, strdup("-chardev"));
  addf(b, "socket,id=qmp,fd=%d", QEMU_QMP_FD);
  add(b, strdup("-mon"));
  add(b, strdup("chardev=qmp,mode=control"));
  for (size_t i = 0; i < c->n_shares; i++) {
    _cleanup_free_ char *p = opt_path(c->shares[i].path);
    add(b, strdup("-fsdev"));
    /* multidevs=remap: a share holding several mounts keeps inode numbers
     * unique in the guest. */
    addf(b, "local,id=fs%zu,path=%s,security_model=passthrough,multidevs=remap%s",
         i, p ? p : "", c->shares[i].readonly ? ",readonly=on" : "");
    add(b, strdup("-device"));
    addf(b, "virtio-9p-device,fsdev=fs%zu,mount_tag=%s", i, c->shares[i].tag);
  }
  for (size_t i = 0; i < c->n_nics; i++) {
    const uint8_t *m = c->nics[i].mac;
    add(b, strdup("-netdev"));
    addf(b, "tap,id=net%zu,fd=%zu", i, QEMU_TAP_FD0 + i); /* vnet_hdr: probed on the fd */
    add(b, strdup("-device"));
    addf(b, "virtio-net-device,netdev=net%zu,mac=%02x:%02x:%02x:%02x:%02x:%02x", i, m[0],
         m[1], m[2], m[3], m[4], m[5]);
  }
}

static void free_argv(struct argv_builder *b) {
  for (size_t i = 0; i < b->n; i++)
    free(b->argv[i]);
}

static int qemu_launch(const struct vmm_config *c, pid_t *pid,
                       struct hull_error *e) {
  struct argv_builder b = {0};
  build_argv(c, &b);
  if (b.oom) {
    free_argv(&b);
    return hull_err(e, ENOMEM, "VM monitor: command line");
  }
  if (log_debug_enabled()) {
    char line[4096];
    size_t n = 0;
    /* quoted as a shell would read it back (bench/vm.sh does) */
    for (size_t i = 0; i < b.n && n < sizeof line; i++) {
      const char *q = strpbrk(b.argv[i], " '\"") ? "'" : "";
      n += (size_t)snprintf(line + n, sizeof line - n, "%s%s%s%s", i ? " " : "", q,
                            b.argv[i], q);
    }
    log_debug("VM monitor: %s", line);
  }
  int report[2];
  if (pipe2(report, O_CLOEXEC) < 0) {
    free_argv(&b);
    return hull_errno(e, errno, "VM monitor: pipe");
  }
  pid_t child = fork();
  if (child == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    int null = open("/dev/null", O_RDWR);
    int logfd = open(c->vmm_log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (null < 0 || logfd < 0 || dup2(null, 0) < 0 || dup2(logfd, 1) < 0 ||
        dup2(logfd, 2) < 0)
      goto fail;
    /* Descriptors move to their numbers from above, so that none of them
     * is overwritten before it moved. */
    int port = fcntl(c->port_fd, F_DUPFD, QEMU_FD_STAGE);
    int qmp = fcntl(c->control_fd, F_DUPFD, QEMU_FD_STAGE);
    int rep = fcntl(report[1], F_DUPFD_CLOEXEC, QEMU_FD_STAGE);
    int taps[VMM_MAX_NICS];
    size_t n_nics = c->n_nics < VMM_MAX_NICS ? c->n_nics : VMM_MAX_NICS;
    for (size_t i = 0; i < n_nics; i++)
      if ((taps[i] = fcntl(c->nics[i].tap_fd, F_DUPFD, QEMU_FD_STAGE)) < 0)
        goto fail;
    if (port < 0 || qmp < 0 || rep < 0 || dup2(port, QEMU_PORT_FD) < 0 ||
        dup2(qmp, QEMU_QMP_FD) < 0 || dup3(rep, QEMU_REPORT_FD, O_CLOEXEC) < 0)
      goto fail;
    for (size_t i = 0; i < n_nics; i++)
      if (dup2(taps[i], QEMU_TAP_FD0 + (int)i) < 0)
        goto fail;
    /* every other descriptor of the host closes here */
    syscall(SYS_close_range, QEMU_TAP_FD0 + (unsigned)n_nics, ~0U, 0);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    execvp(b.argv[0], b.argv);
  fail:;
    int err = errno;
    if (write(QEMU_REPORT_FD, &err, sizeof err) < 0 && write(report[1], &err, sizeof err) < 0)
      _exit(127);
    _exit(127);
  }
  int err = errno;
  close(report[1]);
  if (child < 0) {
    close(report[0]);
    free_argv(&b);
    return hull_errno(e, err, "VM monitor: fork");
  }
  int child_err = 0;
  ssize_t n = read(report[0], &child_err, sizeof child_err);
  close(report[0]);
  if (n == (ssize_t)sizeof child_err) {
    int r = hull_errno(e, child_err, "VM monitor: run %s", b.argv[0]);
    free_argv(&b);
    return r;
  }
  free_argv(&b);
  *pid = child;
  return 0;
}

/* ---- QMP: one JSON object a line; answers are {"return"} or {"error"},
 * events ({"event"}) may come in between and are skipped. */

static int qmp_read_answer(int fd, struct hull_error *e) {
  char buf[4096];
  size_t n = 0;
  for (;;) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, 5000) <= 0)
      return hull_err(e, ETIMEDOUT, "VM monitor: no answer on its control socket");
    ssize_t got = read(fd, buf + n, sizeof buf - 1 - n);
    if (got <= 0)
      return hull_err(e, EPIPE, "VM monitor: control socket closed");
    n += (size_t)got;
    buf[n] = 0;
    char *nl;
    while ((nl = strchr(buf, '\n'))) {
      *nl = 0;
      bool ret = strstr(buf, "\"return\"") != NULL;
      bool err = strstr(buf, "\"error\"") != NULL && !strstr(buf, "\"event\"");
      if (err)
        return hull_err(e, EIO, "VM monitor: %.200s", buf);
      size_t rest = n - (size_t)(nl + 1 - buf);
      memmove(buf, nl + 1, rest + 1);
      n = rest;
      if (ret)
        return 0;
    }
    if (n == sizeof buf - 1)
      n = 0; /* a line longer than any answer we wait for: an event */
  }
}

static int qmp_execute(int fd, const char *cmd, struct hull_error *e) {
  char line[128];
  int len = snprintf(line, sizeof line, "{\"execute\":\"%s\"}\n", cmd);
  if (write(fd, line, (size_t)len) != len)
    return hull_errno(e, errno, "VM monitor: control socket");
  return qmp_read_answer(fd, e);
}

static int qemu_pause(int fd, bool pause, struct hull_error *e) {
  static bool negotiated;
  if (!negotiated) {
    /* the greeting ({"QMP": ...}) carries no "return": skip it */
    int r = qmp_execute(fd, "qmp_capabilities", e);
    if (r < 0)
      return r;
    negotiated = true;
  }
  return qmp_execute(fd, pause ? "stop" : "cont", e);
}

const struct vmm_backend vmm_qemu = {
    .name = "qemu",
    .launch = qemu_launch,
    .pause = qemu_pause,
};
