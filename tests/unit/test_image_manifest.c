/* Unit tests of manifest, index, config and docker manifest.json parsing
 * (src/image/manifest.c): good documents give their fields, bad ones a
 * one-line error naming what is wrong. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "image/store_priv.h"

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"

static void test_manifest_ok(void **state) {
  (void)state;
  const char *t = "{\"schemaVersion\":2,\"mediaType\":\"" MT_OCI_MANIFEST "\","
                  "\"config\":{\"mediaType\":\"" MT_OCI_CONFIG "\",\"digest\":\"" D1 "\",\"size\":10},"
                  "\"layers\":[{\"mediaType\":\"" MT_OCI_LAYER_GZ "\",\"digest\":\"" D2 "\",\"size\":20}]}";
  struct manifest m;
  assert_int_equal(manifest_parse(t, strlen(t), &m, NULL), 0);
  assert_string_equal(m.config.digest, D1);
  assert_int_equal(m.config.size, 10);
  assert_int_equal(m.n_layers, 1);
  assert_string_equal(m.layers[0].digest, D2);
  assert_string_equal(m.layers[0].media_type, MT_OCI_LAYER_GZ);
  manifest_clear(&m);
  /* what manifest_build writes parses back */
  char *b = manifest_build(&(struct descriptor){MT_OCI_CONFIG, D1, 3},
                           &(struct descriptor){MT_OCI_LAYER, D2, 4}, 1);
  assert_non_null(b);
  assert_int_equal(manifest_parse(b, strlen(b), &m, NULL), 0);
  assert_int_equal(m.layers[0].size, 4);
  manifest_clear(&m);
  free(b);
}

static void bad_manifest(const char *t, const char *want) {
  struct manifest m;
  struct hull_error e = {0};
  assert_true(manifest_parse(t, strlen(t), &m, &e) < 0);
  if (!strstr(e.msg, want))
    fail_msg("%s: error '%s' does not mention '%s'", t, e.msg, want);
  assert_null(strchr(e.msg, '\n'));
}

static void test_manifest_bad(void **state) {
  (void)state;
  bad_manifest("{nope", "not JSON");
  bad_manifest("[]", "not a JSON object");
  bad_manifest("{\"schemaVersion\":1}", "schemaVersion");
  bad_manifest("{\"schemaVersion\":2,\"config\":{\"digest\":\"sha256:12\",\"size\":1},\"layers\":[]}",
               "bad digest");
  bad_manifest("{\"schemaVersion\":2,\"config\":{\"digest\":\"" D1 "\",\"size\":-1},\"layers\":[]}",
               "size");
  bad_manifest("{\"schemaVersion\":2,\"config\":{\"digest\":\"" D1 "\",\"size\":1},\"layers\":{}}",
               "layers is not an array");
  bad_manifest("{\"schemaVersion\":2,\"mediaType\":\"x\",\"config\":{\"digest\":\"" D1
               "\",\"size\":1},\"layers\":[]}",
               "unsupported mediaType");
}

static void test_config(void **state) {
  (void)state;
  const char *t = "{\"os\":\"linux\",\"config\":{\"Cmd\":[\"sh\"],\"Env\":[\"A=1\"]},"
                  "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" D1 "\",\"" D2 "\"]}}";
  json_t *c;
  char **ids;
  size_t n;
  assert_int_equal(config_parse(t, strlen(t), &c, &ids, &n, NULL), 0);
  assert_int_equal(n, 2);
  assert_string_equal(ids[1], D2);
  assert_null(ids[2]);
  json_decref(c);
  img_strv_free(ids);
  struct hull_error e = {0};
  const char *b1 = "{\"rootfs\":{\"diff_ids\":[\"sha256:xyz\"]}}";
  assert_true(config_parse(b1, strlen(b1), &c, &ids, &n, &e) < 0);
  assert_non_null(strstr(e.msg, "diff_ids[0]"));
  const char *b2 = "{\"config\":{\"Cmd\":\"sh\"},\"rootfs\":{\"diff_ids\":[]}}";
  assert_true(config_parse(b2, strlen(b2), &c, &ids, &n, &e) < 0);
  assert_non_null(strstr(e.msg, "Cmd"));
  const char *b3 = "{\"config\":{}}";
  assert_true(config_parse(b3, strlen(b3), &c, &ids, &n, &e) < 0);
  assert_non_null(strstr(e.msg, "diff_ids"));
}

static void test_index(void **state) {
  (void)state;
  const char *t = "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" MT_OCI_MANIFEST
                  "\",\"digest\":\"" D1 "\",\"size\":5,\"annotations\":"
                  "{\"org.opencontainers.image.ref.name\":\"busybox:1\"}}]}";
  struct index_entry *v;
  size_t n;
  assert_int_equal(index_parse(t, strlen(t), &v, &n, NULL), 0);
  assert_int_equal(n, 1);
  assert_string_equal(v[0].ref_name, "busybox:1");
  free(v);
  struct hull_error e = {0};
  assert_true(index_parse("{}", 2, &v, &n, &e) < 0);
}

static void test_docker_manifest(void **state) {
  (void)state;
  const char *t = "[{\"Config\":\"c.json\",\"RepoTags\":[\"a:1\",\"b:2\"],\"Layers\":[\"x/layer.tar\"]}]";
  struct docker_entry *v;
  size_t n;
  assert_int_equal(docker_manifest_parse(t, strlen(t), &v, &n, NULL), 0);
  assert_int_equal(n, 1);
  assert_string_equal(v[0].config, "c.json");
  assert_string_equal(v[0].tags[1], "b:2");
  assert_int_equal(v[0].n_layers, 1);
  docker_manifest_free(v, n);
  /* RepoTags null (an untagged image) is fine */
  const char *u = "[{\"Config\":\"c.json\",\"RepoTags\":null,\"Layers\":[]}]";
  assert_int_equal(docker_manifest_parse(u, strlen(u), &v, &n, NULL), 0);
  assert_null(v[0].tags[0]);
  docker_manifest_free(v, n);
  struct hull_error e = {0};
  const char *b = "[{\"RepoTags\":[]}]";
  assert_true(docker_manifest_parse(b, strlen(b), &v, &n, &e) < 0);
  assert_non_null(strstr(e.msg, "no Config"));
  const char *b2 = "[{\"Config\":\"c\",\"Layers\":[1]}]";
  assert_true(docker_manifest_parse(b2, strlen(b2), &v, &n, &e) < 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_manifest_ok),  cmocka_unit_test(test_manifest_bad),
      cmocka_unit_test(test_config),       cmocka_unit_test(test_index),
      cmocka_unit_test(test_docker_manifest),
  };
  return cmocka_run_group_tests_name("image_manifest", tests, NULL, NULL);
}
