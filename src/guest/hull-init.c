/* hull-init: PID 1 of a VM guest (see guest.h). The main loop: frames from
 * the host, program output, input waiting to be written, children to reap.
 *
 *   hull-init                      as the guest's /init
 *   hull-init --port-fd N [--run-dir DIR] [--debug]
 *                                  on a host, for tests: fd N is the port;
 *                                  no PID-1 mounts; a child subreaper
 *
 * The run directory (default /run/hull, or HULL_INIT_RUN_DIR) holds the
 * driver's state (state/), the bundle (bundle/) and console sockets and
 * exec files (io/). hull_debug=1 (kernel command line) logs each step on
 * the console with a time stamp.
 *
 * Nothing here may end the program but the host going away: as PID 1 its
 * exit would panic the guest kernel. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "../common/log.h"
#include "guest.h"

#define PORT_TIMEOUT_MS 10000

void send_frame(struct guest *g, uint16_t type, uint32_t stream,
                const void *data, size_t len) {
  if (vm_writer_put(&g->wr, type, stream, data, len) < 0)
    glog("frame %s on stream %u: out of memory: dropped",
         vm_frame_type_name(type), stream);
}

void send_u32(struct guest *g, uint16_t type, uint32_t stream, uint32_t v) {
  if (vm_writer_put_u32(&g->wr, type, stream, v) < 0)
    glog("frame %s on stream %u: out of memory: dropped",
         vm_frame_type_name(type), stream);
}

void send_error(struct guest *g, uint32_t stream, const char *msg) {
  /* One line, at most 1024 bytes, as the host checks. */
  char line[1024];
  size_t n = strnlen(msg, sizeof line);
  memcpy(line, msg, n);
  for (size_t i = 0; i < n; i++)
    if (line[i] == '\n' || line[i] == '\r')
      line[i] = ' ';
  send_frame(g, VM_ERROR, stream, line, n);
}

static void dispatch(struct guest *g, const struct vm_frame *f,
                     struct hull_error *e) {
  struct stream *s;
  switch (f->type) {
  case VM_CREATE: handle_create(g, f); break;
  case VM_START: handle_start(g, f); break;
  case VM_EXEC: handle_exec(g, f); break;
  case VM_SIGNAL: handle_signal(g, f); break;
  case VM_RESIZE: handle_resize(g, f); break;
  case VM_PS: handle_ps(g, f); break;
  case VM_PING: send_u32(g, VM_PONG, 0, vm_frame_u32(f, 0)); break;
  case VM_STDIN:
    /* Input for a stream that is gone: it may just have exited. */
    if ((s = stream_find(g, f->stream)) &&
        stream_input(g, s, f->data, f->len, e) < 0) {
      glog("host: %s", e->msg);
      g->quit = true;
    }
    break;
  }
}

/* Read what the port has and act on each complete frame. */
static void port_input(struct guest *g) {
  struct hull_error e = {0};
  int n = vm_reader_fill(&g->rd, g->port);
  if (n == -EAGAIN || n == -EINTR)
    return;
  if (n <= 0) {
    if (n < 0)
      glog("port: read: %s", strerror(-n));
    else
      gdebug("port: closed by the host");
    g->quit = true;
    return;
  }
  struct vm_frame f;
  int r;
  while (!g->quit && (r = vm_reader_next(&g->rd, &f, &e)) != 0) {
    if (r < 0 || vm_frame_check(&f, false, &e) < 0) {
      glog("host sent a malformed frame: %s", e.msg);
      g->quit = true;
      return;
    }
    if (f.type != VM_STDIN)
      gdebug("%s on stream %u (%u bytes)", vm_frame_type_name(f.type), f.stream,
             f.len);
    dispatch(g, &f, &e);
  }
}

static void flush_port(struct guest *g) {
  int r = vm_writer_flush(&g->wr, g->port);
  if (r < 0 && r != -EINTR) {
    glog("port: write: %s", strerror(-r));
    g->quit = true;
  }
}

/* Poll slots point back at what they serve. */
struct slot {
  struct stream *s;
  int *fdp;
  uint16_t type; /* VM_STDOUT/VM_STDERR for output, 0 for input */
};

static void loop(struct guest *g) {
  size_t cap = 0;
  struct pollfd *pfd = NULL;
  struct slot *slot = NULL;
  while (!g->quit) {
    size_t n = 0, want = 2;
    for (struct stream *s = g->streams; s; s = s->next)
      want += 3;
    if (want > cap) {
      struct pollfd *np = realloc(pfd, want * sizeof *pfd);
      struct slot *ns = np ? realloc(slot, want * sizeof *slot) : NULL;
      if (np)
        pfd = np;
      if (!ns) {
        glog("out of memory");
        sleep(1);
        continue;
      }
      slot = ns;
      cap = want;
    }
    pfd[n++] = (struct pollfd){.fd = g->port,
                               .events = POLLIN | (vm_writer_pending(&g->wr) ? POLLOUT : 0)};
    pfd[n++] = (struct pollfd){.fd = g->sigfd, .events = POLLIN};
    bool read_output = vm_writer_pending(&g->wr) <= GUEST_OUTPUT_HIGH;
    for (struct stream *s = g->streams; s; s = s->next) {
      if (s->in_fd >= 0 && s->inq_len > s->inq_off) {
        slot[n] = (struct slot){s, &s->in_fd, 0};
        pfd[n++] = (struct pollfd){.fd = s->in_fd, .events = POLLOUT};
      }
      if (read_output && s->out_fd >= 0) {
        slot[n] = (struct slot){s, &s->out_fd, VM_STDOUT};
        pfd[n++] = (struct pollfd){.fd = s->out_fd, .events = POLLIN};
      }
      if (read_output && s->err_fd >= 0) {
        slot[n] = (struct slot){s, &s->err_fd, VM_STDERR};
        pfd[n++] = (struct pollfd){.fd = s->err_fd, .events = POLLIN};
      }
    }
    if (poll(pfd, n, -1) < 0) {
      if (errno != EINTR)
        glog("poll: %s", strerror(errno));
      continue;
    }
    /* Streams first, while the slots are valid: reaping and frames from
     * the host may free streams. Output before the exit status. */
    for (size_t i = 2; i < n; i++) {
      if (!pfd[i].revents || *slot[i].fdp != pfd[i].fd)
        continue;
      if (slot[i].type)
        stream_read_output(g, slot[i].s, slot[i].fdp, slot[i].type);
      else
        stream_pump_input(g, slot[i].s);
    }
    if (pfd[1].revents)
      reap_children(g);
    if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR))
      port_input(g);
    if (!g->quit)
      flush_port(g);
  }
  free(pfd);
  free(slot);
}

static void usage(void) {
  glog("usage: hull-init [--port-fd N] [--run-dir DIR] [--debug]");
  exit(2);
}

static int setup_dirs(struct guest *g, struct hull_error *e) {
  snprintf(g->state_dir, sizeof g->state_dir, "%s/state", g->run_dir);
  snprintf(g->bundle_dir, sizeof g->bundle_dir, "%s/bundle", g->run_dir);
  snprintf(g->io_dir, sizeof g->io_dir, "%s/io", g->run_dir);
  int r = mkdir_p(g->run_dir, 0755, e);
  if (r < 0 || (r = mkdir_p(g->bundle_dir, 0700, e)) < 0 ||
      (r = mkdir_p(g->io_dir, 0700, e)) < 0)
    return r;
  g->ro = (struct runtime_opts){
      .root = g->state_dir, .isolation = "process", .progname = "hull-init"};
  return 0;
}

static int setup_signals(struct guest *g, struct hull_error *e) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  if (sigprocmask(SIG_BLOCK, &set, NULL) < 0 ||
      (g->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) < 0)
    return hull_errno(e, errno, "signalfd");
  /* A program that closes its input must not end hull-init with it. The
   * library restores SIGPIPE before it executes a container's program. */
  signal(SIGPIPE, SIG_IGN);
  return 0;
}

/* Something went wrong before the host could be told: say it on the
 * console and end (as PID 1: power off, which the host sees). */
__attribute__((noreturn)) static void fatal(struct guest *g, const struct hull_error *e) {
  glog("%s", e->msg);
  if (g->pid1)
    boot_poweroff();
  exit(1);
}

/* jansson seeds its hash function from /dev/urandom on first use, which
 * early in a guest's life waits for the entropy pool (a second under TCG).
 * The kernel's 16 random bytes for this program do instead. */
static void seed_json(void) {
  const uint32_t *rnd = (const uint32_t *)getauxval(AT_RANDOM);
  uint32_t seed = rnd ? rnd[0] ^ rnd[1] ^ rnd[2] ^ rnd[3] : 0;
  json_object_seed(seed ? seed : 0x9e3779b9u);
}

int main(int argc, char **argv) {
  struct guest g = {.port = -1, .sigfd = -1, .pid1 = getpid() == 1};
  struct hull_error e = {0};
  int port_fd = -1;
  const char *run_dir = getenv("HULL_INIT_RUN_DIR");
  /* hull_debug=1 on the kernel command line: hull-init's own debug lines;
   * 2: the library's too, which during create and exec go to the stderr
   * of the process being made (the library logs to fd 2). */
  const char *dbg = getenv("hull_debug");
  int debug = dbg ? atoi(dbg) : 0;
  /* As /init, the kernel passes on the command line's unknown words:
   * they are not ours to reject. */
  for (int i = 1; !g.pid1 && i < argc; i++) {
    if (!strcmp(argv[i], "--port-fd") && i + 1 < argc) {
      char *end;
      long v = strtol(argv[++i], &end, 10);
      if (*end || v < 0 || v > 65535)
        usage();
      port_fd = (int)v;
    } else if (!strcmp(argv[i], "--run-dir") && i + 1 < argc) {
      run_dir = argv[++i];
    } else if (!strcmp(argv[i], "--debug")) {
      debug = debug > 1 ? debug : 1;
    } else {
      usage();
    }
  }
  if (!g.pid1 && port_fd < 0)
    usage();
  snprintf(g.run_dir, sizeof g.run_dir, "%s", run_dir && *run_dir ? run_dir : GUEST_RUN_DIR);
  guest_debug = debug > 0;
  log_init("hull-init", NULL, false, debug > 1);
  seed_json();

  gdebug("started%s", g.pid1 ? " as PID 1" : "");
  if (g.pid1 && boot_pid1(&e) < 0) {
    /* Diagnostics on whatever the kernel gave us as stderr. */
    fatal(&g, &e);
  }
  if (boot_std_fds(g.pid1, &e) < 0 || setup_signals(&g, &e) < 0 ||
      setup_dirs(&g, &e) < 0)
    fatal(&g, &e);
  if (g.pid1) {
    gdebug("file systems mounted");
    if ((g.port = boot_open_port(PORT_TIMEOUT_MS, &e)) < 0)
      fatal(&g, &e);
  } else {
    /* Orphans of the container come to us, as they do to PID 1. */
    prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    int fl = fcntl(port_fd, F_GETFL);
    if (fl < 0 || fcntl(port_fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
        fcntl(port_fd, F_SETFD, FD_CLOEXEC) < 0) {
      hull_errno(&e, errno, "--port-fd %d", port_fd);
      fatal(&g, &e);
    }
    g.port = port_fd;
  }
  gdebug("HELLO");
  send_u32(&g, VM_HELLO, 0, VM_PROTOCOL_VERSION);
  flush_port(&g);
  loop(&g);

  if (g.pid1)
    boot_poweroff();
  /* A test on a host: leave nothing behind. */
  if (g.created) {
    struct hull_error ignored;
    container_delete(&g.ro, g.id, true, &ignored);
  }
  return 0;
}
