#include "error.h"

#include <stdio.h>
#include <string.h>

static int vset(struct hull_error *e, int code, const char *fmt, va_list ap,
                int with_errno) {
  if (code <= 0)
    code = code < 0 ? -code : EINVAL;
  if (e) {
    e->code = code;
    int n = vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    if (with_errno && n >= 0 && (size_t)n < sizeof e->msg)
      snprintf(e->msg + n, sizeof e->msg - n, ": %s", strerror(code));
  }
  return -code;
}

int hull_err(struct hull_error *e, int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int r = vset(e, code, fmt, ap, 0);
  va_end(ap);
  return r;
}

int hull_errno(struct hull_error *e, int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int r = vset(e, code, fmt, ap, 1);
  va_end(ap);
  return r;
}

int hull_err_prefix(struct hull_error *e, const char *fmt, ...) {
  if (!e)
    return -EINVAL;
  char prefix[256], old[sizeof e->msg];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(prefix, sizeof prefix, fmt, ap);
  va_end(ap);
  memcpy(old, e->msg, sizeof old);
  snprintf(e->msg, sizeof e->msg, "%s: %s", prefix, old);
  return -(e->code ? e->code : EINVAL);
}
