/* Progress of long operations: one line per step on a terminal or not
 * (a log of layers loaded reads the same everywhere), nothing when quiet;
 * on a terminal, a bar per transfer redrawn in place while it runs. */
#include <stdarg.h>
#include <stdint.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "../common/ids.h"
#include "store_priv.h"

struct progress {
  int fd;
  bool quiet;
  bool tty;
  bool bar_open;     /* a bar is on the current line */
  long long last_ms; /* when it was drawn last */
};

struct progress *progress_new(int fd, bool quiet) {
  struct progress *p = calloc(1, sizeof *p);
  if (p) {
    p->fd = fd;
    p->quiet = quiet;
    p->tty = isatty(fd);
  }
  return p;
}

void progress_free(struct progress *p) {
  if (p && p->bar_open && write(p->fd, "\n", 1) < 0) {
  }
  free(p);
}

void progress_bar(struct progress *p, const char *name, uint64_t done,
                  uint64_t total) {
  /* small blobs (configs, manifests) are done before a bar would show */
  if (!p || p->quiet || !p->tty || total < (1u << 20))
    return;
  long long now = hull_now_ms();
  /* redrawn at most ten times a second, and once at the end */
  if (done < total && p->bar_open && now - p->last_ms < 100)
    return;
  p->last_ms = now;
  char bar[31];
  unsigned width = 30, full = (unsigned)(done * width / total);
  for (unsigned i = 0; i < width; i++)
    bar[i] = i < full ? '#' : ' ';
  bar[width] = 0;
  char line[160];
  int n = snprintf(line, sizeof line, "\r%s: [%s] %3u%% %.1f/%.1f MB\033[K", name, bar,
                   (unsigned)(done * 100 / total), (double)done / 1e6, (double)total / 1e6);
  if (n > 0 && write(p->fd, line, (size_t)n) < 0) {
  }
  p->bar_open = true;
}

void progress_msg(struct progress *p, const char *fmt, ...) {
  if (!p || p->quiet)
    return;
  if (p->bar_open) {
    /* a message ends the bar's line */
    if (write(p->fd, "\n", 1) < 0) {
    }
    p->bar_open = false;
  }
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
