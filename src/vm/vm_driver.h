/* The vm isolation driver's pieces shared between its files. */
#ifndef HULL_VM_DRIVER_H
#define HULL_VM_DRIVER_H

#include <jansson.h>

#include "../runtime/container.h"

int vm_exec(struct container *c, const struct exec_opts *o, struct hull_error *e);
/* The guest's process list: [{"pid", "ppid", "uid", "cmd"}]. */
int vm_guest_processes(struct container *c, json_t **list, struct hull_error *e);

#endif
