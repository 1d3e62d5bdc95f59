/* One error convention for all of hull: functions return a negative
 * errno-style code and fill a struct hull_error with a one-line message
 * that names the object and the cause. */
#ifndef HULL_ERROR_H
#define HULL_ERROR_H

#include <errno.h>
#include <stdarg.h>

struct hull_error {
  int code;       /* positive errno value, 0 when no error */
  char msg[1024]; /* one line, no trailing newline */
};

/* Set the error and return -code. Format names the object and the cause. */
int hull_err(struct hull_error *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Like hull_err, appending ": strerror(code)". */
int hull_errno(struct hull_error *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefix an existing message with more context ("create c1: ..."). */
int hull_err_prefix(struct hull_error *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
