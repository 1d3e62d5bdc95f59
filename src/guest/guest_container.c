/* The host's requests, carried out with libhull's process driver exactly
 * as `hull-runtime create/start/exec/kill/ps` would: the guest kernel is
 * the isolation boundary, and inside it the container still gets its
 * namespaces, cgroups, capabilities and seccomp filter. */
#include <ctype.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "../common/cleanup.h"
#include "../common/fs.h"
#include "../common/json.h"
#include "../linux/terminal.h"
#include "guest.h"

/* 9p options: cache=mmap keeps no page cache beyond what mmap needs, so
 * what the host writes to a bind mount's source is seen at once (loose
 * caching would serve stale pages and dentries). */
#define SHARE_OPTIONS "trans=virtio,version=9p2000.L,msize=262144,cache=mmap"

static int write_file(const char *path, const char *text, struct hull_error *e) {
  _cleanup_close_ int fd =
      open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    return hull_errno(e, errno, "%s", path);
  int r = fs_write_all(fd, text, strlen(text));
  return r < 0 ? hull_errno(e, -r, "write %s", path) : 0;
}

/* Is PATH at or below DIR? */
static bool path_within(const char *path, const char *dir) {
  size_t l = strlen(dir);
  return !strncmp(path, dir, l) && (path[l] == 0 || path[l] == '/');
}

static int check_share(struct guest *g, const char *tag, const char *path,
                       struct hull_error *e) {
  size_t tl = strlen(tag);
  if (!tl || tl > 64)
    return hull_err(e, EINVAL, "share tag \"%s\": 1 to 64 characters", tag);
  for (size_t i = 0; i < tl; i++)
    if (!isalnum((unsigned char)tag[i]) && !strchr("_.-", tag[i]))
      return hull_err(e, EINVAL, "share tag \"%s\": only letters, digits, _ . -",
                      tag);
  size_t bl = strlen(GUEST_SHARE_BASE);
  if (strncmp(path, GUEST_SHARE_BASE, bl) || !path[bl] ||
      strlen(path) >= PATH_MAX - 1)
    return hull_err(e, EINVAL, "share %s: path %s is not below %s", tag, path,
                    GUEST_SHARE_BASE);
  /* No "", ".", ".." component: the path is what it says. */
  for (const char *p = path + bl - 1; *p;) {
    const char *c = p + 1, *end = strchrnul(c, '/');
    size_t l = (size_t)(end - c);
    if (!l || (l == 1 && c[0] == '.') || (l == 2 && c[0] == '.' && c[1] == '.'))
      return hull_err(e, EINVAL, "share %s: path %s: empty, . or .. component",
                      tag, path);
    p = end;
  }
  if (path_within(path, g->state_dir) || path_within(path, g->bundle_dir) ||
      path_within(path, g->io_dir))
    return hull_err(e, EINVAL, "share %s: path %s is reserved by hull-init", tag,
                    path);
  return 0;
}

static int mount_shares(struct guest *g, json_t *shares, struct hull_error *e) {
  if (!shares)
    return 0;
  if (!json_is_array(shares))
    return hull_err(e, EINVAL, "CREATE: shares: not an array");
  size_t i;
  json_t *sh;
  json_array_foreach(shares, i, sh) {
    const char *tag = json_string_value(json_object_get(sh, "tag"));
    const char *path = json_string_value(json_object_get(sh, "path"));
    if (!tag || !path)
      return hull_err(e, EINVAL, "CREATE: shares[%zu]: needs tag and path strings", i);
    gdebug("share %s: mount on %s", tag, path);
    int r = check_share(g, tag, path, e);
    if (r < 0 || (r = mkdir_p(path, 0755, e)) < 0)
      return r;
    if (mount(tag, path, "9p", 0, SHARE_OPTIONS) < 0)
      return errno == ENOENT
                 ? hull_err(e, ENOENT, "share %s: the VM has no 9p device with this tag",
                            tag)
                 : hull_errno(e, errno, "share %s: mount 9p on %s", tag, path);
    gdebug("share %s: mounted", tag);
  }
  return 0;
}

/* A unix socket for --console-socket; the process driver connects to it
 * and sends the pty master, which we collect once the call returned. */
static int console_listen(struct guest *g, uint32_t stream, char *path,
                          size_t len, struct hull_error *e) {
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  if (snprintf(path, len, "%s/console-%u.sock", g->io_dir, stream) >= (int)len ||
      strlen(path) >= sizeof addr.sun_path)
    return hull_err(e, ENAMETOOLONG, "console socket %s: path too long", path);
  strcpy(addr.sun_path, path);
  unlink(path);
  _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0 ||
      listen(fd, 1) < 0)
    return hull_errno(e, errno, "console socket %s", path);
  return hull_steal_fd(&fd);
}

/* The master the process sent (it did before the library returned). */
static int console_collect(int lfd, const char *path, struct hull_error *e) {
  _cleanup_close_ int conn = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (conn < 0)
    return hull_errno(e, errno, "console socket %s: no connection", path);
  int master = recv_fd(conn);
  if (master < 0)
    return hull_errno(e, -master, "console socket %s: terminal not received", path);
  return master;
}

/* The stdio of a process the library makes: pipes on our fds 0/1/2 for
 * the time of the call, or a console socket for a terminal. */
struct with_stdio {
  struct guest *g;
  struct stream *s;
  bool terminal;
  int lfd;
  char sock[PATH_MAX];
  int child[3];
  int saved[3];
};

static int stdio_before(struct with_stdio *w, struct hull_error *e) {
  w->lfd = -1;
  for (int i = 0; i < 3; i++)
    w->child[i] = w->saved[i] = -1;
  if (w->terminal) {
    w->lfd = console_listen(w->g, w->s->id, w->sock, sizeof w->sock, e);
    return w->lfd < 0 ? w->lfd : 0;
  }
  int r = stream_pipes(w->s, w->child, e);
  if (r < 0)
    return r;
  return stdio_swap(w->child, w->saved, e);
}

/* After the call (ok: it succeeded): our stdio back, the child's ends
 * closed, the terminal collected. */
static int stdio_after(struct with_stdio *w, bool ok, struct hull_error *e) {
  stdio_restore(w->saved);
  for (int i = 0; i < 3; i++)
    if (w->child[i] >= 0)
      close(w->child[i]);
  int r = 0;
  if (w->lfd >= 0) {
    if (ok) {
      int master = console_collect(w->lfd, w->sock, e);
      r = master < 0 ? master : stream_set_master(w->s, master, e);
      if (r < 0 && master >= 0)
        close(master);
    }
    close(w->lfd);
    unlink(w->sock);
  }
  return r;
}

static bool process_terminal(json_t *process) {
  return json_is_true(json_object_get(process, "terminal"));
}

static int create(struct guest *g, json_t *msg,
                  struct hull_error *e) {
  const char *id = json_string_value(json_object_get(msg, "id"));
  json_t *config = json_object_get(msg, "config");
  if (!id || !json_is_object(config))
    return hull_err(e, EINVAL, "CREATE: needs id (a string) and config (an object)");
  json_t *network = json_object_get(msg, "network");
  json_t *net_sysctl = json_object_get(msg, "net_sysctl");
  /* on a host (tests), the network namespace is the host's own */
  if (!g->pid1 && (network || json_object_size(net_sysctl)))
    return hull_err(e, ENOTSUP, "CREATE: network: configured only by hull-init as a "
                                "VM's init");
  int r = mount_shares(g, json_object_get(msg, "shares"), e);
  if (r < 0 || (r = guest_net_setup(network, net_sysctl, e)) < 0)
    return r;
  char cfg[PATH_MAX + 16];
  snprintf(cfg, sizeof cfg, "%s/config.json", g->bundle_dir);
  /* written so the library's loader reads uint64 values (RLIM_INFINITY)
   * back as the host sent them */
  _cleanup_free_ char *text = hjson_dumps_wrapped(config);
  if (!text)
    return hull_err(e, ENOMEM, "CREATE: config.json");
  if ((r = write_file(cfg, text, e)) < 0)
    return r;
  gdebug("container %s: creating", id);
  struct stream *s = stream_new(g, 0);
  if (!s)
    return hull_err(e, ENOMEM, "CREATE");
  struct with_stdio w = {.g = g, .s = s,
                         .terminal = process_terminal(json_object_get(config, "process"))};
  struct container *c = NULL;
  struct create_opts co = {0};
  r = stdio_before(&w, e);
  if (r == 0) {
    co.console_socket = w.terminal ? w.sock : NULL;
    r = container_create(&g->ro, id, g->bundle_dir, &co, &c, e);
  }
  struct hull_error e2 = {0};
  int r2 = stdio_after(&w, r == 0, &e2);
  if (r == 0) {
    s->pid = c->pid;
    container_free(c);
    if (r2 < 0) {
      /* Its process is reaped as a stranger: the stream goes below. */
      struct hull_error ignored;
      container_delete(&g->ro, id, true, &ignored);
      *e = e2;
      r = r2;
    }
  }
  if (r < 0) {
    stream_free(g, s);
    return r;
  }
  g->pid0 = s->pid;
  snprintf(g->id, sizeof g->id, "%s", id);
  g->created = true;
  return 0;
}

void handle_create(struct guest *g, const struct vm_frame *f) {
  struct hull_error e = {0};
  int r;
  if (g->created || stream_find(g, 0)) {
    r = hull_err(&e, EEXIST, "CREATE: container %s exists already", g->id);
  } else {
    json_error_t je;
    json_t *msg = hjson_loadb((const char *)f->data, f->len, HJSON_WRAP_UINT64,
                              NULL, &je);
    r = msg ? create(g, msg, &e)
            : hull_err(&e, EINVAL, "CREATE: invalid JSON at line %d column %d: %s",
                       je.line, je.column, je.text);
    json_decref(msg);
  }
  if (r < 0) {
    glog("%s", e.msg);
    send_error(g, 0, e.msg);
    return;
  }
  gdebug("container %s created: process %d", g->id, g->pid0);
  send_frame(g, VM_READY, 0, NULL, 0);
}

void handle_start(struct guest *g, const struct vm_frame *f) {
  (void)f;
  struct hull_error e = {0};
  if (!g->created)
    hull_err(&e, ENOENT, "START: no container created");
  else if (g->started)
    hull_err(&e, EINVAL, "START: container %s: started already", g->id);
  else if (container_start(&g->ro, g->id, &e) == 0) {
    g->started = true;
    gdebug("container %s started", g->id);
    send_u32(g, VM_STARTED, 0, (uint32_t)g->pid0);
    return;
  }
  glog("%s", e.msg);
  send_error(g, 0, e.msg);
}

/* The pid container_exec wrote (detached, it returns once exec'd). */
static pid_t read_pid_file(const char *path, struct hull_error *e) {
  _cleanup_free_ char *text = NULL;
  if (fs_read_file(path, &text, NULL, e) < 0)
    return hull_err_prefix(e, "exec: pid file");
  char *end;
  long pid = strtol(text, &end, 10);
  if (end == text || pid <= 0 || pid > INT32_MAX)
    return hull_err(e, EINVAL, "exec: pid file %s: \"%s\"", path, text);
  return (pid_t)pid;
}

static int exec_process(struct guest *g, const struct vm_frame *f, json_t *msg,
                        pid_t *out, struct hull_error *e) {
  uint32_t id = f->stream;
  json_t *process = json_object_get(msg, "process");
  if (!json_is_object(process))
    return hull_err(e, EINVAL, "EXEC: needs a process object");
  _cleanup_free_ char *text = hjson_dumps_wrapped(process);
  if (!text)
    return hull_err(e, ENOMEM, "EXEC: process");
  char pfile[PATH_MAX + 32], pidfile[PATH_MAX + 32];
  snprintf(pfile, sizeof pfile, "%s/exec-%u.json", g->io_dir, id);
  snprintf(pidfile, sizeof pidfile, "%s/exec-%u.pid", g->io_dir, id);
  unlink(pidfile);
  int r = write_file(pfile, text, e);
  if (r < 0)
    return r;
  struct stream *s = stream_new(g, id);
  if (!s) {
    unlink(pfile);
    return hull_err(e, ENOMEM, "EXEC");
  }
  struct with_stdio w = {.g = g, .s = s, .terminal = process_terminal(process)};
  struct exec_request req = {.process_file = pfile, .detach = true, .pid_file = pidfile};
  r = stdio_before(&w, e);
  if (r == 0) {
    req.console_socket = w.terminal ? w.sock : NULL;
    r = container_exec(&g->ro, g->id, &req, e);
  }
  struct hull_error e2 = {0};
  int r2 = stdio_after(&w, r == 0, &e2);
  pid_t pid = 0;
  if (r == 0 && (r = read_pid_file(pidfile, e)) > 0) {
    pid = r;
    r = 0;
  }
  unlink(pfile);
  unlink(pidfile);
  if (r == 0 && r2 < 0) {
    kill(pid, SIGKILL); /* without its terminal it is of no use */
    *e = e2;
    r = r2;
  }
  if (r < 0) {
    /* A process we could not name is reaped as a stranger. */
    stream_free(g, s);
    return r;
  }
  s->pid = *out = pid;
  return 0;
}

void handle_exec(struct guest *g, const struct vm_frame *f) {
  struct hull_error e = {0};
  pid_t pid = 0;
  int r;
  if (!g->created) {
    r = hull_err(&e, ENOENT, "EXEC: no container created");
  } else if (stream_find(g, f->stream)) {
    r = hull_err(&e, EBUSY, "EXEC: stream %u is in use", f->stream);
  } else {
    json_error_t je;
    json_t *msg = hjson_loadb((const char *)f->data, f->len, HJSON_WRAP_UINT64,
                              NULL, &je);
    r = msg ? exec_process(g, f, msg, &pid, &e)
            : hull_err(&e, EINVAL, "EXEC: invalid JSON at line %d column %d: %s",
                       je.line, je.column, je.text);
    json_decref(msg);
  }
  if (r < 0) {
    glog("%s", e.msg);
    send_error(g, f->stream, e.msg);
    return;
  }
  gdebug("stream %u: process %d", f->stream, pid);
  send_u32(g, VM_STARTED, f->stream, (uint32_t)pid);
}

void handle_signal(struct guest *g, const struct vm_frame *f) {
  int sig = (int)vm_frame_u32(f, 0);
  bool all = vm_frame_u32(f, 4) != 0;
  struct stream *s = stream_find(g, f->stream);
  /* A stream that is gone may have just exited: nothing to do. */
  if (!s || s->pid <= 0)
    return;
  struct hull_error e = {0};
  int r;
  if (f->stream == 0)
    r = container_kill(&g->ro, g->id, sig, all, &e);
  else
    r = kill(s->pid, sig) < 0 ? hull_errno(&e, errno, "stream %u: signal %d to %d",
                                           f->stream, sig, s->pid)
                              : 0;
  /* No frame answers a signal: a failure is only worth the console. */
  if (r < 0 && r != -ESRCH)
    glog("%s", e.msg);
}

void handle_resize(struct guest *g, const struct vm_frame *f) {
  struct stream *s = stream_find(g, f->stream);
  if (!s || !s->terminal)
    return;
  struct winsize ws = {
      .ws_row = (unsigned short)(f->data[0] | f->data[1] << 8),
      .ws_col = (unsigned short)(f->data[2] | f->data[3] << 8),
  };
  int fd = s->in_fd >= 0 ? s->in_fd : s->out_fd;
  if (fd >= 0 && ioctl(fd, TIOCSWINSZ, &ws) < 0)
    gdebug("stream %u: resize: %s", s->id, strerror(errno));
}

/* "Name:\tvalue..." of /proc/<pid>/status: the first number after it
 * (field 0) or the second (field 1). */
static long status_field(const char *status, const char *name, int field) {
  size_t l = strlen(name);
  for (const char *p = status; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
    if (strncmp(p, name, l) || p[l] != ':')
      continue;
    char *q = (char *)p + l + 1;
    long v = strtol(q, &q, 10);
    if (field == 1)
      v = strtol(q, &q, 10);
    return v;
  }
  return -1;
}

static json_t *ps_entry(pid_t pid) {
  char path[64];
  struct hull_error ignored;
  _cleanup_free_ char *status = NULL, *cmdline = NULL;
  size_t len = 0;
  snprintf(path, sizeof path, "/proc/%d/status", pid);
  if (fs_read_file(path, &status, NULL, &ignored) < 0)
    return NULL; /* gone meanwhile */
  snprintf(path, sizeof path, "/proc/%d/cmdline", pid);
  if (fs_read_file(path, &cmdline, &len, &ignored) < 0)
    len = 0;
  while (len && !cmdline[len - 1])
    len--;
  for (size_t i = 0; i < len; i++)
    if (!cmdline[i])
      cmdline[i] = ' ';
  char cmd[4096];
  if (len) {
    snprintf(cmd, sizeof cmd, "%.*s", (int)len, cmdline);
  } else {
    /* A zombie or a kernel thread: ps shows [comm]. */
    const char *name = strstr(status, "Name:\t");
    name = name ? name + 6 : "?";
    snprintf(cmd, sizeof cmd, "[%.*s]", (int)strcspn(name, "\n"), name);
  }
  /* Invalid UTF-8 cannot go into JSON: as ps would show it, roughly. */
  for (char *c = cmd; *c;) {
    size_t l = hjson_utf8_len((const unsigned char *)c, strlen(c));
    if (!l) {
      *c++ = '?';
      continue;
    }
    c += l;
  }
  return json_pack("{s:i, s:I, s:I, s:s}", "pid", (int)pid, "ppid",
                   (json_int_t)status_field(status, "PPid", 0), "uid",
                   (json_int_t)status_field(status, "Uid", 1), "cmd", cmd);
}

void handle_ps(struct guest *g, const struct vm_frame *f) {
  (void)f;
  struct hull_error e = {0};
  pid_t *pids = NULL;
  size_t n = 0;
  /* Always a PS_REPLY, the host waits for one: a failure lists nothing
   * and says why in "error". */
  int r = g->created ? container_pids(&g->ro, g->id, &pids, &n, &e) : 0;
  json_t *list = json_array();
  for (size_t i = 0; r == 0 && i < n; i++) {
    json_t *p = ps_entry(pids[i]);
    if (p)
      json_array_append_new(list, p);
  }
  free(pids);
  json_t *reply = json_pack("{s:o}", "processes", list);
  if (r < 0) {
    glog("%s", e.msg);
    json_object_set_new(reply, "error", json_string(e.msg));
  }
  char *text = reply ? hjson_dumps(reply) : NULL;
  json_decref(reply);
  if (!text) {
    static const char empty[] = "{\"processes\":[],\"error\":\"out of memory\"}";
    send_frame(g, VM_PS_REPLY, 0, empty, sizeof empty - 1);
    return;
  }
  send_frame(g, VM_PS_REPLY, 0, text, strlen(text));
  free(text);
}
