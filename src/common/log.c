#include "log.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fs.h"
#include "json.h"

static const char *log_prog = "hull";
static int log_file = -1;
static bool log_json, log_dbg;

static const char *level_name[] = {"error", "warning", "info", "debug"};

void log_init(const char *prog, const char *path, bool json, bool debug) {
  log_prog = prog;
  log_json = json;
  log_dbg = debug;
  if (path && *path)
    log_file = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
}

bool log_debug_enabled(void) { return log_dbg; }
int log_fd(void) { return log_file; }

/* The message as a quoted string body: JSON escapes (also right for the
 * text format's msg="..."), and invalid UTF-8 (a cut multibyte character,
 * bytes from a file name) as U+FFFD so the line stays valid JSON. */
static size_t escape(char *out, size_t cap, const char *in) {
  size_t n = 0, len = strlen(in);
  for (size_t i = 0; i < len && n + 8 < cap;) {
    unsigned char c = (unsigned char)in[i];
    if (c == '"' || c == '\\') {
      out[n++] = '\\';
      out[n++] = (char)c;
      i++;
    } else if (c < 0x20) {
      n += (size_t)snprintf(out + n, cap - n, "\\u%04x", c);
      i++;
    } else if (c < 0x80) {
      out[n++] = (char)c;
      i++;
    } else {
      size_t l = hjson_utf8_len((const unsigned char *)in + i, len - i);
      if (l) {
        memcpy(out + n, in + i, l);
        n += l;
        i += l;
      } else {
        memcpy(out + n, "\xef\xbf\xbd", 3);
        n += 3;
        i++;
      }
    }
  }
  out[n] = 0;
  return n;
}

void log_msg(enum log_level level, const char *fmt, ...) {
  char msg[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);

  if (level <= LOG_WARN || log_dbg) {
    char line[2200];
    int n;
    if (level == LOG_DEBUG) {
      /* Debug lines carry a monotonic time stamp: they time the phases. */
      struct timespec mono;
      clock_gettime(CLOCK_MONOTONIC, &mono);
      n = snprintf(line, sizeof line, "%s[%d] %ld.%06ld: %s\n", log_prog, getpid(),
                   (long)mono.tv_sec, mono.tv_nsec / 1000, msg);
    } else {
      n = snprintf(line, sizeof line, "%s: %s%s\n", log_prog,
                   level == LOG_WARN ? "warning: " : "",
                   msg);
    }
    if (n > 0)
      fs_write_all(STDERR_FILENO, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
  }
  if (log_file < 0)
    return;
  char stamp[64];
  struct timespec ts;
  struct tm tm;
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
           tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  char line[4400], esc[4200];
  escape(esc, sizeof esc, msg);
  int n;
  if (log_json)
    n = snprintf(line, sizeof line,
                 "{\"level\":\"%s\",\"msg\":\"%s\",\"time\":\"%s.%09ldZ\"}\n",
                 level_name[level], esc, stamp, ts.tv_nsec);
  else
    n = snprintf(line, sizeof line, "time=\"%s.%09ldZ\" level=%s msg=\"%s\"\n", stamp,
                 ts.tv_nsec, level_name[level], esc);
  if (n > 0)
    fs_write_all(log_file, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}
