/* JSON for hull: jansson values everywhere, with a fast loader and dumper.
 *
 * jansson's own loader reads a character at a time through a callback and
 * copies every string byte by byte: about 150 instructions per byte of
 * config.json, more than the rest of `hull-runtime run` together. This
 * loader scans with memchr-style loops and builds the same jansson values
 * (differential fuzzing against json_loadb keeps the two in agreement).
 * The dumper does the same for the other direction. */
#ifndef HULL_JSON_H
#define HULL_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

enum {
  /* Integers 2^63..2^64-1 are stored as their two's-complement negative
   * (read them back with (uint64_t)json_integer_value()) instead of
   * failing: runtime-spec fields such as rlimits are uint64. */
  HJSON_WRAP_UINT64 = 1,
};

/* Parse TEXT (LEN bytes, no NUL needed) whose top level is an object or
 * an array. On error returns NULL and fills err (line, column, position,
 * text) like json_loadb. *wrapped (may be NULL) tells whether a uint64 was
 * wrapped. */
json_t *hjson_loadb(const char *text, size_t len, int flags, bool *wrapped,
                    json_error_t *err);

/* Compact JSON text of V (malloc'd, NUL-terminated), like
 * json_dumps(v, JSON_COMPACT). */
char *hjson_dumps(const json_t *v);
/* For a document loaded with HJSON_WRAP_UINT64 that is read again by the
 * same loader: negative integers are written as their uint64 literal,
 * which the loader wraps back to the same value (so RLIM_INFINITY stays
 * RLIM_INFINITY and -1 stays -1), and the reader sees a wrapped document. */
char *hjson_dumps_wrapped(const json_t *v);

/* Length of the valid UTF-8 sequence at S (N bytes available), 0 if it is
 * not one (overlong forms and surrogates included). */
size_t hjson_utf8_len(const unsigned char *s, size_t n);
/* Is S (NUL-terminated) valid UTF-8, as a JSON string must be? */
bool hjson_valid_utf8(const char *s);

/* For short-lived programs: serve jansson's allocations from an arena that
 * is never freed (the process exit frees it). Makes building and freeing
 * documents almost free. Call once, before any jansson value exists. */
void hjson_use_arena(void);
/* For a process that stays (a VM supervisor forked from the runtime):
 * allocate with malloc again; values made in the arena stay valid. */
void hjson_leave_arena(void);

#endif
