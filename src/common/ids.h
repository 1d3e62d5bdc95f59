/* Time stamps, deadlines and random ids, as all of hull takes them. */
#ifndef HULL_COMMON_IDS_H
#define HULL_COMMON_IDS_H

#include <stddef.h>

#define HULL_ID_LEN 64

/* Now, RFC 3339 in UTC with nanoseconds ("2026-11-28T19:22:01.123456789Z"). */
void hull_now_rfc3339(char *buf, size_t len);
/* Milliseconds of the monotonic clock, for deadlines. */
long long hull_now_ms(void);
/* HULL_ID_LEN random hex digits and a NUL (containers, networks). */
void hull_random_id(char out[HULL_ID_LEN + 1]);

#endif
