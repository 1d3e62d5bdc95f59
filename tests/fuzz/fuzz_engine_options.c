/* Fuzzing of the engine's option parsers (src/engine/options.c) and the
 * json-file log line writer/reader (src/engine/logs.c): what people type
 * on `hull run` (-v, -e, --env-file, --memory, --cpus, --name, signals,
 * -p, --add-host, --format templates)
 * and what containers print. The first byte picks the parser; the rest
 * is the input. Every parser must accept or refuse cleanly; a log line
 * must read back to exactly the bytes written (invalid UTF-8 aside). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "engine/engine.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  unsigned which = data[0] % 10;
  const char *in = (const char *)data + 1;
  size_t n = size - 1;
  char *s = strndup(in, n); /* as a C string (argv): up to the first NUL */
  if (!s)
    return 0;
  struct hull_error e;
  switch (which) {
  case 0: {
    int64_t v;
    if (parse_mem_size(s, &v, &e) == 0 && v < 0)
      abort();
    break;
  }
  case 1: {
    int64_t m;
    if (parse_cpus(s, &m, &e) == 0 && m < 1)
      abort();
    break;
  }
  case 2: {
    struct volume_spec v;
    if (parse_volume_spec(s, &v, &e) == 0) {
      if (!v.target || v.target[0] != '/')
        abort();
      if (v.is_bind && (!v.source || v.source[0] != '/'))
        abort();
      volume_spec_free(&v);
    }
    break;
  }
  case 3: {
    json_t *arr = json_array();
    if (parse_env_file(in, n, "fuzz", arr, &e) == 0) {
      size_t i;
      json_t *v;
      json_array_foreach(arr, i, v) if (!strchr(json_string_value(v), '=')) abort();
    }
    json_decref(arr);
    break;
  }
  case 4:
    engine_validate_name(s, &e);
    break;
  case 5: {
    int sig;
    if (engine_parse_signal(s, &sig, &e) == 0 && (sig <= 0 || sig >= 65))
      abort();
    break;
  }
  case 6: {
    char *line = log_line("stdout", in, n, "2024-01-01T00:00:00Z");
    char *d, stream[8], ts[48];
    size_t dl;
    if (!line || log_line_parse(line, strlen(line) - 1, &d, &dl, stream, ts) < 0)
      abort();
    /* valid UTF-8 comes back byte for byte */
    bool valid = true;
    for (size_t i = 0; i < n && valid;) {
      size_t l = (unsigned char)in[i] < 0x80 ? 1 : hjson_utf8_len((const unsigned char *)in + i, n - i);
      if (!l)
        valid = false;
      i += l ? l : 1;
    }
    if (valid && (dl != n || memcmp(d, in, n)))
      abort();
    free(d);
    free(line);
    break;
  }
  case 7: {
    struct port_spec ps;
    if (parse_port_spec(s, &ps, &e) == 0 &&
        (ps.ctr_port == 0 || ps.ctr_port_end < ps.ctr_port ||
         (ps.host_port && (unsigned)ps.host_port + (ps.ctr_port_end - ps.ctr_port) > 65535) ||
         (strcmp(ps.proto, "tcp") && strcmp(ps.proto, "udp"))))
      abort();
    break;
  }
  case 9: {
    json_t *v = json_pack("{s:s, s:{s:[i, s], s:{s:{s:s}}}}", "Name", "web", "A", "L", 1, "x",
                          "N", "n1", "IP", "10.0.0.2");
    char *out;
    if (engine_template(s, v, &out, &e) == 0)
      free(out);
    json_decref(v);
    break;
  }
  case 8: {
    char name[256], ip[64];
    if (parse_add_host(s, name, sizeof name, ip, sizeof ip, &e) == 0 && (!*name || !*ip))
      abort();
    break;
  }
  }
  free(s);
  return 0;
}
