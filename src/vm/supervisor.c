/* The VM supervisor (see supervisor.h): one poll loop over the guest's
 * channel, the container's stdio, the runtime's requests and signals. */
#include "supervisor.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "../common/cleanup.h"
#include "../common/ids.h"
#include "../common/json.h"
#include "../common/log.h"
#include "../common/supervise.h"
#include "../linux/sync.h"
#include "../linux/terminal.h"
#include "channel.h"
#include "vm_client.h"
#include "vm_net.h"

#define MAX_STREAMS 64
#define MAX_CLIENTS 64
/* Output held for a host descriptor before the guest is asked to wait. */
#define OUTPUT_HIGH (1u << 20)
/* Writes to inherited (blocking) descriptors: at most what a pipe takes
 * without blocking once poll said it is writable. */
#define WRITE_CHUNK 4096
#define WATCH_PING_MS 10000

struct outq {
  char *buf;
  size_t len, off;
};

struct stream {
  bool used;
  int in_fd, out_fd, err_fd; /* host side; a terminal is one fd for all */
  bool owns_fds;             /* exec streams: fds passed by the client */
  bool tty;
  int client;                /* index of the exec client, -1 */
  uint32_t unacked;          /* input sent, not yet written in the guest */
  bool in_done;              /* end of input seen */
  bool started, exited;
  struct outq out, err;
};

enum client_wait { C_IDLE, C_START, C_PS, C_EXEC };

struct client {
  int fd;
  enum client_wait wait;
  uint32_t stream;
};

enum phase { PH_BOOT, PH_CREATE, PH_CREATED, PH_RUNNING };

struct sv {
  struct vm_supervisor_args *a;
  enum phase phase;
  int port;
  int control;   /* the monitor's control socket */
  bool paused;
  struct vm_reader rd;
  struct vm_writer wr;
  pid_t vmm;
  int sigfd;
  int sync_fd;   /* -1 once created */
  bool go;       /* hooks done: the runtime said go */
  bool hello;
  long long deadline_ms;
  /* liveness of a created guest: a PING every ping_ms, and the container
   * ends when one goes the boot timeout without its PONG */
  long long next_ping_ms, ping_sent_ms;
  uint32_t ping_seq;
  int ping_ms, dead_ms;
  struct stream s[MAX_STREAMS];
  struct client cl[MAX_CLIENTS];
  uint32_t next_stream;
};

int vm_boot_timeout_ms(void) {
  const char *v = getenv("HULL_VM_BOOT_TIMEOUT");
  long s = v && *v ? strtol(v, NULL, 10) : 0;
  return (int)(s > 0 && s < 3600 ? s : 60) * 1000;
}

static void outq_add(struct outq *q, const void *data, size_t len) {
  if (q->off == q->len)
    q->off = q->len = 0;
  char *b = realloc(q->buf, q->len + len);
  if (!b)
    return; /* output lost rather than the container */
  memcpy(b + q->len, data, len);
  q->buf = b;
  q->len += len;
}

static size_t outq_pending(const struct outq *q) { return q->len - q->off; }

/* Write what the descriptor takes; false when it failed for good. */
static bool outq_write(struct outq *q, int fd, bool all) {
  while (q->off < q->len) {
    size_t n = q->len - q->off;
    if (!all && n > WRITE_CHUNK)
      n = WRITE_CHUNK;
    ssize_t w = write(fd, q->buf + q->off, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0 && errno == EAGAIN)
      return true;
    if (w <= 0) {
      q->off = q->len;
      return false;
    }
    q->off += (size_t)w;
    if (!all)
      break;
  }
  if (q->off == q->len) {
    free(q->buf);
    q->buf = NULL;
    q->off = q->len = 0;
  }
  return true;
}

/* A guest's text, made safe for one line of a host message. */
static void clean_text(char *dst, size_t cap, const uint8_t *src, size_t len) {
  size_t n = 0;
  for (size_t i = 0; i < len && n + 1 < cap; i++)
    dst[n++] = src[i] >= 0x20 && src[i] < 0x7f ? (char)src[i] : '?';
  dst[n] = 0;
}

/* The last meaningful line of a log file in the state directory. */
static void last_line(const char *dir, const char *file, char *out, size_t cap) {
  out[0] = 0;
  char path[PATH_MAX + 32];
  snprintf(path, sizeof path, "%s/%s", dir, file);
  _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return;
  char buf[8192];
  off_t size = lseek(fd, 0, SEEK_END);
  off_t from = size > (off_t)sizeof buf - 1 ? size - (off_t)sizeof buf + 1 : 0;
  ssize_t n = pread(fd, buf, sizeof buf - 1, from);
  if (n <= 0)
    return;
  buf[n] = 0;
  char *panic = strstr(buf, "Kernel panic");
  char *line = panic;
  if (!line) {
    /* the last non-empty line */
    char *end = buf + n;
    while (end > buf && (end[-1] == '\n' || end[-1] == '\r'))
      *--end = 0;
    line = strrchr(buf, '\n');
    line = line ? line + 1 : buf;
  }
  char *nl = strchr(line, '\n');
  if (nl)
    *nl = 0;
  if (*line)
    clean_text(out, cap, (const uint8_t *)line, strlen(line));
}

/* Why the VM went away: the monitor's own complaint, else the guest's
 * console (a panic says why). */
static void console_reason(struct sv *sv, char *out, size_t cap) {
  char vmm[400];
  last_line(sv->a->state_dir, VM_MONITOR_LOG, vmm, sizeof vmm);
  if (*vmm) {
    snprintf(out, cap, "monitor: %s", vmm);
    return;
  }
  char con[400];
  last_line(sv->a->state_dir, VM_CONSOLE_LOG, con, sizeof con);
  if (*con)
    snprintf(out, cap, "guest console: %s", con);
  else
    out[0] = 0;
}

static void reply(int fd, json_t *msg) {
  if (fd >= 0)
    vm_msg_send(fd, msg, NULL, 0);
  json_decref(msg);
}

static void reply_error(int fd, const char *text) {
  reply(fd, json_pack("{s:s}", "error", text));
}

static void client_close(struct sv *sv, int i) {
  struct client *c = &sv->cl[i];
  if (c->fd < 0)
    return;
  close(c->fd);
  c->fd = -1;
  if (c->wait == C_EXEC || c->stream) {
    struct stream *st = &sv->s[c->stream];
    if (st->used && st->client == i) {
      st->client = -1;
      /* Nobody waits for the process any more: as if its runtime died. */
      if (!st->exited) {
        uint32_t sig[2] = {SIGKILL, 0};
        vm_writer_put(&sv->wr, VM_SIGNAL, c->stream, sig, sizeof sig);
      }
    }
  }
  c->wait = C_IDLE;
  c->stream = 0;
}

static void stream_close(struct sv *sv, uint32_t id) {
  struct stream *st = &sv->s[id];
  if (!st->used)
    return;
  if (st->owns_fds) {
    if (st->in_fd >= 0)
      close(st->in_fd);
    if (st->out_fd >= 0 && st->out_fd != st->in_fd)
      close(st->out_fd);
    if (st->err_fd >= 0 && st->err_fd != st->out_fd && st->err_fd != st->in_fd)
      close(st->err_fd);
  }
  free(st->out.buf);
  free(st->err.buf);
  memset(st, 0, sizeof *st);
  st->in_fd = st->out_fd = st->err_fd = -1;
  st->client = -1;
}

/* The taps went with the monitor; the ingress qdiscs of the namespace's
 * interfaces go now, so the engine finds the namespace as it made it.
 * The supervisor is still in it. */
static void teardown_network(struct vm_supervisor_args *a) {
  char path[PATH_MAX + 32];
  snprintf(path, sizeof path, "%s/%s", a->state_dir, VM_NET_FILE);
  json_error_t je;
  json_t *rec = json_load_file(path, 0, &je);
  if (!rec)
    return;
  struct hull_error e;
  if (vm_net_teardown(rec, &e) < 0)
    log_warn("container %s: VM network: %s", a->c->id, e.msg);
  else
    unlink(path);
  json_decref(rec);
}

/* The container is over: report, take the VM down, exit with status. */
__attribute__((noreturn)) static void finish(struct sv *sv, int status,
                                              const char *reason) {
  struct container *c = sv->a->c;
  if (reason) {
    if (sv->sync_fd < 0)
      log_error("container %s: %s", c->id, reason);
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/%s", sv->a->state_dir, VM_ERROR_FILE);
    _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd >= 0)
      dprintf(fd, "%s\n", reason);
    if (sv->sync_fd >= 0) {
      struct hull_error e;
      hull_err(&e, EIO, "%s", reason);
      sync_send_error(sv->sync_fd, &e);
    } else if (log_fd() != STDERR_FILENO) {
      dprintf(STDERR_FILENO, "hull: container %s: %s\n", c->id, reason);
    }
  }
  /* The container's output first, then the waiters. */
  struct stream *m = &sv->s[0];
  if (m->used) {
    outq_write(&m->out, m->out_fd, true);
    outq_write(&m->err, m->err_fd, true);
  }
  for (int i = 0; i < MAX_CLIENTS; i++) {
    struct client *cl = &sv->cl[i];
    if (cl->fd < 0)
      continue;
    if (cl->wait == C_EXEC || cl->stream)
      reply(cl->fd, json_pack("{s:i}", "exit", 128 + SIGKILL));
    else if (cl->wait != C_IDLE)
      reply_error(cl->fd, reason ? reason : "the container exited");
    close(cl->fd);
  }
  if (sv->vmm > 0) {
    kill(sv->vmm, SIGKILL);
    waitpid(sv->vmm, NULL, 0);
  }
  teardown_network(sv->a);
  _exit(status);
}

/* The monitor ended (or closed the channel) under a live container. */
__attribute__((noreturn)) static void vm_gone(struct sv *sv) {
  char why[600], reason[800];
  console_reason(sv, why, sizeof why);
  snprintf(reason, sizeof reason,
           "the VM stopped before the container's process exited%s%s%s",
           *why ? " (" : "", why, *why ? ")" : "");
  finish(sv, 255, reason);
}

static void send_frame(struct sv *sv, uint16_t type, uint32_t stream,
                       const void *data, size_t len) {
  if (vm_writer_put(&sv->wr, type, stream, data, len) < 0)
    finish(sv, 255, "out of memory for the guest channel");
}

/* Frames with JSON are written so that uint64 values (RLIM_INFINITY) reach
 * hull-init's loader as they left the bundle (see hjson_dumps_wrapped). */
static void send_create(struct sv *sv) {
  _cleanup_free_ char *text = hjson_dumps_wrapped(sv->a->create_msg);
  if (!text)
    finish(sv, 255, "out of memory");
  send_frame(sv, VM_CREATE, 0, text, strlen(text));
  sv->phase = PH_CREATE;
}

/* ---- frames from the guest */

static struct stream *live_stream(struct sv *sv, uint32_t id) {
  return id < MAX_STREAMS && sv->s[id].used ? &sv->s[id] : NULL;
}

static void on_created(struct sv *sv) {
  struct stream *m = &sv->s[0];
  m->used = true;
  m->client = -1;
  if (sv->a->c->spec.process.terminal) {
    /* the terminal was made before boot (see make_terminal) */
  } else {
    m->in_fd = STDIN_FILENO;
    m->out_fd = STDOUT_FILENO;
    m->err_fd = STDERR_FILENO;
  }
  sync_send(sv->sync_fd, SYNC_READY, 0, NULL, -1);
  close(sv->sync_fd);
  sv->sync_fd = -1;
  sv->phase = PH_CREATED;
  sv->deadline_ms = 0;
  sv->dead_ms = vm_boot_timeout_ms();
  sv->ping_ms = sv->dead_ms / 2 < WATCH_PING_MS ? sv->dead_ms / 2 : WATCH_PING_MS;
  sv->next_ping_ms = hull_now_ms() + sv->ping_ms;
}

static void handle_frame(struct sv *sv, const struct vm_frame *f) {
  struct hull_error e;
  if (vm_frame_check(f, true, &e) < 0) {
    char reason[1200];
    snprintf(reason, sizeof reason, "the guest sent a malformed frame: %s", e.msg);
    finish(sv, 255, reason);
  }
  char text[1100];
  struct stream *st = live_stream(sv, f->stream);
  switch (f->type) {
  case VM_HELLO:
    if (sv->phase != PH_BOOT || sv->hello)
      finish(sv, 255, "the guest sent HELLO twice");
    if (vm_frame_u32(f, 0) != VM_PROTOCOL_VERSION) {
      snprintf(text, sizeof text, "hull-init speaks protocol %u, the host %u",
               vm_frame_u32(f, 0), VM_PROTOCOL_VERSION);
      finish(sv, 255, text);
    }
    sv->hello = true;
    log_debug("container %s: guest up", sv->a->c->id);
    if (sv->go)
      send_create(sv);
    return;
  case VM_READY:
    if (sv->phase != PH_CREATE)
      finish(sv, 255, "the guest sent READY out of turn");
    log_debug("container %s: created in the guest", sv->a->c->id);
    on_created(sv);
    return;
  case VM_ERROR:
    clean_text(text, sizeof text, f->data, f->len);
    if (f->stream == 0 && sv->phase == PH_CREATE) {
      char reason[1200];
      snprintf(reason, sizeof reason, "in the VM: %s", text);
      finish(sv, 1, reason);
    }
    for (int i = 0; i < MAX_CLIENTS; i++) {
      struct client *cl = &sv->cl[i];
      if (cl->fd >= 0 && cl->stream == f->stream &&
          (cl->wait == C_START || cl->wait == C_EXEC)) {
        reply_error(cl->fd, text);
        bool was_start = cl->wait == C_START;
        cl->wait = C_IDLE;
        if (was_start) {
          /* the program could not be run: the container is over */
          close(cl->fd);
          cl->fd = -1;
          finish(sv, 255, NULL);
        }
        if (f->stream)
          client_close(sv, i);
        break;
      }
    }
    if (f->stream && st && !st->started)
      stream_close(sv, f->stream);
    return;
  case VM_STARTED:
    if (!st || st->started)
      return; /* an exec given up by its client meanwhile */
    st->started = true;
    if (f->stream == 0)
      sv->phase = PH_RUNNING;
    for (int i = 0; i < MAX_CLIENTS; i++) {
      struct client *cl = &sv->cl[i];
      if (cl->fd >= 0 && cl->stream == f->stream &&
          (cl->wait == C_START || cl->wait == C_EXEC)) {
        reply(cl->fd, json_pack("{s:b,s:i}", "ok", 1, "pid", (int)vm_frame_u32(f, 0)));
        if (cl->wait == C_START) {
          close(cl->fd);
          cl->fd = -1;
        }
        cl->wait = C_IDLE;
        break;
      }
    }
    return;
  case VM_STDOUT:
  case VM_STDERR:
    if (!st)
      return;
    if (f->type == VM_STDOUT || st->tty)
      outq_add(&st->out, f->data, f->len);
    else
      outq_add(&st->err, f->data, f->len);
    return;
  case VM_STDIN_ACK:
    if (!st)
      return;
    if (vm_frame_u32(f, 0) > st->unacked)
      finish(sv, 255, "the guest acknowledged input it was never sent");
    st->unacked -= vm_frame_u32(f, 0);
    return;
  case VM_EXIT: {
    int status = (int)vm_frame_u32(f, 0);
    if (f->stream == 0) {
      /* a created container can die before start (a signal) */
      if (sv->phase < PH_CREATED)
        finish(sv, 255, "the container's process exited while it was created");
      log_debug("container %s: exited in the guest with %d", sv->a->c->id, status);
      finish(sv, status, NULL);
    }
    if (!st)
      return;
    outq_write(&st->out, st->out_fd, true);
    outq_write(&st->err, st->err_fd, true);
    st->exited = true;
    if (st->client >= 0) {
      struct client *cl = &sv->cl[st->client];
      reply(cl->fd, json_pack("{s:i}", "exit", status));
      cl->stream = 0;
      client_close(sv, st->client);
    }
    stream_close(sv, f->stream);
    return;
  }
  case VM_PONG:
    if (vm_frame_u32(f, 0) == sv->ping_seq)
      sv->ping_sent_ms = 0;
    return;
  case VM_PS_REPLY:
    for (int i = 0; i < MAX_CLIENTS; i++) {
      struct client *cl = &sv->cl[i];
      if (cl->fd >= 0 && cl->wait == C_PS) {
        json_error_t je;
        json_t *j = hjson_loadb((const char *)f->data, f->len, 0, NULL, &je);
        if (!json_is_array(json_object_get(j, "processes"))) {
          json_decref(j);
          reply_error(cl->fd, "the guest sent an invalid process list");
        } else {
          reply(cl->fd, j);
        }
        client_close(sv, i);
        break;
      }
    }
    return;
  }
}

/* ---- requests from the runtime's commands */

static void on_request(struct sv *sv, int i) {
  struct client *cl = &sv->cl[i];
  json_t *msg = NULL;
  int fds[VM_MSG_FDS];
  size_t nfds = 0;
  int r = vm_msg_recv(cl->fd, &msg, fds, &nfds);
  if (r < 0 || !msg) {
    client_close(sv, i);
    return;
  }
  const char *op = json_string_value(json_object_get(msg, "op"));
  if (!op)
    op = "";
  if (!strcmp(op, "start")) {
    if (sv->phase != PH_CREATED || sv->s[0].started)
      reply_error(cl->fd, "the container is not waiting for start");
    else {
      send_frame(sv, VM_START, 0, NULL, 0);
      cl->wait = C_START;
      cl->stream = 0;
    }
  } else if (!strcmp(op, "kill")) {
    json_int_t sig = json_integer_value(json_object_get(msg, "signal"));
    if (sig > 0 && sig <= 64) {
      uint32_t p[2] = {(uint32_t)sig, json_is_true(json_object_get(msg, "all"))};
      send_frame(sv, VM_SIGNAL, 0, p, sizeof p);
    }
    client_close(sv, i);
  } else if (!strcmp(op, "pause") || !strcmp(op, "resume")) {
    /* The monitor stops the vCPUs and the guest's clocks: the guest does
     * not see time jump, as it would if the host froze the monitor. */
    bool pause = !strcmp(op, "pause");
    struct hull_error pe;
    if (pause == sv->paused)
      reply(cl->fd, json_pack("{s:b}", "ok", 1));
    else if (sv->a->backend->pause(sv->control, pause, &pe) < 0)
      reply_error(cl->fd, pe.msg);
    else {
      sv->paused = pause;
      sv->ping_sent_ms = 0; /* a paused guest owes no answer */
      sv->next_ping_ms = hull_now_ms() + sv->ping_ms;
      reply(cl->fd, json_pack("{s:b}", "ok", 1));
    }
    client_close(sv, i);
  } else if (!strcmp(op, "status")) {
    reply(cl->fd, json_pack("{s:b}", "paused", sv->paused));
    client_close(sv, i);
  } else if (!strcmp(op, "ps")) {
    send_frame(sv, VM_PS, 0, NULL, 0);
    cl->wait = C_PS;
  } else if (!strcmp(op, "exec") && !cl->stream) {
    json_t *proc = json_object_get(msg, "process");
    bool tty = json_is_true(json_object_get(proc, "terminal"));
    uint32_t id = 0;
    for (uint32_t k = 1; k < MAX_STREAMS && !id; k++) {
      uint32_t cand = 1 + (sv->next_stream + k - 1) % (MAX_STREAMS - 1);
      if (!sv->s[cand].used)
        id = cand;
    }
    if (!json_is_object(proc) || nfds != (tty ? 1u : 3u) || !id) {
      reply_error(cl->fd, !id ? "too many processes running through exec"
                              : "exec: invalid request");
      for (size_t k = 0; k < nfds; k++)
        close(fds[k]);
    } else {
      sv->next_stream = id;
      struct stream *st = &sv->s[id];
      st->used = true;
      st->owns_fds = true;
      st->tty = tty;
      st->client = i;
      st->in_fd = fds[0];
      st->out_fd = tty ? fds[0] : fds[1];
      st->err_fd = tty ? fds[0] : fds[2];
      nfds = 0;
      json_t *payload = json_pack("{s:O}", "process", proc);
      _cleanup_free_ char *text = hjson_dumps_wrapped(payload);
      json_decref(payload);
      if (text)
        send_frame(sv, VM_EXEC, id, text, strlen(text));
      cl->wait = C_EXEC;
      cl->stream = id;
    }
  } else if ((!strcmp(op, "signal") || !strcmp(op, "resize")) && cl->stream) {
    if (!strcmp(op, "signal")) {
      json_int_t sig = json_integer_value(json_object_get(msg, "signal"));
      if (sig > 0 && sig <= 64) {
        uint32_t p[2] = {(uint32_t)sig, 0};
        send_frame(sv, VM_SIGNAL, cl->stream, p, sizeof p);
      }
    } else {
      json_int_t rows = json_integer_value(json_object_get(msg, "rows"));
      json_int_t cols = json_integer_value(json_object_get(msg, "cols"));
      uint8_t p[4] = {(uint8_t)rows, (uint8_t)(rows >> 8), (uint8_t)cols,
                      (uint8_t)(cols >> 8)};
      send_frame(sv, VM_RESIZE, cl->stream, p, sizeof p);
    }
  } else {
    reply_error(cl->fd, "unknown request");
  }
  for (size_t k = 0; k < nfds; k++)
    close(fds[k]);
  json_decref(msg);
}

static void accept_client(struct sv *sv) {
  int fd = accept4(sv->a->listen_fd, NULL, NULL, SOCK_CLOEXEC);
  if (fd < 0)
    return;
  for (int i = 0; i < MAX_CLIENTS; i++)
    if (sv->cl[i].fd < 0) {
      sv->cl[i] = (struct client){.fd = fd, .wait = C_IDLE};
      return;
    }
  reply_error(fd, "too many requests at once");
  close(fd);
}

/* ---- the container's input */

static void read_input(struct sv *sv, uint32_t id) {
  struct stream *st = &sv->s[id];
  size_t room = VM_STDIN_WINDOW - st->unacked;
  if (room > VM_DATA_MAX)
    room = VM_DATA_MAX;
  char buf[VM_DATA_MAX];
  ssize_t n = read(st->in_fd, buf, room);
  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return;
  if (n <= 0) {
    st->in_done = true;
    if (!st->tty)
      send_frame(sv, VM_STDIN, id, NULL, 0);
    return;
  }
  st->unacked += (uint32_t)n;
  send_frame(sv, VM_STDIN, id, buf, (size_t)n);
}

static void send_winsize(struct sv *sv, uint32_t id, int fd) {
  struct winsize ws;
  if (ioctl(fd, TIOCGWINSZ, &ws) < 0)
    return;
  uint8_t p[4] = {(uint8_t)ws.ws_row, (uint8_t)(ws.ws_row >> 8), (uint8_t)ws.ws_col,
                  (uint8_t)(ws.ws_col >> 8)};
  send_frame(sv, VM_RESIZE, id, p, sizeof p);
}

static void on_signal(struct sv *sv) {
  struct signalfd_siginfo si;
  while (read(sv->sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
    int sig = (int)si.ssi_signo;
    if (sig == SIGCHLD) {
      int status;
      pid_t p;
      while ((p = waitpid(-1, &status, WNOHANG)) > 0)
        if (p == sv->vmm) {
          sv->vmm = 0;
          vm_gone(sv);
        }
      continue;
    }
    if (sig == SIGWINCH) {
      if (sv->s[0].used && sv->s[0].tty)
        send_winsize(sv, 0, sv->s[0].in_fd);
      continue;
    }
    if (sv->phase < PH_CREATED) {
      char reason[64];
      snprintf(reason, sizeof reason, "stopped by signal %d while booting", sig);
      finish(sv, 128 + sig, reason);
    }
    uint32_t p[2] = {(uint32_t)sig, 0};
    send_frame(sv, VM_SIGNAL, 0, p, sizeof p);
  }
}

/* ---- set-up inside the supervisor's own namespaces */

static int stage_binds(struct vm_supervisor_args *a, struct hull_error *e) {
  if (!a->n_binds)
    return 0;
  if (mount("hull-binds", a->binds_dir, "tmpfs", MS_NOSUID | MS_NODEV,
            "mode=0755,size=64k") < 0)
    return hull_errno(e, errno, "VM shares: tmpfs on %s", a->binds_dir);
  for (size_t i = 0; i < a->n_binds; i++) {
    struct vm_bind *b = &a->binds[i];
    struct stat st;
    if (stat(b->source, &st) < 0)
      return hull_errno(e, errno, "mount source %s", b->source);
    char target[PATH_MAX + 32];
    snprintf(target, sizeof target, "%s/%s", a->binds_dir, b->name);
    int r = S_ISDIR(st.st_mode) ? mkdir(target, 0755)
                                : mknod(target, S_IFREG | 0644, 0);
    if (r < 0)
      return hull_errno(e, errno, "VM shares: %s", target);
    if (mount(b->source, target, NULL, MS_BIND | MS_REC, NULL) < 0)
      return hull_errno(e, errno, "mount source %s", b->source);
    /* The guest's kernel is not trusted to honour "ro": the host's is. */
    if (b->readonly &&
        mount(NULL, target, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0)
      return hull_errno(e, errno, "mount source %s: read-only", b->source);
  }
  return 0;
}

static int join_namespaces(struct vm_supervisor_args *a, struct hull_error *e) {
  static const int types[] = {NS_NET, NS_IPC, NS_UTS};
  for (size_t i = 0; i < sizeof types / sizeof *types; i++) {
    int t = types[i];
    if (a->ns->join_fds[t] >= 0 && setns(a->ns->join_fds[t], 0) < 0)
      return hull_errno(e, errno, "join %s namespace %s", ns_type_name(t),
                        a->c->spec.linux.ns[t].path);
  }
  return 0;
}

/* The container's terminal on the host: a pty whose master goes to the
 * engine (or to `run`), whose slave the supervisor relays to the guest's
 * terminal. The supervisor makes it its controlling terminal to hear
 * SIGWINCH when the engine resizes it. */
static int make_terminal(struct sv *sv, struct hull_error *e) {
  struct vm_supervisor_args *a = sv->a;
  int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0)
    return hull_errno(e, errno, "terminal: /dev/ptmx");
  char name[64];
  if (ptsname_r(master, name, sizeof name) != 0) {
    close(master);
    return hull_errno(e, errno, "terminal: ptsname");
  }
  int slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0) {
    close(master);
    return hull_errno(e, errno, "terminal: %s", name);
  }
  struct termios t;
  if (tcgetattr(slave, &t) == 0) {
    cfmakeraw(&t);
    tcsetattr(slave, TCSANOW, &t);
  }
  struct spec_process *p = &a->c->spec.process;
  if (p->console_height || p->console_width) {
    struct winsize ws = {.ws_row = (unsigned short)p->console_height,
                         .ws_col = (unsigned short)p->console_width};
    ioctl(master, TIOCSWINSZ, &ws);
  }
  if (setsid() >= 0)
    ioctl(slave, TIOCSCTTY, 0);
  int r = 0;
  if (a->console_fd >= 0)
    r = send_fd(a->console_fd, master, name) < 0 ? -errno : 0;
  else
    r = sync_send(sv->sync_fd, SYNC_PTY, 0, NULL, master);
  close(master);
  if (r < 0) {
    close(slave);
    return hull_errno(e, -r, "terminal: hand over");
  }
  struct stream *m = &sv->s[0];
  m->tty = true;
  m->in_fd = m->out_fd = m->err_fd = slave;
  /* The runtime's stdio is not the container's: holding it would keep an
   * engine waiting for `create` to close its output (containerd's shim). */
  int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null >= 0) {
    dup2(null, STDIN_FILENO);
    dup2(null, STDOUT_FILENO);
    dup2(null, STDERR_FILENO);
    close(null);
  }
  return 0;
}

static void fail_setup(struct sv *sv, struct hull_error *e) {
  sync_send_error(sv->sync_fd, e);
  if (sv->vmm > 0)
    kill(sv->vmm, SIGKILL);
  _exit(1);
}

/* ---- the loop */

static bool output_blocked(struct sv *sv) {
  for (int i = 0; i < MAX_STREAMS; i++)
    if (sv->s[i].used &&
        outq_pending(&sv->s[i].out) + outq_pending(&sv->s[i].err) > OUTPUT_HIGH)
      return true;
  return false;
}

enum { K_SIG, K_PORT, K_SYNC, K_LISTEN, K_CLIENT, K_IN, K_OUT, K_ERR };

void vm_supervise(struct vm_supervisor_args *a) {
  static struct sv sv_storage;
  struct sv *sv = &sv_storage;
  hjson_leave_arena(); /* it lives as long as the container */
  sv->a = a;
  sv->sync_fd = a->sync_fd;
  sv->phase = PH_BOOT;
  for (int i = 0; i < MAX_STREAMS; i++) {
    sv->s[i].in_fd = sv->s[i].out_fd = sv->s[i].err_fd = -1;
    sv->s[i].client = -1;
  }
  for (int i = 0; i < MAX_CLIENTS; i++)
    sv->cl[i].fd = -1;
  struct hull_error e = {0};

  /* Signals: forwarded to the guest's process, SIGCHLD for the monitor. */
  sigset_t set;
  supervise_signals(&set);
  sigaddset(&set, SIGCHLD);
  sigaddset(&set, SIGWINCH);
  sigprocmask(SIG_BLOCK, &set, NULL);
  signal(SIGPIPE, SIG_IGN);
  sv->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
  prctl(PR_SET_PDEATHSIG, 0);

  if (a->c->dirfd >= 0) {
    close(a->c->dirfd); /* holds the container's lock */
    a->c->dirfd = -1;
  }
  if (sv->sigfd < 0) {
    hull_errno(&e, errno, "signalfd");
    fail_setup(sv, &e);
  }
  if (cgroup_enter_self_v1(a->cgroups, &e) < 0 || join_namespaces(a, &e) < 0)
    fail_setup(sv, &e);
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
    hull_errno(&e, errno, "private mount namespace");
    fail_setup(sv, &e);
  }
  if (stage_binds(a, &e) < 0)
    fail_setup(sv, &e);
  if (a->c->spec.process.terminal && make_terminal(sv, &e) < 0)
    fail_setup(sv, &e);
  if (a->console_fd >= 0)
    close(a->console_fd);

  int pair[2], ctl[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0 ||
      socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ctl) < 0) {
    hull_errno(&e, errno, "guest channel");
    fail_setup(sv, &e);
  }
  a->vmm.port_fd = pair[1];
  a->vmm.control_fd = ctl[1];
  if (a->backend->launch(&a->vmm, &sv->vmm, &e) < 0)
    fail_setup(sv, &e);
  close(pair[1]);
  close(ctl[1]);
  /* the taps are the monitor's: they go away with it */
  for (size_t i = 0; i < a->vmm.n_nics; i++)
    close(a->vmm.nics[i].tap_fd);
  sv->control = ctl[0];
  sv->port = pair[0];
  fcntl(sv->port, F_SETFL, O_NONBLOCK);
  int boot_ms = vm_boot_timeout_ms();
  sv->deadline_ms = hull_now_ms() + boot_ms;
  log_debug("container %s: VM monitor %d started", a->c->id, sv->vmm);

  for (;;) {
    struct pollfd pfd[4 + MAX_CLIENTS + 3 * MAX_STREAMS];
    int kind[4 + MAX_CLIENTS + 3 * MAX_STREAMS], idx[4 + MAX_CLIENTS + 3 * MAX_STREAMS];
    int n = 0;
#define WATCH(fd_, ev_, k_, i_)                                                \
  do {                                                                         \
    pfd[n] = (struct pollfd){.fd = (fd_), .events = (ev_)};                    \
    kind[n] = (k_);                                                            \
    idx[n] = (i_);                                                             \
    n++;                                                                       \
  } while (0)
    WATCH(sv->sigfd, POLLIN, K_SIG, 0);
    short port_ev = (output_blocked(sv) ? 0 : POLLIN) |
                    (vm_writer_pending(&sv->wr) ? POLLOUT : 0);
    WATCH(sv->port, port_ev, K_PORT, 0);
    if (sv->sync_fd >= 0 && !sv->go)
      WATCH(sv->sync_fd, POLLIN, K_SYNC, 0);
    if (sv->phase >= PH_CREATED) {
      WATCH(a->listen_fd, POLLIN, K_LISTEN, 0);
      for (int i = 0; i < MAX_CLIENTS; i++)
        if (sv->cl[i].fd >= 0)
          WATCH(sv->cl[i].fd, POLLIN, K_CLIENT, i);
      for (int i = 0; i < MAX_STREAMS; i++) {
        struct stream *st = &sv->s[i];
        if (!st->used)
          continue;
        if (st->in_fd >= 0 && !st->in_done && st->unacked < VM_STDIN_WINDOW)
          WATCH(st->in_fd, POLLIN, K_IN, i);
        if (outq_pending(&st->out))
          WATCH(st->out_fd, POLLOUT, K_OUT, i);
        if (outq_pending(&st->err))
          WATCH(st->err_fd, POLLOUT, K_ERR, i);
      }
    }
#undef WATCH
    int timeout = -1;
    if (sv->deadline_ms) {
      long long left = sv->deadline_ms - hull_now_ms();
      if (left <= 0) {
        char why[600], reason[900];
        console_reason(sv, why, sizeof why);
        snprintf(reason, sizeof reason,
                 "the VM did not %s within %d s (HULL_VM_BOOT_TIMEOUT)%s%s",
                 sv->hello ? "create the container" : "boot", boot_ms / 1000,
                 *why ? "; " : "", why);
        finish(sv, 255, reason);
      }
      timeout = (int)(left > 1000 ? 1000 : left);
    }
    if (sv->next_ping_ms && !sv->paused) {
      long long now = hull_now_ms();
      if (sv->ping_sent_ms && now - sv->ping_sent_ms > sv->dead_ms) {
        char reason[160];
        snprintf(reason, sizeof reason,
                 "the guest stopped answering (no reply to a liveness check for %d s, "
                 "HULL_VM_BOOT_TIMEOUT)", sv->dead_ms / 1000);
        finish(sv, 255, reason);
      }
      if (!sv->ping_sent_ms && now >= sv->next_ping_ms) {
        sv->ping_seq++;
        if (vm_writer_put_u32(&sv->wr, VM_PING, 0, sv->ping_seq) < 0)
          finish(sv, 255, "out of memory for the guest channel");
        sv->ping_sent_ms = now;
        sv->next_ping_ms = now + sv->ping_ms;
      }
      long long wake = sv->ping_sent_ms ? sv->ping_sent_ms + sv->dead_ms + 1
                                        : sv->next_ping_ms;
      if (wake - now < timeout || timeout < 0)
        timeout = (int)(wake > now ? wake - now : 0);
    }
    int r = poll(pfd, (nfds_t)n, timeout);
    if (r < 0 && errno != EINTR)
      finish(sv, 255, "poll failed");
    for (int k = 0; r > 0 && k < n; k++) {
      short rev = pfd[k].revents;
      if (!rev)
        continue;
      int i = idx[k];
      switch (kind[k]) {
      case K_SIG:
        on_signal(sv);
        break;
      case K_PORT:
        if (rev & POLLOUT && vm_writer_flush(&sv->wr, sv->port) < 0)
          finish(sv, 255, "the guest channel failed");
        if (rev & (POLLIN | POLLHUP | POLLERR)) {
          int got = vm_reader_fill(&sv->rd, sv->port);
          if (got == 0 || (got < 0 && got != -EAGAIN)) {
            /* the monitor is going away: its exit status says more */
            if (sv->vmm > 0 && waitpid(sv->vmm, NULL, 0) == sv->vmm)
              sv->vmm = 0;
            vm_gone(sv);
          }
          struct vm_frame f;
          int fr;
          while ((fr = vm_reader_next(&sv->rd, &f, &e)) > 0)
            handle_frame(sv, &f);
          if (fr < 0) {
            char reason[1200];
            snprintf(reason, sizeof reason, "the guest sent a malformed frame: %s",
                     e.msg);
            finish(sv, 255, reason);
          }
        }
        break;
      case K_SYNC: {
        struct sync_msg m;
        int sr = sync_recv(sv->sync_fd, &m, NULL);
        if (sr < 0 || m.type != SYNC_GO)
          finish(sv, 255, NULL); /* the runtime gave up (hooks failed) */
        sv->go = true;
        if (sv->hello)
          send_create(sv);
        break;
      }
      case K_LISTEN:
        accept_client(sv);
        break;
      case K_CLIENT:
        on_request(sv, i);
        break;
      case K_IN:
        read_input(sv, (uint32_t)i);
        break;
      case K_OUT:
        if (!outq_write(&sv->s[i].out, sv->s[i].out_fd, false))
          sv->s[i].out.off = sv->s[i].out.len;
        break;
      case K_ERR:
        if (!outq_write(&sv->s[i].err, sv->s[i].err_fd, false))
          sv->s[i].err.off = sv->s[i].err.len;
        break;
      }
    }
    if (vm_writer_pending(&sv->wr) && vm_writer_flush(&sv->wr, sv->port) < 0)
      finish(sv, 255, "the guest channel failed");
  }
}
