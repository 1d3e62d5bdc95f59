/* Unit tests for the container layer shared by every driver
 * (src/runtime/container.c, src/runtime/driver.c): container ids, the
 * liveness check that guards against pid reuse, the driver choice, and
 * the state file (load, save, corrupt input). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/fs.h"
#include "runtime/container.h"
#include "runtime/driver.h"

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

/* ---- ids ----------------------------------------------------------------- */

static void test_validate_id(void **state) {
  (void)state;
  struct hull_error e;
  char max[1001], over[1002];
  memset(max, 'a', 1000);
  max[1000] = 0;
  memset(over, 'b', 1001);
  over[1001] = 0;
  const char *good[] = {"a", "c1", "A-Z_a.z+0-9", "...", ".a", "a..", "-x",
                        "my_container.v2", max};
  for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
    memset(&e, 0, sizeof e);
    if (container_validate_id(good[i], &e) != 0)
      fail_msg("\"%.40s\" refused: %s", good[i], e.msg);
  }
  bool multi_line = false;
  const char *bad[] = {"", ".", "..", "a/b", "/a", "a/", "../x", "a b", " ",
                       "a\n", "\n", "a\tb", "a:b", "a\\b", "\xc3\xa9", "a*",
                       "a$b", "a\"b", "a'b", "a;b", "a\x7f", over};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    memset(&e, 0, sizeof e);
    int r = container_validate_id(bad[i], &e);
    if (r != -EINVAL)
      fail_msg("\"%.40s\": %d, want -EINVAL", bad[i], r);
    assert_int_equal(e.code, EINVAL);
    assert_non_null(strstr(e.msg, "container id"));
    /* one line, as every error message */
    if (strchr(e.msg, '\n'))
      multi_line = true;
  }
  /* The message of a long id is cut, and stays one line. */
  container_validate_id(over, &e);
  assert_true(strlen(e.msg) < 200);
  known_bug(multi_line, "container.c container_validate_id: the message for "
                        "an id with a newline quotes it raw (\"a\\n\" gives a "
                        "two-line error); quote with %%.*s up to the first bad "
                        "character or escape it");
}

/* ---- liveness -------------------------------------------------------------- */

/* Field 22 of /proc/PID/stat, parsed here independently. */
static unsigned long long stat_start(pid_t pid) {
  char p[64], buf[2048];
  snprintf(p, sizeof p, "/proc/%d/stat", pid);
  FILE *f = fopen(p, "re");
  if (!f)
    return 0;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  char *q = strrchr(buf, ')');
  unsigned long long st = 0;
  if (!q || sscanf(q + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u "
                          "%*u %*d %*d %*d %*d %*d %*d %llu", &st) != 1)
    return 0;
  return st;
}

static void test_start_time_self(void **state) {
  (void)state;
  unsigned long long st = process_start_time(getpid());
  assert_true(st > 0);
  assert_int_equal(st, stat_start(getpid()));
  assert_true(process_alive(getpid(), st));
  /* the same pid with another start time is another process */
  assert_false(process_alive(getpid(), st + 1));
  assert_false(process_alive(getpid(), 0));
  assert_false(process_alive(0, st));
  assert_false(process_alive(-1, st));
  /* init is older than we are */
  unsigned long long init = process_start_time(1);
  assert_true(init > 0 && init <= st);
  /* no such process */
  assert_int_equal(process_start_time(0x3fffffff), 0);
  assert_false(process_alive(0x3fffffff, 1));
}

static void test_start_time_odd_name(void **state) {
  (void)state;
  /* A command name that looks like the fields after it: "x) Z 1 2 3". */
  int ready[2], go[2];
  assert_int_equal(pipe(ready), 0);
  assert_int_equal(pipe(go), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    close(ready[0]);
    close(go[1]);
    prctl(PR_SET_NAME, ") Z 1 2 3 4 5 6", 0, 0, 0);
    char c = 'k';
    if (write(ready[1], &c, 1) != 1 || read(go[0], &c, 1) != 1)
      _exit(1);
    _exit(0);
  }
  close(ready[1]);
  close(go[0]);
  char c;
  assert_int_equal(read(ready[0], &c, 1), 1);
  unsigned long long st = process_start_time(pid);
  assert_true(st > 0);
  assert_int_equal(st, stat_start(pid));
  assert_true(process_alive(pid, st));
  /* let it exit: a zombie is not alive */
  assert_int_equal(write(go[1], "x", 1), 1);
  siginfo_t si;
  assert_int_equal(waitid(P_PID, pid, &si, WEXITED | WNOWAIT), 0);
  assert_int_equal(process_start_time(pid), 0);
  assert_false(process_alive(pid, st));
  /* reaped: gone */
  assert_int_equal(waitpid(pid, NULL, 0), pid);
  assert_false(process_alive(pid, st));
  assert_int_equal(process_start_time(pid), 0);
  close(ready[0]);
  close(go[1]);
}

/* A new process with a given pid (clone3 set_tid, root only). */
static pid_t spawn_with_pid(pid_t want, int go_fd, int other_end) {
  struct clone_args args;
  memset(&args, 0, sizeof args);
  pid_t tid = want;
  args.exit_signal = SIGCHLD;
  args.set_tid = (uint64_t)(uintptr_t)&tid;
  args.set_tid_size = 1;
  long r = syscall(SYS_clone3, &args, sizeof args);
  if (r == 0) {
    char c;
    close(other_end);
    if (read(go_fd, &c, 1) < 0)
      _exit(1);
    _exit(0);
  }
  return (pid_t)r;
}

static void test_pid_reuse(void **state) {
  (void)state;
  /* A container's pid, recorded with its start time... */
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0)
    _exit(0);
  unsigned long long st = 0;
  /* (it may already be a zombie: then its start time reads 0) */
  st = stat_start(pid);
  assert_int_equal(waitpid(pid, NULL, 0), pid);
  assert_false(process_alive(pid, st));
  /* ... then another process gets the same pid, later: not the same. */
  struct timespec ts = {0, 30 * 1000 * 1000}; /* > 1 clock tick */
  nanosleep(&ts, NULL);
  int go[2];
  assert_int_equal(pipe(go), 0);
  pid_t again = spawn_with_pid(pid, go[0], go[1]);
  if (again < 0) {
    close(go[0]);
    close(go[1]);
    print_message("clone3 set_tid: %s; pid reuse not simulated\n", strerror(errno));
    skip();
  }
  assert_int_equal(again, pid);
  unsigned long long st2 = process_start_time(pid);
  assert_true(st2 > st);
  assert_true(process_alive(pid, st2));
  assert_false(process_alive(pid, st));
  assert_int_equal(write(go[1], "x", 1), 1);
  assert_int_equal(waitpid(pid, NULL, 0), pid);
  close(go[0]);
  close(go[1]);
}

/* ---- driver choice --------------------------------------------------------- */

static void test_driver_select(void **state) {
  (void)state;
  const struct isolation_ops *ops;
  struct hull_error e;
#define PICK(ex, ann, prog)                                                    \
  (ops = NULL, memset(&e, 0, sizeof e), driver_select(ex, ann, prog, &ops, &e))
  /* default */
  assert_int_equal(PICK(NULL, NULL, NULL), 0);
  assert_ptr_equal(ops, &process_isolation_ops);
  assert_string_equal(ops->name, "process");
  assert_int_equal(PICK("", "", "hull-runtime"), 0);
  assert_ptr_equal(ops, &process_isolation_ops);
  assert_int_equal(PICK(NULL, NULL, "/usr/local/bin/hull-runtime"), 0);
  assert_ptr_equal(ops, &process_isolation_ops);
  /* explicit */
  assert_int_equal(PICK("process", NULL, NULL), 0);
  assert_ptr_equal(ops, &process_isolation_ops);
  assert_int_equal(PICK("vm", NULL, NULL), 0);
  assert_ptr_equal(ops, &vm_isolation_ops);
  assert_int_equal(PICK("hyperv", NULL, NULL), 0);
  assert_ptr_equal(ops, &vm_isolation_ops);
  assert_int_equal(PICK("bogus", NULL, NULL), -EINVAL);
  assert_non_null(strstr(e.msg, "bogus"));
  assert_int_equal(PICK("Process", NULL, NULL), -EINVAL);
  /* explicit wins over the annotation and the program name */
  assert_int_equal(PICK("process", "vm", "hull-runtime-vm"), 0);
  assert_ptr_equal(ops, &process_isolation_ops);
  assert_int_equal(PICK("vm", "process", "hull-runtime"), 0);
  assert_ptr_equal(ops, &vm_isolation_ops);
  assert_int_equal(PICK("bogus", "process", NULL), -EINVAL);
  /* the annotation wins over the program name; its errors say so */
  assert_int_equal(PICK(NULL, "process", "hull-runtime-vm"), 0);
  assert_ptr_equal(ops, &process_isolation_ops);
  assert_int_equal(PICK("", "vm", "hull-runtime"), 0);
  assert_ptr_equal(ops, &vm_isolation_ops);
  assert_int_equal(PICK(NULL, "nope", NULL), -EINVAL);
  assert_non_null(strstr(e.msg, "org.hull.isolation"));
  assert_non_null(strstr(e.msg, "nope"));
  /* the program name */
  assert_int_equal(PICK(NULL, NULL, "hull-runtime-vm"), 0);
  assert_ptr_equal(ops, &vm_isolation_ops);
  assert_int_equal(PICK(NULL, "", "/opt/hull/bin/hull-runtime-vm"), 0);
  assert_ptr_equal(ops, &vm_isolation_ops);
  assert_int_equal(PICK(NULL, NULL, "/opt/hull-runtime-vm/hull-runtime"), 0);
  assert_ptr_equal(ops, &process_isolation_ops);
  assert_int_equal(PICK(NULL, NULL, "vm"), 0);
  assert_int_equal(PICK(NULL, NULL, ""), 0);
  assert_ptr_equal(ops, &process_isolation_ops);
  /* by name */
  assert_int_equal(driver_by_name("process", &ops, &e), 0);
  assert_ptr_equal(ops, &process_isolation_ops);
  assert_int_equal(driver_by_name("", &ops, &e), -EINVAL);
#undef PICK
  /* every operation the shared code calls unconditionally is there */
  const struct isolation_ops *p = &process_isolation_ops;
  assert_non_null(p->create);
  assert_non_null(p->start);
  assert_non_null(p->kill);
  assert_non_null(p->delete);
  assert_non_null(p->exec);
}

/* ---- the state file --------------------------------------------------------- */

static char root[64];

static int setup_root(void **state) {
  (void)state;
  snprintf(root, sizeof root, "/tmp/hull-ctr-XXXXXX");
  return mkdtemp(root) ? 0 : -1;
}

static int teardown_root(void **state) {
  (void)state;
  /* root/ID/{state.json,...} and plain files */
  DIR *d = opendir(root);
  struct dirent *de;
  while (d && (de = readdir(d))) {
    if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
      continue;
    char p[512];
    snprintf(p, sizeof p, "%s/%s", root, de->d_name);
    DIR *s = opendir(p);
    struct dirent *se;
    while (s && (se = readdir(s))) {
      char q[1024];
      snprintf(q, sizeof q, "%s/%s", p, se->d_name);
      unlink(q);
    }
    if (s) {
      closedir(s);
      rmdir(p);
    } else {
      unlink(p);
    }
  }
  if (d)
    closedir(d);
  rmdir(root);
  return 0;
}

static void write_state(const char *id, const char *text) {
  char p[512];
  snprintf(p, sizeof p, "%s/%s", root, id);
  mkdir(p, 0700);
  int dfd = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
  assert_true(dfd >= 0);
  struct hull_error e;
  if (text)
    assert_int_equal(fs_atomic_write(dfd, "state.json", text, strlen(text), false, &e), 0);
  close(dfd);
}

static void test_state_load_save(void **state) {
  (void)state;
  struct runtime_opts ro = {.root = root};
  struct container *c = NULL;
  struct hull_error e = {0};
  unsigned long long me = process_start_time(getpid());
  char text[1024];
  snprintf(text, sizeof text,
           "{\"ociVersion\":\"1.2.0\",\"id\":\"c1\",\"status\":\"created\","
           "\"pid\":%d,\"startTime\":%llu,\"bundle\":\"/b/dl\",\"created\":"
           "\"2024-01-02T03:04:05.000000006Z\",\"isolation\":\"process\","
           "\"cgroupPath\":\"/hull/c1\",\"rootfs\":\"/b/dl/rootfs\","
           "\"nsFlags\":%d,\"nsInodes\":[11,12,13],"
           "\"annotations\":{\"k\":\"v\"},\"driver\":{\"x\":[1,2]}}",
           getpid(), me, CLONE_NEWPID | CLONE_NEWNS);
  write_state("c1", text);
  int r = container_load(&ro, "c1", true, &c, &e);
  if (r < 0)
    fail_msg("load: %s", e.msg);
  assert_string_equal(c->id, "c1");
  assert_int_equal(c->pid, getpid());
  assert_int_equal(c->start_time, me);
  assert_string_equal(c->bundle, "/b/dl");
  assert_string_equal(c->status, "created");
  assert_string_equal(c->created, "2024-01-02T03:04:05.000000006Z");
  assert_string_equal(c->cgroup_path, "/hull/c1");
  assert_int_equal(c->ns_flags, CLONE_NEWPID | CLONE_NEWNS);
  assert_int_equal(c->ns_inodes[0], 11);
  assert_int_equal(c->ns_inodes[2], 13);
  assert_int_equal(c->ns_inodes[3], 0);
  assert_ptr_equal(c->ops, &process_isolation_ops);
  assert_string_equal(json_string_value(json_object_get(c->spec.annotations, "k")), "v");
  assert_int_equal(json_integer_value(json_array_get(json_object_get(c->driver_data, "x"), 1)), 2);
  assert_true(c->dirfd >= 0);
  /* our own pid and start time: alive, so the recorded status holds */
  assert_string_equal(container_status(c), "created");
  /* the OCI state */
  json_t *o = container_oci_state(c, "running");
  assert_string_equal(json_string_value(json_object_get(o, "id")), "c1");
  assert_string_equal(json_string_value(json_object_get(o, "status")), "running");
  assert_int_equal(json_integer_value(json_object_get(o, "pid")), getpid());
  assert_string_equal(json_string_value(json_object_get(o, "bundle")), "/b/dl");
  assert_string_equal(json_string_value(json_object_get(o, "ociVersion")), HULL_OCI_VERSION);
  json_decref(o);
  o = container_oci_state(c, "stopped");
  assert_int_equal(json_integer_value(json_object_get(o, "pid")), 0);
  json_decref(o);

  /* save, load again: the same */
  snprintf(c->status, sizeof c->status, "running");
  c->ns_inodes[5] = 99;
  assert_int_equal(container_save(c, &e), 0);
  container_free(c);
  c = NULL;
  assert_int_equal(container_load(&ro, "c1", false, &c, &e), 0);
  assert_string_equal(c->status, "running");
  assert_int_equal(c->pid, getpid());
  assert_int_equal(c->start_time, me);
  assert_int_equal(c->ns_inodes[5], 99);
  assert_int_equal(c->ns_inodes[0], 11);
  assert_string_equal(c->cgroup_path, "/hull/c1");
  assert_string_equal(json_string_value(json_object_get(c->spec.annotations, "k")), "v");
  assert_non_null(c->driver_data);
  /* a process that is gone: stopped, whatever was recorded */
  c->start_time = me + 1;
  assert_string_equal(container_status(c), "stopped");
  container_free(c);

  /* without the optional fields */
  write_state("c2", "{\"status\":\"stopped\",\"pid\":0,\"startTime\":0,"
                    "\"bundle\":\"/b\",\"isolation\":\"process\",\"created\":\"\"}");
  assert_int_equal(container_load(&ro, "c2", true, &c, &e), 0);
  assert_string_equal(c->cgroup_path, "");
  assert_true(json_is_object(c->spec.annotations));
  assert_int_equal(json_object_size(c->spec.annotations), 0);
  assert_null(c->driver_data);
  assert_string_equal(container_status(c), "stopped");
  container_free(c);
}

static void expect_load_error(const char *id, int code, const char *what) {
  struct runtime_opts ro = {.root = root};
  struct container *c = (struct container *)0x1;
  struct hull_error e = {0};
  int r = container_load(&ro, id, false, &c, &e);
  if (r != -code)
    fail_msg("load %s: %d (%s), want %d", id, r, e.msg, -code);
  assert_int_equal(e.code, code);
  if (!strstr(e.msg, what))
    fail_msg("load %s: \"%s\" does not say \"%s\"", id, e.msg, what);
  assert_ptr_equal(c, (struct container *)0x1); /* untouched */
}

static void test_state_errors(void **state) {
  (void)state;
  expect_load_error("nothere", ENOENT, "does not exist");
  expect_load_error("../etc", EINVAL, "container id");
  expect_load_error("", EINVAL, "container id");
  write_state("empty", NULL);
  expect_load_error("empty", ENOENT, "incomplete");
  write_state("trunc", "{\"status\":\"created\",\"pid\":1");
  expect_load_error("trunc", EINVAL, "corrupt");
  write_state("garbage", "\x01\x02\x03");
  expect_load_error("garbage", EINVAL, "corrupt");
  write_state("notobj", "[1,2]");
  expect_load_error("notobj", EINVAL, "corrupt");
  write_state("nopid", "{\"status\":\"created\",\"startTime\":0,\"bundle\":\"/b\","
                       "\"isolation\":\"process\",\"created\":\"\"}");
  expect_load_error("nopid", EINVAL, "pid");
  write_state("badtype", "{\"status\":1,\"pid\":0,\"startTime\":0,\"bundle\":\"/b\","
                         "\"isolation\":\"process\",\"created\":\"\"}");
  expect_load_error("badtype", EINVAL, "corrupt");
  write_state("unknown", "{\"status\":\"created\",\"pid\":0,\"startTime\":0,"
                         "\"bundle\":\"/b\",\"isolation\":\"zone\",\"created\":\"\"}");
  expect_load_error("unknown", EINVAL, "zone");
  /* a file where the state directory should be */
  char p[512];
  snprintf(p, sizeof p, "%s/afile", root);
  int fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  close(fd);
  expect_load_error("afile", ENOTDIR, "afile");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_validate_id),
      cmocka_unit_test(test_start_time_self),
      cmocka_unit_test(test_start_time_odd_name),
      cmocka_unit_test(test_pid_reuse),
      cmocka_unit_test(test_driver_select),
      cmocka_unit_test(test_state_load_save),
      cmocka_unit_test(test_state_errors),
  };
  return cmocka_run_group_tests_name("container", tests, setup_root, teardown_root);
}
