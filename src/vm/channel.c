/* Framing of the host-guest channel: a buffered reader that checks every
 * header before trusting it, and a queue that writes without blocking. */
#include "channel.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint32_t get_u32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
         (uint32_t)p[3] << 24;
}

static void put_u32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
  p[2] = (uint8_t)(v >> 16);
  p[3] = (uint8_t)(v >> 24);
}

uint32_t vm_frame_u32(const struct vm_frame *f, size_t off) {
  return get_u32(f->data + off);
}

static int reserve(uint8_t **buf, size_t *cap, size_t need) {
  if (need <= *cap)
    return 0;
  size_t n = *cap ? *cap : 4096;
  while (n < need)
    n *= 2;
  uint8_t *b = realloc(*buf, n);
  if (!b)
    return -ENOMEM;
  *buf = b;
  *cap = n;
  return 0;
}

/* Drop the frame returned last, keeping what follows it. */
static void compact(struct vm_reader *r) {
  if (!r->consumed)
    return;
  memmove(r->buf, r->buf + r->consumed, r->len - r->consumed);
  r->len -= r->consumed;
  r->consumed = 0;
}

int vm_reader_fill(struct vm_reader *r, int fd) {
  compact(r);
  if (reserve(&r->buf, &r->cap, r->len + VM_DATA_MAX + VM_FRAME_HEADER) < 0)
    return -ENOMEM;
  ssize_t n = read(fd, r->buf + r->len, r->cap - r->len);
  if (n < 0)
    return errno == EWOULDBLOCK ? -EAGAIN : -errno;
  r->len += (size_t)n;
  return (int)n;
}

int vm_reader_feed(struct vm_reader *r, const void *data, size_t len) {
  if (!len)
    return 0;
  compact(r);
  if (reserve(&r->buf, &r->cap, r->len + len) < 0)
    return -ENOMEM;
  memcpy(r->buf + r->len, data, len);
  r->len += len;
  return 0;
}

int vm_reader_next(struct vm_reader *r, struct vm_frame *f,
                   struct hull_error *e) {
  compact(r);
  if (r->len < VM_FRAME_HEADER)
    return 0;
  uint32_t len = get_u32(r->buf);
  uint16_t type = (uint16_t)(r->buf[4] | r->buf[5] << 8);
  uint16_t zero = (uint16_t)(r->buf[6] | r->buf[7] << 8);
  if (len > VM_FRAME_MAX)
    return hull_err(e, EPROTO, "frame of %u bytes (at most %u)", len, VM_FRAME_MAX);
  if (zero)
    return hull_err(e, EPROTO, "frame header: reserved field is %u", zero);
  if (r->len - VM_FRAME_HEADER < len)
    return 0;
  f->len = len;
  f->type = type;
  f->stream = get_u32(r->buf + 8);
  f->data = r->buf + VM_FRAME_HEADER;
  r->consumed = VM_FRAME_HEADER + len;
  return 1;
}

void vm_reader_free(struct vm_reader *r) {
  free(r->buf);
  memset(r, 0, sizeof *r);
}

int vm_writer_put(struct vm_writer *w, uint16_t type, uint32_t stream,
                  const void *data, size_t len) {
  if (len > VM_FRAME_MAX)
    return -EMSGSIZE;
  if (w->off && w->off == w->len)
    w->off = w->len = 0;
  if (reserve(&w->buf, &w->cap, w->len + VM_FRAME_HEADER + len) < 0)
    return -ENOMEM;
  uint8_t *h = w->buf + w->len;
  put_u32(h, (uint32_t)len);
  h[4] = (uint8_t)type;
  h[5] = (uint8_t)(type >> 8);
  h[6] = h[7] = 0;
  put_u32(h + 8, stream);
  if (len)
    memcpy(h + VM_FRAME_HEADER, data, len);
  w->len += VM_FRAME_HEADER + len;
  return 0;
}

int vm_writer_put_u32(struct vm_writer *w, uint16_t type, uint32_t stream,
                      uint32_t value) {
  uint8_t b[4];
  put_u32(b, value);
  return vm_writer_put(w, type, stream, b, sizeof b);
}

int vm_writer_flush(struct vm_writer *w, int fd) {
  while (w->off < w->len) {
    ssize_t n = write(fd, w->buf + w->off, w->len - w->off);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK)
        return 1;
      return -errno;
    }
    w->off += (size_t)n;
  }
  w->off = w->len = 0;
  /* A burst of output must not pin its buffer for the container's life. */
  if (w->cap > (1u << 20)) {
    free(w->buf);
    w->buf = NULL;
    w->cap = 0;
  }
  return 0;
}

void vm_writer_free(struct vm_writer *w) {
  free(w->buf);
  memset(w, 0, sizeof *w);
}

const char *vm_frame_type_name(uint16_t type) {
  switch (type) {
  case VM_CREATE: return "CREATE";
  case VM_START: return "START";
  case VM_EXEC: return "EXEC";
  case VM_STDIN: return "STDIN";
  case VM_SIGNAL: return "SIGNAL";
  case VM_RESIZE: return "RESIZE";
  case VM_PS: return "PS";
  case VM_PING: return "PING";
  case VM_HELLO: return "HELLO";
  case VM_READY: return "READY";
  case VM_STARTED: return "STARTED";
  case VM_STDOUT: return "STDOUT";
  case VM_STDERR: return "STDERR";
  case VM_STDIN_ACK: return "STDIN_ACK";
  case VM_EXIT: return "EXIT";
  case VM_ERROR: return "ERROR";
  case VM_PS_REPLY: return "PS_REPLY";
  case VM_PONG: return "PONG";
  }
  return NULL;
}

/* Length rules per type: exact size, or a maximum (data and text). */
int vm_frame_check(const struct vm_frame *f, bool guest_sent,
                   struct hull_error *e) {
  const char *name = vm_frame_type_name(f->type);
  if (!name)
    return hull_err(e, EPROTO, "frame of unknown type %u", f->type);
  bool from_guest = f->type >= VM_HELLO;
  if (from_guest != guest_sent)
    return hull_err(e, EPROTO, "%s frame sent by the %s", name,
                    guest_sent ? "guest" : "host");
  size_t exact = SIZE_MAX, max = 0;
  bool stream0 = false, not_stream0 = false;
  switch (f->type) {
  case VM_CREATE: max = VM_FRAME_MAX; stream0 = true; break;
  case VM_START: exact = 0; stream0 = true; break;
  case VM_EXEC: max = VM_FRAME_MAX; not_stream0 = true; break;
  case VM_STDIN: max = VM_DATA_MAX; break;
  case VM_SIGNAL: exact = 8; break;
  case VM_RESIZE: exact = 4; break;
  case VM_PS: exact = 0; stream0 = true; break;
  case VM_PING: exact = 4; stream0 = true; break;
  case VM_PONG: exact = 4; stream0 = true; break;
  case VM_HELLO: exact = 4; stream0 = true; break;
  case VM_READY: exact = 0; stream0 = true; break;
  case VM_STARTED: exact = 4; break;
  case VM_STDOUT: case VM_STDERR: max = VM_DATA_MAX; break;
  case VM_STDIN_ACK: exact = 4; break;
  case VM_EXIT: exact = 4; break;
  case VM_ERROR: max = 1024; break;
  case VM_PS_REPLY: max = VM_FRAME_MAX; stream0 = true; break;
  }
  if (exact != SIZE_MAX && f->len != exact)
    return hull_err(e, EPROTO, "%s frame of %u bytes (must be %zu)", name, f->len,
                    exact);
  if (exact == SIZE_MAX && f->len > max)
    return hull_err(e, EPROTO, "%s frame of %u bytes (at most %zu)", name, f->len,
                    max);
  if (stream0 && f->stream)
    return hull_err(e, EPROTO, "%s frame on stream %u (only stream 0)", name,
                    f->stream);
  if (not_stream0 && !f->stream)
    return hull_err(e, EPROTO, "%s frame on stream 0", name);
  if (f->type == VM_EXIT && vm_frame_u32(f, 0) > 255)
    return hull_err(e, EPROTO, "EXIT frame with status %u (0..255)",
                    vm_frame_u32(f, 0));
  if (f->type == VM_SIGNAL && (vm_frame_u32(f, 0) == 0 || vm_frame_u32(f, 0) > 64 ||
                               vm_frame_u32(f, 4) > 1))
    return hull_err(e, EPROTO, "SIGNAL frame: signal %u all %u", vm_frame_u32(f, 0),
                    vm_frame_u32(f, 4));
  return 0;
}
