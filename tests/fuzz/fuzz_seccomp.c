/* libFuzzer target: arbitrary bytes as the linux.seccomp object.
 * seccomp_prepare must either compile a plan or fail with a one-line
 * message (and no plan), never crash or leak; seccomp_plan_free must
 * release everything. Nothing is loaded into this process. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "linux/seccomp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  json_error_t jerr;
  json_t *j = json_loadb((const char *)data, size, JSON_DECODE_ANY, &jerr);
  if (!j)
    return 0;
  struct seccomp_plan *p = (struct seccomp_plan *)1;
  struct hull_error e = {0};
  int r = seccomp_prepare(j, &p, &e);
  if (r < 0) {
    if (p || !e.msg[0] || strchr(e.msg, '\n') || e.code != -r)
      __builtin_trap();
  } else if (!p && !json_is_null(j)) {
    __builtin_trap();
  } else if (seccomp_plan_notifies(p) &&
             !json_is_string(json_object_get(j, "listenerPath"))) {
    __builtin_trap();
  }
  seccomp_plan_free(p);
  json_decref(j);
  return 0;
}

/* libseccomp 2.5 leaks inside seccomp_rule_add_array (abi_rule_add: the
 * x86 socketcall rewriting of a rule with conditions on several
 * arguments): not ours to fix. libseccomp has no frame pointers, so the
 * slow unwinder is needed to see the frame; internal names are stripped
 * from the shared library, hence the exported one. A leaked filter
 * context (a missing seccomp_release) is still reported: it is allocated
 * by seccomp_init. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void) {
  return "leak:abi_rule_add\nleak:seccomp_rule_add_array\n";
}
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "fast_unwind_on_malloc=0"; }
