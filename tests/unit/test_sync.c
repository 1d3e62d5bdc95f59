/* Unit tests for the runtime <-> container set-up channel
 * (src/linux/sync.c): one message per SOCK_SEQPACKET packet, optionally
 * with a descriptor, errors carried as SYNC_ERROR. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "linux/sync.h"

#define known_bug(broken, ...)                                                 \
  do {                                                                         \
    if (broken) {                                                              \
      print_message("KNOWN BUG: " __VA_ARGS__);                                \
      print_message("\n");                                                     \
      if (getenv("HULL_STRICT_KNOWN_BUGS"))                                    \
        fail_msg("known bug (strict mode)");                                   \
      skip();                                                                  \
    }                                                                          \
  } while (0)

static int sp[2];

static int setup(void **state) {
  (void)state;
  return socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp);
}

static int teardown(void **state) {
  (void)state;
  if (sp[0] >= 0)
    close(sp[0]);
  if (sp[1] >= 0)
    close(sp[1]);
  return 0;
}

static int count_fds(void) {
  DIR *d = opendir("/proc/self/fd");
  int n = 0;
  struct dirent *de;
  while (d && (de = readdir(d)))
    n++;
  closedir(d);
  return n;
}

/* A raw packet, with an optional descriptor. */
static void send_raw(int sock, const void *buf, size_t len, int fd) {
  struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
  union {
    char b[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } ctl;
  struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
  if (fd >= 0) {
    memset(&ctl, 0, sizeof ctl);
    mh.msg_control = ctl.b;
    mh.msg_controllen = sizeof ctl.b;
    struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof fd);
  }
  assert_int_equal(sendmsg(sock, &mh, MSG_NOSIGNAL), (ssize_t)len);
}

static void test_plain(void **state) {
  (void)state;
  struct sync_msg m;
  int fd = 123;
  assert_int_equal(sync_send(sp[0], SYNC_READY, 42, "hello", -1), 0);
  assert_int_equal(sync_recv(sp[1], &m, &fd), 0);
  assert_int_equal(m.type, SYNC_READY);
  assert_int_equal(m.value, 42);
  assert_string_equal(m.text, "hello");
  assert_int_equal(fd, -1);
  /* both directions, negative values, no text */
  assert_int_equal(sync_send(sp[1], SYNC_GO, -7, NULL, -1), 0);
  memset(&m, 0xaa, sizeof m);
  assert_int_equal(sync_recv(sp[0], &m, NULL), 0);
  assert_int_equal(m.type, SYNC_GO);
  assert_int_equal(m.value, -7);
  assert_string_equal(m.text, "");
  /* one message per packet: two sends, two receives, in order */
  assert_int_equal(sync_send(sp[0], SYNC_HOOKS, 1, "a", -1), 0);
  assert_int_equal(sync_send(sp[0], SYNC_HOOKS_DONE, 2, "bb", -1), 0);
  assert_int_equal(sync_recv(sp[1], &m, NULL), 0);
  assert_int_equal(m.type, SYNC_HOOKS);
  assert_string_equal(m.text, "a");
  assert_int_equal(sync_recv(sp[1], &m, NULL), 0);
  assert_int_equal(m.type, SYNC_HOOKS_DONE);
  assert_string_equal(m.text, "bb");
  /* text longer than the message holds: cut, NUL-terminated */
  char big[3000];
  memset(big, 'x', sizeof big - 1);
  big[sizeof big - 1] = 0;
  assert_int_equal(sync_send(sp[0], SYNC_ERROR, 5, big, -1), 0);
  assert_int_equal(sync_recv(sp[1], &m, NULL), 0);
  assert_int_equal(strlen(m.text), sizeof m.text - 1);
  assert_int_equal(m.text[0], 'x');
}

static void test_fd(void **state) {
  (void)state;
  int p[2];
  assert_int_equal(pipe(p), 0);
  struct sync_msg m;
  int got = -1;
  assert_int_equal(sync_send(sp[0], SYNC_PTY, 0, "pty", p[0]), 0);
  assert_int_equal(sync_recv(sp[1], &m, &got), 0);
  assert_int_equal(m.type, SYNC_PTY);
  assert_string_equal(m.text, "pty");
  assert_true(got >= 0);
  assert_true(got != p[0]);
  /* it is the same pipe: what is written at one end is read at the
   * received descriptor */
  struct stat a, b;
  assert_int_equal(fstat(got, &a), 0);
  assert_int_equal(fstat(p[0], &b), 0);
  assert_int_equal(a.st_ino, b.st_ino);
  close(p[0]);
  assert_int_equal(write(p[1], "ping", 4), 4);
  char buf[8] = {0};
  assert_int_equal(read(got, buf, sizeof buf), 4);
  assert_string_equal(buf, "ping");
  /* received close-on-exec */
  assert_true(fcntl(got, F_GETFD) & FD_CLOEXEC);
  close(got);
  close(p[1]);

  /* across processes: a child sends a socket end it made */
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    int q[2];
    if (pipe(q) < 0 || write(q[1], "from child", 10) != 10)
      _exit(1);
    close(q[1]);
    _exit(sync_send(sp[0], SYNC_PID, 77, NULL, q[0]) == 0 ? 0 : 2);
  }
  assert_int_equal(sync_recv(sp[1], &m, &got), 0);
  assert_int_equal(m.value, 77);
  assert_true(got >= 0);
  memset(buf, 0, sizeof buf);
  char big[16] = {0};
  assert_int_equal(read(got, big, sizeof big), 10);
  assert_memory_equal(big, "from child", 10);
  close(got);
  int st;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);

  /* a descriptor nobody asked for (fd == NULL) is closed, not leaked */
  assert_int_equal(pipe(p), 0);
  int before = count_fds();
  assert_int_equal(sync_send(sp[0], SYNC_PTY, 0, NULL, p[0]), 0);
  assert_int_equal(sync_recv(sp[1], &m, NULL), 0);
  assert_int_equal(count_fds(), before);
  close(p[0]);
  close(p[1]);

  /* a bad descriptor cannot be sent */
  assert_int_equal(sync_send(sp[0], SYNC_PTY, 0, NULL, 9999), -EBADF);
}

static void test_expect(void **state) {
  (void)state;
  struct sync_msg m;
  struct hull_error e = {0};
  int fd;
  /* the expected type */
  assert_int_equal(sync_send(sp[0], SYNC_READY, 3, NULL, -1), 0);
  assert_int_equal(sync_expect(sp[1], SYNC_READY, &m, &fd, &e), 0);
  assert_int_equal(m.value, 3);
  /* SYNC_ERROR becomes the error, with its message and code */
  assert_int_equal(sync_send(sp[0], SYNC_ERROR, EACCES, "mount /proc: denied", -1), 0);
  assert_int_equal(sync_expect(sp[1], SYNC_READY, &m, &fd, &e), -EACCES);
  assert_int_equal(e.code, EACCES);
  assert_string_equal(e.msg, "mount /proc: denied");
  /* without a (positive) code: EINVAL */
  assert_int_equal(sync_send(sp[0], SYNC_ERROR, 0, "no code", -1), 0);
  assert_int_equal(sync_expect(sp[1], SYNC_READY, &m, &fd, &e), -EINVAL);
  assert_string_equal(e.msg, "no code");
  assert_int_equal(sync_send(sp[0], SYNC_ERROR, -5, "negative", -1), 0);
  assert_int_equal(sync_expect(sp[1], SYNC_READY, &m, &fd, &e), -EINVAL);
  /* a message the error text could be abused through: kept verbatim */
  assert_int_equal(sync_send(sp[0], SYNC_ERROR, EPERM, "%s%n%d", -1), 0);
  assert_int_equal(sync_expect(sp[1], SYNC_READY, &m, &fd, &e), -EPERM);
  assert_string_equal(e.msg, "%s%n%d");
  /* sync_send_error carries a hull_error across */
  struct hull_error sent = {0};
  hull_err(&sent, ENOSPC, "write /etc/hosts: full");
  sync_send_error(sp[1], &sent);
  assert_int_equal(sync_expect(sp[0], SYNC_HOOKS, &m, &fd, &e), -ENOSPC);
  assert_string_equal(e.msg, "write /etc/hosts: full");
  /* another type than expected */
  assert_int_equal(sync_send(sp[0], SYNC_START, 0, NULL, -1), 0);
  assert_int_equal(sync_expect(sp[1], SYNC_READY, &m, &fd, &e), -EPROTO);
  assert_non_null(strstr(e.msg, "unexpected message"));
  /* an unknown type */
  assert_int_equal(sync_send(sp[0], 0xdeadbeef, 0, NULL, -1), 0);
  assert_int_equal(sync_expect(sp[1], SYNC_READY, &m, &fd, &e), -EPROTO);
}

static void test_closed_peer(void **state) {
  (void)state;
  struct sync_msg m;
  struct hull_error e = {0};
  int fd = 5;
  /* what was sent before the close is still read, then EPIPE */
  assert_int_equal(sync_send(sp[0], SYNC_GO, 1, NULL, -1), 0);
  close(sp[0]);
  sp[0] = -1;
  assert_int_equal(sync_recv(sp[1], &m, &fd), 0);
  assert_int_equal(sync_recv(sp[1], &m, &fd), -EPIPE);
  assert_int_equal(fd, -1);
  assert_int_equal(sync_expect(sp[1], SYNC_GO, &m, &fd, &e), -EPIPE);
  assert_int_equal(e.code, EPIPE);
  assert_non_null(strstr(e.msg, "exited"));
  /* sending to a closed peer: -EPIPE, no SIGPIPE */
  assert_int_equal(sync_send(sp[1], SYNC_GO, 0, NULL, -1), -EPIPE);
  /* a child that dies mid-way */
  close(sp[1]);
  assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0)
    _exit(0);
  close(sp[0]); /* the child's copy is the only other one; gone at exit */
  sp[0] = -1;
  assert_int_equal(sync_expect(sp[1], SYNC_READY, &m, &fd, &e), -EPIPE);
  waitpid(pid, NULL, 0);
  close(sp[1]);
  /* a bad socket */
  assert_int_equal(sync_recv(-1, &m, &fd), -EBADF);
  assert_int_equal(sync_expect(-1, SYNC_GO, &m, &fd, &e), -EBADF);
  assert_non_null(strstr(e.msg, "channel"));
  assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp), 0);
}

static void test_garbage(void **state) {
  (void)state;
  struct sync_msg m;
  struct hull_error e = {0};
  int fd;
  /* shorter than the header */
  const char tiny[7] = "1234567";
  for (size_t len = 1; len < offsetof(struct sync_msg, text); len++) {
    send_raw(sp[0], tiny, len, -1);
    assert_int_equal(sync_recv(sp[1], &m, &fd), -EBADMSG);
  }
  send_raw(sp[0], "xy", 2, -1);
  assert_int_equal(sync_expect(sp[1], SYNC_GO, &m, &fd, &e), -EBADMSG);
  assert_int_equal(e.code, EBADMSG);
  /* exactly a header: an empty text */
  struct {
    uint32_t type;
    int32_t value;
  } hdr = {SYNC_READY, 9};
  send_raw(sp[0], &hdr, sizeof hdr, -1);
  memset(&m, 0x55, sizeof m);
  assert_int_equal(sync_recv(sp[1], &m, &fd), 0);
  assert_int_equal(m.type, SYNC_READY);
  assert_int_equal(m.value, 9);
  assert_string_equal(m.text, "");
  /* a full packet with no NUL in its text: terminated, not overread */
  struct sync_msg raw;
  raw.type = SYNC_ERROR;
  raw.value = EIO;
  memset(raw.text, 'Q', sizeof raw.text);
  send_raw(sp[0], &raw, sizeof raw, -1);
  assert_int_equal(sync_expect(sp[1], SYNC_READY, &m, &fd, &e), -EIO);
  assert_int_equal(strlen(m.text), sizeof m.text - 1);
  assert_int_equal(strlen(e.msg), sizeof m.text - 1);
  /* a packet bigger than a message: the rest is dropped, the next packet
   * is still its own message */
  char huge[4096];
  memset(huge, 'Z', sizeof huge);
  memcpy(huge, &hdr, sizeof hdr);
  send_raw(sp[0], huge, sizeof huge, -1);
  assert_int_equal(sync_send(sp[0], SYNC_GO, 1, "next", -1), 0);
  assert_int_equal(sync_recv(sp[1], &m, &fd), 0);
  assert_int_equal(m.type, SYNC_READY);
  assert_int_equal(sync_recv(sp[1], &m, &fd), 0);
  assert_int_equal(m.type, SYNC_GO);
  assert_string_equal(m.text, "next");

  /* a short packet that carries a descriptor: refused, and the
   * descriptor is not left open behind the caller's back */
  int p[2];
  assert_int_equal(pipe(p), 0);
  int before = count_fds();
  send_raw(sp[0], "ab", 2, p[0]);
  fd = -1;
  assert_int_equal(sync_recv(sp[1], &m, &fd), -EBADMSG);
  bool leaked = fd >= 0 || count_fds() != before;
  if (fd >= 0)
    close(fd);
  close(p[0]);
  close(p[1]);
  known_bug(leaked, "sync.c sync_recv: a packet shorter than the header that "
                    "carries an SCM_RIGHTS fd returns -EBADMSG but leaves the "
                    "fd open in *fd (callers do not close it on error)");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_plain, setup, teardown),
      cmocka_unit_test_setup_teardown(test_fd, setup, teardown),
      cmocka_unit_test_setup_teardown(test_expect, setup, teardown),
      cmocka_unit_test_setup_teardown(test_closed_peer, setup, teardown),
      cmocka_unit_test_setup_teardown(test_garbage, setup, teardown),
  };
  return cmocka_run_group_tests_name("sync", tests, NULL, NULL);
}
