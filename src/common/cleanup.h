/* __attribute__((cleanup)) helpers for descriptors and memory. */
#ifndef HULL_CLEANUP_H
#define HULL_CLEANUP_H

#include <stdlib.h>
#include <unistd.h>
#include <errno.h>

static inline void hull_freep(void *p) { free(*(void **)p); }
static inline void hull_closep(int *fd) {
  if (*fd >= 0) {
    int saved = errno;
    close(*fd);
    errno = saved;
  }
}

#define _cleanup_free_ __attribute__((cleanup(hull_freep)))
#define _cleanup_close_ __attribute__((cleanup(hull_closep)))

/* Hand ownership out of a cleanup variable. */
static inline int hull_steal_fd(int *fd) {
  int r = *fd;
  *fd = -1;
  return r;
}
static inline void *hull_steal_ptr(void *pp) {
  void **p = pp;
  void *r = *p;
  *p = NULL;
  return r;
}

#endif
