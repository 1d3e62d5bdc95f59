/* Unit tests for container records (src/engine/records.c): ids, names
 * unique, lookup by name / id / prefix, crash leftovers invisible,
 * removal never crossing a mount point, status of a dead monitor. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fs.h"
#include "engine/engine.h"

static char dir[64];
static struct engine *en;

static int setup(void **state) {
  (void)state;
  snprintf(dir, sizeof dir, "/tmp/hull-rec-XXXXXX");
  if (!mkdtemp(dir))
    return -1;
  char root[128], run[128];
  snprintf(root, sizeof root, "%s/store", dir);
  snprintf(run, sizeof run, "%s/run", dir);
  struct hull_error e;
  return engine_open(root, run, &en, &e);
}

static int teardown(void **state) {
  (void)state;
  engine_close(en);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  return system(cmd) == 0 ? 0 : -1;
}

static int make(const char *name, char id[ENGINE_ID_LEN + 1]) {
  struct hull_error e;
  json_t *cfg = json_pack("{s:s}", "Image", "sha256:x");
  if (name)
    json_object_set_new(cfg, "Name", json_string(name));
  return record_create(en, cfg, id, &e);
}

static void test_create_find(void **state) {
  (void)state;
  char a[ENGINE_ID_LEN + 1], b[ENGINE_ID_LEN + 1], c[ENGINE_ID_LEN + 1];
  assert_int_equal(make("alpha", a), 0);
  assert_int_equal(strlen(a), ENGINE_ID_LEN);
  assert_int_equal(make(NULL, b), 0);
  /* a name in use is refused, naming the holder */
  struct hull_error e;
  json_t *cfg = json_pack("{s:s}", "Name", "alpha");
  assert_int_equal(record_create(en, cfg, c, &e), -EEXIST);
  assert_non_null(strstr(e.msg, "alpha"));
  assert_non_null(strstr(e.msg, "in use"));
  cfg = json_pack("{s:s}", "Name", "bad name");
  assert_true(record_create(en, cfg, c, &e) < 0);

  struct record *r;
  assert_int_equal(record_find(en, "alpha", false, &r, &e), 0);
  assert_string_equal(r->id, a);
  assert_string_equal(record_status(r), "created");
  record_free(r);
  char prefix[13];
  snprintf(prefix, sizeof prefix, "%.12s", b);
  assert_int_equal(record_find(en, prefix, true, &r, &e), 0);
  assert_string_equal(r->id, b);
  /* generated names: hull_ and the short id */
  char gen[32];
  snprintf(gen, sizeof gen, "hull_%.12s", b);
  assert_string_equal(json_string_value(json_object_get(r->cfg, "Name")), gen);
  json_object_set_new(r->cfg, "Extra", json_true());
  assert_int_equal(record_save(r, &e), 0);
  record_free(r);
  assert_int_equal(record_open_id(en, b, false, &r, &e), 0);
  assert_true(json_is_true(json_object_get(r->cfg, "Extra")));
  record_free(r);
  assert_int_equal(record_find(en, "nope", false, &r, &e), -ENOENT);
  assert_true(record_find(en, "", false, &r, &e) < 0);

  char **ids;
  size_t n;
  assert_int_equal(record_list(en, &ids, &n, &e), 0);
  assert_int_equal(n, 2);
  for (size_t i = 0; i < n; i++)
    free(ids[i]);
  free(ids);

  /* remove: gone, its name free again */
  assert_int_equal(record_find(en, "alpha", true, &r, &e), 0);
  assert_int_equal(record_remove(en, r, &e), 0);
  record_free(r);
  assert_int_equal(record_find(en, "alpha", false, &r, &e), -ENOENT);
  assert_int_equal(make("alpha", c), 0);
}

static void test_leftovers_invisible(void **state) {
  (void)state;
  /* a create that died before its rename */
  char p[256];
  snprintf(p, sizeof p, "%s/.tmp-%064d", en->cdir, 7);
  assert_int_equal(mkdir(p, 0700), 0);
  char **ids;
  size_t n;
  struct hull_error e;
  assert_int_equal(record_list(en, &ids, &n, &e), 0);
  for (size_t i = 0; i < n; i++) {
    assert_int_equal(strlen(ids[i]), ENGINE_ID_LEN);
    assert_null(strstr(ids[i], "tmp"));
    free(ids[i]);
  }
  free(ids);
  /* a corrupt record is an error naming it, not a crash */
  char id[ENGINE_ID_LEN + 1];
  assert_int_equal(make("corrupt", id), 0);
  snprintf(p, sizeof p, "%s/%s/config.json", en->cdir, id);
  FILE *f = fopen(p, "w");
  fputs("{\"Name\":", f);
  fclose(f);
  struct record *r;
  assert_int_equal(record_open_id(en, id, false, &r, &e), -EINVAL);
  assert_non_null(strstr(e.msg, "corrupt"));
}

static void test_dead_monitor(void **state) {
  (void)state;
  char id[ENGINE_ID_LEN + 1];
  assert_int_equal(make("dead", id), 0);
  struct record *r;
  struct hull_error e;
  assert_int_equal(record_open_id(en, id, true, &r, &e), 0);
  json_t *st = record_state(r);
  /* a pid that cannot be alive with that start time */
  json_object_set_new(st, "Status", json_string("running"));
  json_object_set_new(st, "MonitorPid", json_integer(getpid()));
  json_object_set_new(st, "MonitorStart", json_integer(1));
  assert_string_equal(record_status(r), "exited");
  assert_int_equal(json_integer_value(json_object_get(st, "ExitCode")), 255);
  record_free(r);
}

static void test_rm_rf(void **state) {
  (void)state;
  char p[256];
  snprintf(p, sizeof p, "%s/tree", dir);
  mkdir(p, 0700);
  snprintf(p, sizeof p, "%s/tree/a", dir);
  mkdir(p, 0700);
  snprintf(p, sizeof p, "%s/tree/a/f", dir);
  close(open(p, O_CREAT | O_WRONLY, 0600));
  snprintf(p, sizeof p, "%s/tree/link", dir);
  assert_int_equal(symlink("/etc", p), 0); /* never followed */
  int d = open(dir, O_RDONLY | O_DIRECTORY);
  assert_int_equal(fs_rm_rf_at(d, "tree"), 0);
  struct stat sb;
  assert_int_equal(fstatat(d, "tree", &sb, 0), -1);
  assert_int_equal(stat("/etc/passwd", &sb), 0);
  assert_int_equal(fs_rm_rf_at(d, "tree"), 0); /* gone is fine */
  close(d);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_create_find),
      cmocka_unit_test(test_leftovers_invisible),
      cmocka_unit_test(test_dead_monitor),
      cmocka_unit_test(test_rm_rf),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
