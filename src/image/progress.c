/* Progress of long operations: one line per step on a terminal or not
 * (a log of layers loaded reads the same everywhere), nothing when quiet. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "store_priv.h"

struct progress {
  int fd;
  bool quiet;
};

struct progress *progress_new(int fd, bool quiet) {
  struct progress *p = calloc(1, sizeof *p);
  if (p) {
    p->fd = fd;
    p->quiet = quiet;
  }
  return p;
}

void progress_free(struct progress *p) { free(p); }

void progress_msg(struct progress *p, const char *fmt, ...) {
  if (!p || p->quiet)
    return;
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
  va_end(ap);
  if (n < 0)
    return;
  if ((size_t)n > sizeof buf - 2)
    n = sizeof buf - 2;
  buf[n++] = '\n';
  if (write(p->fd, buf, (size_t)n) < 0) {
  }
}
