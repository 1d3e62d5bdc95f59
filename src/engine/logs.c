/* Docker's json-file log format, one JSON object per line:
 *   {"log":"hi\n","stream":"stdout","time":"2024-01-01T00:00:00.000000001Z"}
 * and the attach protocol's frames. Written without jansson: the monitor
 * writes one line per read and must stay small. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/fs.h"
#include "../common/json.h"
#include "engine.h"

char *log_line(const char *stream, const char *data, size_t len, const char *ts) {
  /* worst case: every byte as \u00XX */
  size_t cap = len * 6 + strlen(stream) + strlen(ts) + 48;
  char *out = malloc(cap), *p = out;
  if (!out)
    return NULL;
  p += sprintf(p, "{\"log\":\"");
  static const char hex[] = "0123456789abcdef";
  for (size_t i = 0; i < len;) {
    unsigned char c = (unsigned char)data[i];
    if (c >= 0x80) {
      size_t n = hjson_utf8_len((const unsigned char *)data + i, len - i);
      if (n) {
        memcpy(p, data + i, n);
        p += n;
        i += n;
      } else { /* invalid UTF-8: U+FFFD, as Go's encoder does */
        memcpy(p, "\xef\xbf\xbd", 3);
        p += 3;
        i++;
      }
      continue;
    }
    i++;
    switch (c) {
    case '"': *p++ = '\\'; *p++ = '"'; break;
    case '\\': *p++ = '\\'; *p++ = '\\'; break;
    case '\n': *p++ = '\\'; *p++ = 'n'; break;
    case '\r': *p++ = '\\'; *p++ = 'r'; break;
    case '\t': *p++ = '\\'; *p++ = 't'; break;
    default:
      if (c < 0x20 || c == 0x7f) {
        p += sprintf(p, "\\u00%c%c", hex[c >> 4], hex[c & 15]);
      } else {
        *p++ = (char)c;
      }
    }
  }
  p += sprintf(p, "\",\"stream\":\"%s\",\"time\":\"%s\"}\n", stream, ts);
  return out;
}

int log_line_parse(const char *line, size_t len, char **data, size_t *dlen,
                   char stream[8], char ts[48]) {
  json_error_t je;
  /* jansson's loader: output may hold NUL bytes (\u0000) */
  json_t *o = json_loadb(line, len, JSON_ALLOW_NUL, &je);
  const char *s = NULL, *st = NULL, *t = NULL;
  size_t n = 0;
  if (!o || json_unpack(o, "{s:s%, s:s, s:s}", "log", &s, &n, "stream", &st, "time",
                        &t) < 0) {
    json_decref(o);
    return -EINVAL;
  }
  *data = malloc(n + 1);
  if (!*data) {
    json_decref(o);
    return -ENOMEM;
  }
  memcpy(*data, s, n);
  (*data)[n] = '\0';
  *dlen = n;
  snprintf(stream, 8, "%s", st);
  snprintf(ts, 48, "%s", t);
  json_decref(o);
  return 0;
}

int frame_send(int fd, int type, const void *data, size_t len) {
  unsigned char h[5];
  h[0] = (unsigned char)type;
  uint32_t l = htonl((uint32_t)len);
  memcpy(h + 1, &l, 4);
  int r = fs_write_all(fd, h, sizeof h);
  if (r == 0 && len)
    r = fs_write_all(fd, data, len);
  return r;
}

static int read_full(int fd, void *buf, size_t len) {
  size_t got = 0;
  while (got < len) {
    ssize_t n = read(fd, (char *)buf + got, len - got);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return -errno;
    if (n == 0)
      return -EPIPE;
    got += (size_t)n;
  }
  return 0;
}

int frame_recv(int fd, int *type, char *buf, size_t cap, size_t *len) {
  unsigned char h[5];
  int r = read_full(fd, h, sizeof h);
  if (r < 0)
    return r;
  uint32_t l;
  memcpy(&l, h + 1, 4);
  l = ntohl(l);
  if (l > cap)
    return -EMSGSIZE;
  if (l && (r = read_full(fd, buf, l)) < 0)
    return r;
  *type = h[0];
  *len = l;
  return 0;
}
