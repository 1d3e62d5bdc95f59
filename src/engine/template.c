/* The subset of Go templates that `--format` takes in docker and podman
 * scripts (engine.h, "templates"): {{.Field.Path}}, {{json .Path}},
 * {{range .Path}}...{{end}} with {{.}} or {{.Field}} of each element,
 * the text around them. Fuzzed (tests/fuzz/fuzz_engine_options.c). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/json.h"
#include "engine.h"

#define TEMPLATE_DEPTH 8

/* The value at a path ".A.B" (or "." itself) under dot; NULL when absent. */
static json_t *lookup(json_t *dot, const char *path, size_t len) {
  if (len == 0 || path[0] != '.')
    return NULL;
  json_t *v = dot;
  size_t i = 1;
  while (i < len && v) {
    size_t j = i;
    while (j < len && path[j] != '.')
      j++;
    if (j == i)
      return NULL; /* ".." */
    char key[256];
    if (j - i >= sizeof key)
      return NULL;
    memcpy(key, path + i, j - i);
    key[j - i] = '\0';
    v = json_object_get(v, key);
    i = j + 1;
  }
  return v;
}

static void print_value(FILE *f, json_t *v, bool as_json) {
  if (!v) {
    fputs(as_json ? "null" : "<no value>", f);
  } else if (!as_json && json_is_string(v)) {
    fputs(json_string_value(v), f);
  } else {
    char *t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (t)
      fputs(t, f);
    free(t);
  }
}

/* Where the {{end}} closing the range whose body starts at p is; NULL
 * when there is none. */
static const char *find_end(const char *p, const char **after) {
  int depth = 1;
  while ((p = strstr(p, "{{"))) {
    const char *close = strstr(p + 2, "}}");
    if (!close)
      return NULL;
    const char *a = p + 2;
    while (a < close && isspace((unsigned char)*a))
      a++;
    size_t n = (size_t)(close - a);
    while (n && isspace((unsigned char)a[n - 1]))
      n--;
    if (n >= 6 && !strncmp(a, "range", 5) && isspace((unsigned char)a[5]))
      depth++;
    else if (n == 3 && !strncmp(a, "end", 3) && --depth == 0) {
      *after = close + 2;
      return p;
    }
    p = close + 2;
  }
  return NULL;
}

static int run(FILE *f, const char *t, const char *stop, json_t *dot, int depth,
               struct hull_error *e) {
  if (depth > TEMPLATE_DEPTH)
    return hull_err(e, EINVAL, "--format: ranges nested too deep");
  while (t < stop) {
    const char *open = strstr(t, "{{");
    if (!open || open >= stop) {
      fwrite(t, 1, (size_t)(stop - t), f);
      return 0;
    }
    fwrite(t, 1, (size_t)(open - t), f);
    const char *close = strstr(open + 2, "}}");
    if (!close || close > stop)
      return hull_err(e, EINVAL, "--format: \"{{\" without \"}}\"");
    const char *a = open + 2;
    while (a < close && isspace((unsigned char)*a))
      a++;
    size_t n = (size_t)(close - a);
    while (n && isspace((unsigned char)a[n - 1]))
      n--;
    if (n > 5 && !strncmp(a, "json", 4) && isspace((unsigned char)a[4])) {
      const char *p = a + 5;
      while (isspace((unsigned char)*p))
        p++;
      print_value(f, lookup(dot, p, (size_t)(a + n - p)), true);
      t = close + 2;
    } else if (n > 6 && !strncmp(a, "range", 5) && isspace((unsigned char)a[5])) {
      const char *p = a + 6;
      while (isspace((unsigned char)*p))
        p++;
      json_t *over = lookup(dot, p, (size_t)(a + n - p));
      const char *after = NULL;
      const char *end = find_end(close + 2, &after);
      if (!end || end > stop)
        return hull_err(e, EINVAL, "--format: {{range}} without {{end}}");
      const char *key;
      json_t *v;
      size_t i;
      int r = 0;
      if (json_is_array(over)) {
        json_array_foreach(over, i, v) {
          if (!r)
            r = run(f, close + 2, end, v, depth + 1, e);
        }
      } else if (json_is_object(over)) {
        json_object_foreach(over, key, v) {
          if (!r)
            r = run(f, close + 2, end, v, depth + 1, e);
        }
      }
      if (r < 0)
        return r;
      t = after;
    } else if (n >= 1 && a[0] == '.') {
      print_value(f, lookup(dot, a, n), false);
      t = close + 2;
    } else {
      return hull_err(e, EINVAL, "--format: {{%.*s}}: not supported (fields, json, range)",
                      (int)(n > 40 ? 40 : n), a);
    }
  }
  return 0;
}

int engine_template(const char *tmpl, json_t *value, char **out, struct hull_error *e) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (!f)
    return hull_err(e, ENOMEM, "--format");
  int r = run(f, tmpl, tmpl + strlen(tmpl), value, 0, e);
  fclose(f);
  if (r < 0) {
    free(buf);
    return r;
  }
  *out = buf;
  return 0;
}
