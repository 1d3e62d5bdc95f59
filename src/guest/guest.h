/* hull-init: PID 1 of a VM guest. It speaks the host-guest channel
 * (src/vm/channel.h) on the virtio-serial port "hull", creates the
 * container inside the guest with the process isolation driver of libhull,
 * and relays each process's stdio, signals and exit status.
 *
 * Single-threaded: one poll loop; the library calls (create, start, exec)
 * block it for the time they take, which is what hull-runtime does too. */
#ifndef HULL_GUEST_H
#define HULL_GUEST_H

#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../common/error.h"
#include "../runtime/container.h"
#include "../vm/channel.h"

/* Shares the host may ask for live below this directory. */
#define GUEST_SHARE_BASE "/run/hull/"
#define GUEST_RUN_DIR "/run/hull"
/* Program output is not read while the port's queue holds more than this:
 * a host that stops reading stops the programs, not hull-init's memory. */
#define GUEST_OUTPUT_HIGH (1u << 20)

/* One stream of the protocol: the container's process (0) or an exec. */
struct stream {
  uint32_t id;
  pid_t pid;        /* 0 until the process exists */
  bool terminal;
  int in_fd;        /* stdin pipe (write end) or a dup of the pty master */
  int out_fd;       /* stdout pipe (read end) or the pty master */
  int err_fd;       /* stderr pipe (read end); -1 with a terminal */
  /* input the program has not taken yet */
  uint8_t *inq;
  size_t inq_len, inq_off, inq_cap;
  bool in_eof;      /* the host ended input: close once written */
  bool in_dead;     /* the program no longer reads: input is dropped */
  struct stream *next;
};

struct guest {
  int port;
  int sigfd;
  bool pid1;
  bool quit;
  struct vm_reader rd;
  struct vm_writer wr;
  struct runtime_opts ro;
  char run_dir[256];
  char state_dir[PATH_MAX];  /* --root of the process driver */
  char bundle_dir[PATH_MAX];
  char io_dir[PATH_MAX];     /* console sockets, exec process and pid files */
  char id[1024];             /* the container's id once created */
  bool created, started;
  pid_t pid0;                /* the container's process */
  struct stream *streams;
};

/* Diagnostics on stderr (the console in a VM): "hull-init: ...". */
void glog(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Only with hull_debug=1 on the kernel command line (or --debug). */
void gdebug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
extern bool guest_debug;

/* guest_boot.c: what PID 1 does before anything else. */
int boot_pid1(struct hull_error *e);
/* Wait (up to timeout_ms) for the port named "hull" and open it. */
int boot_open_port(int timeout_ms, struct hull_error *e);
/* fd 0 and 1 to /dev/null; with console, fd 2 to /dev/console. */
int boot_std_fds(bool console, struct hull_error *e);
__attribute__((noreturn)) void boot_poweroff(void);
int mkdir_p(const char *path, mode_t mode, struct hull_error *e);

/* Frames to the host (queued; the loop flushes). */
void send_frame(struct guest *g, uint16_t type, uint32_t stream,
                const void *data, size_t len);
void send_u32(struct guest *g, uint16_t type, uint32_t stream, uint32_t v);
void send_error(struct guest *g, uint32_t stream, const char *msg);

/* guest_streams.c */
struct stream *stream_new(struct guest *g, uint32_t id);
struct stream *stream_find(struct guest *g, uint32_t id);
struct stream *stream_by_pid(struct guest *g, pid_t pid);
void stream_free(struct guest *g, struct stream *s);
/* Pipes for a process without a terminal: child[] gets the ends the
 * process takes as its fds 0, 1, 2. */
int stream_pipes(struct stream *s, int child[3], struct hull_error *e);
/* Put child[] on fds 0/1/2 for a library call (saved[] keeps ours), and
 * back. The process driver gives the container the caller's 0/1/2. */
int stdio_swap(const int child[3], int saved[3], struct hull_error *e);
void stdio_restore(int saved[3]);
/* A terminal stream: the pty master serves input and output. */
int stream_set_master(struct stream *s, int master, struct hull_error *e);
/* VM_STDIN: queue and write without blocking; <0 on a protocol error. */
int stream_input(struct guest *g, struct stream *s, const uint8_t *data,
                 size_t len, struct hull_error *e);
/* Write queued input (POLLOUT on in_fd). */
void stream_pump_input(struct guest *g, struct stream *s);
/* Read once from *fdp (POLLIN) and send it as TYPE. */
void stream_read_output(struct guest *g, struct stream *s, int *fdp,
                        uint16_t type);
/* Reap every child that exited; EXIT for the ones that were streams. */
void reap_children(struct guest *g);

/* guest_net.c: the network the host described ("network" in CREATE) on
 * the VM's devices, and the container's net.* sysctls ("net_sysctl"), in
 * the guest's network namespace, which the container uses. Either may be
 * NULL. */
int guest_net_setup(json_t *network, json_t *net_sysctl, struct hull_error *e);

/* guest_container.c: the requests of the host. */
void handle_create(struct guest *g, const struct vm_frame *f);
void handle_start(struct guest *g, const struct vm_frame *f);
void handle_exec(struct guest *g, const struct vm_frame *f);
void handle_signal(struct guest *g, const struct vm_frame *f);
void handle_resize(struct guest *g, const struct vm_frame *f);
void handle_ps(struct guest *g, const struct vm_frame *f);

#endif
