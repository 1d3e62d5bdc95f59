/* hull-monitor: the per-container monitor of the engine, one per running
 * container, small and static (its memory is part of every container's
 * cost). It outlives `hull run -d`.
 *
 * How hull hands it a container (everything else is in the record):
 *
 *   hull-monitor [--wait-attach] ROOT RUNROOT ID      (fd 3: readiness pipe)
 *
 *   ROOT      the store (--root); the record is ROOT/containers/ID/config.json
 *             (Config.Tty, Config.OpenStdin, HostConfig.AutoRemove, Isolation)
 *   RUNROOT   hull-runtime's state root, where the runtime container lives
 *   ID        the container's full id (also its runtime id)
 *   ROOT/containers/ID/bundle/config.json   the OCI config hull generated
 *   ROOT/containers/ID/merged               the root file system, mounted
 *   fd 3      the monitor writes one line and closes it: "ok" once the
 *             container runs (or, with --wait-attach, once attach.sock
 *             listens: the container starts when the first client sends
 *             FRAME_START, so `hull run` loses no output), else the error.
 *
 * It creates and starts the container through libhull (the container's
 * process is its child; it is a child subreaper too), holds its stdio
 * (pipes, or the pty master with a terminal), appends every chunk of
 * output to ctr.log in docker's json-file format, serves attach.sock
 * (engine.h frames), and at the end deletes the runtime container,
 * records the exit status and time, and with AutoRemove unmounts the root
 * and removes the record. Its stdio is /dev/null: errors after the
 * readiness line go into the record's State.Error. */
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "../common/fs.h"
#include "../common/ids.h"
#include "../common/json.h"
#include "../common/log.h"
#include "../common/self_protect.h"
#include "../common/supervise.h"
#include "../engine/engine.h"
#include "../runtime/container.h"
#include "../vm/vmm.h"

#define MAX_CLIENTS 16
#define BUF 16384

static struct engine *en;
static char id[ENGINE_ID_LEN + 1];
static struct container *ctr;
static int logfd = -1;
static int clients[MAX_CLIENTS];
static int n_clients;
static char buf[BUF];

/* Change the record's State under its lock (reloading it: another
 * command may have written meanwhile). */
static void set_state(void (*fn)(json_t *st, void *arg), void *arg) {
  struct record *r;
  struct hull_error e;
  if (record_open_id(en, id, true, &r, &e) < 0)
    return; /* removed (rm -f): nothing to record */
  fn(record_state(r), arg);
  record_save(r, &e);
  record_free(r);
}

struct started {
  pid_t pid;
};
static void st_running(json_t *st, void *arg) {
  struct started *s = arg;
  char now[48];
  hull_now_rfc3339(now, sizeof now);
  json_object_set_new(st, "Status", json_string("running"));
  json_object_set_new(st, "Pid", json_integer(s->pid));
  json_object_set_new(st, "MonitorPid", json_integer(getpid()));
  json_object_set_new(st, "MonitorStart", json_integer((json_int_t)process_start_time(getpid())));
  json_object_set_new(st, "StartedAt", json_string(now));
  json_object_set_new(st, "FinishedAt", json_string(""));
  json_object_set_new(st, "ExitCode", json_integer(0));
  json_object_del(st, "Error");
}
struct ended {
  int code;
  const char *error;
};
static void st_exited(json_t *st, void *arg) {
  struct ended *x = arg;
  char now[48];
  hull_now_rfc3339(now, sizeof now);
  json_object_set_new(st, "Status", json_string("exited"));
  json_object_set_new(st, "Pid", json_integer(0));
  json_object_set_new(st, "ExitCode", json_integer(x->code));
  json_object_set_new(st, "FinishedAt", json_string(now));
  if (x->error)
    json_object_set_new(st, "Error", json_string(x->error));
}
static void st_monitor(json_t *st, void *arg) {
  (void)arg;
  json_object_set_new(st, "Status", json_string("starting"));
  json_object_set_new(st, "MonitorPid", json_integer(getpid()));
  json_object_set_new(st, "MonitorStart", json_integer((json_int_t)process_start_time(getpid())));
}

/* Record the container's NetworkSettings (a copy of ns) under the lock. */
static void set_netsettings(json_t *ns) {
  struct record *r;
  struct hull_error e;
  if (record_open_id(en, id, true, &r, &e) < 0)
    return;
  json_object_set_new(r->cfg, "NetworkSettings", json_deep_copy(ns));
  record_save(r, &e);
  record_free(r);
}

/* Take the container's networks down, from the record as it is now
 * (`network connect` may have added one). */
static void network_down(void) {
  struct record *r;
  struct hull_error e;
  if (record_open_id(en, id, true, &r, &e) < 0)
    return;
  if (engine_net_down(en, id, r->cfg, &e) < 0)
    log_warn("container %.12s: network: %s", id, e.msg);
  record_save(r, &e);
  record_free(r);
}

static void ready(int fd, const char *msg) {
  if (fd < 0)
    return;
  dprintf(fd, "%s\n", msg);
  close(fd);
}

static void drop_client(int i) {
  close(clients[i]);
  clients[i] = clients[--n_clients];
}

/* A line not ended yet waits (up to 16 KiB, as docker's copier) so each
 * log entry is one line; attached clients get the bytes at once. */
#define PARTIAL_MAX 16384
struct partial {
  char buf[PARTIAL_MAX];
  size_t len;
};
static struct partial partials[2]; /* stdout, stderr */

static void log_entry(const char *stream, const char *data, size_t n) {
  if (logfd < 0 || !n)
    return;
  char ts[48];
  hull_now_rfc3339(ts, sizeof ts);
  char *line = log_line(stream, data, n, ts);
  if (line)
    fs_write_all(logfd, line, strlen(line));
  free(line);
}

static void log_flush(const char *stream, struct partial *p) {
  log_entry(stream, p->buf, p->len);
  p->len = 0;
}

static void output(const char *stream, int type, const char *data, size_t n) {
  struct partial *p = &partials[type == FRAME_STDERR];
  for (size_t off = 0; off < n;) {
    const char *nl = memchr(data + off, '\n', n - off);
    size_t len = nl ? (size_t)(nl - (data + off)) + 1 : n - off;
    if (p->len + len > PARTIAL_MAX)
      log_flush(stream, p);
    if (nl && !p->len) {
      log_entry(stream, data + off, len); /* a whole line: no copy */
    } else if (len > PARTIAL_MAX) {
      log_entry(stream, data + off, len);
    } else {
      memcpy(p->buf + p->len, data + off, len);
      p->len += len;
      if (nl)
        log_flush(stream, p);
    }
    off += len;
  }
  for (int i = 0; i < n_clients; i++)
    if (frame_send(clients[i], type, data, n) < 0)
      drop_client(i--);
}

/* Read what fd has; returns false at its end. */
static bool pump(int fd, const char *stream, int type) {
  ssize_t n = read(fd, buf, sizeof buf);
  if (n > 0) {
    output(stream, type, buf, (size_t)n);
    return true;
  }
  return n < 0 && (errno == EAGAIN || errno == EINTR);
}

static int listen_attach(int dirfd) {
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (s < 0)
    return -errno;
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  /* the directory's path may be longer than sun_path: go through the fd */
  snprintf(a.sun_path, sizeof a.sun_path, "/proc/self/fd/%d/attach.sock", dirfd);
  unlinkat(dirfd, "attach.sock", 0);
  if (bind(s, (struct sockaddr *)&a, sizeof a) < 0 || listen(s, 8) < 0) {
    int r = -errno;
    close(s);
    return r;
  }
  return s;
}

static int null_stdio(void) {
  int n = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (n < 0)
    return -errno;
  dup2(n, 0);
  dup2(n, 1);
  dup2(n, 2);
  close(n);
  return 0;
}

/* Once the container runs, the monitor only relays bytes: the code it ran
 * to set the container up need not stay resident. Drop the clean,
 * read-only, file-backed pages of our mappings (code and constants,
 * never a page that was written: those have Private_Dirty > 0); the
 * event loop faults back the few it uses. */
static void drop_setup_pages(void) {
  FILE *f = fopen("/proc/self/smaps", "re");
  if (!f)
    return;
  char line[512];
  unsigned long start = 0, end = 0;
  bool candidate = false;
  while (fgets(line, sizeof line, f)) {
    unsigned long a, b, ino;
    char perms[8];
    if (sscanf(line, "%lx-%lx %7s %*s %*s %lu", &a, &b, perms, &ino) == 4) {
      start = a;
      end = b;
      candidate = ino != 0 && perms[1] == '-' && perms[3] == 'p';
      continue;
    }
    unsigned long kb;
    if (candidate && sscanf(line, "Private_Dirty: %lu kB", &kb) == 1 && kb == 0) {
      /* MADV_RANDOM: no fault-around, which would map 64 KiB around
       * every page the loop touches */
      madvise((void *)start, end - start, MADV_RANDOM);
      madvise((void *)start, end - start, MADV_DONTNEED);
    }
    else if (candidate && sscanf(line, "Private_Dirty: %lu kB", &kb) == 1)
      candidate = false;
  }
  fclose(f);
}

int main(int argc, char **argv) {
  /* the container's process starts as a fork of this program: never run
   * from a writable binary (common/self_protect.h) */
  struct hull_error pe;
  if (self_protect(argv, &pe) < 0) {
    fprintf(stderr, "hull-monitor: %s\n", pe.msg);
    return 1;
  }
  bool wait_attach = false;
  int ai = 1;
  if (ai < argc && !strcmp(argv[ai], "--wait-attach")) {
    wait_attach = true;
    ai++;
  }
  if (argc - ai != 3) {
    fprintf(stderr, "usage: hull-monitor [--wait-attach] ROOT RUNROOT ID\n");
    return 2;
  }
  int rfd = fcntl(3, F_GETFD) >= 0 ? 3 : -1;
  if (rfd >= 0)
    fcntl(rfd, F_SETFD, FD_CLOEXEC);
  log_init("hull-monitor", NULL, false, false);
  struct hull_error e;
  if (engine_open(argv[ai], argv[ai + 1], &en, &e) < 0) {
    ready(rfd, e.msg);
    return 1;
  }
  snprintf(id, sizeof id, "%s", argv[ai + 2]);
  struct record *rec;
  if (record_open_id(en, id, false, &rec, &e) < 0) {
    ready(rfd, e.msg);
    return 1;
  }
  json_t *conf = json_object_get(rec->cfg, "Config");
  bool tty = json_is_true(json_object_get(conf, "Tty"));
  bool open_stdin = json_is_true(json_object_get(conf, "OpenStdin"));
  bool auto_remove = json_is_true(json_object_get(json_object_get(rec->cfg, "HostConfig"), "AutoRemove"));
  char iso[16];
  snprintf(iso, sizeof iso, "%s", json_string_value(json_object_get(rec->cfg, "Isolation")) ?: "process");
  int dirfd = fcntl(rec->dirfd, F_DUPFD_CLOEXEC, 3);
  json_t *netcfg = json_incref(rec->cfg);
  record_free(rec);
  set_state(st_monitor, NULL);

  /* What a monitor that died left running goes first: it may still hold
   * the network (ports) and its runtime state would block create. */
  struct runtime_opts ro = {.root = en->runroot, .isolation = iso, .progname = "hull-monitor"};
  container_delete(&ro, id, true, &e);

  /* Its networks, before the container exists. The namespace's path goes
   * into the record first: whatever happens next, the next command
   * finds what to take down (engine_net_down). */
  const char *mode = json_string_value(json_object_get(json_object_get(netcfg, "HostConfig"), "NetworkMode"));
  int *port_fds = NULL;
  size_t n_port_fds = 0;
  bool networked = engine_net_is_cni(mode);
  if (networked) {
    char *nsp = engine_netns_path(en, id);
    json_t *ns = json_object_get(netcfg, "NetworkSettings");
    if (!json_is_object(ns))
      json_object_set_new(netcfg, "NetworkSettings", ns = json_object());
    json_object_set_new(ns, "SandboxKey", json_string(nsp ? nsp : ""));
    free(nsp);
    set_netsettings(ns);
    if (engine_net_up(en, id, netcfg, &port_fds, &n_port_fds, &e) < 0) {
      set_netsettings(json_object_get(netcfg, "NetworkSettings"));
      struct ended x = {.code = 125, .error = e.msg};
      set_state(st_exited, &x);
      ready(rfd, e.msg);
      return 1;
    }
    set_netsettings(json_object_get(netcfg, "NetworkSettings"));
    engine_net_peers(en, id, netcfg);
  }
  json_decref(netcfg);

  sigset_t fwd;
  supervise_signals(&fwd);
  sigprocmask(SIG_BLOCK, &fwd, NULL);
  prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  logfd = openat(dirfd, "ctr.log", O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);

  /* The container's stdio: pipes (fds 0-2 of the monitor while it is
   * created, inherited by the container's process), or a pty. */
  int out[2] = {-1, -1}, err[2] = {-1, -1}, in[2] = {-1, -1};
  if (!tty) {
    if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0 ||
        (open_stdin && pipe2(in, O_CLOEXEC) < 0)) {
      if (networked)
        network_down();
      struct ended x = {.code = 125, .error = "monitor: pipes: out of descriptors"};
      set_state(st_exited, &x);
      ready(rfd, x.error);
      return 1;
    }
    null_stdio();
    if (open_stdin)
      dup2(in[0], 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
  } else {
    null_stdio();
  }

  char bundle_abs[4096];
  {
    char dl[64];
    snprintf(dl, sizeof dl, "/proc/self/fd/%d", dirfd);
    ssize_t n = readlink(dl, bundle_abs, sizeof bundle_abs - 8);
    if (n < 0)
      n = 0;
    bundle_abs[n] = '\0';
    strcat(bundle_abs, "/bundle");
  }
  /* The VM driver warns on stderr when it falls back to emulation, and
   * our stderr is the container's now: decide here, once, quietly. */
  if (!strcmp(iso, "vm") && !getenv("HULL_VM_ACCEL")) {
    enum vm_accel accel;
    const char *why;
    if (vm_accel_detect(&accel, &why, &e) == 0 && accel == VM_ACCEL_TCG)
      setenv("HULL_VM_ACCEL", "tcg", 1);
  }
  struct create_opts co = {.foreground = true};
  if (container_create(&ro, id, bundle_abs, &co, &ctr, &e) < 0) {
    if (networked)
      network_down();
    struct ended x = {.code = 127, .error = e.msg};
    set_state(st_exited, &x);
    ready(rfd, e.msg);
    return 1;
  }
  flock(ctr->dirfd, LOCK_UN);
  /* the container has its copies; ours would hide the end of its output */
  null_stdio();
  if (in[0] >= 0)
    close(in[0]);
  close(out[1]);
  close(err[1]);
  int ptm = ctr->pty_master;
  int wfd = tty ? ptm : in[1]; /* where input goes */
  if (tty)
    fcntl(ptm, F_SETFL, fcntl(ptm, F_GETFL) | O_NONBLOCK);

  int lsock = listen_attach(dirfd);
  int sigfd = signalfd(-1, &fwd, SFD_CLOEXEC | SFD_NONBLOCK);
  bool started = false;
  if (!wait_attach || lsock < 0) {
    if (container_start_loaded(ctr, &e) < 0) {
      struct ended x = {.code = 127, .error = e.msg};
      container_delete_loaded(ctr, true, &e);
      if (networked)
        network_down();
      set_state(st_exited, &x);
      ready(rfd, x.error);
      return 1;
    }
    started = true;
    struct started s = {.pid = ctr->pid};
    set_state(st_running, &s);
    ready(rfd, "ok");
    rfd = -1;
  } else {
    ready(rfd, "ok");
    rfd = -1;
  }

  /* what set-up allocated goes back: the monitor lives as long as the
   * container and its memory counts for each one */
  bool dropped = false;
  bool out_open = !tty, err_open = !tty, pty_open = tty, exited = false;
  int code = 0;
  char exit_err[256] = "";
  int start_failed_client = -1;
  if (!tty) {
    fcntl(out[0], F_SETFL, O_NONBLOCK);
    fcntl(err[0], F_SETFL, O_NONBLOCK);
  }
  while (!exited || out_open || err_open || pty_open) {
    struct pollfd p[5 + MAX_CLIENTS];
    int np = 0;
    p[np++] = (struct pollfd){.fd = sigfd, .events = POLLIN};
    p[np++] = (struct pollfd){.fd = out_open ? out[0] : -1, .events = POLLIN};
    p[np++] = (struct pollfd){.fd = err_open ? err[0] : -1, .events = POLLIN};
    p[np++] = (struct pollfd){.fd = pty_open ? ptm : -1, .events = POLLIN};
    p[np++] = (struct pollfd){.fd = exited ? -1 : lsock, .events = POLLIN};
    for (int i = 0; i < n_clients; i++)
      p[np++] = (struct pollfd){.fd = clients[i], .events = POLLIN};
    /* after the exit, what is left in the pipes comes at once; a
     * grandchild that keeps them open does not hold the monitor */
    /* waiting for the attach of `hull run`: a hull that died before it
     * sends FRAME_START must not leave a held container for ever */
    int n = poll(p, (nfds_t)np,
                 exited ? 100 : !started ? 60000 : !dropped ? 1000 : -1);
    if (n < 0 && errno != EINTR)
      break;
    if (n == 0 && exited)
      break;
    if (n == 0 && started && !dropped) {
      /* a second of quiet: the container lives on; give back what
       * set-up used (not earlier: a short run would pay for it) */
      malloc_trim(0);
      drop_setup_pages();
      dropped = true;
      continue;
    }
    if (n == 0 && !started) {
      snprintf(exit_err, sizeof exit_err, "nobody attached within 60 s to start it");
      code = 125;
      break;
    }
    if (p[0].revents) {
      struct signalfd_siginfo si;
      while (read(sigfd, &si, sizeof si) == sizeof si) {
        if (si.ssi_signo == SIGCHLD) {
          int st;
          pid_t w;
          while ((w = waitpid(-1, &st, WNOHANG)) > 0)
            if (w == ctr->pid) { /* killed before its start too (rm -f) */
              exited = true;
              code = WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
            }
        } else if (si.ssi_signo != SIGWINCH && si.ssi_signo != SIGPIPE && started) {
          ctr->ops->kill(ctr, (int)si.ssi_signo, false, &e);
        } else if (!started && (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT ||
                                si.ssi_signo == SIGHUP)) {
          exited = true; /* never started: the delete below ends it */
          code = 128 + (int)si.ssi_signo;
          out_open = err_open = pty_open = false;
        }
      }
    }
    if (p[1].revents && !pump(out[0], "stdout", FRAME_STDOUT))
      out_open = false;
    if (p[2].revents && !pump(err[0], "stderr", FRAME_STDERR))
      err_open = false;
    if (p[3].revents && !pump(ptm, "stdout", FRAME_STDOUT))
      pty_open = false; /* EIO: the last holder of the slave is gone */
    if (p[4].revents & POLLIN) {
      int c = accept4(lsock, NULL, NULL, SOCK_CLOEXEC);
      if (c >= 0 && n_clients < MAX_CLIENTS)
        clients[n_clients++] = c;
      else if (c >= 0)
        close(c);
    }
    for (int i = 5; i < np; i++) {
      if (!p[i].revents)
        continue;
      int ci = -1;
      for (int k = 0; k < n_clients; k++)
        if (clients[k] == p[i].fd)
          ci = k;
      if (ci < 0)
        continue;
      int type;
      size_t len;
      if (frame_recv(clients[ci], &type, buf, sizeof buf, &len) < 0) {
        drop_client(ci);
        continue;
      }
      if (type == FRAME_STDIN && wfd >= 0) {
        if (len)
          fs_write_all(wfd, buf, len);
        else if (!tty) {
          close(in[1]);
          wfd = in[1] = -1;
        }
      } else if (type == FRAME_RESIZE && tty) {
        buf[len < sizeof buf ? len : sizeof buf - 1] = '\0';
        struct winsize ws = {0};
        if (sscanf(buf, "%hu %hu", &ws.ws_row, &ws.ws_col) == 2)
          ioctl(ptm, TIOCSWINSZ, &ws);
      } else if (type == FRAME_SIGNAL && started) {
        buf[len < sizeof buf ? len : sizeof buf - 1] = '\0';
        ctr->ops->kill(ctr, atoi(buf), false, &e);
      } else if (type == FRAME_START && !started) {
        if (container_start_loaded(ctr, &e) < 0) {
          /* told at the end, when nothing of it is left */
          start_failed_client = clients[ci];
          snprintf(exit_err, sizeof exit_err, "%s", e.msg);
          exited = true;
          code = 127;
          out_open = err_open = pty_open = false;
        } else {
          started = true;
          struct started s = {.pid = ctr->pid};
          set_state(st_running, &s);
        }
      }
    }
  }
  log_flush("stdout", &partials[0]);
  log_flush("stderr", &partials[1]);
  if (lsock >= 0)
    close(lsock);
  unlinkat(dirfd, "attach.sock", 0);
  /* the runtime container goes: its cgroups, state; the processes left
   * (a daemon the program started) are killed with it */
  flock(ctr->dirfd, LOCK_EX);
  if (container_delete_loaded(ctr, true, &e) < 0 && !*exit_err)
    snprintf(exit_err, sizeof exit_err, "%s", e.msg);
  /* The network goes back before the end is told: whoever waits for the
   * exit (run, wait, a script that checks the host next) finds nothing
   * of it left. A monitor killed meanwhile leaves it to the next command
   * (the record's SandboxKey, engine_net_reap). */
  if (networked)
    network_down();
  for (size_t i = 0; i < n_port_fds; i++)
    close(port_fds[i]);
  struct ended x = {.code = code, .error = *exit_err ? exit_err : NULL};
  set_state(st_exited, &x);
  if (auto_remove) {
    char path[4200];
    char dl[64];
    snprintf(dl, sizeof dl, "/proc/self/fd/%d", dirfd);
    ssize_t n = readlink(dl, path, sizeof path - 16);
    if (n > 0) {
      path[n] = '\0';
      strcat(path, "/merged");
      umount2(path, MNT_DETACH);
    }
    struct record *r;
    if (record_open_id(en, id, true, &r, &e) == 0) {
      record_remove(en, r, &e);
      record_free(r);
    }
  }
  char codes[16];
  int cl = snprintf(codes, sizeof codes, "%d", code);
  for (int i = 0; i < n_clients; i++) {
    if (clients[i] == start_failed_client)
      frame_send(clients[i], FRAME_ERROR, exit_err, strlen(exit_err));
    else
      frame_send(clients[i], FRAME_EXIT, codes, (size_t)cl);
  }
  return 0;
}
