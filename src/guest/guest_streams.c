/* Per-process stdio relay: a process's input from STDIN frames (queued,
 * written without blocking, acknowledged as the program takes it), its
 * output to STDOUT/STDERR frames, and its exit status once it is reaped. */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/cleanup.h"
#include "guest.h"

/* Read by every output relay; the frame copies it at once. */
static uint8_t outbuf[VM_DATA_MAX];

struct stream *stream_new(struct guest *g, uint32_t id) {
  struct stream *s = calloc(1, sizeof *s);
  if (!s)
    return NULL;
  s->id = id;
  s->in_fd = s->out_fd = s->err_fd = -1;
  s->next = g->streams;
  g->streams = s;
  return s;
}

struct stream *stream_find(struct guest *g, uint32_t id) {
  for (struct stream *s = g->streams; s; s = s->next)
    if (s->id == id)
      return s;
  return NULL;
}

struct stream *stream_by_pid(struct guest *g, pid_t pid) {
  for (struct stream *s = g->streams; s; s = s->next)
    if (s->pid == pid)
      return s;
  return NULL;
}

static void close_fd(int *fd) {
  if (*fd >= 0)
    close(*fd);
  *fd = -1;
}

void stream_free(struct guest *g, struct stream *s) {
  for (struct stream **p = &g->streams; *p; p = &(*p)->next)
    if (*p == s) {
      *p = s->next;
      break;
    }
  close_fd(&s->in_fd);
  close_fd(&s->out_fd);
  close_fd(&s->err_fd);
  free(s->inq);
  free(s);
}

static int set_nonblock(int fd) {
  int fl = fcntl(fd, F_GETFL);
  return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

int stream_pipes(struct stream *s, int child[3], struct hull_error *e) {
  int p[3][2];
  for (int i = 0; i < 3; i++) {
    if (pipe2(p[i], O_CLOEXEC) < 0) {
      int err = errno;
      for (int j = 0; j < i; j++) {
        close(p[j][0]);
        close(p[j][1]);
      }
      return hull_errno(e, err, "stream %u: pipes", s->id);
    }
  }
  /* stdin: the program reads p[0][0]; the others: it writes p[i][1]. Only
   * our ends are non-blocking (each end is its own open file). */
  s->in_fd = p[0][1];
  child[0] = p[0][0];
  s->out_fd = p[1][0];
  child[1] = p[1][1];
  s->err_fd = p[2][0];
  child[2] = p[2][1];
  set_nonblock(s->in_fd);
  set_nonblock(s->out_fd);
  set_nonblock(s->err_fd);
  return 0;
}

int stdio_swap(const int child[3], int saved[3], struct hull_error *e) {
  for (int i = 0; i < 3; i++)
    saved[i] = -1;
  for (int i = 0; i < 3; i++) {
    saved[i] = fcntl(i, F_DUPFD_CLOEXEC, 3);
    if (saved[i] < 0 || dup2(child[i], i) < 0) {
      int err = errno;
      stdio_restore(saved);
      return hull_errno(e, err, "stdio of the process");
    }
  }
  return 0;
}

void stdio_restore(int saved[3]) {
  for (int i = 0; i < 3; i++)
    if (saved[i] >= 0) {
      dup2(saved[i], i);
      close(saved[i]);
      saved[i] = -1;
    }
}

int stream_set_master(struct stream *s, int master, struct hull_error *e) {
  /* Two descriptors of one pty: output ends at EIO (the slave closed)
   * while input may still be written; the master itself stays open until
   * the process is reaped, or its terminal would hang up. */
  int in = fcntl(master, F_DUPFD_CLOEXEC, 3);
  if (in < 0 || set_nonblock(master) < 0) {
    int err = errno;
    if (in >= 0)
      close(in);
    return hull_errno(e, err, "stream %u: terminal", s->id);
  }
  s->terminal = true;
  s->out_fd = master;
  s->in_fd = in;
  return 0;
}

/* Acknowledge n bytes of input: written, or dropped for good. */
static void ack(struct guest *g, struct stream *s, size_t n) {
  if (n)
    send_u32(g, VM_STDIN_ACK, s->id, (uint32_t)n);
}

/* The program will read no more: drop what is queued and what comes. */
static void input_dead(struct guest *g, struct stream *s) {
  ack(g, s, s->inq_len - s->inq_off);
  s->inq_len = s->inq_off = 0;
  s->in_dead = true;
  if (!s->terminal)
    close_fd(&s->in_fd);
}

void stream_pump_input(struct guest *g, struct stream *s) {
  while (s->in_fd >= 0 && s->inq_off < s->inq_len) {
    ssize_t n = write(s->in_fd, s->inq + s->inq_off, s->inq_len - s->inq_off);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      if (errno != EAGAIN)
        input_dead(g, s); /* EPIPE: the program closed its input */
      break;
    }
    s->inq_off += (size_t)n;
    ack(g, s, (size_t)n);
  }
  if (s->inq_off == s->inq_len)
    s->inq_off = s->inq_len = 0;
  if (s->in_eof && !s->inq_len && !s->terminal)
    close_fd(&s->in_fd);
}

int stream_input(struct guest *g, struct stream *s, const uint8_t *data,
                 size_t len, struct hull_error *e) {
  if (!len) {
    /* End of input. A terminal has none to give (as docker keeps it). */
    if (!s->terminal) {
      s->in_eof = true;
      stream_pump_input(g, s);
    }
    return 0;
  }
  if (s->in_dead || s->in_fd < 0 || s->in_eof) {
    ack(g, s, len);
    return 0;
  }
  size_t queued = s->inq_len - s->inq_off;
  if (queued + len > VM_STDIN_WINDOW)
    return hull_err(e, EPROTO,
                    "stream %u: %zu bytes of input unacknowledged (window %u)",
                    s->id, queued + len, VM_STDIN_WINDOW);
  if (s->inq_off && s->inq_len + len > s->inq_cap) {
    memmove(s->inq, s->inq + s->inq_off, queued);
    s->inq_len = queued;
    s->inq_off = 0;
  }
  if (s->inq_len + len > s->inq_cap) {
    size_t cap = s->inq_cap ? s->inq_cap : 16384;
    while (cap < s->inq_len + len)
      cap *= 2;
    uint8_t *q = realloc(s->inq, cap);
    if (!q) {
      /* Nothing sensible to keep: the input is lost, say so once. */
      glog("stream %u: out of memory for input: dropped", s->id);
      ack(g, s, len);
      input_dead(g, s);
      return 0;
    }
    s->inq = q;
    s->inq_cap = cap;
  }
  memcpy(s->inq + s->inq_len, data, len);
  s->inq_len += len;
  stream_pump_input(g, s);
  /* A burst must not pin its buffer for the process's life. */
  if (!s->inq_len && s->inq_cap > VM_STDIN_WINDOW / 4) {
    free(s->inq);
    s->inq = NULL;
    s->inq_cap = 0;
  }
  return 0;
}

/* One read; returns bytes sent, 0 at the end of output (fd closed), or
 * -1 when nothing is there now. */
static ssize_t read_once(struct guest *g, struct stream *s, int *fdp,
                         uint16_t type) {
  ssize_t n;
  do
    n = read(*fdp, outbuf, sizeof outbuf);
  while (n < 0 && errno == EINTR);
  if (n > 0) {
    send_frame(g, type, s->id, outbuf, (size_t)n);
    return n;
  }
  if (n < 0 && errno == EAGAIN)
    return -1;
  /* EOF, or EIO: a pty master whose slave side is closed. */
  if (n < 0 && errno != EIO)
    glog("stream %u: read output: %s", s->id, strerror(errno));
  close_fd(fdp);
  return 0;
}

void stream_read_output(struct guest *g, struct stream *s, int *fdp,
                        uint16_t type) {
  if (*fdp >= 0)
    read_once(g, s, fdp, type);
}

/* What the pipes still hold once the process is gone (a background child
 * may still be writing: stop after a bound). */
static void drain(struct guest *g, struct stream *s, int *fdp, uint16_t type) {
  size_t total = 0;
  while (*fdp >= 0 && total < (8u << 20)) {
    ssize_t n = read_once(g, s, fdp, type);
    if (n <= 0)
      break;
    total += (size_t)n;
  }
}

static void stream_exited(struct guest *g, struct stream *s, int status) {
  uint32_t code = WIFSIGNALED(status) ? 128u + (uint32_t)WTERMSIG(status)
                                      : (uint32_t)WEXITSTATUS(status);
  drain(g, s, &s->out_fd, VM_STDOUT);
  drain(g, s, &s->err_fd, VM_STDERR);
  send_u32(g, VM_EXIT, s->id, code);
  gdebug("stream %u: process %d exited: %u", s->id, s->pid, code);
  stream_free(g, s);
}

void reap_children(struct guest *g) {
  struct signalfd_siginfo si;
  while (read(g->sigfd, &si, sizeof si) == sizeof si)
    ;
  for (;;) {
    int status;
    pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid <= 0)
      break;
    if (!WIFEXITED(status) && !WIFSIGNALED(status))
      continue;
    struct stream *s = stream_by_pid(g, pid);
    if (s)
      stream_exited(g, s, status);
  }
}
