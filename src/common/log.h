/* Logging for the runtime: errors always go to stderr; with --log they are
 * also appended to a file, as text or as runc-style JSON lines
 * ({"level":"error","msg":"...","time":"..."}) which engines such as podman
 * read back to show the cause of a failure. */
#ifndef HULL_LOG_H
#define HULL_LOG_H

#include <stdbool.h>

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

void log_init(const char *prog, const char *path, bool json, bool debug);
void log_msg(enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
bool log_debug_enabled(void);
/* The log descriptor (or -1), kept open across fork for the container. */
int log_fd(void);

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...)                                                         \
  do {                                                                         \
    if (log_debug_enabled())                                                   \
      log_msg(LOG_DEBUG, __VA_ARGS__);                                         \
  } while (0)

#endif
