/* The process driver's pause, resume, update, events and status. */
#ifndef HULL_CONTROL_H
#define HULL_CONTROL_H

#include "../runtime/container.h"

int process_state(struct container *c, char *status, size_t len);
int process_pause(struct container *c, struct hull_error *e);
int process_resume(struct container *c, struct hull_error *e);
int process_update(struct container *c, json_t *resources, struct hull_error *e);
int process_events(struct container *c, bool stats_only, int interval_ms,
                   void (*emit)(const char *line, void *arg), void *arg,
                   struct hull_error *e);

#endif
