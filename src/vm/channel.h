/* The host-guest channel of VM isolation: one byte stream (a virtio-serial
 * port named "hull") between the host's VM supervisor and hull-init, the
 * guest's PID 1. It carries frames: a 12-byte header, then the payload.
 *
 *   u32 len     payload bytes (little endian, like everything here)
 *   u16 type    enum vm_frame_type
 *   u16 zero    reserved, must be 0
 *   u32 stream  0 = the container's own process, N > 0 = an exec
 *
 * The host never trusts what the guest sends: every frame is checked for
 * its length, its direction and its payload before it is acted on; one bad
 * frame ends the container. */
#ifndef HULL_VM_CHANNEL_H
#define HULL_VM_CHANNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/error.h"

#define VM_PROTOCOL_VERSION 3
#define VM_PORT_NAME "hull"
#define VM_FRAME_HEADER 12
/* Largest payload of a data frame (STDIN, STDOUT, STDERR). */
#define VM_DATA_MAX 65536
/* Largest payload of any frame (CREATE carries a whole config.json). */
#define VM_FRAME_MAX (4u << 20)
/* Input a host may send on a stream before the guest acknowledges it. */
#define VM_STDIN_WINDOW (256u << 10)

enum vm_frame_type {
  /* host -> guest */
  VM_CREATE = 1, /* stream 0, JSON {"id": "...", "config": {config.json for
                    the guest}, "shares": [...], "network": {net_desc.h},
                    "net_sysctl": {"net.x": "v"}}: create the container,
                    answer READY or ERROR */
  VM_START,      /* stream 0, empty: run the program; answer STARTED or ERROR */
  VM_EXEC,       /* stream N > 0, JSON {"process": {...}}: answer STARTED or
                    ERROR; process.terminal asks for a terminal */
  VM_STDIN,      /* stream N, data; an empty payload is the end of input */
  VM_SIGNAL,     /* stream N, u32 signal, u32 all (0/1; stream 0 only) */
  VM_RESIZE,     /* stream N, u16 rows, u16 cols */
  VM_PS,         /* stream 0, empty: answer PS_REPLY */
  VM_PING,       /* stream 0, u32 sequence: answer PONG (liveness) */
  /* guest -> host */
  VM_HELLO = 32, /* stream 0, u32 protocol version: hull-init is up */
  VM_READY,      /* stream 0, empty: container created, program held */
  VM_STARTED,    /* stream N, u32 guest pid of the program */
  VM_STDOUT,     /* stream N, data (a terminal's output comes here) */
  VM_STDERR,     /* stream N, data */
  VM_STDIN_ACK,  /* stream N, u32 bytes of input written to the program */
  VM_EXIT,       /* stream N, u32 wait status as the shell gives it:
                    0..255, or 128+signal; output of N is complete */
  VM_ERROR,      /* stream N, text (one line, at most 1024 bytes): what
                    failed; for stream 0 before READY: create failed */
  VM_PS_REPLY,   /* stream 0, JSON {"processes": [{"pid": n, "ppid": n,
                    "uid": n, "cmd": "..."}]} */
  VM_PONG,       /* stream 0, u32 the sequence of the PING answered */
};

struct vm_frame {
  uint16_t type;
  uint32_t stream;
  uint32_t len;
  const uint8_t *data; /* points into the reader's buffer */
};

/* Incoming frames, buffered from a non-blocking descriptor. */
struct vm_reader {
  uint8_t *buf;
  size_t len, cap;
  size_t consumed; /* bytes of the frame last returned */
};

/* Read what the descriptor has. Returns >0 bytes read, 0 at end of
 * stream, -EAGAIN when nothing is there, or -errno. */
int vm_reader_fill(struct vm_reader *r, int fd);
/* Feed bytes that arrived by other means (tests, fuzzing). */
int vm_reader_feed(struct vm_reader *r, const void *data, size_t len);
/* The next complete frame: 1 with *f filled (valid until the next call),
 * 0 when more bytes are needed, <0 for a malformed frame (e says why). */
int vm_reader_next(struct vm_reader *r, struct vm_frame *f,
                   struct hull_error *e);
void vm_reader_free(struct vm_reader *r);

/* Outgoing frames, queued and written without blocking. */
struct vm_writer {
  uint8_t *buf;
  size_t len, cap, off;
};

int vm_writer_put(struct vm_writer *w, uint16_t type, uint32_t stream,
                  const void *data, size_t len);
int vm_writer_put_u32(struct vm_writer *w, uint16_t type, uint32_t stream,
                      uint32_t value);
/* Write as much as the descriptor takes: 0 when all is written, 1 when
 * some is left (wait for POLLOUT), or -errno. */
int vm_writer_flush(struct vm_writer *w, int fd);
static inline size_t vm_writer_pending(const struct vm_writer *w) {
  return w->len - w->off;
}
void vm_writer_free(struct vm_writer *w);

/* Payload checks: the frame's type is one the peer may send (guest_sent
 * says which side sent it) and its payload has the right shape. */
int vm_frame_check(const struct vm_frame *f, bool guest_sent,
                   struct hull_error *e);
/* The u32 at offset off (the caller checked the length). */
uint32_t vm_frame_u32(const struct vm_frame *f, size_t off);
const char *vm_frame_type_name(uint16_t type);

#endif
