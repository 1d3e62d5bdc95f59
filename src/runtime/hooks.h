/* OCI hooks: each runs with the container's state JSON on stdin, its own
 * args, env and timeout. Where a hook runs (which namespaces) is decided by
 * the caller: the runtime for prestart, createRuntime, poststart and
 * poststop; the container process for createContainer and startContainer. */
#ifndef HULL_HOOKS_H
#define HULL_HOOKS_H

#include "../spec/spec.h"

const char *hook_kind_name(enum hook_kind k);

/* Run every hook of KIND in order; the first failure stops and returns an
 * error naming the hook. state_json is the OCI state document. */
int hooks_run(const struct spec_hooks *hooks, enum hook_kind kind,
              const char *state_json, struct hull_error *e);
/* Run them all whatever fails (poststart, poststop: the spec has the
 * runtime warn and go on); each failure is logged as a warning. */
void hooks_run_all(const struct spec_hooks *hooks, enum hook_kind kind,
                   const char *state_json, const char *container_id);

#endif
